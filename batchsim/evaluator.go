package batchsim

import (
	"fmt"
	"math"
)

// Batch is one call's worth of planning work: P problems (start states) and,
// for each, N action sequences of horizon h. All flat arrays are row-major in
// the order of the shape in their comment.
type Batch struct {
	Task     *Task
	Problems int // P
	Samples  int // N, action sequences per problem
	Horizon  int // h, control steps per sequence

	Qpos []float64 // start positions, index p*nq + i (P × nq)
	Qvel []float64 // start velocities, index p*nv + i (P × nv)
	// Params are per-problem task parameters such as a goal, index
	// p*Task.NParam + i (P × nparam); nil when the task has none.
	Params []float64
	// Actions in the task's action units, index ((p*N + n)*h + t)*nu + i
	// (P × N × h × nu).
	Actions []float64
	// Record lists samples, as p*N + n, whose state trajectories to return in
	// Result.States. Costs never need them.
	Record []int
}

// Result receives the cost terms of every sample of a Batch.
type Result struct {
	Main  []float64 // J: the task's planning cost summed over the horizon (P × N)
	Guide []float64 // C_guide = Σ_t ‖a_t − π(o_t)‖², 0 without a policy (P × N)
	Norm  []float64 // C_norm = Σ_t ‖a_t‖² (P × N)
	// States of the recorded samples: States[k] is (h+1) × (nq+nv), the start
	// state first, for Batch.Record[k].
	States [][]float64
}

// Resize makes r hold the results of b, reusing its storage.
func (r *Result) Resize(b *Batch) {
	n := b.Problems * b.Samples
	r.Main = resize(r.Main, n)
	r.Guide = resize(r.Guide, n)
	r.Norm = resize(r.Norm, n)
	if cap(r.States) < len(b.Record) {
		r.States = make([][]float64, len(b.Record))
	}
	r.States = r.States[:len(b.Record)]
	sz := (b.Horizon + 1) * (b.Task.Model.Nq + b.Task.Model.Nv)
	for k := range r.States {
		r.States[k] = resize(r.States[k], sz)
	}
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// Evaluator rolls out batches of action sequences and returns their cost
// terms. The CPU engine (NewCPU) and the GPU backend (package gpu) implement
// it; the planner only ever sees this interface.
type Evaluator interface {
	// Evaluate fills r (resized as needed) with the cost terms of b.
	Evaluate(b *Batch, r *Result) error
	// SetPolicy sets the policy π of the guidance cost; nil turns guidance
	// off (Result.Guide is then 0). The network is copied.
	SetPolicy(p *PolicyNet) error
	// Name says which backend and device this is, for logs and benchmarks.
	Name() string
	Close() error
}

// TransferMeter is implemented by evaluators that move data to and from a
// device: the bytes uploaded and read back since they were opened. An
// evaluator that does not implement it moves nothing (the CPU one).
type TransferMeter interface {
	BytesMoved() (up, down int64)
}

// Validate checks the sizes and values of a batch, for every evaluator.
// Sizes come from our own code, but a batch also carries user data (start
// states, actions), so a mismatch is an error rather than a panic.
func (b *Batch) Validate() error {
	if err := b.ValidateShape(); err != nil {
		return err
	}
	for i, x := range b.Actions {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("batch: action %d is %v", i, x)
		}
	}
	return nil
}

// ValidateShape is Validate without the scan of the action values, for an
// evaluator that checks them while it converts them.
func (b *Batch) ValidateShape() error {
	if b.Task == nil || b.Task.Model == nil {
		return fmt.Errorf("batch: no task")
	}
	m := b.Task.Model
	switch {
	case b.Problems < 1 || b.Samples < 1 || b.Horizon < 1:
		return fmt.Errorf("batch: problems %d, samples %d, horizon %d: each must be at least 1", b.Problems, b.Samples, b.Horizon)
	case len(b.Qpos) != b.Problems*m.Nq:
		return fmt.Errorf("batch: %d start positions, want problems × nq = %d", len(b.Qpos), b.Problems*m.Nq)
	case len(b.Qvel) != b.Problems*m.Nv:
		return fmt.Errorf("batch: %d start velocities, want problems × nv = %d", len(b.Qvel), b.Problems*m.Nv)
	case len(b.Actions) != b.Problems*b.Samples*b.Horizon*m.Nu:
		return fmt.Errorf("batch: %d actions, want problems × samples × horizon × nu = %d", len(b.Actions), b.Problems*b.Samples*b.Horizon*m.Nu)
	case len(b.Params) != b.Problems*b.Task.NParam:
		return fmt.Errorf("batch: %d task parameters, want problems × %d", len(b.Params), b.Task.NParam)
	}
	for _, s := range b.Record {
		if s < 0 || s >= b.Problems*b.Samples {
			return fmt.Errorf("batch: recorded sample %d out of range [0, %d)", s, b.Problems*b.Samples)
		}
	}
	return nil
}
