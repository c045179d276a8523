package batchsim

import "math"

// Soft constraints solved by Newton's method (PHYSICS.md, "Constraints"):
// MuJoCo's constraint model, implicit in velocity, so that every step is
// taken whole.
//
// Each active constraint is a row i with a Jacobian J_i (1×nv), a reference
// acceleration aref_i and a regulariser R_i = 1/D_i. With the unconstrained
// acceleration a0 = M⁻¹(τ − c) the step's acceleration minimises
//
//	½ (a − a0)ᵀ M (a − a0) + Σ_i s_i(J_i a − aref_i)
//
// where s_i(x) = ½ D_i x² for x < 0 and 0 otherwise on inequality rows
// (contact pyramid edges, frictionless normals, joint and tendon limits),
// and the Huber function with slope ±frictionloss on dry-friction rows. The
// row force is f_i = −s_i'(x_i). This is MuJoCo's primal problem (its
// default Newton solver minimises the same function), so a converged
// solution is MuJoCo's up to the contact geometry.
//
// The softness follows MuJoCo 2.2.2 exactly (engine_core_constraint.c):
// aref = −B·(J_i q̇) − K·imp·(pos − margin) with B = 2/(dmax·τ) and
// K = 1/(dmax²·τ²·ζ²), τ clamped to ≥ 2·timestep; imp the solimp sigmoid of
// the violation; R = (1−imp)/imp·diagApprox where diagApprox comes from the
// bodies' or dofs' inverse weights at qpos0; friction pyramids with condim 3
// (4) have 4 (6) edges n ± μ·t_k, all with R = 2μ²·R_normal.
//
// The problem is convex and piecewise quadratic: Newton steps with the
// Hessian M + Σ D_i J_iᵀJ_i over the rows in their quadratic zone and an
// exact line search reach its minimum in a few iterations; the iteration
// stops as soon as a full step keeps every row in its zone (then the step is
// the exact minimum). It starts from a0 every step, as the kernel does: a
// warm start from the previous step made results depend on which world a
// worker had stepped before (a flaky bit-identity test found it).

// DefaultSolimp is MuJoCo's default constraint impedance (dmin, dmax, width,
// midpoint, power).
var DefaultSolimp = [5]float64{0.9, 0.95, 0.001, 0.5, 2}

// DefaultSolref is MuJoCo's default reference (time constant, damping ratio).
var DefaultSolref = [2]float64{0.02, 1}

const (
	minVal   = 1e-15  // MuJoCo's mjMINVAL
	minImp   = 0.0001 // MuJoCo's mjMINIMP
	maxImp   = 0.9999 // MuJoCo's mjMAXIMP
	minMu    = 1e-5   // MuJoCo's mjMINMU
	newtonIt = 30     // Newton iterations at most (a few are typical)
)

// Row kinds.
const (
	efcIneq     uint8 = iota // f ≥ 0
	efcFriction              // |f| ≤ bound
)

// efcRows is the constraint scratch of one world, sized at NewData.
type efcRows struct {
	n     int       // active rows
	iters int       // Newton iterations of the last solve
	tree  bool      // the last solve factored its Hessian along the tree
	nnz   []int     // non-zeros of the row (maxefc)
	ind   []int     // dof index of each non-zero, row i at i·nv (maxefc·nv)
	jac   []float64 // value of each non-zero, row i at i·nv (maxefc·nv)
	kind  []uint8   // efcIneq or efcFriction (maxefc)
	bound []float64 // friction bound (maxefc)
	aref  []float64 // reference acceleration (maxefc)
	dinv  []float64 // D = 1/R (maxefc)
	x     []float64 // J·a − aref at the current iterate (maxefc)
	jd    []float64 // J·δ of the current Newton direction (maxefc)
	zone  []int8    // row's zone: 0 quadratic, ±1 the linear or zero parts (maxefc)
	f     []float64 // row force (maxefc)

	// Inverse weights at qpos0 (MuJoCo's body_invweight0, dof_invweight0,
	// tendon_invweight0), for diagApprox.
	bodyInvW [][2]float64 // translation, rotation (nbody)
	dofInvW  []float64    // (nv)
	tenInvW  []float64    // (ntendon)

	// Dense nv-sized work.
	mm, hh                    []float64 // M, then the Hessian / M + h·D (nv·nv)
	a0, mr, g, dir, mdir, tmp []float64 // (nv)

	sol []float64 // the last solution before the damping correction (nv)

	// Contact Jacobian of the current contact: dof, relative translational
	// and rotational columns (body 2 minus body 1).
	jdof []int
	jt   []Vec3
	jr   []Vec3
}

