// Package icem is the sampling-based trajectory optimiser of apex: iCEM, the
// improved cross-entropy method of Pinneri et al. (2020, "Sample-efficient
// Cross-Entropy Method for Real-time Planning", CoRL), and iCEMπ, its
// policy-informed variant with adaptive auxiliary-cost weights from APEX
// (Pinneri, Sawant, Blaes, Martius 2021, "Extracting Strong Policies for
// Robotics Tasks from Zero-Order Trajectory Optimizers", ICLR; Alg. 1,
// Eqs. 2–5). The exact semantics are in docs/design/PLANNER.md.
//
// The planner is host-side: colored noise, elites, momentum and λ. Rollouts
// and their costs go through a batchsim.Evaluator (CPU or GPU), one call per
// CEM iteration for all problems planned together.
package icem

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/par"
)

// streamICEM separates the planner's random streams from others derived from
// the same seed (it is mixed into each problem's Philox key, philox.go).
const streamICEM = 0x1CE3 << 40

// fillChunk is the number of samples one work item of the population
// build handles: small enough that one problem's population spreads over
// every worker, large enough that taking an item costs nothing.
const fillChunk = 64

// Lambda holds the weights of the auxiliary costs used in one CEM iteration.
type Lambda struct {
	Guide float64 // λ_guide
	Norm  float64 // λ_norm
}

// Stats describes one Plan call.
type Stats struct {
	Problems    int   // P
	Populations []int // N_i per CEM iteration
	// Simulated counts the sequences the evaluator rolled out, all problems
	// together (elites kept across iterations are not re-simulated).
	Simulated int
	// NonFinite counts simulated samples whose main or auxiliary cost was
	// NaN or infinite; they were ranked last.
	NonFinite int
	// PolicyFailures counts policy rollouts that left the finite state
	// space; their remaining actions repeat the last good one.
	PolicyFailures int
	// Lambda are the weights per CEM iteration and problem, index i*P + p;
	// all zero while no policy is set.
	Lambda []Lambda
	// Best is the f of the executed sample per problem (P), and BestMain
	// its main cost J: the cost the planner predicts over the horizon.
	Best, BestMain []float64
	EvalTime       time.Duration // inside Evaluator.Evaluate
	// EvalHostTime is the part of EvalTime that the evaluator spent on the
	// host rather than waiting for its device (packing actions, scanning
	// them for NaN, unpacking costs), as an evaluator that implements
	// HostTimer reports it; 0 for others (the CPU evaluator's work is all
	// rollouts).
	EvalHostTime time.Duration
	Elapsed      time.Duration // the whole call
	// BytesUp and BytesDown are the bytes the evaluator moved to and from
	// its device during the call (batchsim.TransferMeter; 0 on the CPU).
	BytesUp, BytesDown int64
}

// HostTime is the time of the call spent on the host: the planner's own
// work (sampling, ranking, λ, policy rollouts, copies) and the evaluator's
// host-side work (EvalHostTime).
func (s *Stats) HostTime() time.Duration { return s.Elapsed - s.EvalTime + s.EvalHostTime }

// DeviceTime is the time the evaluator spent on its rollouts: waiting for
// its device (GPU), or simulating (CPU). HostTime + DeviceTime = Elapsed.
func (s *Stats) DeviceTime() time.Duration { return s.EvalTime - s.EvalHostTime }

// HostTimer is implemented by evaluators that do host-side work inside
// Evaluate besides the rollouts themselves, such as packing action
// sequences for a device: the time spent on it since they were opened.
// Plan reports its share of each call as Stats.EvalHostTime.
type HostTimer interface {
	HostTime() time.Duration
}

// LambdaOf returns the weights used for problem p in iteration i.
func (s *Stats) LambdaOf(i, p int) Lambda { return s.Lambda[i*s.Problems+p] }

