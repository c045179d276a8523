//go:build mujoco

package mjref

/*
#include <mujoco/mujoco.h>
*/
import "C"

import "unsafe"

// Read-only compiled-model fields for the loader cross-checks (issue 15):
// tendons, explicit contact pairs, and the constraint softness of geoms,
// joints and dofs. Each returns a copy; the shape is in the comment.

// Ntendon, Nwrap and Npair are the model's counts.
func (s *Sim) Ntendon() int { s.check(); return int(s.m.ntendon) }
func (s *Sim) Nwrap() int   { s.check(); return int(s.m.nwrap) }
func (s *Sim) Npair() int   { s.check(); return int(s.m.npair) }
func (s *Sim) Nmesh() int   { s.check(); return int(s.m.nmesh) }

// Nmeshvert and Nmeshface are the vertices and triangles of all meshes.
func (s *Sim) Nmeshvert() int { s.check(); return int(s.m.nmeshvert) }
func (s *Sim) Nmeshface() int { s.check(); return int(s.m.nmeshface) }

// refs and imps copy an n × 2 (solref) or n × 5 (solimp, friction) array.
func refs(p *C.mjtNum, n int) [][2]float64 {
	src := nums(p, 2*n)
	out := make([][2]float64, n)
	for i := range out {
		copy(out[i][:], src[2*i:])
	}
	return out
}

func imps(p *C.mjtNum, n int) [][5]float64 {
	src := nums(p, 5*n)
	out := make([][5]float64, n)
	for i := range out {
		copy(out[i][:], src[5*i:])
	}
	return out
}

func bytesBool(p *C.mjtByte, n int) []bool {
	out := make([]bool, n)
	if n == 0 {
		return out
	}
	for i, v := range unsafe.Slice(p, n) {
		out[i] = v != 0
	}
	return out
}

