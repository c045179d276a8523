package icem

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
)

// This file exports what a planner outside the package needs to plan like
// Planner: the interface both satisfy, the problems' random keys, the
// colored-noise filter as a matrix, the ziggurat's tables and the noise of
// one sample as the CPU makes it (issue 14: gpu.Planner runs the whole
// planning step on the device and is tested against these).

// StepPlanner plans one environment step for P problems at once. Planner
// (the host planner) and gpu.Planner (the device planner) implement it;
// RunEpisode and the CLI take either.
type StepPlanner interface {
	// Plan writes each problem's action to execute to dst[k] (nu each).
	Plan(dst [][]float64, problems []*Problem) (Stats, error)
	// NewProblem returns problem number index of a run with the given seed.
	NewProblem(seed uint64, index int) *Problem
	// SetPolicy sets iCEMπ's policy (nil: plain iCEM).
	SetPolicy(pi Policy) error
	Task() *batchsim.Task
	Config() Config
}

var _ StepPlanner = (*Planner)(nil)

// Forgetter is a StepPlanner that keeps memory per problem until told the
// problem will not be planned again (gpu.Planner: a slot of device
// memory). RunEpisode forgets its episode's problem when it returns.
type Forgetter interface {
	Forget(problems ...*Problem)
}

// Sequencer is a StepPlanner that keeps the planned sequences itself
// (gpu.Planner reads them back from the device): a problem's own Best and
// Elites are then empty, and Sequences gives the best sequence and the
// final elites of the problem's last Plan call, h × nu each.
type Sequencer interface {
	Sequences(pr *Problem) (best []float64, elites [][]float64, err error)
}

// NewBareProblem returns problem index of a run with the given seed for a
// planner that keeps the optimiser's memory (μ, σ, elites) elsewhere, as
// gpu.Planner keeps it on the device: only its start state, in the task's
// default pose, and its Philox key, the same key Planner.NewProblem gives
// (so both draw the same noise). Planner refuses it (it panics, as for any
// problem made by another planner); its Best, Mean and Elites are empty.
func NewBareProblem(task *batchsim.Task, seed uint64, index int) *Problem {
	m := task.Model
	pr := &Problem{
		Qpos:   make([]float64, m.Nq),
		Qvel:   make([]float64, m.Nv),
		Params: make([]float64, task.NParam),
		key:    problemKey(seed, index),
	}
	if len(m.Qpos0) == m.Nq {
		copy(pr.Qpos, m.Qpos0)
	}
	return pr
}

// Key returns the problem's Philox-4x32-10 key: its noise of sample s in
// CEM iteration i of its c-th Plan call is the stream of counter
// (block, s, i, c) under it (philox.go, SampleNoise).
func (pr *Problem) Key() [2]uint32 { return pr.key }

// Calls returns the Plan calls made with the problem so far (the step word
// of its noise counter).
func (pr *Problem) Calls() uint32 { return pr.calls }

// Started reports whether the problem has planned since it was made or
// Reset: whether the next Plan call continues from a shifted mean and kept
// elites rather than starting an episode.
func (pr *Problem) Started() bool { return pr.started }

// MarkPlanned records one Plan call made by a planner outside this package:
// the next call uses the next step of the noise counter and continues the
// episode. Planner does this itself.
func (pr *Problem) MarkPlanned() {
	pr.calls++
	pr.started = true
}

// Matrix returns the sampler as the h×h real matrix M (index t*h + j) with
// y = M·z for the h standard normal draws z that Sequence takes in order:
// the Timmer–König transform with colorednoise's normalisation is linear in
// the draws. White noise (β = 0 or h = 1) gives the identity. A device
// computes y from the same draws as a matrix product instead of an FFT.
func (c *ColoredNoise) Matrix() []float64 {
	h := c.h
	m := make([]float64, h*h)
	y := make([]float64, h)
	for j := 0; j < h; j++ {
		c.Sequence(y, &unitDraws{at: j})
		for t, v := range y {
			m[t*h+j] = v
		}
	}
	return m
}

// unitDraws returns 1 on draw number at, 0 on every other.
type unitDraws struct{ at, n int }

func (u *unitDraws) NormFloat64() float64 {
	v := 0.0
	if u.n == u.at {
		v = 1
	}
	u.n++
	return v
}

// SampleNoise writes to dst (h × nu, index t*nu + j) the noise that Planner
// draws for sample s of CEM iteration i in a problem's call-th Plan call
// (call = Problem.Calls() before the call), with key Problem.Key(): c's
// sequences from the sample's Philox stream, one action dimension after
// another (white noise: in dst's order).
func SampleNoise(dst []float64, c *ColoredNoise, nu int, key [2]uint32, call uint32, i, s int) {
	if len(dst) != c.h*nu {
		panic(fmt.Sprintf("icem: sample noise of length %d, want %d×%d", len(dst), c.h, nu))
	}
	var st noiseStream
	st.reset(key, call, i, s)
	c.Sample(dst, 1, nu, &st)
}

// ZigguratTables returns the 128-layer ziggurat's tables as the Philox
// stream uses them (philox.go): a draw from word j (as int32) and layer i
// is j·W[i] when |j| < K[i]; F[i] is the density at layer i's edge; the
// tail starts at ZigguratR.
func ZigguratTables() (k [128]uint32, w, f [128]float64) { return zigK, zigW, zigF }

// ZigguratR is where the ziggurat's tail starts.
const ZigguratR = zigR

// Lowest fills dst with the indices of the len(dst) smallest values of key,
// in increasing order, NaN last, ties by index: the planner's elite
// selection (a stable sort's prefix).
func Lowest(dst []int, key []float64) []int { return lowest(dst, key) }

// WithDefaults returns c with every zero field set to its documented
// default, as the planners use it.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// RolloutPolicy writes to dst (h × nu) the actions of pi rolled out open
// loop for h steps from pr's start state, clipped to the task's bounds,
// exactly as Planner makes iCEMπ's warm start and policy sample: env is
// scratch (batchsim.NewEnv(task)). It reports false when the rollout left
// the finite state space (the remaining actions then repeat the last good
// one; a non-finite action is replaced by the middle of the range).
func RolloutPolicy(env *batchsim.Env, pi Policy, pr *Problem, dst []float64) bool {
	t := env.Task
	nu := t.Model.Nu
	if len(dst)%nu != 0 || len(dst) == 0 {
		panic(fmt.Sprintf("icem: policy rollout into %d values, not a multiple of nu = %d", len(dst), nu))
	}
	mid := make([]float64, nu)
	for j := range mid {
		mid[j] = (t.ActLow[j] + t.ActHigh[j]) / 2
	}
	return rolloutPolicy(env, make([]float64, t.ObsDim()), pi, mid, pr.Qpos, pr.Qvel, pr.Params, dst)
}
