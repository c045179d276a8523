package batchsim

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// The physics step, in the order of PHYSICS.md and MuJoCo's mj_step with the
// Euler integrator: checkState, FwdPosition (kinematics and contacts),
// comVel, fwdActuation, the constraint rows, the acceleration (ABA, or the
// Newton solve of constraint.go), integrate.

// dof kinds that need special treatment in comVel.
const (
	dofPlain     = iota // hinge or slide
	dofFreeTrans        // translation of a free joint
	dofFreeRot          // rotation of a free joint
)

// scratch is the engine's per-world working memory, allocated by NewData so
// that Step never allocates.
type scratch struct {
	// Fixed at NewData from the model.
	bodyNode    []int        // link (dof) that moves the body, -1 if static (nbody)
	treeRoot    []int        // child of the world the body hangs from (nbody)
	bodyRotI    [][9]float64 // rotational inertia about the COM, body frame (nbody)
	geomMat     [][9]float64 // geom orientation in its body frame (ngeom)
	dofKind     []int        // dofPlain, dofFreeTrans or dofFreeRot (nv)
	dofFreeBase []int        // for free rotation dofs: last translation dof (nv)
	pairs       []pairInfo   // candidate pairs, ordered by geom rank (npair)

	// Position and velocity stage.
	xmat    [][9]float64 // body orientation, row-major (nbody)
	xaxis   []Vec3       // joint axis in world (njnt)
	xanchor []Vec3       // joint anchor in world (njnt)
	cdof    [][6]float64 // motion subspace about the tree's reference point (nv)
	cvel    [][6]float64 // spatial velocity of the dof's link (nv)
	cacc    [][6]float64 // bias acceleration cdof_dot·qvel (nv)
	zero6   [6]float64

	// Contacts.
	con  []contact // active contacts, first ncon valid
	ncon int
	fext [][6]float64 // contact force on each link, about its reference point (nv)

	// Dynamics.
	qfrc      []float64      // generalized force without the bias (nv)
	diagExtra []float64      // implicit damping h·(b + limit damping) (nv)
	rigid     []rigidInertia // rigid (then composite) inertia of each link (nv)
	ia        []symInertia   // articulated inertia (nv)
	pa        [][6]float64   // articulated bias force (nv)
	u6        [][6]float64   // U = IA·S (nv)
	dinv      []float64      // 1/D (nv)
	uf        []float64      // u = τ − Sᵀ·pA (nv)
	acc       [][6]float64   // spatial acceleration of the dof's link (nv)

	efc efcRows // soft constraints (constraint.go)

	// planar: the model moves in the xz-plane and the spatial algebra runs
	// on in-plane components (planar.go).
	planar bool
	pl     planarScratch
}

