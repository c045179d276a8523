package batchsim

import "math"

// Planar models: the step's spatial algebra in three numbers instead of six.
//
// A model is planar in the xz-plane when every hinge turns about ±y, every
// slide moves in the plane, every body frame is turned from its parent's
// about y only and gravity has no y component: gym's HalfCheetah, Hopper,
// Walker2d and Swimmer. Every motion vector of such a model, about any point
// of the plane, has only the components (ω_y; v_x, v_z), indices 1, 3 and 5
// of the engine's (ω; v); body orientations are rotations about y, so
// quaternions have only w and y. The joint-space quantities (the mass
// matrix, the bias forces, ABA's accelerations) are products of these
// motion vectors with forces, so only the forces' components (n_y; f_x, f_z)
// enter, and those depend only on the in-plane block of each inertia:
// (m, h_x, h_z, I_yy) for a rigid one, a symmetric 3×3 for an articulated
// one. The reduction is exact, not an approximation.
//
// The functions below are the general ones of kinematics.go, dynamics.go,
// engine.go and constraint.go with the terms that are zero in a planar model
// left out and the remaining ones summed in the same order, so the planar
// path gives the general path's numbers bit for bit
// (TestPlanarPathMatchesGeneral); they only skip work. The general ones
// dispatch here when NewData found the model planar (scratch.planar).