func (e *efcRows) alloc(m *Model, maxefc int) {
	nv := m.Nv
	e.nnz = make([]int, maxefc)
	e.ind = make([]int, maxefc*nv)
	e.jac = make([]float64, maxefc*nv)
	e.kind = make([]uint8, maxefc)
	e.bound = make([]float64, maxefc)
	e.aref = make([]float64, maxefc)
	e.dinv = make([]float64, maxefc)
	e.x = make([]float64, maxefc)
	e.jd = make([]float64, maxefc)
	e.zone = make([]int8, maxefc)
	e.f = make([]float64, maxefc)
	e.bodyInvW = make([][2]float64, m.Nbody)
	e.dofInvW = make([]float64, nv)
	e.tenInvW = make([]float64, m.Ntendon)
	e.mm = make([]float64, nv*nv)
	e.hh = make([]float64, nv*nv)
	for _, p := range []*[]float64{&e.a0, &e.mr, &e.g, &e.dir, &e.mdir, &e.tmp, &e.sol} {
		*p = make([]float64, nv)
	}
	e.jdof = make([]int, nv)
	e.jt = make([]Vec3, nv)
	e.jr = make([]Vec3, nv)
}

// PyramidRows is the number of rows of a contact of dimensionality condim.
func PyramidRows(condim int) int {
	switch {
	case condim == 1:
		return 1
	case condim >= 4:
		return 6
	}
	return 4
}

// solimpAt returns the clamped impedance parameters of s (nil: default).
func solimpAt(s [][5]float64, i int) [5]float64 {
	if i < len(s) {
		return clampSolimp(s[i])
	}
	return DefaultSolimp
}

func clampSolimp(p [5]float64) [5]float64 {
	p[0] = math.Min(maxImp, math.Max(minImp, p[0]))
	p[1] = math.Min(maxImp, math.Max(minImp, p[1]))
	p[2] = math.Max(0, p[2])
	p[3] = math.Min(maxImp, math.Max(minImp, p[3]))
	p[4] = math.Max(1, p[4])
	return p
}

// impedance is MuJoCo's solimp sigmoid of the violation pos − margin.
func impedance(sp *[5]float64, pos, margin float64) float64 {
	if sp[0] == sp[1] || sp[2] <= minVal {
		return 0.5 * (sp[0] + sp[1])
	}
	x := math.Abs((pos - margin) / sp[2])
	if x >= 1 {
		return sp[1]
	}
	if x <= 0 {
		return sp[0]
	}
	var y float64
	switch p, mid := sp[4], sp[3]; {
	case p == 1:
		y = x
	case x <= mid:
		y = math.Pow(x, p) / math.Pow(mid, p-1)
	default:
		y = 1 - math.Pow(1-x, p)/math.Pow(1-mid, p-1)
	}
	return sp[0] + y*(sp[1]-sp[0])
}

// refGains returns MuJoCo's K and B for solref ref, dmax and timestep h
// (standard form with τ ≥ 2h, or the direct form of negative numbers).
func refGains(ref [2]float64, dmax, h float64) (k, b float64) {
	if (ref[0] > 0) != (ref[1] > 0) {
		ref = DefaultSolref // MuJoCo replaces a mixed solref by the default
	}
	if ref[0] > 0 {
		tc := math.Max(ref[0], 2*h)
		return 1 / math.Max(minVal, dmax*dmax*tc*tc*ref[1]*ref[1]), 2 / math.Max(minVal, dmax*tc)
	}
	return -ref[0] / math.Max(minVal, dmax*dmax), -ref[1] / math.Max(minVal, dmax)
}