// Problem is one planning problem: the start state of the next Plan call,
// the optimiser's memory across environment steps (the shifted mean and the
// last elites) and its own random stream. Problems are made by
// Planner.NewProblem and belong to that planner. A Problem is used by one
// Plan call at a time.
type Problem struct {
	// Start state of the next Plan call: Qpos (nq), Qvel (nv) and the task
	// parameters (Task.NParam, nil when none). SetState copies into them.
	Qpos, Qvel, Params []float64

	key     [2]uint32 // Philox key of the problem's noise (philox.go)
	calls   uint32    // Plan calls so far: the noise counter's step word
	started bool      // μ holds a plan from the last step

	mean, std []float64 // μ, σ (h × nu)
	best      []float64 // best sequence of the last Plan (h × nu)
	piRoll    []float64 // the policy's h-step rollout this step (h × nu)
	hasPi     bool

	// The kept elites of the current iteration (⌊ξK⌋ × h × nu): the
	// population's last samples, after the simulated ones, which live in the
	// planner's batch (Planner.seq). Costs of the whole population (Nmax).
	pop                    []float64
	costJ, costG, costN, f []float64
	order                  []int

	// Elites of the latest iteration, sorted by f (K × h × nu), and theirs
	// costs; nPrev of them are carried from the last environment step.
	elites                    []float64
	eliteJ, eliteG, eliteN    []float64
	nElites, nPrev            int
	bestF, bestJ              float64
	nonFinite, policyFailures int

	// The layout of the current iteration's simulated samples (build):
	// [0, fresh) from noise, then shifted elites; piSlot holds the policy's
	// rollout (−1: none) and slot 0 the mean when useMean.
	fresh, shifted, piSlot int
	useMean                bool
	slot, nsim             int // index in the current Plan call, simulated samples
}

// SetState sets the start state of the next Plan call (copied).
func (pr *Problem) SetState(qpos, qvel, params []float64) {
	if len(qpos) != len(pr.Qpos) || len(qvel) != len(pr.Qvel) || len(params) != len(pr.Params) {
		panic(fmt.Sprintf("icem: state of lengths (%d, %d, %d), want (%d, %d, %d)",
			len(qpos), len(qvel), len(params), len(pr.Qpos), len(pr.Qvel), len(pr.Params)))
	}
	copy(pr.Qpos, qpos)
	copy(pr.Qvel, qvel)
	copy(pr.Params, params)
}

// Reset forgets the memory across steps, so that the next Plan call is
// t = 0 of an episode. The random stream continues (the noise of the next
// call is not that of the first).
func (pr *Problem) Reset() { pr.started, pr.nPrev = false, 0 }

// Best is the action sequence whose first action the last Plan call returned
// (h × nu, index t*nu + i). It is overwritten by the next call.
func (pr *Problem) Best() []float64 { return pr.best }

// Mean is the mean μ of the sampling distribution after the last Plan call,
// already shifted for the next step (h × nu).
func (pr *Problem) Mean() []float64 { return pr.mean }

// Elites returns the elite sequences of the last Plan call's final CEM
// iteration, best f first, each h × nu: views into the problem's memory,
// valid until its next Plan call (the viewer draws them as planned paths).
func (pr *Problem) Elites() [][]float64 {
	n := len(pr.best)
	out := make([][]float64, pr.nElites)
	for k := range out {
		out[k] = pr.elites[k*n : (k+1)*n]
	}
	return out
}

// worker is the scratch space of one goroutine of the planner's host work.
type worker struct {
	noise  *ColoredNoise
	nz     []float64 // one sample's noise (h × nu)
	stream noiseStream
	env    *batchsim.Env
	obs    []float64
}

// fillItem is one piece of the population build: samples [s0, s1) of
// problem k.
type fillItem struct{ k, s0, s1 int }

