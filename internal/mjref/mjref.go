//go:build mujoco

package mjref

/*
#cgo LDFLAGS: -lmujoco
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <mujoco/mujoco.h>

// mjref_load_string loads an MJCF document from memory through a one-file
// virtual file system, so that nothing is written to disk.
static mjModel* mjref_load_string(const char* name, const char* xml, int n,
                                  char* err, int errsz) {
	mjVFS* vfs = (mjVFS*)malloc(sizeof(mjVFS));
	if (!vfs) {
		snprintf(err, errsz, "out of memory for the VFS");
		return NULL;
	}
	mj_defaultVFS(vfs);
	if (mj_makeEmptyFileVFS(vfs, name, n) != 0) {
		snprintf(err, errsz, "cannot add %s to the VFS", name);
		free(vfs);
		return NULL;
	}
	int i = mj_findFileVFS(vfs, name);
	memcpy(vfs->filedata[i], xml, n);
	mjModel* m = mj_loadXML(name, vfs, err, errsz);
	mj_deleteVFS(vfs);
	free(vfs);
	return m;
}

static int mjref_warning_count(const mjData* d, int i) { return d->warning[i].number; }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Integrator is MuJoCo's mjtIntegrator.
type Integrator int

const (
	Euler    Integrator = C.mjINT_EULER    // semi-implicit Euler, implicit joint damping
	RK4      Integrator = C.mjINT_RK4      // 4th-order Runge-Kutta
	Implicit Integrator = C.mjINT_IMPLICIT // implicit in velocity
)

// errSize is the length of the buffer that mj_loadXML writes its error to.
const errSize = 1024

// Sim is one MuJoCo model and its data (mjModel + mjData). It owns C memory:
// call Close when done. A Sim is not safe for concurrent use.
type Sim struct {
	m *C.mjModel
	d *C.mjData
}

// Version returns the MuJoCo library version string, e.g. "2.2.2".
func Version() string { return C.GoString(C.mj_versionString()) }

// LoadFile compiles the MJCF file at path.
func LoadFile(path string) (*Sim, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var errBuf [errSize]C.char
	m := C.mj_loadXML(cpath, nil, &errBuf[0], errSize)
	if m == nil {
		return nil, fmt.Errorf("mjref: load %s: %s", path, C.GoString(&errBuf[0]))
	}
	return newSim(m)
}

// LoadXML compiles an MJCF document held in memory. name is the file name it
// is given in MuJoCo's virtual file system (and error messages); it must be a
// bare file name such as "model.xml".
func LoadXML(xml, name string) (*Sim, error) {
	if len(xml) == 0 {
		return nil, errors.New("mjref: empty XML")
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	cxml := C.CString(xml)
	defer C.free(unsafe.Pointer(cxml))
	var errBuf [errSize]C.char
	m := C.mjref_load_string(cname, cxml, C.int(len(xml)), &errBuf[0], errSize)
	if m == nil {
		return nil, fmt.Errorf("mjref: load %s: %s", name, C.GoString(&errBuf[0]))
	}
	return newSim(m)
}

func newSim(m *C.mjModel) (*Sim, error) {
	d := C.mj_makeData(m)
	if d == nil {
		C.mj_deleteModel(m)
		return nil, errors.New("mjref: mj_makeData failed")
	}
	return &Sim{m: m, d: d}, nil
}

// Close frees the C model and data. It is safe to call twice.
func (s *Sim) Close() {
	if s.d != nil {
		C.mj_deleteData(s.d)
		s.d = nil
	}
	if s.m != nil {
		C.mj_deleteModel(s.m)
		s.m = nil
	}
}

// Raw returns the mjModel and mjData pointers, for packages with their own
// cgo calls on them (internal/mjeval); valid while the Sim is open.
func (s *Sim) Raw() (model, data unsafe.Pointer) {
	s.check()
	return unsafe.Pointer(s.m), unsafe.Pointer(s.d)
}

func (s *Sim) check() {
	if s.m == nil {
		panic("mjref: use of a closed Sim")
	}
}

// Sizes.
func (s *Sim) Nq() int       { s.check(); return int(s.m.nq) }
func (s *Sim) Nv() int       { s.check(); return int(s.m.nv) }
func (s *Sim) Nu() int       { s.check(); return int(s.m.nu) }
func (s *Sim) Nbody() int    { s.check(); return int(s.m.nbody) }
func (s *Sim) Njnt() int     { s.check(); return int(s.m.njnt) }
func (s *Sim) Ngeom() int    { s.check(); return int(s.m.ngeom) }
func (s *Sim) Ncon() int     { s.check(); return int(s.d.ncon) } // contacts found by the last step
func (s *Sim) Nefc() int     { s.check(); return int(s.d.nefc) } // active constraints (contacts, limits) of the last step
func (s *Sim) Time() float64 { s.check(); return float64(s.d.time) }

// Timestep returns opt.timestep.
func (s *Sim) Timestep() float64 { s.check(); return float64(s.m.opt.timestep) }

// SetTimestep sets opt.timestep.
func (s *Sim) SetTimestep(dt float64) { s.check(); s.m.opt.timestep = C.mjtNum(dt) }

// Integrator returns opt.integrator.
func (s *Sim) Integrator() Integrator { s.check(); return Integrator(s.m.opt.integrator) }

// SetIntegrator sets opt.integrator; the cross-checks set Euler explicitly,
// since a file may ask for RK4 and batchsim always runs semi-implicit Euler.
func (s *Sim) SetIntegrator(i Integrator) { s.check(); s.m.opt.integrator = C.int(i) }

// SetContacts enables or disables collision detection (opt.disableflags
// bit mjDSBL_CONTACT), for contact-free comparisons of models whose geoms
// touch each other at rest.
func (s *Sim) SetContacts(on bool) {
	s.check()
	if on {
		s.m.opt.disableflags &^= C.mjDSBL_CONTACT
	} else {
		s.m.opt.disableflags |= C.mjDSBL_CONTACT
	}
}

// Gravity returns opt.gravity.
func (s *Sim) Gravity() [3]float64 {
	s.check()
	g := s.m.opt.gravity
	return [3]float64{float64(g[0]), float64(g[1]), float64(g[2])}
}

// mjtNum slices over C memory; only valid while the Sim is open.
func nums(p *C.mjtNum, n int) []float64 {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), n)
}

func copyOf(p *C.mjtNum, n int) []float64 {
	return append([]float64(nil), nums(p, n)...)
}

func vec3s(p *C.mjtNum, n int) [][3]float64 {
	src := nums(p, 3*n)
	out := make([][3]float64, n)
	for i := range out {
		copy(out[i][:], src[3*i:])
	}
	return out
}

func quats(p *C.mjtNum, n int) [][4]float64 {
	src := nums(p, 4*n)
	out := make([][4]float64, n)
	for i := range out {
		copy(out[i][:], src[4*i:])
	}
	return out
}

func set(dst *C.mjtNum, n int, src []float64, what string) {
	if len(src) != n {
		panic(fmt.Sprintf("mjref: %s has length %d, want %d", what, len(src), n))
	}
	copy(nums(dst, n), src)
}

// Qpos, Qvel, Qacc, Ctrl return copies of the data's arrays.
func (s *Sim) Qpos() []float64 { s.check(); return copyOf(s.d.qpos, s.Nq()) }
func (s *Sim) Qvel() []float64 { s.check(); return copyOf(s.d.qvel, s.Nv()) }
func (s *Sim) Qacc() []float64 { s.check(); return copyOf(s.d.qacc, s.Nv()) }
func (s *Sim) Ctrl() []float64 { s.check(); return copyOf(s.d.ctrl, s.Nu()) }

// SetQpos, SetQvel and SetCtrl copy into the data; they panic on a length
// mismatch (a programmer error).
func (s *Sim) SetQpos(q []float64) { s.check(); set(s.d.qpos, s.Nq(), q, "qpos") }
func (s *Sim) SetQvel(v []float64) { s.check(); set(s.d.qvel, s.Nv(), v, "qvel") }
func (s *Sim) SetCtrl(u []float64) { s.check(); set(s.d.ctrl, s.Nu(), u, "ctrl") }

// SetTime sets the data's time.
func (s *Sim) SetTime(t float64) { s.check(); s.d.time = C.mjtNum(t) }

// Reset restores qpos0, zero velocities, controls and time (mj_resetData).
func (s *Sim) Reset() { s.check(); C.mj_resetData(s.m, s.d) }

// Forward runs mj_forward: positions, velocities and accelerations for the
// current state without integrating, so Xpos and Qacc are up to date.
func (s *Sim) Forward() { s.check(); C.mj_forward(s.m, s.d) }

// warnings whose count rising during a step means the state is unusable.
// BadWarnings are the ids of the MuJoCo warnings after which Step reports
// the state lost (MuJoCo resets the data on them).
func BadWarnings() []int {
	ids := make([]int, len(badWarnings))
	for i, w := range badWarnings {
		ids[i] = int(w.id)
	}
	return ids
}

var badWarnings = []struct {
	id   C.int
	name string
}{
	{C.mjWARN_INERTIA, "singular inertia"},
	{C.mjWARN_BADQPOS, "bad qpos"},
	{C.mjWARN_BADQVEL, "bad qvel"},
	{C.mjWARN_BADQACC, "bad qacc"},
	{C.mjWARN_BADCTRL, "bad ctrl"},
}

// Step advances one physics step with mj_step. MuJoCo resets a simulation
// that produced a non-finite number and counts a warning instead of failing;
// Step turns such a warning into an error.
func (s *Sim) Step() error {
	s.check()
	var before [8]C.int
	for i, w := range badWarnings {
		before[i] = C.mjref_warning_count(s.d, w.id)
	}
	C.mj_step(s.m, s.d)
	for i, w := range badWarnings {
		if C.mjref_warning_count(s.d, w.id) > before[i] {
			return fmt.Errorf("mjref: step at t=%g: MuJoCo warning: %s", s.Time(), w.name)
		}
	}
	return nil
}

// Compiled model fields; copies.

// Qpos0 returns the model's default pose (nq).
func (s *Sim) Qpos0() []float64 { s.check(); return copyOf(s.m.qpos0, s.Nq()) }

// BodyMass returns body_mass (nbody).
func (s *Sim) BodyMass() []float64 { s.check(); return copyOf(s.m.body_mass, s.Nbody()) }

// BodyInertia returns body_inertia, the principal moments about the COM (nbody).
func (s *Sim) BodyInertia() [][3]float64 { s.check(); return vec3s(s.m.body_inertia, s.Nbody()) }

// BodyIpos returns body_ipos, the COM in the body frame (nbody).
func (s *Sim) BodyIpos() [][3]float64 { s.check(); return vec3s(s.m.body_ipos, s.Nbody()) }

// BodyIquat returns body_iquat, the principal inertia frame in the body frame (nbody).
func (s *Sim) BodyIquat() [][4]float64 { s.check(); return quats(s.m.body_iquat, s.Nbody()) }

// BodyPos and BodyQuat return the body frames in their parents' frames (nbody).
func (s *Sim) BodyPos() [][3]float64  { s.check(); return vec3s(s.m.body_pos, s.Nbody()) }
func (s *Sim) BodyQuat() [][4]float64 { s.check(); return quats(s.m.body_quat, s.Nbody()) }

// GeomType returns geom_type as MuJoCo's mjtGeom values (ngeom): 0 plane,
// 2 sphere, 3 capsule, 5 cylinder, 6 box.
func (s *Sim) GeomType() []int { s.check(); return ints(s.m.geom_type, s.Ngeom()) }

// GeomSize, GeomPos and GeomQuat return the compiled geom fields, after
// MuJoCo converted fromto capsules to pos/quat/half-length (ngeom).
func (s *Sim) GeomSize() [][3]float64 { s.check(); return vec3s(s.m.geom_size, s.Ngeom()) }
func (s *Sim) GeomPos() [][3]float64  { s.check(); return vec3s(s.m.geom_pos, s.Ngeom()) }
func (s *Sim) GeomQuat() [][4]float64 { s.check(); return quats(s.m.geom_quat, s.Ngeom()) }

// BodyName returns the name of body i ("world" for body 0).
func (s *Sim) BodyName(i int) string {
	s.check()
	p := C.mj_id2name(s.m, C.mjOBJ_BODY, C.int(i))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// Xpos returns the world positions of the body frames after the last step
// or Forward (nbody).
func (s *Sim) Xpos() [][3]float64 { s.check(); return vec3s(s.d.xpos, s.Nbody()) }

// Xquat returns the world orientations of the body frames (nbody).
func (s *Sim) Xquat() [][4]float64 { s.check(); return quats(s.d.xquat, s.Nbody()) }

func ints(p *C.int, n int) []int {
	out := make([]int, n)
	for i, v := range unsafe.Slice(p, n) {
		out[i] = int(v)
	}
	return out
}

// JntType returns jnt_type as MuJoCo's mjtJoint values: 0 free, 1 ball,
// 2 slide, 3 hinge (njnt).
func (s *Sim) JntType() []int { s.check(); return ints(s.m.jnt_type, s.Njnt()) }

// JntQposAdr returns jnt_qposadr (njnt).
func (s *Sim) JntQposAdr() []int { s.check(); return ints(s.m.jnt_qposadr, s.Njnt()) }

// JntLimited returns jnt_limited (njnt).
func (s *Sim) JntLimited() []bool {
	s.check()
	out := make([]bool, s.Njnt())
	for i, v := range unsafe.Slice(s.m.jnt_limited, s.Njnt()) {
		out[i] = v != 0
	}
	return out
}

// JntRange returns jnt_range in radians or metres (njnt).
func (s *Sim) JntRange() [][2]float64 {
	s.check()
	src := nums(s.m.jnt_range, 2*s.Njnt())
	out := make([][2]float64, s.Njnt())
	for i := range out {
		out[i] = [2]float64{src[2*i], src[2*i+1]}
	}
	return out
}

// Constraint rows of the last step (for cross-checks of the solver).

// EfcAref, EfcR, EfcForce, EfcPos return the rows' reference accelerations,
// regularisers, forces and positions (nefc).
func (s *Sim) EfcAref() []float64  { s.check(); return copyOf(s.d.efc_aref, s.Nefc()) }
func (s *Sim) EfcR() []float64     { s.check(); return copyOf(s.d.efc_R, s.Nefc()) }
func (s *Sim) EfcForce() []float64 { s.check(); return copyOf(s.d.efc_force, s.Nefc()) }
func (s *Sim) EfcPos() []float64   { s.check(); return copyOf(s.d.efc_pos, s.Nefc()) }

// EfcJ returns the dense constraint Jacobian, row-major (nefc × nv).
func (s *Sim) EfcJ() []float64 { s.check(); return copyOf(s.d.efc_J, s.Nefc()*s.Nv()) }

// BodyInvweight0 returns body_invweight0: translation, rotation (nbody).
func (s *Sim) BodyInvweight0() []float64 { s.check(); return copyOf(s.m.body_invweight0, 2*s.Nbody()) }

// UseExactSolver switches MuJoCo to its Newton solver with up to 200
// iterations and a tolerance of 1e-12, so that its constraint forces are
// the converged solution of its constraint problem (a file may ask for PGS
// with a few iterations, which stops short of it).
func (s *Sim) UseExactSolver() {
	s.check()
	s.m.opt.solver = C.mjSOL_NEWTON
	s.m.opt.iterations = 200
	s.m.opt.tolerance = 1e-12
}