// invWeights computes the inverse weights at qpos0 from minv = M⁻¹ (dense
// nv×nv, nil when M is singular) after kinematics and comPos at Qpos0.
func (e *efcRows) invWeights(m *Model, d *Data, minv func(i, j int) float64) {
	s := &d.scratch
	for b := 1; b < m.Nbody; b++ {
		n := 0
		for j := s.bodyNode[b]; j >= 0; j = m.DofParentID[j] {
			c := &s.cdof[j]
			w := Vec3{c[0], c[1], c[2]}
			r := sub3(&d.Xipos[b], &d.Xpos[s.treeRoot[b]])
			wr := cross3(&w, &r)
			e.jdof[n] = j
			e.jt[n] = Vec3{c[3] + wr[0], c[4] + wr[1], c[5] + wr[2]}
			e.jr[n] = w
			n++
		}
		var tr, rot float64
		for a := 0; a < n; a++ {
			for c := 0; c < n; c++ {
				v := minv(e.jdof[a], e.jdof[c])
				tr += v * dot3(&e.jt[a], &e.jt[c])
				rot += v * dot3(&e.jr[a], &e.jr[c])
			}
		}
		e.bodyInvW[b] = [2]float64{tr / 3, rot / 3}
	}
	for j := 0; j < m.Njnt; j++ {
		da := m.JntDofAdr[j]
		switch m.JntType[j] {
		case JointFree:
			t := (minv(da, da) + minv(da+1, da+1) + minv(da+2, da+2)) / 3
			r := (minv(da+3, da+3) + minv(da+4, da+4) + minv(da+5, da+5)) / 3
			for k := 0; k < 3; k++ {
				e.dofInvW[da+k], e.dofInvW[da+3+k] = t, r
			}
		default:
			e.dofInvW[da] = minv(da, da)
		}
	}
	for t := 0; t < m.Ntendon; t++ {
		v := 0.0
		for w1 := m.TendonAdr[t]; w1 < m.TendonAdr[t]+m.TendonNum[t]; w1++ {
			for w2 := m.TendonAdr[t]; w2 < m.TendonAdr[t]+m.TendonNum[t]; w2++ {
				v += m.WrapCoef[w1] * m.WrapCoef[w2] * minv(m.JntDofAdr[m.WrapJntID[w1]], m.JntDofAdr[m.WrapJntID[w2]])
			}
		}
		e.tenInvW[t] = v
	}
}

// relJac fills e.jdof/jt/jr with the Jacobian of point p on body b2 minus
// that of p on body b1, over the dofs that move one body but not the other
// (shared ancestors cancel exactly), and returns their number.
func (e *efcRows) relJac(m *Model, d *Data, b1, b2 int, p *Vec3) int {
	s := &d.scratch
	i1, i2 := s.bodyNode[b1], s.bodyNode[b2]
	var r1, r2 Vec3
	if i1 >= 0 {
		r1 = sub3(p, &d.Xpos[s.treeRoot[b1]])
	}
	if i2 >= 0 {
		r2 = sub3(p, &d.Xpos[s.treeRoot[b2]])
	}
	n := 0
	for i1 != i2 {
		var j int
		r, sg := &r2, 1.0
		if i1 > i2 {
			j, r, sg = i1, &r1, -1
			i1 = m.DofParentID[i1]
		} else {
			j = i2
			i2 = m.DofParentID[i2]
		}
		c := &s.cdof[j]
		w := Vec3{c[0], c[1], c[2]}
		wr := cross3(&w, r)
		e.jdof[n] = j
		e.jt[n] = Vec3{sg * (c[3] + wr[0]), sg * (c[4] + wr[1]), sg * (c[5] + wr[2])}
		e.jr[n] = scale3(&w, sg)
		n++
	}
	return n
}

// addRow appends a row from the current contact Jacobian (nj columns):
// J = u·jt (+ tors·n·jr when tors ≠ 0) and returns its index and J·q̇.
func (e *efcRows) addJacRow(d *Data, nv, nj int, u *Vec3, tors float64, n *Vec3) (int, float64) {
	i := e.n
	e.n++
	base := i * nv
	vel := 0.0
	for k := 0; k < nj; k++ {
		v := dot3(u, &e.jt[k])
		if tors != 0 {
			v += tors * dot3(n, &e.jr[k])
		}
		e.ind[base+k] = e.jdof[k]
		e.jac[base+k] = v
		vel += v * d.Qvel[e.jdof[k]]
	}
	e.nnz[i] = nj
	e.kind[i] = efcIneq
	return i, vel
}

// contactFrame completes the contact frame from the normal n and the hint
// as MuJoCo's mju_makeFrame does: t1 is the hint (the capsule's axis for a
// capsule on a plane) or else (0,1,0), or (0,0,1) when n is nearly along y,
// made orthogonal to n; t2 = n × t1.
func contactFrame(n, hint *Vec3) (t1, t2 Vec3) {
	switch {
	case norm3(hint) >= 0.5:
		t1 = *hint
	case n[1] < 0.5 && n[1] > -0.5:
		t1 = Vec3{0, 1, 0}
	default:
		t1 = Vec3{0, 0, 1}
	}
	t1 = addScl3(&t1, n, -dot3(n, &t1))
	if l := norm3(&t1); l > 1e-12 {
		t1 = scale3(&t1, 1/l)
	} else {
		t1 = Vec3{1, 0, 0} // mju_normalize3 of a zero vector
	}
	t2 = cross3(n, &t1)
	return t1, t2
}