// Planner is the iCEM / iCEMπ optimiser (Pinneri et al. 2020; 2021). It plans
// P problems at once: per environment step, one Plan call, and per CEM
// iteration one Evaluate call with all P × N_i samples. Results depend only
// on the seed, the problem's index and the evaluator's costs, not on the
// number of workers or on which other problems share the call.
type Planner struct {
	cfg    Config // defaults applied
	task   *batchsim.Task
	eval   batchsim.Evaluator
	policy Policy

	h, nu, hd int
	pops      []int
	reuse     int       // ⌊ξK⌋
	sigma0    []float64 // σ_init per action dimension (nu)
	mid       []float64 // middle of the action range (nu)

	workers []*worker
	batch   batchsim.Batch
	res     batchsim.Result
	items   []fillItem // reused across iterations

	// rollout writes the policy's h-step open-loop rollout from pr's state
	// to dst and reports whether the state stayed finite. Tests replace it.
	rollout func(w *worker, pr *Problem, dst []float64) bool
	// hook, when set (tests), is called for each problem after the
	// population of iteration i is built ("built") and after it is ranked
	// ("ranked").
	hook func(stage string, i int, pr *Problem)
}

// New returns a planner for task whose rollouts go through eval. The task is
// used for its sizes and action bounds (and, for policy rollouts, its
// dynamics); neither is copied.
func New(task *batchsim.Task, eval batchsim.Evaluator, cfg Config) (*Planner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if task == nil || task.Model == nil || eval == nil {
		return nil, fmt.Errorf("icem: new planner: nil task, model or evaluator")
	}
	nu := task.Model.Nu
	if nu < 1 || len(task.ActLow) != nu || len(task.ActHigh) != nu {
		return nil, fmt.Errorf("icem: task %q: %d actuators with %d/%d action bounds", task.Name, nu, len(task.ActLow), len(task.ActHigh))
	}
	d := cfg.withDefaults()
	p := &Planner{cfg: d, task: task, eval: eval, h: d.Horizon, nu: nu, hd: d.Horizon * nu}
	p.pops = d.Populations()
	p.reuse = int(math.Floor(d.Xi * float64(d.Elites)))
	p.sigma0 = make([]float64, nu)
	p.mid = make([]float64, nu)
	for i := range nu {
		lo, hi := task.ActLow[i], task.ActHigh[i]
		if !(hi >= lo) || math.IsInf(hi-lo, 0) {
			return nil, fmt.Errorf("icem: task %q: action %d bounds [%v, %v]", task.Name, i, lo, hi)
		}
		p.sigma0[i] = d.SigmaInit * (hi - lo) / 2
		p.mid[i] = (lo + hi) / 2
	}
	nw := d.Workers
	if nw == 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	for range nw {
		p.workers = append(p.workers, &worker{
			noise: NewColoredNoise(d.Beta, d.Horizon),
			nz:    make([]float64, p.hd),
		})
	}
	p.rollout = p.policyRollout
	return p, nil
}

// Config returns the settings, defaults applied.
func (p *Planner) Config() Config { return p.cfg }

// Task returns the planner's task.
func (p *Planner) Task() *batchsim.Task { return p.task }

// SetPolicy sets the policy π of iCEMπ (nil: plain iCEM) and hands its
// network to the evaluator for the guidance cost. Call it again whenever
// π's weights change: the evaluator keeps a copy.
func (p *Planner) SetPolicy(pi Policy) error {
	var net *batchsim.PolicyNet
	if pi != nil {
		net = pi.Net()
	}
	if err := p.eval.SetPolicy(net); err != nil {
		return fmt.Errorf("icem: set policy on %s: %w", p.eval.Name(), err)
	}
	p.policy = pi
	return nil
}