// planarModel reports whether m moves in the xz-plane (above).
func planarModel(m *Model) bool {
	if m.Nbody < 2 || m.Opt.Gravity[1] != 0 {
		return false
	}
	for b := 1; b < m.Nbody; b++ {
		if q := &m.BodyQuat[b]; q[1] != 0 || q[3] != 0 {
			return false
		}
	}
	for j := 0; j < m.Njnt; j++ {
		a := &m.JntAxis[j]
		switch m.JntType[j] {
		case JointHinge:
			if a[0] != 0 || a[2] != 0 {
				return false
			}
		case JointSlide:
			if a[1] != 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// planarQuat is a rotation about y as the (w, y) of its quaternion.
type planarQuat [2]float64

// mul returns a⊗b (mulQuat without the zero terms).
func (a planarQuat) mul(b planarQuat) planarQuat {
	return planarQuat{a[0]*b[0] - a[1]*b[1], a[0]*b[1] + a[1]*b[0]}
}

// mat writes the rotation matrix of q (quatToMat without the zero terms).
func (q planarQuat) mat(r *[9]float64) {
	ww, yy, yw := q[0]*q[0], q[1]*q[1], q[1]*q[0]
	*r = [9]float64{ww - yy, 0, 2 * yw, 0, ww + yy, 0, 2 * -yw, 0, ww - yy}
}

// mulPlanarMatVec returns R·v for R = planarQuat.mat (mulMatVec without the
// zero terms).
func mulPlanarMatVec(r *[9]float64, v *Vec3) Vec3 {
	return Vec3{r[0]*v[0] + r[2]*v[2], r[4] * v[1], r[6]*v[0] + r[8]*v[2]}
}

// kinematicsPlanar is kinematics for a planar model.
func kinematicsPlanar(m *Model, d *Data) {
	s := &d.scratch
	qpos := d.Qpos
	for b := 1; b < m.Nbody; b++ {
		p := m.BodyParentID[b]
		xpos := mulPlanarMatVec(&s.xmat[p], &m.BodyPos[b])
		xpos = add3(&xpos, &d.Xpos[p])
		pq, bq := &d.Xquat[p], &m.BodyQuat[b]
		xquat := planarQuat{pq[0], pq[2]}.mul(planarQuat{bq[0], bq[2]})
		var r [9]float64
		for j := m.BodyJntAdr[b]; j < m.BodyJntAdr[b]+m.BodyJntNum[b]; j++ {
			ja, jp := &m.JntAxis[j], &m.JntPos[j]
			offset := *jp != (Vec3{})
			var axis Vec3
			if offset || m.JntType[j] == JointSlide {
				xquat.mat(&r)
				axis = mulPlanarMatVec(&r, ja)
			} else {
				// a hinge about y through the body origin needs only R's yy
				axis = Vec3{0, (xquat[0]*xquat[0] + xquat[1]*xquat[1]) * ja[1], 0}
			}
			anchor := xpos // R·0 + xpos
			if offset {
				anchor = mulPlanarMatVec(&r, jp)
				anchor = add3(&anchor, &xpos)
			}
			s.xaxis[j] = axis
			s.xanchor[j] = anchor
			a := m.JntQposAdr[j]
			if m.JntType[j] == JointSlide {
				xpos = addScl3(&xpos, &axis, qpos[a]-m.Qpos0[a])
				continue
			}
			ql := axisAngleQuat(ja, qpos[a]-m.Qpos0[a])
			xquat = xquat.mul(planarQuat{ql[0], ql[2]})
			if offset {
				xquat.mat(&r)
				v := mulPlanarMatVec(&r, jp)
				xpos = sub3(&anchor, &v)
			}
		}
		// normalizeQuat
		if n := math.Sqrt(xquat[0]*xquat[0] + xquat[1]*xquat[1]); n < 1e-15 {
			xquat = planarQuat{1, 0}
		} else if n != 1 {
			sc := 1 / n
			xquat[0] *= sc
			xquat[1] *= sc
		}
		d.Xpos[b] = xpos
		d.Xquat[b] = Quat{xquat[0], 0, xquat[1], 0}
		xm := &s.xmat[b]
		xquat.mat(xm)
		ip := mulPlanarMatVec(xm, &m.BodyIpos[b])
		d.Xipos[b] = add3(&xpos, &ip)
	}
	for g := 0; g < m.Ngeom; g++ {
		b := m.GeomBodyID[g]
		if b == 0 {
			d.GeomXpos[g], d.GeomXmat[g] = m.GeomPos[g], s.geomMat[g]
			continue
		}
		a, c := &s.xmat[b], &s.geomMat[g]
		gp := mulPlanarMatVec(a, &m.GeomPos[g])
		d.GeomXpos[g] = add3(&d.Xpos[b], &gp)
		d.GeomXmat[g] = [9]float64{
			a[0]*c[0] + a[2]*c[6], a[0]*c[1] + a[2]*c[7], a[0]*c[2] + a[2]*c[8],
			a[4] * c[3], a[4] * c[4], a[4] * c[5],
			a[6]*c[0] + a[8]*c[6], a[6]*c[1] + a[8]*c[7], a[6]*c[2] + a[8]*c[8],
		}
	}
	for i := 0; i < m.Nsite; i++ {
		b := m.SiteBodyID[i]
		sp := mulPlanarMatVec(&s.xmat[b], &m.SitePos[i])
		d.SiteXpos[i] = add3(&d.Xpos[b], &sp)
	}
}

// comVelPlanar is comVel for a planar model: every dof is a hinge or a
// slide, and v ×ₘ S has only the components 3 and 5.
func comVelPlanar(m *Model, d *Data) {
	s := &d.scratch
	for i := 0; i < m.Nv; i++ {
		var vp [6]float64
		if p := m.DofParentID[i]; p >= 0 {
			vp = s.cvel[p]
		}
		c, q := &s.cdof[i], d.Qvel[i]
		w, x, z := c[1]*q, c[3]*q, c[5]*q
		s.cacc[i] = [6]float64{3: vp[1]*z - vp[5]*w, 5: vp[3]*w - vp[1]*x}
		vp[1] += w
		vp[3] += x
		vp[5] += z
		s.cvel[i] = vp
	}
}

// linkInertiasPlanar is linkInertias for a planar model: it fills only the
// in-plane entries m, h_x, h_z and I_yy (0, 1, 3, 5 of rigidInertia); a
// body's I_yy about its centre of mass does not change as it turns about y.
func linkInertiasPlanar(m *Model, d *Data, ia []rigidInertia) {
	s := &d.scratch
	clear(ia)
	for b := 1; b < m.Nbody; b++ {
		n := s.bodyNode[b]
		if n < 0 || m.BodyMass[b] == 0 && s.bodyRotI[b] == ([9]float64{}) {
			continue
		}
		r4 := s.xmat[b][4]
		iyy := r4 * s.bodyRotI[b][4] * r4
		c := sub3(&d.Xipos[b], &d.Xpos[s.treeRoot[b]])
		mass := m.BodyMass[b]
		mx, mz := mass*c[0], mass*c[2]
		a := &ia[n]
		a[0] += mass
		a[1] += mx
		a[3] += mz
		a[5] += iyy + mx*c[0] + mz*c[2]
	}
}

// planarVec is a motion or force vector's in-plane components: (ω_y; v_x,
// v_z) or (n_y; f_x, f_z).
type planarVec [3]float64

func inPlane(v *[6]float64) planarVec { return planarVec{v[1], v[3], v[5]} }

func (a planarVec) dot(b planarVec) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// rigidMulPlanar is rigidInertia.mulMotion's in-plane components for an
// in-plane motion.
func rigidMulPlanar(a *rigidInertia, v planarVec) planarVec {
	m, hx, hz, iyy := a[0], a[1], a[3], a[5]
	return planarVec{iyy*v[0] + hz*v[1] - hx*v[2], m*v[1] + hz*v[0], m*v[2] - hx*v[0]}
}

// crossForcePlanar is crossForce's in-plane components for in-plane v and f.
func crossForcePlanar(v, f planarVec) planarVec {
	return planarVec{v[2]*f[1] - v[1]*f[2], v[0] * f[2], -(v[0] * f[1])}
}

// planarSym is the in-plane block of a symmetric 6×6 (rows and columns 1,
// 3, 5) as its upper triangle: 11 13 15 33 35 55.
type planarSym [6]float64

func (a *planarSym) mul(x planarVec) planarVec {
	return planarVec{
		a[0]*x[0] + a[1]*x[1] + a[2]*x[2],
		a[1]*x[0] + a[3]*x[1] + a[4]*x[2],
		a[2]*x[0] + a[4]*x[1] + a[5]*x[2],
	}
}

// planarUpper lists the (row, column) of each of planarSym's entries.
var planarUpper = [6][2]uint8{{0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2}}

// fwdAccelerationPlanar is fwdAcceleration (ABA) for a planar model.
func fwdAccelerationPlanar(m *Model, d *Data) {
	s := &d.scratch
	pl := &s.pl
	nv := m.Nv
	linkInertiasPlanar(m, d, s.rigid)
	for i := 0; i < nv; i++ {
		r := &s.rigid[i]
		pl.ia[i] = planarSym{r[5], r[3], -r[1], r[0], 0, r[0]}
		v := inPlane(&s.cvel[i])
		p := crossForcePlanar(v, rigidMulPlanar(r, v))
		fe := inPlane(&s.fext[i])
		for k := range p {
			p[k] -= fe[k]
		}
		pl.pa[i] = p
	}
	for i := nv - 1; i >= 0; i-- {
		ia := &pl.ia[i]
		sd := inPlane(&s.cdof[i])
		u := ia.mul(sd)
		dinv := 1 / (sd.dot(u) + m.DofArmature[i] + s.diagExtra[i])
		ui := s.qfrc[i] - sd.dot(pl.pa[i])
		pl.u[i] = u
		s.dinv[i] = dinv
		s.uf[i] = ui
		p := m.DofParentID[i]
		if p < 0 {
			continue
		}
		ip := &pl.ia[p]
		for k, rc := range planarUpper {
			ia[k] -= u[rc[0]] * dinv * u[rc[1]]
			ip[k] += ia[k]
		}
		iac := ia.mul(inPlane(&s.cacc[i]))
		sc := ui * dinv
		pp, pi := &pl.pa[p], &pl.pa[i]
		for k := range pp {
			pp[k] += pi[k] + iac[k] + u[k]*sc
		}
	}
	aw := planarVec{0, -m.Opt.Gravity[0], -m.Opt.Gravity[2]}
	for i := 0; i < nv; i++ {
		a := aw
		if p := m.DofParentID[i]; p >= 0 {
			a = pl.acc[p]
		}
		c := inPlane(&s.cacc[i])
		for k := range a {
			a[k] += c[k]
		}
		qdd := (s.uf[i] - pl.u[i].dot(a)) * s.dinv[i]
		d.Qacc[i] = qdd
		sd := inPlane(&s.cdof[i])
		for k := range a {
			a[k] += sd[k] * qdd
		}
		pl.acc[i] = a
	}
}

// biasForcesPlanar is biasForces for a planar model.
func biasForcesPlanar(m *Model, d *Data, ia []rigidInertia, dst []float64) {
	s := &d.scratch
	pl := &s.pl
	nv := m.Nv
	aw := planarVec{0, -m.Opt.Gravity[0], -m.Opt.Gravity[2]}
	for i := 0; i < nv; i++ {
		a := aw
		if p := m.DofParentID[i]; p >= 0 {
			a = pl.acc[p]
		}
		c := inPlane(&s.cacc[i])
		for k := range a {
			a[k] += c[k]
		}
		pl.acc[i] = a
		f := rigidMulPlanar(&ia[i], a)
		v := inPlane(&s.cvel[i])
		vf := crossForcePlanar(v, rigidMulPlanar(&ia[i], v))
		fe := inPlane(&s.fext[i])
		for k := range f {
			f[k] += vf[k] - fe[k]
		}
		pl.pa[i] = f
	}
	for i := nv - 1; i >= 0; i-- {
		dst[i] = inPlane(&s.cdof[i]).dot(pl.pa[i])
		if p := m.DofParentID[i]; p >= 0 {
			pp, pi := &pl.pa[p], &pl.pa[i]
			for k := range pp {
				pp[k] += pi[k]
			}
		}
	}
}

// crbaPlanar is efcRows.crba for a planar model.
func (e *efcRows) crbaPlanar(m *Model, d *Data) {
	nv := m.Nv
	s := &d.scratch
	ic := s.rigid
	for i := nv - 1; i >= 0; i-- {
		if p := m.DofParentID[i]; p >= 0 {
			a, b := &ic[p], &ic[i]
			a[0] += b[0]
			a[1] += b[1]
			a[3] += b[3]
			a[5] += b[5]
		}
	}
	clear(e.mm)
	for i := 0; i < nv; i++ {
		f := rigidMulPlanar(&ic[i], inPlane(&s.cdof[i]))
		e.mm[i*nv+i] = inPlane(&s.cdof[i]).dot(f) + m.DofArmature[i]
		for j := m.DofParentID[i]; j >= 0; j = m.DofParentID[j] {
			v := inPlane(&s.cdof[j]).dot(f)
			e.mm[i*nv+j] = v
			e.mm[j*nv+i] = v
		}
	}
}

// planarScratch is the planar path's working memory (nv each).
type planarScratch struct {
	ia  []planarSym // articulated inertias
	pa  []planarVec // articulated bias forces, then Newton–Euler's link forces
	u   []planarVec // U = IA·S
	acc []planarVec // link accelerations
}

func (p *planarScratch) alloc(nv int) {
	p.ia = make([]planarSym, nv)
	p.pa = make([]planarVec, nv)
	p.u = make([]planarVec, nv)
	p.acc = make([]planarVec, nv)
}
