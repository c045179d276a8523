package gpu

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
)

// Splitting the horizon. One dispatch runs physics steps [k0, k1) of its
// worlds, counted over the whole horizon (control step t's physics steps are
// t·FrameSkip … t·FrameSkip+FrameSkip−1), so that a dispatch may end inside a
// control step; world_out carries state, the control step's starting qpos
// and partial costs to the next dispatch.
//
// Two limits call for it. Display drivers reset a device whose work runs
// past about 2 s (PHYSICS.md), and Mesa's llvmpipe (lavapipe) ends every loop
// of an invocation once all its loops together have run 65535 iterations
// (LP_MAX_TGSI_LOOP_ITERATIONS in gallivm's lp_bld_limits.h, "shared between
// every loop"): a 30-step cheetah rollout stopped silently after 21 steps
// before this split. So the number of control steps per dispatch is chosen
// from an estimate of the loop iterations one control step takes.

// loopBudget is the iterations per invocation per dispatch we allow on a
// software adapter: half of llvmpipe's 65535, for the estimate's slack.
const loopBudget = 32768

// hardwareStepsPerDispatch bounds the control steps of one dispatch on a
// hardware GPU, which has no loop limit; the bound keeps one dispatch of a
// large batch well under the 2 s watchdog.
const hardwareStepsPerDispatch = 16

// physicsLoopIterations estimates the loop iterations of one physics step
// of m. In the generic kernel that is
// every loop of the physics stage, with 6-vector loops as 6
// iterations and the 6×6 ones as 36, and for box–box pairs the
// separating-axis and clipping loops; measured on the cheetah (nv 9, 9
// pairs): about 620 per physics step, which this overestimates by 2–3×. In
// the specialised kernel (specialize.go) only the solver's and the
// collision functions' own loops remain; where it writes the soft
// constraints out (soft_static.go) only the Newton iteration and its line
// search loop (staticSoftLoops).
func physicsLoopIterations(m *batchsim.Model, specialized bool) int {
	boxBox, planeBox := 0, 0
	for i := 0; i < m.Npair; i++ {
		t1, t2 := m.GeomType[m.PairGeom1[i]], m.GeomType[m.PairGeom2[i]]
		switch {
		case t1 == batchsim.GeomBox && t2 == batchsim.GeomBox:
			boxBox++
		case t2 == batchsim.GeomBox:
			planeBox++
		}
	}
	phys := 120*m.Nv + 20*m.Nbody + 30*m.Npair + 100*boxBox + 10*m.Njnt + 4*m.Nu + m.Nq + m.Nv + 50
	if specialized {
		phys = 100*boxBox + 9*planeBox + 20
		if softStaticModel(m) {
			return phys + staticSoftLoops
		}
	}
	return phys + constraintLoopIterations(m)
}

// staticSoftLoops estimates the loop iterations of one step's soft
// constraints where specialize.go writes them out (soft_static.go): the
// rows, the Hessian, its factor and every product are straight-line code,
// and only the Newton loop (at most 30 iterations) and the line search in
// each (at most 50) remain. It assumes 4 Newton iterations with 16
// line-search iterations each. Measured on lavapipe (llvmpipe 256-bit,
// Mesa 22.3.6) with the cheetah under uniformly random actions from rest
// (apex bench's batch): per world, Newton plus line-search iterations
// average 1.5 per physics step and reach 2.5 over a 30-step rollout of
// 4096 worlds; the count llvmpipe limits (per group of 8 worlds, all loops
// of the physics step together, the step loop included) stayed under 13
// per physics step: a 1000-control-step rollout of 1024 worlds in one
// dispatch was not cut, a 3000-step one was. So this overestimates the
// measured count about 5×, before loopBudget's factor 2; the cheetah's
// 30-step horizon runs in one dispatch.
const staticSoftLoops = 4 * (1 + 16)

// constraintLoopIterations estimates the loop iterations of one step's soft
// constraints (make_rows, crba, newton, finish_soft in rollout.wgsl): their
// loops run at run time in both kernels. It assumes at most 32 active rows
// of nv entries, 8 contacts, 4 Newton iterations with 10 line-search
// evaluations each: the CPU solver averages 1.1 (cheetah) to 2.5 (humanoid)
// iterations with up to 32 rows on random controls (batchsim's
// TestNewtonSolvesTheConstraintProblem), so this overestimates typical steps
// several times.
func constraintLoopIterations(m *batchsim.Model) int {
	nv := m.Nv
	rows, con := batchsim.MaxConstraintRows(m)
	rows, con = min(rows, 32), min(con, 8)
	makeRows := nv + 2*m.Njnt + con*7*nv
	crba := 3*nv + 2*nv*nv
	chol := nv*nv*nv/6 + 2*nv*nv
	newton := 4 * (3*nv + 3*nv*nv + rows*(nv+nv*nv) + chol + rows*nv + 10*rows)
	finish := 3*nv*nv + chol + 4*con
	return makeRows + crba + newton + finish
}