// NewProblem returns problem number index of a run with the given seed, in
// the task's default state (set it with SetState). Its noise is Philox
// keyed by (seed, index) with the counter (block, sample, iteration, Plan
// call) (philox.go), so the same seed and index give the same plans
// whatever else is planned with it and however many workers make them.
func (p *Planner) NewProblem(seed uint64, index int) *Problem {
	m, d := p.task.Model, p.cfg
	nmax := slices.Max(p.pops)
	pr := &Problem{
		Qpos:   make([]float64, m.Nq),
		Qvel:   make([]float64, m.Nv),
		Params: make([]float64, p.task.NParam),
		key:    problemKey(seed, index),
		mean:   make([]float64, p.hd),
		std:    make([]float64, p.hd),
		best:   make([]float64, p.hd),
		piRoll: make([]float64, p.hd),
		pop:    make([]float64, p.reuse*p.hd),
		costJ:  make([]float64, nmax),
		costG:  make([]float64, nmax),
		costN:  make([]float64, nmax),
		f:      make([]float64, nmax),
		order:  make([]int, nmax),
		elites: make([]float64, d.Elites*p.hd),
		eliteJ: make([]float64, d.Elites),
		eliteG: make([]float64, d.Elites),
		eliteN: make([]float64, d.Elites),
	}
	if len(m.Qpos0) == m.Nq {
		copy(pr.Qpos, m.Qpos0)
	}
	return pr
}

// usePolicy reports whether iCEMπ's features are on.
func (p *Planner) usePolicy() bool { return p.policy != nil }