// NewData allocates the state and scratch space of one world for m and
// resets it (ResetData). It panics if m is not a valid compiled model
// (parents after children, ball joints).
func NewData(m *Model) *Data {
	d := &Data{
		Qpos:        make([]float64, m.Nq),
		Qvel:        make([]float64, m.Nv),
		Ctrl:        make([]float64, m.Nu),
		Qacc:        make([]float64, m.Nv),
		QfrcApplied: make([]float64, m.Nv),
		Xpos:        make([]Vec3, m.Nbody),
		Xquat:       make([]Quat, m.Nbody),
		Xipos:       make([]Vec3, m.Nbody),
		GeomXpos:    make([]Vec3, m.Ngeom),
		GeomXmat:    make([][9]float64, m.Ngeom),
		SiteXpos:    make([]Vec3, m.Nsite),
		CfrcExt:     make([][6]float64, m.Nbody),
	}
	s := &d.scratch
	nb, nv, nj := m.Nbody, m.Nv, m.Njnt
	s.bodyNode = make([]int, nb)
	s.treeRoot = make([]int, nb)
	s.bodyRotI = make([][9]float64, nb)
	s.geomMat = make([][9]float64, m.Ngeom)
	s.dofKind = make([]int, nv)
	s.dofFreeBase = make([]int, nv)
	s.xmat = make([][9]float64, nb)
	s.xaxis = make([]Vec3, nj)
	s.xanchor = make([]Vec3, nj)
	s.cdof = make([][6]float64, nv)
	s.cvel = make([][6]float64, nv)
	s.cacc = make([][6]float64, nv)
	s.fext = make([][6]float64, nv)
	s.qfrc = make([]float64, nv)
	s.diagExtra = make([]float64, nv)
	s.rigid = make([]rigidInertia, nv)
	s.ia = make([]symInertia, nv)
	s.pa = make([][6]float64, nv)
	s.u6 = make([][6]float64, nv)
	s.dinv = make([]float64, nv)
	s.uf = make([]float64, nv)
	s.acc = make([][6]float64, nv)
	if s.planar = planarModel(m); s.planar {
		s.pl.alloc(nv)
	}

	s.bodyNode[0], s.treeRoot[0] = -1, 0
	d.Xquat[0] = Quat{1, 0, 0, 0}
	s.xmat[0] = [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}
	for b := 1; b < nb; b++ {
		p := m.BodyParentID[b]
		if p < 0 || p >= b {
			panic(fmt.Sprintf("batchsim: body %d has parent %d; parents must precede children", b, p))
		}
		if m.BodyDofNum[b] > 0 {
			s.bodyNode[b] = m.BodyDofAdr[b] + m.BodyDofNum[b] - 1
		} else {
			s.bodyNode[b] = s.bodyNode[p]
		}
		if p == 0 {
			s.treeRoot[b] = b
		} else {
			s.treeRoot[b] = s.treeRoot[p]
		}
		var ri [9]float64
		quatToMat(&m.BodyIquat[b], &ri)
		in := m.BodyInertia[b]
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				s.bodyRotI[b][3*i+j] = ri[3*i]*in[0]*ri[3*j] + ri[3*i+1]*in[1]*ri[3*j+1] + ri[3*i+2]*in[2]*ri[3*j+2]
			}
		}
	}
	for i := 0; i < nv; i++ {
		if p := m.DofParentID[i]; p >= i {
			panic(fmt.Sprintf("batchsim: dof %d has parent dof %d; parents must precede children", i, p))
		}
	}
	for j := 0; j < nj; j++ {
		da := m.JntDofAdr[j]
		switch m.JntType[j] {
		case JointFree:
			for k := 0; k < 3; k++ {
				s.dofKind[da+k] = dofFreeTrans
				s.dofKind[da+3+k] = dofFreeRot
				s.dofFreeBase[da+3+k] = da + 2
			}
		case JointBall:
			panic("batchsim: ball joints are not supported")
		}
	}
	for g := 0; g < m.Ngeom; g++ {
		quatToMat(&m.GeomQuat[g], &s.geomMat[g])
	}
	maxCon := 0
	s.pairs = make([]pairInfo, m.Npair)
	for i := range s.pairs {
		g1, g2 := m.PairGeom1[i], m.PairGeom2[i]
		r1, r2 := geomRank(m.GeomType[g1]), geomRank(m.GeomType[g2])
		if r1 > r2 {
			g1, g2, r1, r2 = g2, g1, r2, r1
		}
		kind, mc, _ := pairKind(r1, r2)
		s.pairs[i] = pairInfo{
			g1: g1, g2: g2, kind: kind,
			margin: m.PairMargin[i],
			mu:     m.PairFriction[i],
			solref: m.PairSolref[i],
			solimp: solimpAt(m.PairSolimp, i),
			condim: 3,
			rbound: boundRadius(m.GeomType[g1], &m.GeomSize[g1]) + boundRadius(m.GeomType[g2], &m.GeomSize[g2]),
			static: s.bodyNode[m.GeomBodyID[g1]] < 0 && s.bodyNode[m.GeomBodyID[g2]] < 0,
		}
		maxCon += mc
	}
	s.con = make([]contact, maxCon)
	for i := range s.pairs {
		if i < len(m.PairCondim) {
			s.pairs[i].condim = m.PairCondim[i]
		}
		if i < len(m.PairTorsion) {
			s.pairs[i].torsion = m.PairTorsion[i]
		}
	}
	maxEfc := 2*m.Njnt + m.Nv + 2*m.Ntendon // limits, dry friction
	for i := range s.pairs {
		_, mc, _ := pairKind(geomRank(m.GeomType[s.pairs[i].g1]), geomRank(m.GeomType[s.pairs[i].g2]))
		maxEfc += mc * PyramidRows(s.pairs[i].condim)
	}
	s.efc.alloc(m, maxEfc)
	inverseWeights(m, d)
	ResetData(m, d)
	return d
}

