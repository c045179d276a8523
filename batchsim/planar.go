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

// The values below are structs, not arrays: Go keeps a struct of up to
// four numbers in registers, an array of more than one in memory.

// planarQuat is a rotation about y as the w and y of its quaternion.
type planarQuat struct{ w, y float64 }

// mul returns a⊗b (mulQuat without the zero terms).
func (a planarQuat) mul(b planarQuat) planarQuat {
	return planarQuat{a.w*b.w - a.y*b.y, a.w*b.y + a.y*b.w}
}

// planarRot is the rotation matrix of a planarQuat,
//
//	[ c   0   s ]
//	[ 0   yy  0 ]
//	[ −s  0   c ]
//
// with yy = w² + y², which quatToMat leaves at 1 only to rounding.
type planarRot struct{ c, s, yy float64 }

// rot is quatToMat without the zero terms.
func (q planarQuat) rot() planarRot {
	ww, yy, yw := q.w*q.w, q.y*q.y, q.y*q.w
	return planarRot{ww - yy, 2 * yw, ww + yy}
}

// rotOf reads a planar body's rotation from its matrix.
func rotOf(r *[9]float64) planarRot { return planarRot{r[0], r[2], r[4]} }

// mat writes r as a row-major matrix (quatToMat's: r6 = 2·(−yw) = −s).
func (r planarRot) mat(dst *[9]float64) {
	*dst = [9]float64{r.c, 0, r.s, 0, r.yy, 0, -r.s, 0, r.c}
}

// point is a position or a direction in registers.
type point struct{ x, y, z float64 }

func (a point) vec() Vec3 { return Vec3{a.x, a.y, a.z} }

// apply returns R·v (mulMatVec without the zero terms).
func (r planarRot) apply(v *Vec3) point {
	return point{r.c*v[0] + r.s*v[2], r.yy * v[1], -r.s*v[0] + r.c*v[2]}
}

// add returns a + b in add3's order.
func (a point) add(b *Vec3) point { return point{a.x + b[0], a.y + b[1], a.z + b[2]} }

// kinematicsPlanar is kinematics for a planar model.
func kinematicsPlanar(m *Model, d *Data) {
	s := &d.scratch
	qpos := d.Qpos
	for b := 1; b < m.Nbody; b++ {
		p := m.BodyParentID[b]
		xpos := rotOf(&s.xmat[p]).apply(&m.BodyPos[b]).add(&d.Xpos[p])
		pq, bq := &d.Xquat[p], &m.BodyQuat[b]
		xquat := planarQuat{pq[0], pq[2]}.mul(planarQuat{bq[0], bq[2]})
		for j := m.BodyJntAdr[b]; j < m.BodyJntAdr[b]+m.BodyJntNum[b]; j++ {
			ja, jp := &m.JntAxis[j], &m.JntPos[j]
			offset := *jp != (Vec3{})
			r := xquat.rot()
			axis := r.apply(ja)
			anchor := xpos // R·0 + xpos
			if offset {
				v := r.apply(jp)
				anchor = point{v.x + xpos.x, v.y + xpos.y, v.z + xpos.z}
			}
			s.xaxis[j] = axis.vec()
			s.xanchor[j] = anchor.vec()
			a := m.JntQposAdr[j]
			if m.JntType[j] == JointSlide {
				t := qpos[a] - m.Qpos0[a]
				xpos = point{xpos.x + t*axis.x, xpos.y + t*axis.y, xpos.z + t*axis.z}
				continue
			}
			sn, cs := math.Sincos((qpos[a] - m.Qpos0[a]) / 2)
			xquat = xquat.mul(planarQuat{cs, ja[1] * sn})
			if offset {
				v := xquat.rot().apply(jp)
				xpos = point{anchor.x - v.x, anchor.y - v.y, anchor.z - v.z}
			}
		}
		// normalizeQuat
		if n := math.Sqrt(xquat.w*xquat.w + xquat.y*xquat.y); n < 1e-15 {
			xquat = planarQuat{1, 0}
		} else if n != 1 {
			sc := 1 / n
			xquat.w *= sc
			xquat.y *= sc
		}
		r := xquat.rot()
		d.Xpos[b] = xpos.vec()
		d.Xquat[b] = Quat{xquat.w, 0, xquat.y, 0}
		r.mat(&s.xmat[b])
		ip := r.apply(&m.BodyIpos[b])
		d.Xipos[b] = Vec3{xpos.x + ip.x, xpos.y + ip.y, xpos.z + ip.z}
	}
	for g := 0; g < m.Ngeom; g++ {
		b := m.GeomBodyID[g]
		if b == 0 {
			d.GeomXpos[g], d.GeomXmat[g] = m.GeomPos[g], s.geomMat[g]
			continue
		}
		r, c := rotOf(&s.xmat[b]), &s.geomMat[g]
		d.GeomXpos[g] = r.apply(&m.GeomPos[g]).add(&d.Xpos[b]).vec()
		// mulMat without the zero terms
		d.GeomXmat[g] = [9]float64{
			r.c*c[0] + r.s*c[6], r.c*c[1] + r.s*c[7], r.c*c[2] + r.s*c[8],
			r.yy * c[3], r.yy * c[4], r.yy * c[5],
			-r.s*c[0] + r.c*c[6], -r.s*c[1] + r.c*c[7], -r.s*c[2] + r.c*c[8],
		}
	}
	for i := 0; i < m.Nsite; i++ {
		b := m.SiteBodyID[i]
		d.SiteXpos[i] = rotOf(&s.xmat[b]).apply(&m.SitePos[i]).add(&d.Xpos[b]).vec()
	}
}

