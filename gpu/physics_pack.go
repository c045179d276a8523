package gpu

import (
	"math"

	"github.com/apex-robotics/apex/batchsim"
)

// packPhysics appends the model fields of the physics step and the derived
// quantities that batchsim.NewData computes once per model (engine.go): the
// link of each body, the tree roots, the body-frame rotational inertias,
// the geom orientations, the dof kinds and the contact pairs ordered by
// geom rank.
func packPhysics(p *packed, m *batchsim.Model) {
	nb, nj, nv, ng := m.Nbody, m.Njnt, m.Nv, m.Ngeom
	node := make([]int, nb)
	root := make([]int, nb)
	node[0] = -1
	for b := 1; b < nb; b++ {
		par := m.BodyParentID[b]
		if m.BodyDofNum[b] > 0 {
			node[b] = m.BodyDofAdr[b] + m.BodyDofNum[b] - 1
		} else {
			node[b] = node[par]
		}
		if par == 0 {
			root[b] = b
		} else {
			root[b] = root[par]
		}
	}
	p.addInts("H_BODY_PARENT", m.BodyParentID...)
	p.addInts("H_BODY_JNTADR", m.BodyJntAdr...)
	p.addInts("H_BODY_JNTNUM", m.BodyJntNum...)
	p.addInts("H_BODY_NODE", node...)
	p.addInts("H_BODY_ROOT", root...)

	jtype := make([]int, nj)
	limited := make([]int, nj)
	for j := 0; j < nj; j++ {
		jtype[j] = int(m.JntType[j])
		if m.JntLimited[j] {
			limited[j] = 1
		}
	}
	p.addInts("H_JNT_TYPE", jtype...)
	p.addInts("H_JNT_QPOSADR", m.JntQposAdr...)
	p.addInts("H_JNT_DOFADR", m.JntDofAdr...)
	p.addInts("H_JNT_LIMITED", limited...)
	p.addInts("H_JNT_BODY", m.JntBodyID...)

	kind := make([]int, nv)
	freeBase := make([]int, nv)
	for j := 0; j < nj; j++ {
		if m.JntType[j] == batchsim.JointFree {
			da := m.JntDofAdr[j]
			for k := 0; k < 3; k++ {
				kind[da+k] = 1
				kind[da+3+k] = 2
				freeBase[da+3+k] = da + 2
			}
		}
	}
	p.addInts("H_DOF_PARENT", m.DofParentID...)
	p.addInts("H_DOF_KIND", kind...)
	p.addInts("H_DOF_FREEBASE", freeBase...)
	p.addInts("H_GEOM_BODY", m.GeomBodyID...)

	// Pairs, ordered so that the first geom has the lower rank (contact.go).
	var pairI []int
	var pairF []float64
	for i := 0; i < m.Npair; i++ {
		g1, g2 := m.PairGeom1[i], m.PairGeom2[i]
		kind, swapped := batchsim.PairKind(m.GeomType[g1], m.GeomType[g2])
		if swapped {
			g1, g2 = g2, g1
		}
		moving := 0.0 // a pair of two static geoms never touches
		if node[m.GeomBodyID[g1]] >= 0 || node[m.GeomBodyID[g2]] >= 0 {
			moving = 1
		}
		pairI = append(pairI, g1, g2, kind)
		pairF = append(pairF, m.PairMargin[i], moving,
			boundRadius(m.GeomType[g1], m.GeomSize[g1])+boundRadius(m.GeomType[g2], m.GeomSize[g2]))
	}
	p.addInts("H_PAIR", pairI...)

	trn := make([]int, m.Nu)
	actLim := make([]int, m.Nu)
	var actF []float64
	for a := 0; a < m.Nu; a++ {
		trn[a] = m.ActTrnID[a]
		if m.ActCtrlLimited[a] {
			actLim[a] = 1
		}
		bp := m.ActBiasPrm[a]
		actF = append(actF, m.ActGear[a], m.ActGainPrm[a], bp[0], bp[1], bp[2], m.ActCtrlRange[a][0], m.ActCtrlRange[a][1])
	}
	p.addInts("H_ACT_TRN", trn...)
	p.addInts("H_ACT_LIMITED", actLim...)
	trnType := make([]int, m.Nu)
	for a := range m.ActTrnType {
		trnType[a] = int(m.ActTrnType[a])
	}
	p.addInts("H_ACT_TRNTYPE", trnType...)
	var tendon []int
	for k := 0; k < m.Ntendon; k++ {
		tendon = append(tendon, m.TendonAdr[k], m.TendonNum[k])
	}
	p.addInts("H_TENDON", tendon...)
	p.addInts("H_WRAP_JNT", m.WrapJntID...)
	p.addFloats("H_F_WRAP_COEF", m.WrapCoef...)
	packConstraints(p, m)

	// Joint friction and conditional upper limits (dynamics.go), none when
	// the model leaves them nil.
	fric := make([]float64, nv)
	copy(fric, m.DofFrictionloss)
	p.addFloats("H_F_DOF_FRIC", fric...)
	lockJnt := make([]int, nj)
	var lock []float64
	for j := 0; j < nj; j++ {
		lockJnt[j] = -1
		var l [4]float64
		if len(m.JntLockJnt) == nj && m.JntLockJnt[j] >= 0 {
			lockJnt[j], l = m.JntLockJnt[j], m.JntLock[j]
		}
		lock = append(lock, l[:]...)
	}
	p.addInts("H_JNT_LOCKJNT", lockJnt...)
	p.addFloats("H_F_JNT_LOCK", lock...)

	p.addInts("H_SITE_BODY", m.SiteBodyID...)
	p.addFloats("H_F_SITE_POS", flat3(m.SitePos)...)

	p.addFloats("H_F_BODY_POS", flat3(m.BodyPos)...)
	p.addFloats("H_F_BODY_QUAT", flat4(m.BodyQuat)...)
	p.addFloats("H_F_BODY_MASS", m.BodyMass...)
	p.addFloats("H_F_BODY_IPOS", flat3(m.BodyIpos)...)
	var roti []float64
	for b := 0; b < nb; b++ {
		ri := quatToMat(m.BodyIquat[b])
		in := m.BodyInertia[b]
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				roti = append(roti, ri[3*i]*in[0]*ri[3*j]+ri[3*i+1]*in[1]*ri[3*j+1]+ri[3*i+2]*in[2]*ri[3*j+2])
			}
		}
	}
	p.addFloats("H_F_BODY_ROTI", roti...)
	p.addFloats("H_F_JNT_POS", flat3(m.JntPos)...)
	p.addFloats("H_F_JNT_AXIS", flat3(m.JntAxis)...)
	var rng []float64
	for j := 0; j < nj; j++ {
		rng = append(rng, m.JntRange[j][0], m.JntRange[j][1])
	}
	p.addFloats("H_F_JNT_RANGE", rng...)
	p.addFloats("H_F_JNT_STIFF", m.JntStiffness...)
	p.addFloats("H_F_DOF_DAMP", m.DofDamping...)
	p.addFloats("H_F_DOF_ARM", m.DofArmature...)
	p.addFloats("H_F_GEOM_POS", flat3(m.GeomPos)...)
	var gm []float64
	for g := 0; g < ng; g++ {
		r := quatToMat(m.GeomQuat[g])
		gm = append(gm, r[:]...)
	}
	p.addFloats("H_F_GEOM_MAT", gm...)
	p.addFloats("H_F_GEOM_SIZE", flat3(m.GeomSize)...)
	p.addFloats("H_F_PAIR", pairF...)
	p.addFloats("H_F_ACT", actF...)
	p.addFloats("H_F_QPOS0", m.Qpos0...)
	p.addFloats("H_F_QPOS_SPRING", m.QposSpring...)
}

