package batchsim

import "math"

// Joint forces and forward dynamics.
//
// The generalized force is MuJoCo's qfrc_smooth without the bias:
// qfrc = qfrc_passive (spring −k(q − springref), damping −b·q̇) +
// qfrc_actuator. Contact-free forward dynamics solves
//
//	(M(q) + diag(armature) + h·diag(damping))·q̈ = qfrc − C(q, q̇) + Jᵀf_ext
//
// with Featherstone's articulated-body algorithm (ABA, "Rigid Body Dynamics
// Algorithms", 2008, §7.3) over the dof tree in the common-frame form
// (all quantities about the tree's reference point, world axes; §7.4 notes
// that ABA in absolute coordinates needs no coordinate transforms). The
// h·damping on the diagonal is MuJoCo's implicit joint damping of its Euler
// integrator (mj_Euler adds h·dof_damping to the diagonal of qM), so that a
// contact-free motion matches MuJoCo to rounding.

// fwdActuation clamps and applies the controls and adds the passive forces:
// it fills qfrc (nv) and the implicit damping diagonal. Limits and dry
// friction are constraint rows (constraint.go).
func fwdActuation(m *Model, d *Data) {
	s := &d.scratch
	h := m.Opt.Timestep
	for i := 0; i < m.Nv; i++ {
		s.qfrc[i] = -m.DofDamping[i] * d.Qvel[i]
		s.diagExtra[i] = h * m.DofDamping[i]
	}
	for i, f := range d.QfrcApplied {
		s.qfrc[i] += f
	}
	for j := 0; j < m.Njnt; j++ {
		t := m.JntType[j]
		if t != JointHinge && t != JointSlide {
			continue
		}
		qa, da := m.JntQposAdr[j], m.JntDofAdr[j]
		q := d.Qpos[qa]
		if k := m.JntStiffness[j]; k != 0 {
			s.qfrc[da] -= k * (q - m.QposSpring[qa])
		}
	}
	for a := 0; a < m.Nu; a++ {
		c := d.Ctrl[a]
		if m.ActCtrlLimited[a] {
			r := m.ActCtrlRange[a]
			if c < r[0] {
				c = r[0]
			} else if c > r[1] {
				c = r[1]
			}
		}
		j := m.ActTrnID[a]
		gear := m.ActGear[a]
		bp := &m.ActBiasPrm[a]
		if m.ActTrnType != nil && m.ActTrnType[a] == TrnTendon {
			l, v := tendonState(m, d, j)
			force := m.ActGainPrm[a]*c + bp[0] + bp[1]*gear*l + bp[2]*gear*v
			for w := m.TendonAdr[j]; w < m.TendonAdr[j]+m.TendonNum[j]; w++ {
				s.qfrc[m.JntDofAdr[m.WrapJntID[w]]] += m.WrapCoef[w] * gear * force
			}
			continue
		}
		qa, da := m.JntQposAdr[j], m.JntDofAdr[j]
		force := m.ActGainPrm[a]*c + bp[0] + bp[1]*gear*d.Qpos[qa] + bp[2]*gear*d.Qvel[da]
		s.qfrc[da] += gear * force
	}
}