// makeConstraints lists the active rows of the step: dry friction, joint and
// tendon limits, contacts (MuJoCo's order). It needs kinematics, comPos,
// collide and the velocities.
func makeConstraints(m *Model, d *Data) {
	s := &d.scratch
	e := &s.efc
	e.n = 0
	nv, h := m.Nv, m.Opt.Timestep
	// Dry friction: |f| ≤ frictionloss, K = 0.
	for i := 0; i < len(m.DofFrictionloss) && i < nv; i++ {
		fl := m.DofFrictionloss[i]
		if fl <= 0 {
			continue
		}
		sp := solimpAt(m.DofSolimpFriction, i)
		ref := DefaultSolref
		if i < len(m.DofSolrefFriction) {
			ref = m.DofSolrefFriction[i]
		}
		imp := impedance(&sp, 0, 0)
		_, b := refGains(ref, sp[1], h)
		r := e.n
		e.n++
		e.nnz[r] = 1
		e.ind[r*nv] = i
		e.jac[r*nv] = 1
		e.kind[r] = efcFriction
		e.bound[r] = fl
		e.aref[r] = -b * d.Qvel[i]
		e.dinv[r] = 1 / math.Max(minVal, (1-imp)/imp*e.dofInvW[i])
	}
	// Joint limits: dist = q − lo (J = +1) and hi − q (J = −1).
	for j := 0; j < m.Njnt; j++ {
		if !m.JntLimited[j] {
			continue
		}
		if t := m.JntType[j]; t != JointHinge && t != JointSlide {
			continue
		}
		qa, da := m.JntQposAdr[j], m.JntDofAdr[j]
		q := d.Qpos[qa]
		lo, hi := m.JntRange[j][0], m.JntRange[j][1]
		if len(m.JntLockJnt) == m.Njnt && m.JntLockJnt[j] >= 0 {
			hi = lockedUpper(m, d, j, q, hi)
		}
		margin := 0.0
		if j < len(m.JntMargin) {
			margin = m.JntMargin[j]
		}
		for side := -1.0; side <= 1; side += 2 {
			var dist float64
			if side < 0 {
				dist = q - lo
			} else {
				dist = hi - q
			}
			if dist >= margin {
				continue
			}
			sp := solimpAt(m.JntSolimp, j)
			e.addLimit(m.JntSolref[j], &sp, dist, margin, -side*d.Qvel[da], e.dofInvW[da], h)
			r := e.n - 1
			e.nnz[r] = 1
			e.ind[r*nv] = da
			e.jac[r*nv] = -side
		}
	}
	// Tendon limits.
	for t := 0; t < len(m.TendonLimited) && t < m.Ntendon; t++ {
		if !m.TendonLimited[t] {
			continue
		}
		l, v := tendonState(m, d, t)
		margin := 0.0
		if t < len(m.TendonMargin) {
			margin = m.TendonMargin[t]
		}
		ref := DefaultSolref
		if t < len(m.TendonSolrefLim) {
			ref = m.TendonSolrefLim[t]
		}
		for side := -1.0; side <= 1; side += 2 {
			var dist float64
			if side < 0 {
				dist = l - m.TendonRange[t][0]
			} else {
				dist = m.TendonRange[t][1] - l
			}
			if dist >= margin {
				continue
			}
			sp := solimpAt(m.TendonSolimpLim, t)
			e.addLimit(ref, &sp, dist, margin, -side*v, e.tenInvW[t], h)
			r := e.n - 1
			k := 0
			for w := m.TendonAdr[t]; w < m.TendonAdr[t]+m.TendonNum[t]; w++ {
				e.ind[r*nv+k] = m.JntDofAdr[m.WrapJntID[w]]
				e.jac[r*nv+k] = -side * m.WrapCoef[w]
				k++
			}
			e.nnz[r] = e.sortRow(r, nv, k)
		}
	}
	// Contacts.
	for ci := 0; ci < s.ncon; ci++ {
		c := &s.con[ci]
		p := &s.pairs[c.pair]
		b1, b2 := m.GeomBodyID[p.g1], m.GeomBodyID[p.g2]
		nj := e.relJac(m, d, b1, b2, &c.pos)
		c.row0, c.nrow = e.n, 0
		if nj == 0 {
			continue
		}
		imp := impedance(&p.solimp, c.dist, p.margin)
		k, b := refGains(p.solref, p.solimp[1], h)
		off := -k * imp * (c.dist - p.margin)
		tran := e.bodyInvW[b1][0] + e.bodyInvW[b2][0]
		if p.condim == 1 {
			r, vel := e.addJacRow(d, nv, nj, &c.n, 0, nil)
			e.aref[r] = -b*vel + off
			e.dinv[r] = 1 / math.Max(minVal, (1-imp)/imp*tran)
			c.nrow = 1
			continue
		}
		mu := math.Max(minMu, p.mu)
		// MuJoCo's pyramid: every edge gets R = 2μ²·R of the first edge,
		// whose diagApprox is tran·(1 + μ²) (impratio 1).
		rpy := 2 * mu * mu * math.Max(minVal, (1-imp)/imp*(tran+mu*mu*tran))
		c.t1, c.t2 = contactFrame(&c.n, &c.hint)
		for kk := 0; kk < 2; kk++ {
			t := &c.t1
			if kk == 1 {
				t = &c.t2
			}
			for sg := 1.0; sg >= -1; sg -= 2 {
				u := addScl3(&c.n, t, sg*mu)
				r, vel := e.addJacRow(d, nv, nj, &u, 0, nil)
				e.aref[r] = -b*vel + off
				e.dinv[r] = 1 / rpy
			}
		}
		c.nrow = 4
		if p.condim >= 4 {
			mt := math.Max(minMu, p.torsion)
			for sg := 1.0; sg >= -1; sg -= 2 {
				r, vel := e.addJacRow(d, nv, nj, &c.n, sg*mt, &c.n)
				e.aref[r] = -b*vel + off
				e.dinv[r] = 1 / rpy
			}
			c.nrow = 6
		}
	}
}