// Plan runs one environment step of iCEM for every problem, from its start
// state, and writes each problem's action to execute to dst[k] (nu each):
// the first action of the best sample seen in this step. Afterwards each
// problem's mean is shifted one step for the next call. An evaluator error
// is returned wrapped; the problems' memory is then unspecified (Reset them).
func (p *Planner) Plan(dst [][]float64, problems []*Problem) (Stats, error) {
	start := time.Now()
	np := len(problems)
	if len(dst) != np {
		panic(fmt.Sprintf("icem: %d destinations for %d problems", len(dst), np))
	}
	for k, pr := range problems {
		if len(dst[k]) != p.nu {
			panic(fmt.Sprintf("icem: destination %d of length %d, want %d", k, len(dst[k]), p.nu))
		}
		if len(pr.mean) != p.hd || len(pr.pop) != p.reuse*p.hd || len(pr.costJ) != slices.Max(p.pops) {
			panic("icem: problem made by another planner")
		}
	}
	st := Stats{Problems: np, Populations: slices.Clone(p.pops), Lambda: make([]Lambda, len(p.pops)*np),
		Best: make([]float64, np), BestMain: make([]float64, np)}
	if np == 0 {
		return st, nil
	}
	meter, _ := p.eval.(batchsim.TransferMeter)
	timer, _ := p.eval.(HostTimer)
	var up0, down0 int64
	if meter != nil {
		up0, down0 = meter.BytesMoved()
	}
	p.setStarts(problems)
	p.parallel(np, func(w *worker, k int) { p.begin(w, problems[k]) })

	for i, n := range p.pops {
		last := i == len(p.pops)-1
		kept := 0
		if i > 0 && !p.cfg.NoKeepElites {
			kept = p.reuse
		}
		nsim := n - kept
		p.batch.Samples = nsim
		p.batch.Actions = p.batch.Actions[:np*nsim*p.hd]
		p.build(problems, i, n, kept, last)
		var h0 time.Duration
		if timer != nil {
			h0 = timer.HostTime()
		}
		t0 := time.Now()
		err := p.eval.Evaluate(&p.batch, &p.res)
		st.EvalTime += time.Since(t0)
		if timer != nil {
			st.EvalHostTime += timer.HostTime() - h0
		}
		if err != nil {
			st.Elapsed = time.Since(start)
			return st, fmt.Errorf("icem: evaluate iteration %d (%d×%d samples) on %s: %w", i, np, nsim, p.eval.Name(), err)
		}
		st.Simulated += np * nsim
		p.parallel(np, func(w *worker, k int) {
			pr := problems[k]
			lam := p.rank(pr, i, n, nsim, k)
			st.Lambda[i*np+k] = lam
			if p.hook != nil {
				p.hook("ranked", i, pr)
			}
		})
		p.batch.Actions = p.batch.Actions[:cap(p.batch.Actions)]
	}
	for k, pr := range problems {
		copy(dst[k], pr.best[:p.nu])
		st.Best[k], st.BestMain[k] = pr.bestF, pr.bestJ
		st.NonFinite += pr.nonFinite
		st.PolicyFailures += pr.policyFailures
		p.end(pr)
	}
	if meter != nil {
		up, down := meter.BytesMoved()
		st.BytesUp, st.BytesDown = up-up0, down-down0
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// setStarts fills the batch's start states and sizes its buffers.
func (p *Planner) setStarts(problems []*Problem) {
	m, np := p.task.Model, len(problems)
	b := &p.batch
	b.Task, b.Problems, b.Horizon, b.Record = p.task, np, p.h, nil
	b.Qpos = resize(b.Qpos, np*m.Nq)
	b.Qvel = resize(b.Qvel, np*m.Nv)
	if p.task.NParam > 0 {
		b.Params = resize(b.Params, np*p.task.NParam)
	} else {
		b.Params = nil
	}
	b.Actions = resize(b.Actions, np*slices.Max(p.pops)*p.hd)
	for k, pr := range problems {
		copy(b.Qpos[k*m.Nq:], pr.Qpos)
		copy(b.Qvel[k*m.Nv:], pr.Qvel)
		if p.task.NParam > 0 {
			copy(b.Params[k*p.task.NParam:], pr.Params)
		}
	}
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// begin resets σ and sets μ at the start of an environment step.
func (p *Planner) begin(w *worker, pr *Problem) {
	pr.bestF, pr.bestJ = math.Inf(1), math.Inf(1)
	pr.nonFinite, pr.policyFailures = 0, 0
	for t := 0; t < p.h; t++ {
		copy(pr.std[t*p.nu:(t+1)*p.nu], p.sigma0)
	}
	pr.hasPi = false
	if p.usePolicy() && (!p.cfg.NoWarmStart || !p.cfg.NoPolicySample) {
		if !p.rollout(w, pr, pr.piRoll) {
			pr.policyFailures++
		}
		pr.hasPi = true
	}
	warm := pr.hasPi && !p.cfg.NoWarmStart
	switch {
	case !pr.started && warm:
		copy(pr.mean, pr.piRoll) // Alg. 1: μ ← π's rollout at t = 0
	case !pr.started:
		for t := 0; t < p.h; t++ {
			copy(pr.mean[t*p.nu:(t+1)*p.nu], p.mid)
		}
	case warm:
		// After the shift the last action comes from π: the last action of
		// its rollout from the current state (PLANNER.md leaves open on
		// which trajectory π is asked; its own rollout needs no extra
		// simulation).
		copy(pr.mean[p.hd-p.nu:], pr.piRoll[p.hd-p.nu:])
	}
	pr.started = true
}

// build makes the population of iteration i for each problem: n samples, of
// which the last kept are the best elites of iteration i−1 (costs kept, not
// simulated, in pr.pop) and the first n − kept are simulated, written
// straight into the batch. The samples are built in pieces of fillChunk on
// all workers, so that a single problem's population uses every core; each
// sample's noise comes from its own stream, so the result does not depend on
// which worker built it.
func (p *Planner) build(problems []*Problem, i, n, kept int, last bool) {
	hd := p.hd
	nsim := n - kept
	p.items = p.items[:0]
	for k, pr := range problems {
		pr.slot, pr.nsim = k, nsim
		pr.shifted = 0
		if i == 0 && !p.cfg.NoShiftElites {
			pr.shifted = min(p.reuse, pr.nPrev)
		}
		pr.fresh = nsim - pr.shifted
		pr.useMean = last && !p.cfg.NoMean
		pr.piSlot = -1
		if pr.hasPi && !p.cfg.NoPolicySample {
			// One fresh slot is the policy's rollout: the last one, unless
			// that is the mean's.
			if s := pr.fresh - 1; s > 0 || (s == 0 && !pr.useMean) {
				pr.piSlot = s
			}
		}
		for e := 0; e < kept; e++ {
			s := nsim + e
			copy(pr.pop[e*hd:(e+1)*hd], pr.elites[e*hd:(e+1)*hd])
			pr.costJ[s], pr.costG[s], pr.costN[s] = pr.eliteJ[e], pr.eliteG[e], pr.eliteN[e]
		}
		for s0 := 0; s0 < nsim; s0 += fillChunk {
			p.items = append(p.items, fillItem{k, s0, min(s0+fillChunk, nsim)})
		}
	}
	par.For(len(p.workers), len(p.items), func(g, it int) {
		w, item := p.workers[g], p.items[it]
		pr := problems[item.k]
		for s := item.s0; s < item.s1; s++ {
			p.sample(w, pr, i, s)
		}
	})
	if p.hook != nil {
		for _, pr := range problems {
			p.hook("built", i, pr)
		}
	}
}

// seq returns sample s of pr's current population (h × nu): a simulated one
// in the batch, or a kept elite.
func (p *Planner) seq(pr *Problem, s int) []float64 {
	hd := p.hd
	if s < pr.nsim {
		o := (pr.slot*pr.nsim + s) * hd
		return p.batch.Actions[o : o+hd]
	}
	e := s - pr.nsim
	return pr.pop[e*hd : (e+1)*hd]
}

// sample writes simulated sample s of iteration i to the batch: the mean, the
// policy's rollout, clip(μ + σ⊙noise), or an elite of the last step shifted
// one step left whose new last action is a fresh clipped colored-noise
// slice.
func (p *Planner) sample(w *worker, pr *Problem, i, s int) {
	hd, nu := p.hd, p.nu
	dst := p.seq(pr, s)
	switch {
	case s == 0 && pr.useMean:
		copy(dst, pr.mean) // μ is within bounds: a mean of clipped samples
		return
	case s == pr.piSlot:
		copy(dst, pr.piRoll)
		return
	}
	w.stream.reset(pr.key, pr.calls, i, s)
	w.noise.Sample(w.nz, 1, nu, &w.stream)
	if s < pr.fresh {
		p.fromNoise(dst, w.nz, pr, 0)
		return
	}
	e := s - pr.fresh
	copy(dst, pr.elites[e*hd+nu:(e+1)*hd])
	p.fromNoise(dst[hd-nu:], w.nz[hd-nu:], pr, p.h-1)
}

// fromNoise writes clip(μ + σ⊙noise) for the steps from t0 on.
func (p *Planner) fromNoise(dst, noise []float64, pr *Problem, t0 int) {
	lo, hi := p.task.ActLow, p.task.ActHigh
	off := t0 * p.nu
	for k := range dst {
		j := k % p.nu
		dst[k] = min(max(pr.mean[off+k]+pr.std[off+k]*noise[k], lo[j]), hi[j])
	}
}

// rank takes the costs of the nsim simulated samples of problem k from the
// evaluator, weights the auxiliary costs, selects the elites and updates μ
// and σ. It returns the λ used.
func (p *Planner) rank(pr *Problem, i, n, nsim, k int) Lambda {
	r := &p.res
	copy(pr.costJ[:nsim], r.Main[k*nsim:(k+1)*nsim])
	copy(pr.costG[:nsim], r.Guide[k*nsim:(k+1)*nsim])
	copy(pr.costN[:nsim], r.Norm[k*nsim:(k+1)*nsim])
	for s := 0; s < nsim; s++ {
		if !finite(pr.costJ[s]) || !finite(pr.costG[s]) || !finite(pr.costN[s]) {
			pr.nonFinite++
		}
	}
	lam := p.lambda(pr, n)
	for s := 0; s < n; s++ {
		f := pr.costJ[s] + lam.Guide*pr.costG[s] + lam.Norm*pr.costN[s]
		if lam.Guide == 0 && lam.Norm == 0 {
			f = pr.costJ[s] // an unused term's NaN must not spoil f
		}
		if !finite(f) {
			f = math.Inf(1) // ranked last (ties keep sample order)
		}
		pr.f[s] = f
	}
	K, hd := p.cfg.Elites, p.hd
	order := lowest(pr.order[:K], pr.f[:n])
	for e := 0; e < K; e++ {
		s := order[e]
		copy(pr.elites[e*hd:(e+1)*hd], p.seq(pr, s))
		pr.eliteJ[e], pr.eliteG[e], pr.eliteN[e] = pr.costJ[s], pr.costG[s], pr.costN[s]
	}
	pr.nElites = K
	if s := order[0]; i == 0 || pr.f[s] < pr.bestF {
		pr.bestF, pr.bestJ = pr.f[s], pr.costJ[s]
		copy(pr.best, p.seq(pr, s))
	}
	// μ ← (1−α)·mean(elites) + α·μ; σ ← (1−α)·std(elites) + α·σ (ddof 0).
	a, kf := p.cfg.Alpha, float64(K)
	for x := 0; x < hd; x++ {
		var m float64
		for e := 0; e < K; e++ {
			m += pr.elites[e*hd+x]
		}
		m /= kf
		var v float64
		for e := 0; e < K; e++ {
			d := pr.elites[e*hd+x] - m
			v += d * d
		}
		pr.mean[x] = (1-a)*m + a*pr.mean[x]
		pr.std[x] = (1-a)*math.Sqrt(v/kf) + a*pr.std[x]
	}
	return lam
}

// lambda returns the weights of the auxiliary costs for the population's n
// samples. Adaptive: λ_j = c_j·R(J)/(R(C_j) + ε) with R the range over the
// K samples of lowest J (the preliminary elites; non-finite values skipped)
// and ε = 10⁻⁶·max|C_j| over them, so that ε is relative to the term's own
// scale; λ_j = 0 when C_j is 0 on all of them.
func (p *Planner) lambda(pr *Problem, n int) Lambda {
	if !p.usePolicy() {
		return Lambda{}
	}
	c := p.cfg
	if c.Lambda == LambdaFixed {
		return Lambda{Guide: c.FixedGuide, Norm: c.FixedNorm}
	}
	pre := lowest(pr.order[:c.Elites], pr.costJ[:n])
	return AdaptiveLambda(pre, pr.costJ, pr.costG, pr.costN, c.CGuide, c.CNorm)
}

// AdaptiveLambda is Eq. 4 over the preliminary elites pre (the indices of
// the K samples of lowest J): λ_j = c_j·R(J)/(R(C_j) + ε), the ranges over
// pre's finite values, ε = 10⁻⁶·max|C_j| over them; λ_j = 0 when c_j < 0,
// R(J) = 0 or C_j is 0 on all of them. Exported so that the device
// planner's tests hold its λ to this one.
func AdaptiveLambda(pre []int, costJ, costG, costN []float64, cGuide, cNorm float64) Lambda {
	rj, _ := spread(pre, costJ)
	adapt := func(cj float64, cost []float64) float64 {
		if cj < 0 || rj == 0 {
			return 0
		}
		rc, scale := spread(pre, cost)
		if scale == 0 {
			return 0
		}
		return cj * rj / (rc + 1e-6*scale)
	}
	return Lambda{Guide: adapt(cGuide, costG), Norm: adapt(cNorm, costN)}
}

// spread returns max − min and max |x| of x[idx] over its finite values
// (0, 0 when fewer than one is finite).
func spread(idx []int, x []float64) (rng, scale float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range idx {
		v := x[s]
		if !finite(v) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
		scale = max(scale, math.Abs(v))
	}
	if lo > hi {
		return 0, 0
	}
	return hi - lo, scale
}

// lowest fills dst with the indices of the len(dst) smallest values of key,
// in increasing order, NaN last, ties by index: the first len(dst) entries
// of a stable sort of the indices by key, found in one pass (O(n·K) at
// worst, O(n) when most values lose to the current K-th) instead of a sort
// of all n. len(dst) must not exceed len(key).
func lowest(dst []int, key []float64) []int {
	kk := len(dst)
	if kk > len(key) {
		panic(fmt.Sprintf("icem: %d lowest of %d values", kk, len(key)))
	}
	m := 0 // dst[:m] holds the best so far, sorted
	for s, x := range key {
		if m == kk && !before(x, key[dst[m-1]]) {
			continue
		}
		// Insert after every entry that s does not come before (ties keep
		// the earlier index first).
		j := min(m, kk-1)
		for j > 0 && before(x, key[dst[j-1]]) {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = s
		m = min(m+1, kk)
	}
	return dst
}

// before reports whether x ranks before y: smaller, and any number before NaN.
func before(x, y float64) bool {
	return x < y || (!math.IsNaN(x) && math.IsNaN(y))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// end keeps the elites for the next step and shifts μ one step left,
// repeating its last entry (iCEM; iCEMπ replaces it at the next begin).
func (p *Planner) end(pr *Problem) {
	pr.nPrev = 0
	pr.calls++
	if !p.cfg.NoShiftElites {
		pr.nPrev = pr.nElites
	}
	copy(pr.mean, pr.mean[p.nu:])
}

// policyRollout rolls π out open loop for h steps from pr's start state with
// the worker's Env, writing its actions (clipped to the bounds) to dst.
func (p *Planner) policyRollout(w *worker, pr *Problem, dst []float64) bool {
	if w.env == nil {
		w.env = batchsim.NewEnv(p.task)
		w.obs = make([]float64, p.task.ObsDim())
	}
	return rolloutPolicy(w.env, w.obs, p.policy, p.mid, pr.Qpos, pr.Qvel, pr.Params, dst)
}

// rolloutPolicy rolls pi out open loop for len(dst)/nu steps from the
// given state in env (scratch), writing its actions clipped to the task's
// bounds to dst; obs is scratch of the observation's size. After a
// non-finite action (replaced by mid) or state, the remaining actions
// repeat the last good one and it reports false.
func rolloutPolicy(env *batchsim.Env, obs []float64, pi Policy, mid, qpos, qvel, params, dst []float64) bool {
	task := env.Task
	nu := task.Model.Nu
	h := len(dst) / nu
	env.SetState(qpos, qvel)
	copy(env.Params, params) // π observes the problem's goal, not the last one's
	ok := true
	for t := 0; t < h; t++ {
		a := dst[t*nu : (t+1)*nu]
		if !ok {
			copy(a, dst[(t-1)*nu:t*nu])
			continue
		}
		env.Observe(obs)
		pi.Act(obs, a)
		for j := range a {
			a[j] = min(max(a[j], task.ActLow[j]), task.ActHigh[j])
		}
		if !finiteAll(a) {
			copy(a, mid)
			ok = false
			continue
		}
		if t < h-1 {
			if _, _, err := env.Act(a); err != nil {
				ok = false
			}
		}
	}
	return ok
}

func finiteAll(x []float64) bool {
	for _, v := range x {
		if !finite(v) {
			return false
		}
	}
	return true
}

// parallel runs fn(w, k) for k in [0, n) on the planner's workers. Each
// call uses its own problem's random stream, so the assignment of problems to
// workers does not change results.
func (p *Planner) parallel(n int, fn func(w *worker, k int)) {
	par.For(len(p.workers), n, func(g, k int) { fn(p.workers[g], k) })
}