// controlLoopIterations estimates the loop iterations that a control step
// adds to its physics steps: controls, costs and the policy of the given
// layers (nil for none).
func controlLoopIterations(t *batchsim.Task, layers []batchsim.Dense) int {
	m := t.Model
	it := 3*m.Nu + len(t.Cost)*(m.Nv+6*m.Nbody+1) + 3*m.Nq
	if layers != nil {
		it += t.ObsDim()*2 + 20*m.Nbody
		for _, l := range layers {
			it += l.Out * (l.In/4 + l.In%4 + 1)
		}
	}
	return it
}

// stepsPerDispatch returns the physics steps one dispatch may run: whole
// control steps where one fits the loop budget, else as many physics steps
// as fit beside one control step's overhead (a run of fewer than FrameSkip
// physics steps starts at most one control step).
func (e *Evaluator) stepsPerDispatch(t *batchsim.Task) int {
	if e.stepsPer > 0 {
		return e.stepsPer
	}
	if !e.dev.Info.Software {
		return hardwareStepsPerDispatch * t.FrameSkip
	}
	phys := e.physLoops(t.Model)
	ctl := controlLoopIterations(t, e.layers)
	if per := t.FrameSkip*phys + ctl; per <= loopBudget {
		return loopBudget / per * t.FrameSkip
	}
	return min(max((loopBudget-ctl)/phys, 1), t.FrameSkip)
}

// physLoops is physicsLoopIterations for m in the shape e runs it.
func (e *Evaluator) physLoops(m *batchsim.Model) int {
	_, n := e.shape(m)
	return n
}

// shape returns the kernel shape e runs m in (see KernelAuto) and
// physicsLoopIterations for it, computed once per model (each estimate
// builds a batchsim.Data): Evaluate asks for them on every call.
func (e *Evaluator) shape(m *batchsim.Model) (Kernel, int) {
	if e.loopModel == m {
		return e.loopShape, e.loopPhys
	}
	k, n := e.want, -1
	if k == KernelAuto {
		k = KernelLean
		if e.dev.Info.Software {
			// The specialised kernel where its step fits llvmpipe's limit.
			if n = physicsLoopIterations(m, true); n <= softwareLoopLimit {
				k = KernelSpecialized
			}
		}
	}
	if n < 0 || k != KernelSpecialized {
		n = physicsLoopIterations(m, k == KernelSpecialized)
	}
	e.loopModel, e.loopShape, e.loopPhys = m, k, n
	return k, n
}

// softwareLoopLimit is llvmpipe's per-invocation loop-iteration limit
// (LP_MAX_TGSI_LOOP_ITERATIONS).
const softwareLoopLimit = 65535

// ErrLoopLimit is wrapped by Evaluate's error when a rollout's dispatch was
// cut short by a software adapter's loop limit (the probe below): its costs
// would be wrong, so none are returned.
var ErrLoopLimit = fmt.Errorf("one of its dispatches ran more loop iterations than the device allows (llvmpipe: %d per invocation)", softwareLoopLimit)

// The kernel checks that a dispatch was not cut short: after its steps
// each world runs a loop of probeLoops iterations (Dims.probe; a uniform
// bound, so it stays a loop), which a limit reached before ends early; the
// world's flag in world_out is then worldCut, and Evaluate returns an
// error instead of its costs.
const (
	probeLoops = 2
	worldCut   = 2.0
)

// CheckTask reports whether the evaluator can run t. A hardware GPU has no
// loop limit. On a software adapter a dispatch cannot end inside a physics
// step, so the specialised and generic kernels refuse a task whose step is
// estimated above llvmpipe's limit: they keep the world's arrays in private
// memory, and such a step runs for minutes there (the generic kernel did
// not finish one step of the Adroit door in 10 minutes). The lean kernel
// runs every task, one physics step per dispatch where a control step does
// not fit. Whether a step fits the limit depends on its constraint load
// (rows × Newton iterations), not on the model alone: the estimate bounds
// the worst case, far above typical steps, so it does not refuse; a step
// that does not fit is caught by the kernel's probe and Evaluate returns
// ErrLoopLimit instead of costs. Measured on lavapipe (TestLeanKernel's
// states): every Adroit door step ran; the humanoid's steps of 86–105
// rows at 7–8 Newton iterations (poses pressed into the floor) did not,
// where the heaviest step of a random rollout from its reset had rows ×
// iterations of 120–144 (the door's: up to 567); and planning the door
// there stops at its first evaluation (BENCHMARKS.md).
func (e *Evaluator) CheckTask(t *batchsim.Task) error {
	k, n := e.shape(t.Model)
	if !e.dev.Info.Software || k == KernelLean {
		return nil
	}
	if n > softwareLoopLimit {
		return fmt.Errorf("gpu: task %s: one physics step may run about %d loop iterations, above the %d a software adapter (%s) runs in one dispatch in the %s kernel; use the lean kernel, --backend cpu or a hardware GPU",
			t.Name, n, softwareLoopLimit, e.dev.Info.Name, k)
	}
	return nil
}