// addLimit appends a one-sided limit row (its Jacobian set by the caller)
// with violation dist, velocity vel = J·q̇ and inverse weight w.
func (e *efcRows) addLimit(ref [2]float64, sp *[5]float64, dist, margin, vel, w, h float64) {
	r := e.n
	e.n++
	imp := impedance(sp, dist, margin)
	k, b := refGains(ref, sp[1], h)
	e.kind[r] = efcIneq
	e.aref[r] = -b*vel - k*imp*(dist-margin)
	e.dinv[r] = 1 / math.Max(minVal, (1-imp)/imp*w)
}

// rowDeriv returns s'(x) and the row's zone at x: 0 where s is quadratic,
// +1 (inequality: inactive; friction: at +bound) or −1 (friction at −bound).
func (e *efcRows) rowDeriv(r int, x float64) (float64, int8) {
	dx := e.dinv[r] * x
	if e.kind[r] == efcIneq {
		if x < 0 {
			return dx, 0
		}
		return 0, 1
	}
	if b := e.bound[r]; dx > b {
		return b, 1
	} else if dx < -b {
		return -b, -1
	}
	return dx, 0
}

// sortRow puts the first nz entries of row r in descending dof order, as
// relJac makes the contact rows, merging repeated dofs, and returns the new
// count: the Hessian's assembly relies on it to fill only one triangle.
func (e *efcRows) sortRow(r, nv, nz int) int {
	ind, jac := e.ind[r*nv:r*nv+nz], e.jac[r*nv:r*nv+nz]
	for i := 1; i < nz; i++ {
		for k := i; k > 0 && ind[k] > ind[k-1]; k-- {
			ind[k], ind[k-1] = ind[k-1], ind[k]
			jac[k], jac[k-1] = jac[k-1], jac[k]
		}
	}
	n := 0
	for i := 0; i < nz; i++ {
		if n > 0 && ind[i] == ind[n-1] {
			jac[n-1] += jac[i]
			continue
		}
		ind[n], jac[n] = ind[i], jac[i]
		n++
	}
	return n
}

func (e *efcRows) dotRow(r, nv int, v []float64) float64 {
	base := r * nv
	acc := 0.0
	for k := 0; k < e.nnz[r]; k++ {
		acc += e.jac[base+k] * v[e.ind[base+k]]
	}
	return acc
}

// crba writes the joint-space inertia M + diag(armature) into e.mm (dense,
// both triangles) by the composite-rigid-body algorithm, from the links'
// rigid inertias in the scratch's rigid (linkInertias), which it turns into
// composite ones. It needs kinematics and comPos.
func (e *efcRows) crba(m *Model, d *Data) {
	nv := m.Nv
	s := &d.scratch
	if s.planar {
		e.crbaPlanar(m, d)
		return
	}
	ic := s.rigid
	for i := nv - 1; i >= 0; i-- {
		if p := m.DofParentID[i]; p >= 0 {
			ic[p].add(&ic[i])
		}
	}
	clear(e.mm)
	for i := 0; i < nv; i++ {
		f := ic[i].mulMotion(&s.cdof[i])
		e.mm[i*nv+i] = dot6(&s.cdof[i], &f) + m.DofArmature[i]
		for j := m.DofParentID[i]; j >= 0; j = m.DofParentID[j] {
			v := dot6(&s.cdof[j], &f)
			e.mm[i*nv+j] = v
			e.mm[j*nv+i] = v
		}
	}
}