// boundRadius mirrors contact.go's: the radius about a geom's centre that
// holds it (0 for a plane, whose pairs skip the bounding-sphere test).
func boundRadius(t batchsim.GeomType, sz batchsim.Vec3) float64 {
	switch t {
	case batchsim.GeomSphere:
		return sz[0]
	case batchsim.GeomCapsule, batchsim.GeomCylinder:
		return sz[0] + sz[1]
	case batchsim.GeomBox:
		return math.Sqrt(sz[0]*sz[0] + sz[1]*sz[1] + sz[2]*sz[2])
	}
	return 0
}

// quatToMat is MuJoCo's mju_quat2Mat, row-major.
func quatToMat(q batchsim.Quat) [9]float64 {
	w, x, y, z := q[0], q[1], q[2], q[3]
	ww, xx, yy, zz := w*w, x*x, y*y, z*z
	xy, zw, xz, yw, yz, xw := x*y, z*w, x*z, y*w, y*z, x*w
	return [9]float64{
		ww + xx - yy - zz, 2 * (xy - zw), 2 * (xz + yw),
		2 * (xy + zw), ww - xx + yy - zz, 2 * (yz - xw),
		2 * (xz - yw), 2 * (yz + xw), ww - xx - yy + zz,
	}
}

func flat3(v []batchsim.Vec3) []float64 {
	out := make([]float64, 0, 3*len(v))
	for _, x := range v {
		out = append(out, x[:]...)
	}
	return out
}

func flat4(v []batchsim.Quat) []float64 {
	out := make([]float64, 0, 4*len(v))
	for _, x := range v {
		out = append(out, x[:]...)
	}
	return out
}
