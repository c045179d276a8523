package batchsim

// Position and velocity stages: body poses from qpos the way MuJoCo's
// mj_kinematics computes them, then the motion subspace of every dof (MuJoCo's
// cdof, mj_comPos) and the spatial velocity of every dof's link (mj_comVel).
//
// Frames. All spatial quantities of the dynamics are expressed with
// world-aligned axes about one reference point per kinematic tree: the
// position of the tree's root body (the child of the world it hangs from).
// This is MuJoCo's c-frame with the root body's origin in place of the
// subtree centre of mass; any common point gives the same dynamics, and one
// that travels with the robot keeps the lever arms small (which matters for
// the float32 GPU kernel as the cheetah runs away from the world origin).
// Since every tree hangs from the static world, whose spatial acceleration
// (0; −g) is the same about every point, trees need no common point.
//
// Dofs as links. Each dof is a link of MuJoCo's dof tree (DofParentID): the
// joints of one body form a chain of massless links and the body's inertia
// sits on its last dof. A body without dofs is welded to the link of its
// nearest ancestor with dofs (bodyNode), or is static when there is none.

// kinematics computes Xpos, Xquat, Xipos, the geom and site poses, and the
// per-dof motion subspaces cdof about each tree's reference point.
func kinematics(m *Model, d *Data) {
	s := &d.scratch
	if s.planar {
		kinematicsPlanar(m, d)
		return
	}
	qpos := d.Qpos
	for b := 1; b < m.Nbody; b++ {
		p := m.BodyParentID[b]
		var xpos Vec3
		var xquat Quat
		jadr, jnum := m.BodyJntAdr[b], m.BodyJntNum[b]
		if jnum > 0 && m.JntType[jadr] == JointFree {
			a := m.JntQposAdr[jadr]
			xpos = Vec3{qpos[a], qpos[a+1], qpos[a+2]}
			xquat = Quat{qpos[a+3], qpos[a+4], qpos[a+5], qpos[a+6]}
			normalizeQuat(&xquat)
			s.xanchor[jadr] = xpos
			jadr++
			jnum--
		} else {
			pm := &s.xmat[p]
			xpos = mulMatVec(pm, &m.BodyPos[b])
			xpos = add3(&xpos, &d.Xpos[p])
			xquat = mulQuat(&d.Xquat[p], &m.BodyQuat[b])
		}
		if jnum > 0 {
			var r [9]float64
			for j := jadr; j < jadr+jnum; j++ {
				quatToMat(&xquat, &r)
				axis := mulMatVec(&r, &m.JntAxis[j])
				anchor := mulMatVec(&r, &m.JntPos[j])
				anchor = add3(&anchor, &xpos)
				s.xaxis[j] = axis
				s.xanchor[j] = anchor
				a := m.JntQposAdr[j]
				switch m.JntType[j] {
				case JointSlide:
					xpos = addScl3(&xpos, &axis, qpos[a]-m.Qpos0[a])
				case JointHinge:
					ql := axisAngleQuat(&m.JntAxis[j], qpos[a]-m.Qpos0[a])
					xquat = mulQuat(&xquat, &ql)
					// a hinge through the body origin leaves it in place
					if m.JntPos[j] != (Vec3{}) {
						quatToMat(&xquat, &r)
						v := mulMatVec(&r, &m.JntPos[j])
						xpos = sub3(&anchor, &v)
					}
				}
			}
		}
		normalizeQuat(&xquat)
		d.Xpos[b] = xpos
		d.Xquat[b] = xquat
		quatToMat(&xquat, &s.xmat[b])
		ip := mulMatVec(&s.xmat[b], &m.BodyIpos[b])
		d.Xipos[b] = add3(&xpos, &ip)
	}
	for g := 0; g < m.Ngeom; g++ {
		b := m.GeomBodyID[g]
		if b == 0 { // the world's frame is the identity
			d.GeomXpos[g], d.GeomXmat[g] = m.GeomPos[g], s.geomMat[g]
			continue
		}
		gp := mulMatVec(&s.xmat[b], &m.GeomPos[g])
		d.GeomXpos[g] = add3(&d.Xpos[b], &gp)
		d.GeomXmat[g] = mulMat(&s.xmat[b], &s.geomMat[g])
	}
	for i := 0; i < m.Nsite; i++ {
		b := m.SiteBodyID[i]
		sp := mulMatVec(&s.xmat[b], &m.SitePos[i])
		d.SiteXpos[i] = add3(&d.Xpos[b], &sp)
	}
}