// cholesky factors the symmetric positive definite a (n×n, row-major) in
// place into its lower factor L (a = L·Lᵀ), reading and writing only the
// lower triangle; false if it is not positive definite.
func cholesky(a []float64, n int) bool {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j+1]
		lj := rj[:j]
		dd := rj[j]
		for _, v := range lj {
			dd -= v * v
		}
		if !(dd > 0) {
			return false
		}
		dd = math.Sqrt(dd)
		rj[j] = dd
		inv := 1 / dd
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j+1]
			ri[j] = (ri[j] - dot(ri[:j], lj)) * inv
		}
	}
	return true
}

// dot is Σ x_k·y_k over x's length, in four partial sums (as MuJoCo's
// mju_dot) so that the multiply-adds do not wait on each other.
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		x, y = x[4:], y[4:]
	}
	for k, v := range x {
		s0 += v * y[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// factorTree factors in place a symmetric positive definite a (n×n,
// row-major) whose lower triangle has the kinematic tree's sparsity (a_ij ≠ 0
// only where dof j is dof i's ancestor in parent, as in a mass matrix) into
// Lᵀ·D·L without fill-in: Featherstone's LTDL (Rigid Body Dynamics
// Algorithms, 2008, §6.5), which MuJoCo's mj_factorM also uses. L is unit
// lower triangular with the same sparsity, stored below the diagonal, D on
// it. Only the tree's entries are read or written; false if a is not
// positive definite.
func factorTree(a []float64, n int, parent []int) bool {
	for k := n - 1; k >= 0; k-- {
		rk := a[k*n : k*n+k+1]
		dk := rk[k]
		if !(dk > 0) {
			return false
		}
		for i := parent[k]; i >= 0; i = parent[i] {
			f := rk[i] / dk
			ri := a[i*n : i*n+i+1]
			for j := i; j >= 0; j = parent[j] {
				ri[j] -= rk[j] * f
			}
			rk[i] = f
		}
	}
	return true
}

// solveTree solves Lᵀ·D·L·x = b in place (x holds b on entry) with the
// factor of factorTree.
func solveTree(l []float64, n int, parent []int, x []float64) {
	for k := n - 1; k >= 0; k-- {
		xk := x[k]
		for i := parent[k]; i >= 0; i = parent[i] {
			x[i] -= l[k*n+i] * xk
		}
	}
	for k := range n {
		x[k] /= l[k*n+k]
	}
	for k := range n {
		v := x[k]
		for i := parent[k]; i >= 0; i = parent[i] {
			v -= l[k*n+i] * x[i]
		}
		x[k] = v
	}
}

// chainRow reports whether the dofs of row r (descending) lie on one path
// to the root, each the ancestor of the one before: then D·JᵀJ adds no
// entry outside the tree's sparsity, and the Hessian keeps it.
func (e *efcRows) chainRow(r, nv int, parent []int) bool {
	ind := e.ind[r*nv : r*nv+e.nnz[r]]
	for k := 1; k < len(ind); k++ {
		j := parent[ind[k-1]]
		for j > ind[k] {
			j = parent[j]
		}
		if j != ind[k] {
			return false
		}
	}
	return true
}

// cholSolve solves L·Lᵀ·x = b in place (x holds b on entry).
func cholSolve(l []float64, n int, x []float64) {
	for i := 0; i < n; i++ {
		v := x[i]
		for k, lv := range l[i*n : i*n+i] {
			v -= lv * x[k]
		}
		x[i] = v / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		v := x[i]
		for k := i + 1; k < n; k++ {
			v -= l[k*n+i] * x[k]
		}
		x[i] = v / l[i*n+i]
	}
}

// mulMTree writes y = M·x for a matrix with the kinematic tree's sparsity
// (M_ij ≠ 0 only where one of i, j is the other's ancestor in parent, as in
// the mass matrix e.mm), dense storage, reading the lower triangle: about
// half of the dense product's work on a branched tree (MuJoCo's mj_mulM).
func mulMTree(a []float64, n int, parent []int, x, y []float64) {
	for i := 0; i < n; i++ {
		y[i] = a[i*n+i] * x[i]
	}
	for i := 0; i < n; i++ {
		row := a[i*n : i*n+i]
		xi, yi := x[i], y[i]
		for j := parent[i]; j >= 0; j = parent[j] {
			yi += row[j] * x[j]
			y[j] += row[j] * xi
		}
		y[i] = yi
	}
}

// solveConstraints finds the constrained acceleration of the step into
// d.Qacc. On entry e.a0 holds the unconstrained acceleration M⁻¹(τ − c) and
// e.mm the mass matrix; it leaves the row forces in e.f. It returns false
// when a Hessian is not positive definite.
func solveConstraints(m *Model, d *Data) bool {
	e := &d.scratch.efc
	nv, nr := m.Nv, e.n
	a := d.Qacc
	copy(a, e.a0)
	// When every row lies on one path to the root (contacts with the
	// world or along one chain, limits, friction), the Hessian has the mass
	// matrix's sparsity and factors along the tree; else densely.
	tree := true
	for r := 0; r < nr; r++ {
		e.x[r] = e.dotRow(r, nv, a) - e.aref[r]
		_, e.zone[r] = e.rowDeriv(r, e.x[r])
		tree = tree && e.chainRow(r, nv, m.DofParentID)
	}
	e.tree = tree
	for it := 0; it < newtonIt; it++ {
		// Gradient g = M(a − a0) + Σ Jᵀ s'(x) and Hessian M + Σ_quad D JᵀJ.
		for i := range e.tmp {
			e.tmp[i] = a[i] - e.a0[i]
		}
		mulMTree(e.mm, nv, m.DofParentID, e.tmp, e.mr)
		copy(e.g, e.mr)
		copy(e.hh, e.mm)
		for r := 0; r < nr; r++ {
			sd, z := e.rowDeriv(r, e.x[r])
			base := r * nv
			nz := e.nnz[r]
			for k := 0; k < nz; k++ {
				e.g[e.ind[base+k]] += sd * e.jac[base+k]
			}
			if z != 0 {
				continue
			}
			// Only the lower triangle, which cholesky reads: a row's
			// dofs are in descending order (sortRow), so l ≥ k is j ≤ i.
			dr := e.dinv[r]
			ind, jac := e.ind[base:base+nz], e.jac[base:base+nz]
			for k, ik := range ind {
				vk := dr * jac[k]
				row := e.hh[ik*nv : ik*nv+ik+1]
				for l := k; l < nz; l++ {
					row[ind[l]] += vk * jac[l]
				}
			}
		}
		for i, v := range e.g {
			e.dir[i] = -v
		}
		if tree {
			if !factorTree(e.hh, nv, m.DofParentID) {
				return false
			}
			solveTree(e.hh, nv, m.DofParentID, e.dir)
		} else {
			if !cholesky(e.hh, nv) {
				return false
			}
			cholSolve(e.hh, nv, e.dir)
		}
		// Would the full step keep every row in its zone? Then it is exact.
		same := true
		for r := 0; r < nr; r++ {
			e.jd[r] = e.dotRow(r, nv, e.dir)
			if _, z := e.rowDeriv(r, e.x[r]+e.jd[r]); z != e.zone[r] {
				same = false
			}
		}
		alpha := 1.0
		if !same {
			alpha = e.lineSearch(nv, nr, m.DofParentID)
		}
		for i := range a {
			a[i] += alpha * e.dir[i]
		}
		small := true
		for i := range e.dir {
			if math.Abs(alpha*e.dir[i]) > 1e-12*(1+math.Abs(a[i])) {
				small = false
				break
			}
		}
		for r := 0; r < nr; r++ {
			e.x[r] += alpha * e.jd[r]
			_, e.zone[r] = e.rowDeriv(r, e.x[r])
		}
		e.iters = it + 1
		if same || small {
			break
		}
	}
	for r := 0; r < nr; r++ {
		sd, _ := e.rowDeriv(r, e.x[r])
		e.f[r] = -sd
	}
	return true
}

// lineSearch minimises the convex piecewise quadratic cost along e.dir by a
// safeguarded Newton iteration on its derivative (piecewise linear).
func (e *efcRows) lineSearch(nv, nr int, parent []int) float64 {
	mulMTree(e.mm, nv, parent, e.dir, e.mdir)
	dmd, dmr := 0.0, 0.0
	for i, v := range e.dir {
		dmd += v * e.mdir[i]
		dmr += v * e.mr[i]
	}
	deriv := func(al float64) (d1, d2 float64) {
		d1, d2 = al*dmd+dmr, dmd
		for r := 0; r < nr; r++ {
			jd := e.jd[r]
			sd, z := e.rowDeriv(r, e.x[r]+al*jd)
			d1 += sd * jd
			if z == 0 {
				d2 += e.dinv[r] * jd * jd
			}
		}
		return d1, d2
	}
	d0, _ := deriv(0)
	scale := math.Abs(d0) + 1e-300
	lo, hi := 0.0, math.Inf(1)
	al := 1.0
	for k := 0; k < 50; k++ {
		d1, d2 := deriv(al)
		if math.Abs(d1) <= 1e-13*scale {
			break
		}
		if d1 < 0 {
			lo = al
		} else {
			hi = al
		}
		next := al - d1/d2
		if !(next > lo && next < hi) {
			if math.IsInf(hi, 1) {
				next = 2 * al
			} else {
				next = 0.5 * (lo + hi)
			}
		}
		al = next
	}
	return al
}

// finishConstrained turns the solution into the step's acceleration with
// MuJoCo's implicit joint damping, (M + h·diag(b))·q̈ = M·a, and the row
// forces into contact wrenches (CfrcExt). It returns false when M + h·D is
// not positive definite.
func finishConstrained(m *Model, d *Data) bool {
	s := &d.scratch
	e := &s.efc
	nv := m.Nv
	damped := false
	for _, b := range m.DofDamping {
		if b > 0 {
			damped = true
			break
		}
	}
	if damped {
		mulMTree(e.mm, nv, m.DofParentID, d.Qacc, e.tmp)
		copy(e.hh, e.mm)
		h := m.Opt.Timestep
		for i := 0; i < nv; i++ {
			e.hh[i*nv+i] += h * m.DofDamping[i]
		}
		if !factorTree(e.hh, nv, m.DofParentID) {
			return false
		}
		solveTree(e.hh, nv, m.DofParentID, e.tmp)
		copy(d.Qacc, e.tmp)
	}
	for i := range d.CfrcExt {
		d.CfrcExt[i] = [6]float64{}
	}
	for ci := 0; ci < s.ncon; ci++ {
		c := &s.con[ci]
		if c.nrow == 0 {
			continue
		}
		p := &s.pairs[c.pair]
		var f, tq Vec3
		if c.nrow == 1 {
			f = scale3(&c.n, e.f[c.row0])
		} else {
			mu := math.Max(minMu, p.mu)
			r := c.row0
			for kk := 0; kk < 2; kk++ {
				t := &c.t1
				if kk == 1 {
					t = &c.t2
				}
				for sg := 1.0; sg >= -1; sg -= 2 {
					u := addScl3(&c.n, t, sg*mu)
					f = addScl3(&f, &u, e.f[r])
					r++
				}
			}
			if c.nrow == 6 {
				mt := math.Max(minMu, p.torsion)
				f = addScl3(&f, &c.n, e.f[r]+e.f[r+1])
				tq = scale3(&c.n, mt*(e.f[r]-e.f[r+1]))
			}
		}
		b1, b2 := m.GeomBodyID[p.g1], m.GeomBodyID[p.g2]
		addWrench(d, b2, &c.pos, &f, &tq, 1)
		addWrench(d, b1, &c.pos, &f, &tq, -1)
	}
	return true
}

// addWrench adds sign·(force f at pos, torque tq) to body b's CfrcExt.
func addWrench(d *Data, b int, pos, f, tq *Vec3, sign float64) {
	if d.scratch.bodyNode[b] < 0 {
		return
	}
	fs := scale3(f, sign)
	rc := sub3(pos, &d.Xipos[b])
	tc := cross3(&rc, &fs)
	w := &d.CfrcExt[b]
	for k := 0; k < 3; k++ {
		w[k] += tc[k] + sign*tq[k]
		w[3+k] += fs[k]
	}
}

// ConstraintStats returns the number of constraint rows of the last step and
// the Newton iterations its solve took (0 and 0 without constraints).
func (d *Data) ConstraintStats() (rows, iterations int) {
	if d.scratch.efc.n == 0 {
		return 0, 0
	}
	return d.scratch.efc.n, d.scratch.efc.iters
}

// massless returns the first joint whose dofs move no mass, inertia or
// armature (a zero on the diagonal of M at qpos0, which makes M singular),
// or -1.
func massless(m *Model) int {
	if m.Nv == 0 {
		return -1
	}
	d := NewData(m)
	kinematics(m, d)
	comPos(m, d)
	linkInertias(m, d, d.rigid)
	d.efc.crba(m, d)
	for i := 0; i < m.Nv; i++ {
		if !(d.efc.mm[i*m.Nv+i] > 1e-12) {
			return m.DofJntID[i]
		}
	}
	return -1
}