// inverseWeights computes the constraints' inverse weights from the mass
// matrix at Qpos0, as MuJoCo does once per model (constraint.go).
func inverseWeights(m *Model, d *Data) {
	s := &d.scratch
	copy(d.Qpos, m.Qpos0)
	kinematics(m, d)
	comPos(m, d)
	nv := m.Nv
	minv := mat.NewSymDense(max(nv, 1), nil)
	ok := false
	if nv > 0 {
		var chol mat.Cholesky
		if ok = chol.Factorize(mat.NewSymDense(nv, massMatrix(m, d))); ok {
			_ = chol.InverseTo(minv)
		}
	}
	minvAt := func(i, j int) float64 {
		if !ok {
			return 0
		}
		return minv.At(i, j)
	}
	s.efc.invWeights(m, d, minvAt)
}

// ResetData sets the default state: qpos = Qpos0, zero velocities, controls
// and time, then runs Forward.
func ResetData(m *Model, d *Data) {
	copy(d.Qpos, m.Qpos0)
	clear(d.Qvel)
	clear(d.Ctrl)
	clear(d.Qacc)
	clear(d.QfrcApplied)
	clear(d.CfrcExt)
	d.Time = 0
	Forward(m, d)
}

// NormalizeQuats scales the quaternions of free joints in qpos to unit
// length (identity if zero).
func NormalizeQuats(m *Model, qpos []float64) {
	for j := 0; j < m.Njnt; j++ {
		if m.JntType[j] != JointFree {
			continue
		}
		a := m.JntQposAdr[j] + 3
		q := Quat{qpos[a], qpos[a+1], qpos[a+2], qpos[a+3]}
		normalizeQuat(&q)
		copy(qpos[a:a+4], q[:])
	}
}

// Forward computes the position stage from qpos: Xpos, Xquat, Xipos, geom
// and site poses. Step leaves these at the state the step started from, as
// MuJoCo's mj_step does; call Forward to refresh them.
func Forward(m *Model, d *Data) { kinematics(m, d) }

// FwdPosition runs the position stage: kinematics, dof axes and contacts.
func FwdPosition(m *Model, d *Data) {
	kinematics(m, d)
	comPos(m, d)
	collide(m, d)
}

// Step advances d by m.Opt.Timestep in one whole step with MuJoCo's soft
// constraints: without an active contact, limit or dry-friction row the
// acceleration by ABA (implicit damping included); with one, the
// unconstrained acceleration by Newton–Euler and M's factor, the Newton
// solve and MuJoCo's implicit damping after it (constraint.go). It leaves Qacc and
// CfrcExt of the step, and returns an error naming the array and index
// when the state or the controls are not finite before the step, or the
// state is not after.
func Step(m *Model, d *Data) error {
	if err := checkState(m, d, "before step"); err != nil {
		return err
	}
	s := &d.scratch
	h := m.Opt.Timestep
	FwdPosition(m, d)
	comVel(m, d)
	for i := range s.fext {
		s.fext[i] = [6]float64{}
	}
	fwdActuation(m, d)
	makeConstraints(m, d)
	if s.efc.n == 0 {
		clear(d.CfrcExt)
		fwdAcceleration(m, d)
	} else {
		// a0 = M⁻¹(τ − c) without the implicit damping, as MuJoCo: bias
		// forces by Newton–Euler and the Cholesky factor of M, which the
		// Newton step needs anyway; ABA's articulated inertias would
		// factor M a second time.
		e := &s.efc
		linkInertias(m, d, s.rigid)
		biasForces(m, d, s.rigid, e.a0)
		for i, f := range s.qfrc {
			e.a0[i] = f - e.a0[i]
		}
		e.crba(m, d)
		copy(e.hh, e.mm)
		if !factorTree(e.hh, m.Nv, m.DofParentID) {
			return fmt.Errorf("batchsim: at t=%g the mass matrix is not positive definite", d.Time)
		}
		solveTree(e.hh, m.Nv, m.DofParentID, e.a0)
		if !solveConstraints(m, d) {
			return fmt.Errorf("batchsim: at t=%g the constraint Hessian is not positive definite (a body without mass or inertia in contact?)", d.Time)
		}
		copy(s.efc.sol, d.Qacc)
		if !finishConstrained(m, d) {
			return fmt.Errorf("batchsim: at t=%g the damped mass matrix is not positive definite", d.Time)
		}
	}
	integrate(m, d, h)
	d.Time += h
	return checkState(m, d, "after step")
}

