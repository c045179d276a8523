package gpu

import "github.com/apex-robotics/apex/batchsim"

// Splitting the horizon. One dispatch runs control steps [t0, t1) of its
// worlds; world_out carries state and partial costs to the next dispatch.
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

// stepLoopIterations estimates the loop iterations of one control step of
// task t with a policy of the given layers (nil for none). It counts every
// loop of the kernel's physics stage per sub-step, with 6-vector loops as
// 6 iterations and the 6×6 ones as 36; measured on the cheetah (nv 9, 9
// pairs): about 620 per physics step, which this overestimates by 2–3×.
func stepLoopIterations(t *batchsim.Task, layers []batchsim.Dense) int {
	m := t.Model
	phys := 120*m.Nv + 20*m.Nbody + 30*m.Npair + 10*m.Njnt + 2*m.Nu + m.Nq + m.Nv + 50
	it := t.FrameSkip*max(m.Opt.Substeps, 1)*phys + 3*m.Nu + len(t.Cost)*(m.Nv+1) + 2*m.Nq
	if layers != nil {
		it += t.ObsDim() * 2
		for _, l := range layers {
			it += l.Out * (l.In/4 + l.In%4 + 1)
		}
	}
	return it
}

// stepsPerDispatch returns the control steps one dispatch may run.
func (e *Evaluator) stepsPerDispatch(t *batchsim.Task, h int) int {
	if e.stepsPer > 0 {
		return min(e.stepsPer, h)
	}
	if !e.dev.Info.Software {
		return min(hardwareStepsPerDispatch, h)
	}
	return min(max(loopBudget/stepLoopIterations(t, e.layers), 1), h)
}
