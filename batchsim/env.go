package batchsim

import (
	"fmt"
	"math/rand/v2"
)

// Env is one world run as a control problem: reset, step with an action,
// observe. The MPC loop and policy rollouts use it; the planner's rollouts go
// through an Evaluator instead.
type Env struct {
	Task *Task
	Data *Data
	Step int // control steps since the last reset
	// Params are the task parameters of the episode (Task.NParam, e.g. a
	// goal), sampled by Reset; nil when the task has none.
	Params []float64

	qposBefore []float64
	ctrl       []float64
	model      Model // the episode's model when the task moves bodies (Task.ModelFor)
}

// Model returns the model the episode runs on: the task's, with the bodies
// that the task parameters place moved (Task.BodyPos).
func (e *Env) Model() *Model { return e.Task.ModelFor(e.Params, &e.model) }

// NewEnv returns an Env for task in its default pose (call Reset to sample
// a start state).
func NewEnv(task *Task) *Env {
	e := &Env{Task: task, Data: NewData(task.Model)}
	if task.NParam > 0 {
		e.Params = make([]float64, task.NParam)
	}
	e.qposBefore = make([]float64, task.Model.Nq)
	return e
}

// Reset samples a start state from the task's reset distribution.
func (e *Env) Reset(rng *rand.Rand) {
	t, m, d := e.Task, e.Task.Model, e.Data
	ResetData(m, d)
	for i := range d.Qpos {
		d.Qpos[i] = m.Qpos0[i] + t.ResetQposUniform*(2*rng.Float64()-1)
	}
	for i := range d.Qvel {
		d.Qvel[i] = t.ResetQvelNormal*rng.NormFloat64() + t.ResetQvelUniform*(2*rng.Float64()-1)
	}
	if t.ResetHook != nil {
		t.ResetHook(rng, m, d.Qpos, d.Qvel, e.Params)
	}
	NormalizeQuats(m, d.Qpos)
	e.Step = 0
	Forward(e.Model(), d)
}

// SetState sets qpos and qvel (copied) and recomputes the derived quantities.
func (e *Env) SetState(qpos, qvel []float64) {
	copy(e.Data.Qpos, qpos)
	copy(e.Data.Qvel, qvel)
	Forward(e.Model(), e.Data)
}

// Observe writes the task's observation to dst (Task.ObsDim()).
func (e *Env) Observe(dst []float64) { e.Task.ObserveModel(e.Model(), e.Data, e.Params, dst) }

// Solved reports whether the task counts the current state as success
// (Task.Solved), e.g. at the end of an episode.
func (e *Env) Solved() bool { return e.Task.Solved(e.Data, e.Params) }

// Act applies action a for one control step and returns the reported reward
// and the planning cost of the step. A state that becomes non-finite is an
// error naming the step.
func (e *Env) Act(a []float64) (reward, cost float64, err error) {
	t, m, d := e.Task, e.Model(), e.Data
	copy(e.qposBefore, d.Qpos)
	t.SetCtrl(d, a)
	for k := 0; k < t.FrameSkip; k++ {
		if err := Step(m, d); err != nil {
			return 0, 0, fmt.Errorf("control step %d: %w", e.Step, err)
		}
	}
	e.Step++
	reward = t.StepValueParams(t.Reward, e.qposBefore, d, a, e.Params)
	cost = t.StepValueParams(t.Cost, e.qposBefore, d, a, e.Params)
	return reward, cost, nil
}

// Done reports whether the episode has reached its length.
func (e *Env) Done() bool { return e.Step >= e.Task.EpisodeLen }