// Name returns the name of object id of type typ (MuJoCo's mjtObj), "" if none.
func (s *Sim) Name(typ ObjType, id int) string {
	s.check()
	p := C.mj_id2name(s.m, C.int(typ), C.int(id))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// ObjType is MuJoCo's mjtObj.
type ObjType int

const (
	ObjBody   ObjType = C.mjOBJ_BODY
	ObjJoint  ObjType = C.mjOBJ_JOINT
	ObjGeom   ObjType = C.mjOBJ_GEOM
	ObjTendon ObjType = C.mjOBJ_TENDON
)

// TendonAdr, TendonNum: the tendon's first wrap and number of wraps (ntendon).
func (s *Sim) TendonAdr() []int { s.check(); return ints(s.m.tendon_adr, s.Ntendon()) }
func (s *Sim) TendonNum() []int { s.check(); return ints(s.m.tendon_num, s.Ntendon()) }

// TendonLimited, TendonRange, TendonSolrefLim, TendonSolimpLim, TendonMargin:
// the tendon limits (ntendon).
func (s *Sim) TendonLimited() []bool { s.check(); return bytesBool(s.m.tendon_limited, s.Ntendon()) }
func (s *Sim) TendonRange() [][2]float64 {
	s.check()
	return refs(s.m.tendon_range, s.Ntendon())
}
func (s *Sim) TendonSolrefLim() [][2]float64 {
	s.check()
	return refs(s.m.tendon_solref_lim, s.Ntendon())
}
func (s *Sim) TendonSolimpLim() [][5]float64 {
	s.check()
	return imps(s.m.tendon_solimp_lim, s.Ntendon())
}
func (s *Sim) TendonMargin() []float64 { s.check(); return copyOf(s.m.tendon_margin, s.Ntendon()) }

// WrapType, WrapObjID, WrapPrm: the tendons' path (nwrap); for a fixed
// tendon the object is a joint and the parameter its coefficient.
func (s *Sim) WrapType() []int       { s.check(); return ints(s.m.wrap_type, s.Nwrap()) }
func (s *Sim) WrapObjID() []int      { s.check(); return ints(s.m.wrap_objid, s.Nwrap()) }
func (s *Sim) WrapPrm() []float64    { s.check(); return copyOf(s.m.wrap_prm, s.Nwrap()) }
func (s *Sim) PairDim() []int        { s.check(); return ints(s.m.pair_dim, s.Npair()) }
func (s *Sim) PairGeom1() []int      { s.check(); return ints(s.m.pair_geom1, s.Npair()) }
func (s *Sim) PairGeom2() []int      { s.check(); return ints(s.m.pair_geom2, s.Npair()) }
func (s *Sim) PairMargin() []float64 { s.check(); return copyOf(s.m.pair_margin, s.Npair()) }

// PairSolref, PairSolimp, PairFriction: explicit pairs' parameters (npair);
// friction is tangent 1, tangent 2, torsional, rolling 1, rolling 2.
func (s *Sim) PairSolref() [][2]float64 {
	s.check()
	return refs(s.m.pair_solref, s.Npair())
}
func (s *Sim) PairSolimp() [][5]float64 {
	s.check()
	return imps(s.m.pair_solimp, s.Npair())
}
func (s *Sim) PairFriction() [][5]float64 {
	s.check()
	return imps(s.m.pair_friction, s.Npair())
}

// GeomCondim, GeomContype, GeomConaffinity, GeomBodyID, GeomDataID (mesh id
// or -1) (ngeom).
func (s *Sim) GeomCondim() []int      { s.check(); return ints(s.m.geom_condim, s.Ngeom()) }
func (s *Sim) GeomContype() []int     { s.check(); return ints(s.m.geom_contype, s.Ngeom()) }
func (s *Sim) GeomConaffinity() []int { s.check(); return ints(s.m.geom_conaffinity, s.Ngeom()) }
func (s *Sim) GeomBodyID() []int      { s.check(); return ints(s.m.geom_bodyid, s.Ngeom()) }
func (s *Sim) GeomDataID() []int      { s.check(); return ints(s.m.geom_dataid, s.Ngeom()) }

// GeomFriction is sliding, torsional, rolling (ngeom × 3).
func (s *Sim) GeomFriction() [][3]float64 { s.check(); return vec3s(s.m.geom_friction, s.Ngeom()) }

// GeomSolref, GeomSolimp, GeomMargin: contact softness (ngeom).
func (s *Sim) GeomSolref() [][2]float64 {
	s.check()
	return refs(s.m.geom_solref, s.Ngeom())
}
func (s *Sim) GeomSolimp() [][5]float64 {
	s.check()
	return imps(s.m.geom_solimp, s.Ngeom())
}
func (s *Sim) GeomMargin() []float64 { s.check(); return copyOf(s.m.geom_margin, s.Ngeom()) }

// JntSolref, JntSolimp, JntMargin: joint-limit softness (njnt).
func (s *Sim) JntSolref() [][2]float64 { s.check(); return refs(s.m.jnt_solref, s.Njnt()) }
func (s *Sim) JntSolimp() [][5]float64 { s.check(); return imps(s.m.jnt_solimp, s.Njnt()) }
func (s *Sim) JntMargin() []float64    { s.check(); return copyOf(s.m.jnt_margin, s.Njnt()) }

// Dof fields (nv): dry friction and its softness, damping, armature.
func (s *Sim) DofFrictionloss() []float64 { s.check(); return copyOf(s.m.dof_frictionloss, s.Nv()) }
func (s *Sim) DofSolref() [][2]float64    { s.check(); return refs(s.m.dof_solref, s.Nv()) }
func (s *Sim) DofSolimp() [][5]float64    { s.check(); return imps(s.m.dof_solimp, s.Nv()) }
func (s *Sim) DofDamping() []float64      { s.check(); return copyOf(s.m.dof_damping, s.Nv()) }
func (s *Sim) DofArmature() []float64     { s.check(); return copyOf(s.m.dof_armature, s.Nv()) }

// Actuator fields (nu): transmission id, gain and bias parameters' first
// three, control range.
func (s *Sim) ActuatorTrnID() []int { s.check(); return ints(s.m.actuator_trnid, 2*s.Nu()) }
func (s *Sim) ActuatorCtrlRange() [][2]float64 {
	s.check()
	return refs(s.m.actuator_ctrlrange, s.Nu())
}
func (s *Sim) ActuatorGainPrm() []float64 {
	s.check()
	src := nums(s.m.actuator_gainprm, C.mjNGAIN*s.Nu())
	out := make([]float64, s.Nu())
	for i := range out {
		out[i] = src[C.mjNGAIN*i]
	}
	return out
}
func (s *Sim) ActuatorBiasPrm() [][3]float64 {
	s.check()
	src := nums(s.m.actuator_biasprm, C.mjNBIAS*s.Nu())
	out := make([][3]float64, s.Nu())
	for i := range out {
		copy(out[i][:], src[C.mjNBIAS*i:])
	}
	return out
}

// JntBodyID and JntAxis, JntPos (njnt).
func (s *Sim) JntAxis() [][3]float64 { s.check(); return vec3s(s.m.jnt_axis, s.Njnt()) }
func (s *Sim) JntPos() [][3]float64  { s.check(); return vec3s(s.m.jnt_pos, s.Njnt()) }
