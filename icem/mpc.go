package icem

import (
	"context"
	"fmt"
	"time"

	"github.com/apex-robotics/apex/batchsim"
)

// Progress is reported after every environment step of RunEpisode.
type Progress struct {
	Step, Steps int     // steps done, steps planned
	Return      float64 // reported reward summed so far
	Elapsed     time.Duration
	// Problem is the planning problem after this step's Plan call: its Best
	// and Elites are what the planner considered for the step just taken.
	Problem *Problem
}

// EpisodeOptions configure RunEpisode. The zero value runs until the
// environment's episode ends, with seed 0 and no callbacks.
type EpisodeOptions struct {
	// Steps: environment steps to run; zero means until env.Done().
	Steps int
	// Seed of the planner's random stream (problem index 0).
	Seed uint64
	// Params: the task parameters of the episode (Task.NParam, e.g. a goal);
	// nil when the task has none.
	Params []float64
	// Progress, when set, is called after every step (from the calling
	// goroutine), e.g. to draw a progress bar.
	Progress func(Progress)
	// Success, when set, is asked at the end of the episode whether the task
	// was solved (a hook for the tasks that define success).
	Success func(env *batchsim.Env) bool
}

// Episode is what RunEpisode records.
type Episode struct {
	Return  float64     // Σ reported reward
	Rewards []float64   // reported reward per step (steps)
	Costs   []float64   // planning cost per step (steps)
	Actions [][]float64 // executed actions (steps × nu)
	// States are qpos then qvel, the start state first ((steps+1) × (nq+nv)).
	States [][]float64
	// Lambda per step and CEM iteration (steps × I).
	Lambda [][]Lambda
	// Success is the Success hook's answer; nil without a hook.
	Success *bool

	Simulated      int // sequences the evaluator rolled out
	NonFinite      int // of them with a NaN or infinite cost
	PolicyFailures int // policy rollouts that diverged
	Wall           time.Duration
	EvalTime       time.Duration // inside the evaluator
	// EvalHostTime is the evaluator's own host work within EvalTime
	// (Stats.EvalHostTime): PlanTime − EvalTime + EvalHostTime is the host's
	// share of planning, EvalTime − EvalHostTime the device's.
	EvalHostTime time.Duration
	// PlanTime is the time inside Planner.Plan (EvalTime is part of it);
	// BytesUp and BytesDown what the evaluator moved to and from its
	// device, all steps together.
	PlanTime           time.Duration
	BytesUp, BytesDown int64
	StepsPerSec        float64 // environment steps per wall-clock second
	// SimStepsPerSec: control steps the evaluator simulated per second of
	// wall-clock time (Simulated·h/Wall).
	SimStepsPerSec float64
}

// RunEpisode runs pl (the host Planner or a device planner) as the
// model-predictive controller of env from its current state (reset it
// first): at every step one Plan call, then the returned action is applied
// to env. It stops after opt.Steps steps or at the end of the episode, or
// when ctx is done (returning the episode so far with ctx's error). A state
// that becomes non-finite ends it with an error, also returning what was
// recorded.
func RunEpisode(ctx context.Context, pl StepPlanner, env *batchsim.Env, opt EpisodeOptions) (*Episode, error) {
	pt := pl.Task()
	nu, h := pt.Model.Nu, pl.Config().Horizon
	if env.Task.Model.Nu != nu || env.Task.Model.Nq != pt.Model.Nq || env.Task.Model.Nv != pt.Model.Nv {
		return nil, fmt.Errorf("icem: environment %q does not match the planner's task %q", env.Task.Name, pt.Name)
	}
	if len(opt.Params) != pt.NParam {
		return nil, fmt.Errorf("icem: %d task parameters, task %q has %d", len(opt.Params), pt.Name, pt.NParam)
	}
	steps := opt.Steps
	if steps == 0 {
		steps = env.Task.EpisodeLen - env.Step
	}
	start := time.Now()
	pr := pl.NewProblem(opt.Seed, 0)
	if f, ok := pl.(Forgetter); ok {
		defer f.Forget(pr)
	}
	ep := &Episode{States: [][]float64{stateOf(env)}}
	probs := []*Problem{pr}
	a := [][]float64{make([]float64, nu)}
	finish := func() {
		ep.Wall = time.Since(start)
		if s := ep.Wall.Seconds(); s > 0 {
			ep.StepsPerSec = float64(len(ep.Rewards)) / s
			ep.SimStepsPerSec = float64(ep.Simulated*h) / s
		}
	}
	for step := 0; step < steps && (opt.Steps > 0 || !env.Done()); step++ {
		if err := ctx.Err(); err != nil {
			finish()
			return ep, fmt.Errorf("icem: episode stopped at step %d: %w", step, err)
		}
		pr.SetState(env.Data.Qpos, env.Data.Qvel, opt.Params)
		st, err := pl.Plan(a, probs)
		ep.Simulated += st.Simulated
		ep.NonFinite += st.NonFinite
		ep.PolicyFailures += st.PolicyFailures
		ep.EvalTime += st.EvalTime
		ep.EvalHostTime += st.EvalHostTime
		ep.PlanTime += st.Elapsed
		ep.BytesUp += st.BytesUp
		ep.BytesDown += st.BytesDown
		if err != nil {
			finish()
			return ep, fmt.Errorf("icem: plan step %d: %w", step, err)
		}
		ep.Lambda = append(ep.Lambda, st.Lambda)
		r, c, err := env.Act(a[0])
		if err != nil {
			finish()
			return ep, fmt.Errorf("icem: episode step %d: %w", step, err)
		}
		ep.Actions = append(ep.Actions, append([]float64(nil), a[0]...))
		ep.Rewards = append(ep.Rewards, r)
		ep.Costs = append(ep.Costs, c)
		ep.Return += r
		ep.States = append(ep.States, stateOf(env))
		if opt.Progress != nil {
			opt.Progress(Progress{Step: step + 1, Steps: steps, Return: ep.Return, Elapsed: time.Since(start), Problem: pr})
		}
	}
	if opt.Success != nil {
		s := opt.Success(env)
		ep.Success = &s
	}
	finish()
	return ep, nil
}

func stateOf(env *batchsim.Env) []float64 {
	s := make([]float64, 0, len(env.Data.Qpos)+len(env.Data.Qvel))
	return append(append(s, env.Data.Qpos...), env.Data.Qvel...)
}
