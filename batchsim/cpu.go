package batchsim

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// CPU is the float64 reference implementation of Evaluator: every sample is
// rolled out by the Go engine, samples spread over a pool of workers. Each
// sample is independent, so results do not depend on the number of workers.
type CPU struct {
	workers int
	pin     []int // the CPU of each worker, nil when not pinned (pin_linux.go)
	policy  *PolicyNet
	scratch []*cpuWorker // one per worker, reused across calls
}

var _ Evaluator = (*CPU)(nil)

// NewCPU returns a CPU evaluator with the given number of workers; 0 means
// one per core. When there are as many workers as CPUs the process may use
// (two or more), each worker runs on its own CPU during Evaluate; with fewer
// the operating system places them, so that other processes keep theirs.
func NewCPU(workers int) *CPU {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c := &CPU{workers: workers}
	if cpus := allowedCPUs(); workers > 1 && len(cpus) == workers {
		c.pin = cpus
	}
	return c
}

// cpuWorker is one worker's scratch: a world and the buffers of a rollout.
type cpuWorker struct {
	model      *Model
	local      Model // the problem's model when the task moves bodies (Task.ModelFor)
	data       *Data
	qposBefore []float64
	obs, pi    []float64
	buf        [2][]float64
}

func (w *cpuWorker) prepare(t *Task, p *PolicyNet) {
	if w.model != t.Model {
		w.model = t.Model
		w.data = NewData(t.Model)
		w.qposBefore = make([]float64, t.Model.Nq)
	}
	if n := t.ObsDim(); len(w.obs) != n {
		w.obs = make([]float64, n)
	}
	if len(w.pi) != t.Model.Nu {
		w.pi = make([]float64, t.Model.Nu)
	}
	if p != nil {
		if wd := p.MaxWidth(); len(w.buf[0]) < wd {
			w.buf = [2][]float64{make([]float64, wd), make([]float64, wd)}
		}
	}
}

// Name implements Evaluator.
func (c *CPU) Name() string { return fmt.Sprintf("cpu (Go float64, %d workers)", c.workers) }

// Close implements Evaluator.
func (c *CPU) Close() error { return nil }

// SetPolicy implements Evaluator.
func (c *CPU) SetPolicy(p *PolicyNet) error {
	if p == nil {
		c.policy = nil
		return nil
	}
	c.policy = p.Clone()
	return nil
}

// Evaluate implements Evaluator. A rollout whose state becomes non-finite
// gets a NaN main cost; the planner ranks such samples last.
func (c *CPU) Evaluate(b *Batch, r *Result) error {
	if err := b.Validate(); err != nil {
		return err
	}
	if c.policy != nil {
		if len(c.policy.ObsMean) != b.Task.ObsDim() || len(c.policy.ActLow) != b.Task.Model.Nu {
			return fmt.Errorf("cpu evaluator: policy maps %d observations to %d actions, task %s has %d and %d",
				len(c.policy.ObsMean), len(c.policy.ActLow), b.Task.Name, b.Task.ObsDim(), b.Task.Model.Nu)
		}
	}
	r.Resize(b)
	record := make(map[int]int, len(b.Record))
	for k, s := range b.Record {
		record[s] = k
	}
	for len(c.scratch) < c.workers {
		c.scratch = append(c.scratch, &cpuWorker{})
	}
	// One sample at a time: a rollout is long (a planner's are hundreds of
	// steps), and handing them out singly keeps the workers' last ones of a
	// call from leaving a CPU idle (larger chunks did, for the planner's
	// few dozen samples per call).
	total := b.Problems * b.Samples
	var next atomic.Int64
	var wg sync.WaitGroup
	for wi := 0; wi < min(c.workers, total); wi++ {
		w := c.scratch[wi]
		w.prepare(b.Task, c.policy)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.pin != nil {
				defer pinThread(c.pin[wi])()
			}
			for {
				s := int(next.Add(1)) - 1
				if s >= total {
					return
				}
				var states []float64
				if k, ok := record[s]; ok {
					states = r.States[k]
				}
				r.Main[s], r.Guide[s], r.Norm[s] = c.rollout(w, b, s, states)
			}
		}()
	}
	wg.Wait()
	return nil
}

// rollout simulates sample s of b and returns its cost terms; states, if
// not nil, receives the (h+1) × (nq+nv) state trajectory.
func (c *CPU) rollout(w *cpuWorker, b *Batch, s int, states []float64) (main, guide, norm float64) {
	t, d := b.Task, w.data
	p := s / b.Samples
	params := b.Params[p*t.NParam : (p+1)*t.NParam]
	m := t.ModelFor(params, &w.local)
	nq, nv, nu := m.Nq, m.Nv, m.Nu
	ResetData(m, d)
	copy(d.Qpos, b.Qpos[p*nq:(p+1)*nq])
	copy(d.Qvel, b.Qvel[p*nv:(p+1)*nv])
	if states != nil {
		copy(states[:nq], d.Qpos)
		copy(states[nq:nq+nv], d.Qvel)
	}
	acts := b.Actions[s*b.Horizon*nu : (s+1)*b.Horizon*nu]
	dead := false
	for step := 0; step < b.Horizon; step++ {
		a := acts[step*nu : (step+1)*nu]
		for _, x := range a {
			norm += x * x
		}
		if dead {
			continue
		}
		if c.policy != nil {
			Forward(m, d)
			t.ObserveModel(m, d, params, w.obs)
			c.policy.Act(w.obs, w.pi, &w.buf)
			for i, x := range a {
				e := x - w.pi[i]
				guide += e * e
			}
		}
		copy(w.qposBefore, d.Qpos)
		t.SetCtrl(d, a)
		for k := 0; k < t.FrameSkip; k++ {
			if err := Step(m, d); err != nil {
				dead = true
				main = math.NaN()
				break
			}
		}
		if !dead {
			main += t.StepValueParams(t.Cost, w.qposBefore, d, a, params)
		}
		if states != nil {
			row := states[(step+1)*(nq+nv) : (step+2)*(nq+nv)]
			copy(row[:nq], d.Qpos)
			copy(row[nq:], d.Qvel)
		}
	}
	return main, guide, norm
}