func checkState(m *Model, d *Data, when string) error {
	// fast path: x·0 is NaN exactly when x is NaN or ±Inf
	acc := 0.0
	for _, x := range d.Qpos {
		acc += x * 0
	}
	for _, x := range d.Qvel {
		acc += x * 0
	}
	for _, x := range d.Ctrl {
		acc += x * 0
	}
	if acc == 0 {
		return nil
	}
	for _, a := range [...]struct {
		name string
		v    []float64
	}{{"qpos", d.Qpos}, {"qvel", d.Qvel}, {"ctrl", d.Ctrl}} {
		for i, x := range a.v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("batchsim: %s at t=%g: %s[%d] = %g", when, d.Time, a.name, i, x)
			}
		}
	}
	return nil
}

// integrate is MuJoCo's Euler update (mj_advance with mj_integratePos):
// qvel += h·qacc, then qpos += h·qvel, free-joint quaternions rotated by the
// body-frame angular velocity and renormalised.
func integrate(m *Model, d *Data, h float64) {
	for i, a := range d.Qacc {
		d.Qvel[i] += h * a
	}
	for j := 0; j < m.Njnt; j++ {
		qa, da := m.JntQposAdr[j], m.JntDofAdr[j]
		switch m.JntType[j] {
		case JointFree:
			for k := 0; k < 3; k++ {
				d.Qpos[qa+k] += h * d.Qvel[da+k]
			}
			w := Vec3{d.Qvel[da+3], d.Qvel[da+4], d.Qvel[da+5]}
			q := Quat{d.Qpos[qa+3], d.Qpos[qa+4], d.Qpos[qa+5], d.Qpos[qa+6]}
			normalizeQuat(&q)
			if wn := norm3(&w); wn > 1e-15 {
				ax := scale3(&w, 1/wn)
				qr := axisAngleQuat(&ax, h*wn)
				q = mulQuat(&q, &qr)
				normalizeQuat(&q)
			}
			copy(d.Qpos[qa+3:qa+7], q[:])
		default:
			d.Qpos[qa] += h * d.Qvel[da]
		}
	}
}

// linkInertias writes into ia the spatial inertia of every link (the sum of
// the bodies it moves) about its tree's reference point, world axes.
func linkInertias(m *Model, d *Data, ia []rigidInertia) {
	s := &d.scratch
	if s.planar {
		linkInertiasPlanar(m, d, ia)
		return
	}
	clear(ia)
	for b := 1; b < m.Nbody; b++ {
		n := s.bodyNode[b]
		if n < 0 || m.BodyMass[b] == 0 && s.bodyRotI[b] == ([9]float64{}) {
			continue
		}
		r := &s.xmat[b]
		t := mulMat(r, &s.bodyRotI[b])
		var ic [9]float64
		for i := 0; i < 3; i++ {
			for j := i; j < 3; j++ {
				v := t[3*i]*r[3*j] + t[3*i+1]*r[3*j+1] + t[3*i+2]*r[3*j+2]
				ic[3*i+j] = v
				ic[3*j+i] = v
			}
		}
		c := sub3(&d.Xipos[b], &d.Xpos[s.treeRoot[b]])
		ia[n].addBody(m.BodyMass[b], &c, &ic)
	}
}

// massMatrix returns the joint-space inertia M(q) + diag(armature), dense
// row-major nv×nv, by the composite-rigid-body algorithm (Featherstone 2008,
// §6.2). It needs kinematics and comPos and allocates: it is for NewData and
// tests, not the step.
func massMatrix(m *Model, d *Data) []float64 {
	nv := m.Nv
	s := &d.scratch
	ic := make([]rigidInertia, nv)
	linkInertias(m, d, ic)
	for i := nv - 1; i >= 0; i-- {
		if p := m.DofParentID[i]; p >= 0 {
			ic[p].add(&ic[i])
		}
	}
	mm := make([]float64, nv*nv)
	for i := 0; i < nv; i++ {
		f := ic[i].mulMotion(&s.cdof[i])
		mm[i*nv+i] = dot6(&s.cdof[i], &f) + m.DofArmature[i]
		for j := m.DofParentID[i]; j >= 0; j = m.DofParentID[j] {
			v := dot6(&s.cdof[j], &f)
			mm[i*nv+j] = v
			mm[j*nv+i] = v
		}
	}
	return mm
}