// comPos computes the motion subspace cdof of every dof about its tree's
// reference point, as MuJoCo's mj_comPos does about the subtree COM.
func comPos(m *Model, d *Data) {
	s := &d.scratch
	for j := 0; j < m.Njnt; j++ {
		b := m.JntBodyID[j]
		o := &d.Xpos[s.treeRoot[b]]
		da := m.JntDofAdr[j]
		switch m.JntType[j] {
		case JointFree:
			// Translation along the world axes, then rotation about the body
			// axes through the body origin (MuJoCo's free-joint convention).
			for k := 0; k < 3; k++ {
				var c [6]float64
				c[3+k] = 1
				s.cdof[da+k] = c
			}
			off := sub3(o, &d.Xpos[b])
			r := &s.xmat[b]
			for k := 0; k < 3; k++ {
				ax := Vec3{r[k], r[3+k], r[6+k]}
				l := cross3(&ax, &off)
				s.cdof[da+3+k] = [6]float64{ax[0], ax[1], ax[2], l[0], l[1], l[2]}
			}
		case JointSlide:
			ax := &s.xaxis[j]
			s.cdof[da] = [6]float64{0, 0, 0, ax[0], ax[1], ax[2]}
		case JointHinge:
			ax := &s.xaxis[j]
			off := sub3(o, &s.xanchor[j])
			l := cross3(ax, &off)
			s.cdof[da] = [6]float64{ax[0], ax[1], ax[2], l[0], l[1], l[2]}
		}
	}
}

// comVel computes the spatial velocity of every dof's link and the bias
// acceleration cdof_dot·qvel of every dof (MuJoCo's mj_comVel): the axis of a
// hinge or slide is fixed in its parent link, so its derivative is
// v_parent ×ₘ cdof; the three rotation axes of a free joint all use the
// velocity after its translation, and its translation axes are constant.
func comVel(m *Model, d *Data) {
	s := &d.scratch
	if s.planar {
		comVelPlanar(m, d)
		return
	}
	qvel := d.Qvel
	for i := 0; i < m.Nv; i++ {
		var vp [6]float64
		if p := m.DofParentID[i]; p >= 0 {
			vp = s.cvel[p]
		}
		sq := s.cdof[i]
		q := qvel[i]
		for k := range sq {
			sq[k] *= q
		}
		switch s.dofKind[i] {
		case dofFreeTrans:
			s.cacc[i] = [6]float64{}
		case dofFreeRot:
			// velocity after the free joint's translation, dof adr+2
			s.cacc[i] = crossMotion(&s.cvel[s.dofFreeBase[i]], &sq)
		default:
			s.cacc[i] = crossMotion(&vp, &sq)
		}
		for k := range vp {
			vp[k] += sq[k]
		}
		s.cvel[i] = vp
	}
}

// bodyVel returns the spatial velocity of body b's link, zero when static.
func (s *scratch) bodyVel(b int) *[6]float64 {
	if n := s.bodyNode[b]; n >= 0 {
		return &s.cvel[n]
	}
	return &s.zero6
}

// pointVel returns the world velocity of the point p fixed to body b.
func (s *scratch) pointVel(d *Data, b int, p *Vec3) Vec3 {
	n := s.bodyNode[b]
	if n < 0 {
		return Vec3{}
	}
	v := &s.cvel[n]
	r := sub3(p, &d.Xpos[s.treeRoot[b]])
	w := Vec3{v[0], v[1], v[2]}
	wr := cross3(&w, &r)
	return Vec3{v[3] + wr[0], v[4] + wr[1], v[5] + wr[2]}
}
