//go:build mujoco

package mjeval

/*
#include <stdlib.h>
#include <string.h>
#include <mujoco/mujoco.h>

// mjev_control_step sets the controls and runs nstep physics steps with
// mj_step, all in one cgo call. qpos_last, if not NULL, receives qpos before
// the last step (the pose whose kinematics mj_step leaves in xpos and
// site_xpos). It returns 0, or 1 + k when the warning bad[k] was raised by
// a step (MuJoCo then reset the data: the rollout is lost).
static int mjev_control_step(const mjModel* m, mjData* d, const mjtNum* ctrl,
                             int nstep, mjtNum* qpos_last, const int* bad, int nbad) {
	if (m->nu > 0) {
		memcpy(d->ctrl, ctrl, sizeof(mjtNum) * m->nu);
	}
	for (int i = 0; i < nstep; i++) {
		int before[16];
		for (int k = 0; k < nbad && k < 16; k++) {
			before[k] = d->warning[bad[k]].number;
		}
		if (qpos_last && i == nstep - 1) {
			memcpy(qpos_last, d->qpos, sizeof(mjtNum) * m->nq);
		}
		mj_step(m, d);
		for (int k = 0; k < nbad && k < 16; k++) {
			if (d->warning[bad[k]].number > before[k]) {
				return 1 + k;
			}
		}
	}
	return 0;
}

static int mjev_ctrllimited(const mjModel* m, int a) { return m->actuator_ctrllimited[a]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/mjref"
	"github.com/apex-robotics/apex/internal/par"
)

// referenceModels maps a task to its reference model file in the
// repository's models/ folder (models/README.md): the unmodified file the
// task's environment runs, which MuJoCo loads. A task not listed has none
// there (fetchpickplace; door-hook's model is written for batchsim).
var referenceModels = map[string]string{
	"halfcheetah":     "half_cheetah.xml",
	"humanoidstandup": "humanoidstandup.xml",
	"door":            filepath.Join("adroit", "adroit_door.xml"),
	"door-dense":      filepath.Join("adroit", "adroit_door.xml"),
	"door-unshaped":   filepath.Join("adroit", "adroit_door.xml"),
}

// ModelFile returns the path of task's reference model file. dir is the
// models/ folder; "" looks for the file in a models/ folder in the working
// directory or one above it, then beside the executable or above it, then
// in this source tree (the repository the program was built from).
func ModelFile(task, dir string) (string, error) {
	rel, ok := referenceModels[task]
	if !ok {
		known := make([]string, 0, len(referenceModels))
		for n := range referenceModels {
			known = append(known, n)
		}
		sort.Strings(known)
		return "", fmt.Errorf("mjeval: task %q has no reference model file in models/ for MuJoCo (tasks with one: %s)", task, strings.Join(known, ", "))
	}
	if dir != "" {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("mjeval: task %q: reference model file: %w", task, err)
		}
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	if _, src, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(src))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			p := filepath.Join(d, "models", rel)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("mjeval: task %q: reference model file models/%s not found in a models/ folder at or above %s",
		task, filepath.ToSlash(rel), strings.Join(starts, ", "))
}

// EvaluatorOptions configure NewEvaluator.
type EvaluatorOptions struct {
	// Workers is the number of goroutines, each with its own MuJoCo model
	// and data; 0 means one per core (GOMAXPROCS).
	Workers int
	// ModelDir is the models/ folder; "" searches for it (ModelFile).
	ModelDir string
	// Exact runs MuJoCo as the cross-checks compare it with batchsim:
	// semi-implicit Euler, Newton's solver to convergence (UseExactSolver)
	// and no no-slip sweeps. False keeps the file's options, those the
	// task's environment runs (the Adroit door: 20 solver iterations and
	// 20 no-slip sweeps).
	Exact bool
}

// Evaluator is a batchsim.Evaluator whose rollouts run on MuJoCo: a
// reference backend for cross-checks, with the semantics of batchsim's CPU
// evaluator for the main cost. For each sample the worker resets its
// mjData (mj_resetData), places the task's moved bodies at the problem's
// parameters (Task.BodyPos into MuJoCo's body_pos), sets the problem's
// start qpos and qvel, and per action sets ctrl = CtrlOffset +
// CtrlScale·a (MuJoCo clamps it to the actuator's range) and runs
// FrameSkip mj_steps. The step's cost terms are batchsim's own
// (Task.StepValueParams) on a batchsim.Data that holds MuJoCo's qpos and
// qvel after the step and, for terms that read sites or bodies, batchsim's
// kinematics of MuJoCo's qpos before the last physics step (what mj_step,
// like batchsim.Step, leaves in site_xpos). The task's actuator gains and
// biases are written into MuJoCo's model where they differ from the file's
// (the door's environment sets its own).
//
// Not supported, refused with an error: a policy (iCEMπ's guidance cost;
// plan without one), cost terms that read contact wrenches (TermContactSq:
// batchsim's CfrcExt is not MuJoCo's cfrc_ext), controls relative to the
// joint position (Task.CtrlRelative), and tasks without a reference model
// file (ModelFile).
//
// A rollout in which MuJoCo warns of a bad state (it then resets its data)
// gets a NaN main cost, as the CPU evaluator's non-finite ones, and NaN
// recorded states from that step on.
type Evaluator struct {
	opt     EvaluatorOptions
	workers int
	task    *batchsim.Task // the task the worlds are set up for
	path    string
	worlds  []*world
}

var _ batchsim.Evaluator = (*Evaluator)(nil)

// NewEvaluator returns a MuJoCo evaluator. The model is loaded when it
// first evaluates a task.
func NewEvaluator(opt EvaluatorOptions) *Evaluator {
	w := opt.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return &Evaluator{opt: opt, workers: w}
}

// world is one worker's MuJoCo model and data, and the buffers of a rollout.
type world struct {
	sim    *mjref.Sim
	bodies []int // MuJoCo body ids of Task.BodyPos, in its order
	data   *batchsim.Data
	local  batchsim.Model // the problem's model (Task.ModelFor), for kinematics
	// qposBefore is qpos at the start of the control step (TermQposDelta),
	// qposLast before its last physics step (the kinematics of the terms).
	qposBefore, qposLast, ctrl []float64
}

// badIDs are mjref's lost-state warnings, for mjev_control_step.
var badIDs = func() []C.int {
	var ids []C.int
	for _, id := range mjref.BadWarnings() {
		ids = append(ids, C.int(id))
	}
	return ids
}()

// Name implements batchsim.Evaluator.
func (e *Evaluator) Name() string {
	mode := "the file's solver settings"
	if e.opt.Exact {
		mode = "Euler, exact Newton solver, no no-slip"
	}
	return fmt.Sprintf("mujoco %s (%s, %d workers)", mjref.Version(), mode, e.workers)
}

// SetPolicy implements batchsim.Evaluator: only nil (no guidance) is
// supported.
func (e *Evaluator) SetPolicy(p *batchsim.PolicyNet) error {
	if p != nil {
		return errors.New("mjeval: the MuJoCo evaluator plans without a policy: iCEMπ's guidance cost (APEX, apex train) is not supported; use it with plain iCEM (apex plan)")
	}
	return nil
}

// Close implements batchsim.Evaluator; it frees the MuJoCo models.
func (e *Evaluator) Close() error {
	for _, w := range e.worlds {
		w.sim.Close()
	}
	e.worlds, e.task = nil, nil
	return nil
}

// check refuses what the evaluator does not compute as the CPU evaluator does.
func check(t *batchsim.Task) error {
	for _, tm := range t.Cost {
		if tm.Kind == batchsim.TermContactSq {
			return fmt.Errorf("mjeval: task %q: its cost reads contact wrenches (TermContactSq), which the MuJoCo evaluator does not compute", t.Name)
		}
	}
	for _, r := range t.CtrlRelative {
		if r {
			return fmt.Errorf("mjeval: task %q: controls relative to the joint position (CtrlRelative) are not supported by the MuJoCo evaluator", t.Name)
		}
	}
	return nil
}

// needsKinematics reports whether a cost term reads the position stage
// (site poses).
func needsKinematics(terms []batchsim.Term) bool {
	for _, tm := range terms {
		if tm.Kind == batchsim.TermSiteDist {
			return true
		}
	}
	return false
}

// setup loads t's reference model into one world per worker.
func (e *Evaluator) setup(t *batchsim.Task) error {
	if e.task == t {
		return nil
	}
	e.Close()
	path, err := ModelFile(t.Name, e.opt.ModelDir)
	if err != nil {
		return err
	}
	if err := check(t); err != nil {
		return err
	}
	for range e.workers {
		sim, err := mjref.LoadFile(path)
		if err != nil {
			e.Close()
			return err
		}
		w := &world{sim: sim}
		e.worlds = append(e.worlds, w)
		if err := w.configure(t, e.opt.Exact); err != nil {
			e.Close()
			return fmt.Errorf("mjeval: task %q on %s: %w", t.Name, path, err)
		}
	}
	e.task, e.path = t, path
	return nil
}

// configure checks that the MuJoCo model is the task's (sizes, timestep,
// joints, actuators in the same order), writes the task's actuator gains
// into it and finds the moved bodies.
func (w *world) configure(t *batchsim.Task, exact bool) error {
	s, m := w.sim, t.Model
	if s.Nq() != m.Nq || s.Nv() != m.Nv || s.Nu() != m.Nu {
		return fmt.Errorf("MuJoCo's model has nq %d, nv %d, nu %d; the task's %d, %d, %d", s.Nq(), s.Nv(), s.Nu(), m.Nq, m.Nv, m.Nu)
	}
	if s.Njnt() != m.Njnt {
		return fmt.Errorf("MuJoCo's model has %d joints, the task's %d", s.Njnt(), m.Njnt)
	}
	if dt := s.Timestep(); dt != m.Opt.Timestep {
		return fmt.Errorf("MuJoCo's timestep is %g, the task's %g", dt, m.Opt.Timestep)
	}
	for j := range m.Njnt {
		if n := s.Name(mjref.ObjJoint, j); n != m.JntName[j] {
			return fmt.Errorf("joint %d is %q in MuJoCo's model, %q in the task's", j, n, m.JntName[j])
		}
	}
	nu := m.Nu
	gain := nums(mptr(s).actuator_gainprm, C.mjNGAIN*nu)
	bias := nums(mptr(s).actuator_biasprm, C.mjNBIAS*nu)
	gear := nums(mptr(s).actuator_gear, 6*nu)
	crange := nums(mptr(s).actuator_ctrlrange, 2*nu)
	gtype := unsafe.Slice(mptr(s).actuator_gaintype, nu)
	btype := unsafe.Slice(mptr(s).actuator_biastype, nu)
	for a := range nu {
		if n := s.Name(mjref.ObjType(C.mjOBJ_ACTUATOR), a); n != m.ActName[a] {
			return fmt.Errorf("actuator %d is %q in MuJoCo's model, %q in the task's", a, n, m.ActName[a])
		}
		if gear[6*a] != m.ActGear[a] || (C.mjev_ctrllimited(mptr(s), C.int(a)) != 0) != m.ActCtrlLimited[a] ||
			m.ActCtrlLimited[a] && (crange[2*a] != m.ActCtrlRange[a][0] || crange[2*a+1] != m.ActCtrlRange[a][1]) {
			return fmt.Errorf("actuator %s: MuJoCo's gear %g and control range %v, the task's %g and %v",
				m.ActName[a], gear[6*a], crange[2*a:2*a+2], m.ActGear[a], m.ActCtrlRange[a])
		}
		g, b := m.ActGainPrm[a], m.ActBiasPrm[a]
		if gain[C.mjNGAIN*a] == g && bias[C.mjNBIAS*a] == b[0] && bias[C.mjNBIAS*a+1] == b[1] && bias[C.mjNBIAS*a+2] == b[2] {
			continue
		}
		// The task overrides the file (as the door's environment does):
		// batchsim's actuators are a fixed gain and an affine bias.
		if gtype[a] != C.mjGAIN_FIXED {
			return fmt.Errorf("actuator %s: the task sets its gain, and MuJoCo's is not a fixed gain (gaintype %d)", m.ActName[a], int(gtype[a]))
		}
		gain[C.mjNGAIN*a] = g
		copy(bias[C.mjNBIAS*a:C.mjNBIAS*a+3], b[:])
		if b != (batchsim.Vec3{}) {
			switch btype[a] {
			case C.mjBIAS_NONE:
				btype[a] = C.mjBIAS_AFFINE
				clear(bias[C.mjNBIAS*a+3 : C.mjNBIAS*(a+1)])
			case C.mjBIAS_AFFINE:
			default:
				return fmt.Errorf("actuator %s: the task sets its bias, and MuJoCo's is not affine (biastype %d)", m.ActName[a], int(btype[a]))
			}
		}
	}
	w.bodies = w.bodies[:0]
	for _, bp := range t.BodyPos {
		name := m.BodyName[bp.Body]
		cname := C.CString(name)
		id := int(C.mj_name2id(mptr(s), C.mjOBJ_BODY, cname))
		C.free(unsafe.Pointer(cname))
		if id < 0 {
			return fmt.Errorf("the task moves body %q, which MuJoCo's model lacks", name)
		}
		w.bodies = append(w.bodies, id)
	}
	if exact {
		s.SetIntegrator(mjref.Euler)
		s.UseExactSolver()
		s.SetNoslipIterations(0)
	}
	w.data = batchsim.NewData(m)
	w.qposBefore = make([]float64, m.Nq)
	w.qposLast = make([]float64, m.Nq)
	w.ctrl = make([]float64, m.Nu)
	return nil
}

// Evaluate implements batchsim.Evaluator.
func (e *Evaluator) Evaluate(b *batchsim.Batch, r *batchsim.Result) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if err := e.setup(b.Task); err != nil {
		return err
	}
	r.Resize(b)
	record := make(map[int]int, len(b.Record))
	for k, s := range b.Record {
		record[s] = k
	}
	kin := needsKinematics(b.Task.Cost)
	// Samples in chunks of 4, each worker's MuJoCo data its own.
	total := b.Problems * b.Samples
	const chunk = 4
	par.For(len(e.worlds), (total+chunk-1)/chunk, func(g, c int) {
		w := e.worlds[g]
		for s := c * chunk; s < min((c+1)*chunk, total); s++ {
			var states []float64
			if k, ok := record[s]; ok {
				states = r.States[k]
			}
			r.Main[s], r.Norm[s] = w.rollout(b, s, kin, states)
			r.Guide[s] = 0
		}
	})
	return nil
}

// rollout simulates sample s of b on MuJoCo and returns its main cost and
// action norm; states, if not nil, receives the (h+1) × (nq+nv) state
// trajectory.
func (w *world) rollout(b *batchsim.Batch, s int, kin bool, states []float64) (main, norm float64) {
	t, sim, d := b.Task, w.sim, w.data
	p := s / b.Samples
	params := b.Params[p*t.NParam : (p+1)*t.NParam]
	nq, nv, nu := t.Model.Nq, t.Model.Nv, t.Model.Nu
	C.mj_resetData(mptr(sim), dptr(sim))
	if len(t.BodyPos) > 0 {
		bp := nums(mptr(sim).body_pos, 3*sim.Nbody())
		for k, b := range t.BodyPos {
			copy(bp[3*w.bodies[k]:3*w.bodies[k]+3], params[b.Param:b.Param+3])
		}
	}
	m := t.ModelFor(params, &w.local)
	qpos, qvel := nums(dptr(sim).qpos, nq), nums(dptr(sim).qvel, nv)
	copy(qpos, b.Qpos[p*nq:(p+1)*nq])
	copy(qvel, b.Qvel[p*nv:(p+1)*nv])
	if states != nil {
		copy(states[:nq], qpos)
		copy(states[nq:nq+nv], qvel)
	}
	var last *C.mjtNum
	if kin {
		last = (*C.mjtNum)(unsafe.Pointer(&w.qposLast[0]))
	}
	acts := b.Actions[s*b.Horizon*nu : (s+1)*b.Horizon*nu]
	dead := false
	for step := 0; step < b.Horizon; step++ {
		a := acts[step*nu : (step+1)*nu]
		for _, x := range a {
			norm += x * x
		}
		row := []float64(nil)
		if states != nil {
			row = states[(step+1)*(nq+nv) : (step+2)*(nq+nv)]
		}
		if dead {
			fillNaN(row)
			continue
		}
		copy(w.qposBefore, qpos)
		for i, x := range a {
			w.ctrl[i] = t.CtrlOffset[i] + t.CtrlScale[i]*x
		}
		var ctrl *C.mjtNum
		if nu > 0 {
			ctrl = (*C.mjtNum)(unsafe.Pointer(&w.ctrl[0]))
		}
		if C.mjev_control_step(mptr(sim), dptr(sim), ctrl, C.int(t.FrameSkip), last, &badIDs[0], C.int(len(badIDs))) != 0 {
			dead, main = true, math.NaN()
			fillNaN(row)
			continue
		}
		if kin {
			copy(d.Qpos, w.qposLast)
			batchsim.Forward(m, d)
		}
		copy(d.Qpos, qpos)
		copy(d.Qvel, qvel)
		main += t.StepValueParams(t.Cost, w.qposBefore, d, a, params)
		if row != nil {
			copy(row[:nq], qpos)
			copy(row[nq:], qvel)
		}
	}
	return main, norm
}

func fillNaN(s []float64) {
	for i := range s {
		s[i] = math.NaN()
	}
}

// mptr and dptr are s's mjModel and mjData in this package's C types.
func mptr(s *mjref.Sim) *C.mjModel { m, _ := s.Raw(); return (*C.mjModel)(m) }
func dptr(s *mjref.Sim) *C.mjData  { _, d := s.Raw(); return (*C.mjData)(d) }

// nums is a float64 slice over C memory; valid while the Sim is open.
func nums(p *C.mjtNum, n int) []float64 {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), n)
}
