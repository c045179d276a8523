package batchsim

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomTree builds a model of nbody−1 bodies hanging from the world in a
// random tree: a child of the world gets a free joint with probability 0.3,
// every other body 0 to 3 random hinges and slides (0 = welded to its
// parent), with random frames, axes, anchors, inertias, armature and damping.
func randomTree(rng *rand.Rand, nbody int) *Model {
	m := &Model{Nbody: nbody, Opt: Options{Timestep: 0.01, Gravity: Vec3{0, 0, -9.81}}}
	rv := func(s float64) Vec3 {
		return Vec3{s * (2*rng.Float64() - 1), s * (2*rng.Float64() - 1), s * (2*rng.Float64() - 1)}
	}
	unit := func() Vec3 {
		v := rv(1)
		return scale3(&v, 1/norm3(&v))
	}
	rq := func() Quat {
		q := Quat{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		normalizeQuat(&q)
		return q
	}
	node := make([]int, nbody) // last dof of the body or its nearest moving ancestor
	node[0] = -1
	appendBody := func(parent int) {
		m.BodyParentID = append(m.BodyParentID, parent)
		m.BodyPos = append(m.BodyPos, rv(0.5))
		m.BodyQuat = append(m.BodyQuat, rq())
		m.BodyMass = append(m.BodyMass, 0.5+1.5*rng.Float64())
		m.BodyIpos = append(m.BodyIpos, rv(0.2))
		m.BodyIquat = append(m.BodyIquat, rq())
		m.BodyInertia = append(m.BodyInertia, Vec3{0.05 + 0.1*rng.Float64(), 0.05 + 0.1*rng.Float64(), 0.05 + 0.1*rng.Float64()})
	}
	m.BodyParentID = []int{-1}
	m.BodyPos, m.BodyQuat = []Vec3{{}}, []Quat{{1, 0, 0, 0}}
	m.BodyMass, m.BodyIpos, m.BodyIquat, m.BodyInertia = []float64{0}, []Vec3{{}}, []Quat{{1, 0, 0, 0}}, []Vec3{{}}
	m.BodyJntAdr, m.BodyJntNum, m.BodyDofAdr, m.BodyDofNum = []int{-1}, []int{0}, []int{-1}, []int{0}
	addDof := func(b, j int, prev *int) {
		m.DofBodyID = append(m.DofBodyID, b)
		m.DofJntID = append(m.DofJntID, j)
		m.DofParentID = append(m.DofParentID, *prev)
		m.DofDamping = append(m.DofDamping, rng.Float64())
		m.DofArmature = append(m.DofArmature, 0.1*rng.Float64())
		*prev = m.Nv
		m.Nv++
	}
	for b := 1; b < nbody; b++ {
		p := rng.IntN(b)
		appendBody(p)
		m.BodyJntAdr = append(m.BodyJntAdr, -1)
		m.BodyDofAdr = append(m.BodyDofAdr, -1)
		nj := rng.IntN(4)
		free := p == 0 && rng.Float64() < 0.3
		if free {
			nj = 1
		}
		m.BodyJntNum = append(m.BodyJntNum, nj)
		prev := node[p]
		dof0 := m.Nv
		for k := 0; k < nj; k++ {
			j := m.Njnt
			if k == 0 {
				m.BodyJntAdr[b] = j
			}
			t := JointHinge
			switch {
			case free:
				t = JointFree
			case rng.Float64() < 0.3:
				t = JointSlide
			}
			m.JntType = append(m.JntType, t)
			m.JntBodyID = append(m.JntBodyID, b)
			m.JntQposAdr = append(m.JntQposAdr, m.Nq)
			m.JntDofAdr = append(m.JntDofAdr, m.Nv)
			m.JntPos = append(m.JntPos, rv(0.3))
			m.JntAxis = append(m.JntAxis, unit())
			m.JntLimited = append(m.JntLimited, false)
			m.JntRange = append(m.JntRange, [2]float64{})
			m.JntStiffness = append(m.JntStiffness, 0)
			m.JntSolref = append(m.JntSolref, [2]float64{0.02, 1})
			m.Njnt++
			if t == JointFree {
				pos, q := rv(1), rq()
				m.Qpos0 = append(m.Qpos0, pos[0], pos[1], pos[2], q[0], q[1], q[2], q[3])
				m.Nq += 7
				for i := 0; i < 6; i++ {
					addDof(b, j, &prev)
				}
			} else {
				m.Qpos0 = append(m.Qpos0, 0)
				m.Nq++
				addDof(b, j, &prev)
			}
		}
		if m.Nv > dof0 {
			m.BodyDofAdr[b] = dof0
		}
		m.BodyDofNum = append(m.BodyDofNum, m.Nv-dof0)
		node[b] = prev
	}
	m.QposSpring = append([]float64(nil), m.Qpos0...)
	return m
}

// rnea returns the generalized forces Sᵀf of the recursive Newton–Euler
// algorithm (Featherstone 2008, §5.3) for accelerations qacc, with gravity and
// the link forces s.fext; kinematics, comPos and comVel must have run.
func rnea(m *Model, d *Data, qacc []float64) []float64 {
	s := &d.scratch
	nv := m.Nv
	// the links' inertias as 6×6 matrices, so that this reference also
	// checks rigidInertia's products
	rigid := make([]rigidInertia, nv)
	linkInertias(m, d, rigid)
	ic := make([][36]float64, nv)
	for i := range rigid {
		rigid[i].toMat(&ic[i])
	}
	acc := make([][6]float64, nv)
	f := make([][6]float64, nv)
	for i := 0; i < nv; i++ {
		a := [6]float64{0, 0, 0, -m.Opt.Gravity[0], -m.Opt.Gravity[1], -m.Opt.Gravity[2]}
		if p := m.DofParentID[i]; p >= 0 {
			a = acc[p]
		}
		for k := range a {
			a[k] += s.cacc[i][k] + s.cdof[i][k]*qacc[i]
		}
		acc[i] = a
		ia := mulSym6(&ic[i], &a)
		iv := mulSym6(&ic[i], &s.cvel[i])
		vf := crossForce(&s.cvel[i], &iv)
		for k := range ia {
			f[i][k] = ia[k] + vf[k] - s.fext[i][k]
		}
	}
	tau := make([]float64, nv)
	for i := nv - 1; i >= 0; i-- {
		tau[i] = dot6(&s.cdof[i], &f[i])
		if p := m.DofParentID[i]; p >= 0 {
			for k := range f[i] {
				f[p][k] += f[i][k]
			}
		}
	}
	return tau
}

// randomState fills qpos (free quaternions random unit) and qvel.
func randomState(rng *rand.Rand, m *Model, d *Data) {
	for i := range d.Qpos {
		d.Qpos[i] = 2*rng.Float64() - 1
	}
	NormalizeQuats(m, d.Qpos)
	for i := range d.Qvel {
		d.Qvel[i] = 2*rng.Float64() - 1
	}
}

// TestABAMatchesCRBARNEA: on random trees with hinge, slide and free joints
// (several per body), random state and random external link forces, ABA's
// q̈ solves (M + diag(armature) + h·diag(damping))·q̈ = τ − C(q, q̇) + Jᵀf with
// M from CRBA and C from RNEA, to a relative residual below 1e-9; the
// constrained step's biasForces equal RNEA's C.
func TestABAMatchesCRBARNEA(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const tol = 1e-9
	for trial := 0; trial < 40; trial++ {
		m := randomTree(rng, 2+rng.IntN(12))
		if m.Nv == 0 {
			continue
		}
		d := NewData(m)
		randomState(rng, m, d)
		kinematics(m, d)
		comPos(m, d)
		comVel(m, d)
		fwdActuation(m, d)
		for i := range d.fext {
			for k := range d.fext[i] {
				d.fext[i][k] = 2*rng.Float64() - 1
			}
		}
		fwdAcceleration(m, d)

		nv := m.Nv
		mm := massMatrix(m, d)
		for i := 0; i < nv; i++ {
			mm[i*nv+i] += d.diagExtra[i]
		}
		bias := rnea(m, d, make([]float64, nv))
		// The constrained step's Newton–Euler bias forces are RNEA's.
		ia := make([]rigidInertia, nv)
		linkInertias(m, d, ia)
		ne := make([]float64, nv)
		biasForces(m, d, ia, ne)
		for i := range ne {
			if e := math.Abs(ne[i] - bias[i]); e > tol*math.Max(1, math.Abs(bias[i])) {
				t.Errorf("trial %d: biasForces[%d] = %.12g, RNEA %.12g", trial, i, ne[i], bias[i])
			}
		}
		var lhs, rhs mat.VecDense
		lhs.MulVec(mat.NewDense(nv, nv, mm), mat.NewVecDense(nv, d.Qacc))
		rhs.SubVec(mat.NewVecDense(nv, append([]float64(nil), d.qfrc...)), mat.NewVecDense(nv, bias))
		var res mat.VecDense
		res.SubVec(&lhs, &rhs)
		rel := mat.Norm(&res, 2) / math.Max(mat.Norm(&rhs, 2), 1e-300)
		if rel > tol || math.IsNaN(rel) {
			t.Errorf("trial %d (nbody %d, nv %d): relative residual %.3g > %g", trial, m.Nbody, nv, rel, tol)
		}
		// RNEA with ABA's q̈ must return the applied forces as well.
		tau := rnea(m, d, d.Qacc)
		for i := 0; i < nv; i++ {
			tau[i] += (m.DofArmature[i] + d.diagExtra[i]) * d.Qacc[i]
		}
		var r2 mat.VecDense
		r2.SubVec(mat.NewVecDense(nv, tau), mat.NewVecDense(nv, d.qfrc))
		if e := mat.Norm(&r2, 2) / math.Max(mat.Norm(mat.NewVecDense(nv, d.qfrc), 2), 1); e > tol {
			t.Errorf("trial %d: RNEA(q̈_ABA) − τ relative %.3g > %g", trial, e, tol)
		}
	}
}

// TestLinkVelocityMatchesFiniteDifference: the link velocities that comVel
// builds from cdof (MuJoCo's free-joint convention: linear velocity in world
// axes, angular in body axes) equal the central finite differences of the
// body poses under qpos ⊕ ±ε·qvel, within 1e-6 — this checks the kinematics
// and motion subspaces independently of the dynamics.
func TestLinkVelocityMatchesFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const eps, tol = 1e-6, 1e-6
	for trial := 0; trial < 20; trial++ {
		m := randomTree(rng, 2+rng.IntN(10))
		d := NewData(m)
		randomState(rng, m, d)
		kinematics(m, d)
		comPos(m, d)
		comVel(m, d)
		q0 := append([]float64(nil), d.Qpos...)
		clear(d.Qacc)
		pose := func(sign float64) ([]Vec3, [][9]float64) {
			copy(d.Qpos, q0)
			integrate(m, d, sign*eps)
			kinematics(m, d)
			return append([]Vec3(nil), d.Xipos...), append([][9]float64(nil), d.xmat...)
		}
		pp, rp := pose(1)
		pm, rm := pose(-1)
		copy(d.Qpos, q0)
		kinematics(m, d)
		for b := 1; b < m.Nbody; b++ {
			w := Vec3{}
			vc := Vec3{}
			if n := d.bodyNode[b]; n >= 0 {
				w = Vec3{d.cvel[n][0], d.cvel[n][1], d.cvel[n][2]}
				vc = d.pointVel(d, b, &d.Xipos[b])
			}
			for k := 0; k < 3; k++ {
				fd := (pp[b][k] - pm[b][k]) / (2 * eps)
				if math.Abs(fd-vc[k]) > tol {
					t.Errorf("trial %d body %d: COM velocity[%d] %.9g, finite difference %.9g", trial, b, k, vc[k], fd)
				}
			}
			// [ω]× = Ṙ·Rᵀ
			r := &d.xmat[b]
			var rd [9]float64
			for k := range rd {
				rd[k] = (rp[b][k] - rm[b][k]) / (2 * eps)
			}
			wx := func(i, j int) float64 { return rd[3*i]*r[3*j] + rd[3*i+1]*r[3*j+1] + rd[3*i+2]*r[3*j+2] }
			fdw := Vec3{wx(2, 1), wx(0, 2), wx(1, 0)}
			for k := 0; k < 3; k++ {
				if math.Abs(fdw[k]-w[k]) > tol {
					t.Errorf("trial %d body %d: angular velocity[%d] %.9g, finite difference %.9g", trial, b, k, w[k], fdw[k])
				}
			}
		}
	}
}

// mulSym6 returns A·x for a 6×6 row-major matrix (the tests' reference
// for the engine's inertia products).
func mulSym6(a *[36]float64, x *[6]float64) [6]float64 {
	x0, x1, x2, x3, x4, x5 := x[0], x[1], x[2], x[3], x[4], x[5]
	return [6]float64{
		a[0]*x0 + a[1]*x1 + a[2]*x2 + a[3]*x3 + a[4]*x4 + a[5]*x5,
		a[6]*x0 + a[7]*x1 + a[8]*x2 + a[9]*x3 + a[10]*x4 + a[11]*x5,
		a[12]*x0 + a[13]*x1 + a[14]*x2 + a[15]*x3 + a[16]*x4 + a[17]*x5,
		a[18]*x0 + a[19]*x1 + a[20]*x2 + a[21]*x3 + a[22]*x4 + a[23]*x5,
		a[24]*x0 + a[25]*x1 + a[26]*x2 + a[27]*x3 + a[28]*x4 + a[29]*x5,
		a[30]*x0 + a[31]*x1 + a[32]*x2 + a[33]*x3 + a[34]*x4 + a[35]*x5,
	}
}