// comVelPlanar is comVel for a planar model: every dof is a hinge or a
// slide, and v ×ₘ S has only the components 3 and 5.
func comVelPlanar(m *Model, d *Data) {
	s := &d.scratch
	var w0, x0, z0 float64 // the parent link's velocity
	for i := 0; i < m.Nv; i++ {
		w0, x0, z0 = 0, 0, 0
		if p := m.DofParentID[i]; p >= 0 {
			vp := &s.cvel[p]
			w0, x0, z0 = vp[1], vp[3], vp[5]
		}
		c, q := &s.cdof[i], d.Qvel[i]
		w, x, z := c[1]*q, c[3]*q, c[5]*q
		s.cacc[i] = [6]float64{3: w0*z - z0*w, 5: x0*w - w0*x}
		s.cvel[i] = [6]float64{1: w0 + w, 3: x0 + x, 5: z0 + z}
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
		xi, xr := &d.Xipos[b], &d.Xpos[s.treeRoot[b]]
		cx, cz := xi[0]-xr[0], xi[2]-xr[2]
		mass := m.BodyMass[b]
		mx, mz := mass*cx, mass*cz
		a := &ia[n]
		a[0] += mass
		a[1] += mx
		a[3] += mz
		a[5] += iyy + mx*cx + mz*cz
	}
}

// planarVec is a motion or force vector's in-plane components: (ω_y; v_x,
// v_z) or (n_y; f_x, f_z).
type planarVec struct{ w, x, z float64 }

func inPlane(v *[6]float64) planarVec { return planarVec{v[1], v[3], v[5]} }

// dot sums in dot6's order.
func (a planarVec) dot(b planarVec) float64 { return a.w*b.w + a.x*b.x + a.z*b.z }

// rigidMulPlanar is rigidInertia.mulMotion's in-plane components for an
// in-plane motion.
func rigidMulPlanar(a *rigidInertia, v planarVec) planarVec {
	m, hx, hz, iyy := a[0], a[1], a[3], a[5]
	return planarVec{iyy*v.w + hz*v.x - hx*v.z, m*v.x + hz*v.w, m*v.z - hx*v.w}
}

// crossForcePlanar is crossForce's in-plane components for in-plane v and f.
func crossForcePlanar(v, f planarVec) planarVec {
	return planarVec{v.z*f.x - v.x*f.z, v.w * f.z, -(v.w * f.x)}
}

// planarSym is the in-plane block of a symmetric 6×6 (rows and columns 1,
// 3, 5) as its upper triangle: ww wx wz xx xz zz.
type planarSym [6]float64

func (a *planarSym) mul(x planarVec) planarVec {
	return planarVec{
		a[0]*x.w + a[1]*x.x + a[2]*x.z,
		a[1]*x.w + a[3]*x.x + a[4]*x.z,
		a[2]*x.w + a[4]*x.x + a[5]*x.z,
	}
}

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
		fe := &s.fext[i]
		pl.pa[i] = planarVec{p.w - fe[1], p.x - fe[3], p.z - fe[5]}
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
		// Ia = IA − U·Uᵀ/D (symUpper's products, entry by entry)
		ip := &pl.ia[p]
		ia[0] -= u.w * dinv * u.w
		ia[1] -= u.w * dinv * u.x
		ia[2] -= u.w * dinv * u.z
		ia[3] -= u.x * dinv * u.x
		ia[4] -= u.x * dinv * u.z
		ia[5] -= u.z * dinv * u.z
		for k := range ip {
			ip[k] += ia[k]
		}
		iac := ia.mul(inPlane(&s.cacc[i]))
		sc := ui * dinv
		pp, pi := &pl.pa[p], pl.pa[i]
		pp.w += pi.w + iac.w + u.w*sc
		pp.x += pi.x + iac.x + u.x*sc
		pp.z += pi.z + iac.z + u.z*sc
	}
	aw := planarVec{0, -m.Opt.Gravity[0], -m.Opt.Gravity[2]}
	for i := 0; i < nv; i++ {
		a := aw
		if p := m.DofParentID[i]; p >= 0 {
			a = pl.acc[p]
		}
		c := &s.cacc[i]
		a = planarVec{a.w + c[1], a.x + c[3], a.z + c[5]}
		qdd := (s.uf[i] - pl.u[i].dot(a)) * s.dinv[i]
		d.Qacc[i] = qdd
		sd := &s.cdof[i]
		pl.acc[i] = planarVec{a.w + sd[1]*qdd, a.x + sd[3]*qdd, a.z + sd[5]*qdd}
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
		c := &s.cacc[i]
		a = planarVec{a.w + c[1], a.x + c[3], a.z + c[5]}
		pl.acc[i] = a
		f := rigidMulPlanar(&ia[i], a)
		v := inPlane(&s.cvel[i])
		vf := crossForcePlanar(v, rigidMulPlanar(&ia[i], v))
		fe := &s.fext[i]
		pl.pa[i] = planarVec{f.w + (vf.w - fe[1]), f.x + (vf.x - fe[3]), f.z + (vf.z - fe[5])}
	}
	for i := nv - 1; i >= 0; i-- {
		pi := pl.pa[i]
		dst[i] = inPlane(&s.cdof[i]).dot(pi)
		if p := m.DofParentID[i]; p >= 0 {
			pp := &pl.pa[p]
			pp.w += pi.w
			pp.x += pi.x
			pp.z += pi.z
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
		sd := inPlane(&s.cdof[i])
		f := rigidMulPlanar(&ic[i], sd)
		e.mm[i*nv+i] = sd.dot(f) + m.DofArmature[i]
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