// fwdAcceleration runs ABA and writes d.Qacc. It needs kinematics, comPos,
// comVel, fwdActuation and the external link forces s.fext.
func fwdAcceleration(m *Model, d *Data) {
	s := &d.scratch
	if s.planar {
		fwdAccelerationPlanar(m, d)
		return
	}
	nv := m.Nv
	// Rigid-body inertias of the links and their bias forces v ×f I·v − f_ext.
	linkInertias(m, d, s.rigid)
	for i := 0; i < nv; i++ {
		s.ia[i].setRigid(&s.rigid[i])
		iv := s.rigid[i].mulMotion(&s.cvel[i])
		p := crossForce(&s.cvel[i], &iv)
		fe := &s.fext[i]
		for k := range p {
			p[k] -= fe[k]
		}
		s.pa[i] = p
	}
	// Backward pass: articulated inertias and bias forces, leaves to root.
	for i := nv - 1; i >= 0; i-- {
		ia := &s.ia[i]
		sd := &s.cdof[i]
		u := ia.mulMotion(sd)
		dd := dot6(sd, &u) + m.DofArmature[i] + s.diagExtra[i]
		dinv := 1 / dd
		ui := s.qfrc[i] - dot6(sd, &s.pa[i])
		s.u6[i] = u
		s.dinv[i] = dinv
		s.uf[i] = ui
		p := m.DofParentID[i]
		if p < 0 {
			continue
		}
		// Ia = IA − U·Uᵀ/D, pa = pA + Ia·c + U·u/D, both added to the parent.
		ip := &s.ia[p]
		for k, rc := range symUpper {
			ia[k] -= u[rc[0]] * dinv * u[rc[1]]
			ip[k] += ia[k]
		}
		iac := ia.mulMotion(&s.cacc[i])
		sc := ui * dinv
		pp := &s.pa[p]
		pi := &s.pa[i]
		for k := 0; k < 6; k++ {
			pp[k] += pi[k] + iac[k] + u[k]*sc
		}
	}
	// Forward pass: accelerations, root to leaves; the world accelerates at
	// −g so that gravity needs no bias force.
	aw := [6]float64{0, 0, 0, -m.Opt.Gravity[0], -m.Opt.Gravity[1], -m.Opt.Gravity[2]}
	for i := 0; i < nv; i++ {
		var a [6]float64
		if p := m.DofParentID[i]; p >= 0 {
			a = s.acc[p]
		} else {
			a = aw
		}
		c := &s.cacc[i]
		for k := range a {
			a[k] += c[k]
		}
		qdd := (s.uf[i] - dot6(&s.u6[i], &a)) * s.dinv[i]
		d.Qacc[i] = qdd
		sd := &s.cdof[i]
		for k := range a {
			a[k] += sd[k] * qdd
		}
		s.acc[i] = a
	}
}

// biasForces writes into dst the generalised bias forces c(q, q̇) − Jᵀf_ext
// by recursive Newton–Euler with q̈ = 0 (Featherstone 2008, §5.3), the world
// accelerating at −g as in fwdAcceleration, from the links' rigid inertias
// ia (linkInertias); qfrc − c is then M·a0.
func biasForces(m *Model, d *Data, ia []rigidInertia, dst []float64) {
	s := &d.scratch
	if s.planar {
		biasForcesPlanar(m, d, ia, dst)
		return
	}
	nv := m.Nv
	aw := [6]float64{0, 0, 0, -m.Opt.Gravity[0], -m.Opt.Gravity[1], -m.Opt.Gravity[2]}
	for i := 0; i < nv; i++ {
		a := aw
		if p := m.DofParentID[i]; p >= 0 {
			a = s.acc[p]
		}
		c := &s.cacc[i]
		for k := range a {
			a[k] += c[k]
		}
		s.acc[i] = a
		f := ia[i].mulMotion(&a)
		iv := ia[i].mulMotion(&s.cvel[i])
		vf := crossForce(&s.cvel[i], &iv)
		fe := &s.fext[i]
		for k := range f {
			f[k] += vf[k] - fe[k]
		}
		s.pa[i] = f
	}
	for i := nv - 1; i >= 0; i-- {
		dst[i] = dot6(&s.cdof[i], &s.pa[i])
		if p := m.DofParentID[i]; p >= 0 {
			pp, pi := &s.pa[p], &s.pa[i]
			for k := range pp {
				pp[k] += pi[k]
			}
		}
	}
}

// lockedUpper returns the upper limit of joint j at position q under its
// conditional lock (Model.JntLock): the locked limit while the gate joint is
// below JntLock[j][2], hi above JntLock[j][3], linear in between, and hi
// whenever q is past the catch JntLock[j][1].
func lockedUpper(m *Model, d *Data, j int, q, hi float64) float64 {
	l := &m.JntLock[j]
	if q >= l[1] {
		return hi
	}
	g := d.Qpos[m.JntQposAdr[m.JntLockJnt[j]]]
	t := (g - l[2]) / (l[3] - l[2])
	t = math.Max(0, math.Min(1, t))
	return l[0] + t*(hi-l[0])
}

// tendonState returns the length and the rate of fixed tendon t.
func tendonState(m *Model, d *Data, t int) (length, vel float64) {
	for w := m.TendonAdr[t]; w < m.TendonAdr[t]+m.TendonNum[t]; w++ {
		j := m.WrapJntID[w]
		length += m.WrapCoef[w] * d.Qpos[m.JntQposAdr[j]]
		vel += m.WrapCoef[w] * d.Qvel[m.JntDofAdr[j]]
	}
	return length, vel
}
