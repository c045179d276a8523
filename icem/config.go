package icem

import (
	"errors"
	"fmt"
	"math"
)

// LambdaMode says how the weights λ_j of the auxiliary costs are chosen.
type LambdaMode int

const (
	// LambdaAdaptive sets λ_j = c_j·R(J)/(R(C_j) + ε) in every CEM
	// iteration (APEX, Pinneri et al. 2021, Eqs. 4–5); R is the range
	// max − min over the K samples of lowest main cost J.
	LambdaAdaptive LambdaMode = iota
	// LambdaFixed uses constant weights (Config.FixedGuide, FixedNorm):
	// the "λ-fixed" ablation and the iCEMπ-GPS baseline.
	LambdaFixed
)

func (m LambdaMode) String() string {
	switch m {
	case LambdaAdaptive:
		return "adaptive"
	case LambdaFixed:
		return "fixed"
	}
	return fmt.Sprintf("LambdaMode(%d)", int(m))
}

// Limits of Config: sizes beyond them are refused before anything is
// allocated (a population buffer is Population × Horizon × nu float64s per
// problem and per worker).
const (
	MaxPopulation = 1 << 16 // samples per CEM iteration (and budget per step)
	MaxHorizon    = 1000    // control steps
	MaxIterations = 100     // CEM iterations per step
)

// Defaults of Config (iCEM: Pinneri et al. 2020, CoRL; APEX: Pinneri et al.
// 2021, ICLR, Table 2).
const (
	DefaultHorizon    = 30
	DefaultPopulation = 40 // with DefaultIterations: 40 + 32 + 25 = 97 ≈ budget 100
	DefaultIterations = 3
	DefaultElites     = 10
	DefaultSigmaInit  = 0.5
	DefaultAlpha      = 0.1
	DefaultGamma      = 1.25
	DefaultXi         = 0.3
	DefaultCGuide     = 0.025 // APEX's c for the guidance cost
	// DefaultCNorm is c of the action-norm cost. PLANNER.md gives no value;
	// this project's choice keeps the term's spread over the elites at 1% of
	// the main cost's spread, a regulariser that never dominates J.
	DefaultCNorm = 0.01
)

// Config holds the settings of the iCEM / iCEMπ planner. The zero value of
// every field means its documented default, so Config{} is iCEM as in the
// papers (with white noise: set Beta to the task's β), and, once a policy is
// set with Planner.SetPolicy, iCEMπ as APEX uses it. The boolean switches
// turn features off, for the baselines and ablations.
type Config struct {
	// Horizon h: control steps per action sequence, ≥ 1. Zero means 30.
	Horizon int
	// Population N: samples of the first CEM iteration, ≥ 2·Elites. Zero
	// means 40. See Budget for the paper's budgets.
	Population int
	// Iterations I: CEM iterations per environment step, ≥ 1. Zero means 3.
	Iterations int
	// Elites K: the samples that define the next mean and std, ≥ 1. Zero
	// means 10.
	Elites int
	// SigmaInit: the std of the sampling distribution at the start of every
	// environment step, as a fraction of half the action range, > 0. Zero
	// means 0.5.
	SigmaInit float64
	// Alpha: momentum α ∈ (0, 1) of the mean and std updates,
	// μ ← (1−α)·mean(elites) + α·μ. Zero means 0.1.
	Alpha float64
	// Gamma: population decay γ ≥ 1, N_i = max(2K, ⌊N_{i−1}/γ⌋). Zero means
	// 1.25; 1 keeps the population constant.
	Gamma float64
	// Xi: fraction ξ ∈ (0, 1] of the elites carried to the next iteration
	// and, shifted, to the next environment step (⌊ξK⌋ samples). Zero means
	// 0.3; use NoKeepElites and NoShiftElites to carry none.
	Xi float64
	// Beta: exponent β ≥ 0 of the colored noise (power ∝ 1/f^β); 0 is white
	// noise. Set it to the task's Beta (batchsim.Task.Beta).
	Beta float64

	// NoMean: do not add the mean μ as a sample in the last iteration.
	NoMean bool
	// NoKeepElites: do not carry elites from one CEM iteration to the next.
	NoKeepElites bool
	// NoShiftElites: do not carry the elites of the last environment step,
	// shifted one step, into the first iteration.
	NoShiftElites bool

	// The iCEMπ switches below take effect only while a policy is set.

	// NoWarmStart: at t = 0 start from the middle of the action range rather
	// than the policy's h-step rollout, and after the shift repeat the last
	// action rather than asking π (the ablation "w/o warm-starting").
	NoWarmStart bool
	// NoPolicySample: do not add the policy's h-step rollout as a sample in
	// each iteration (the ablation "w/o policy samples").
	NoPolicySample bool
	// Lambda chooses adaptive (default) or fixed weights of the auxiliary
	// costs f = J + λ_guide·C_guide + λ_norm·C_norm.
	Lambda LambdaMode
	// CGuide: c of the adaptive guidance weight. Zero means 0.025; a
	// negative value turns the guidance cost off.
	CGuide float64
	// CNorm: c of the adaptive action-norm weight. Zero means
	// DefaultCNorm; a negative value turns the action-norm cost off.
	CNorm float64
	// FixedGuide and FixedNorm: the weights λ of LambdaFixed, ≥ 0 (zero
	// means that term is off).
	FixedGuide, FixedNorm float64

	// Workers: goroutines for the planner's own host work (sampling,
	// ranking, policy rollouts). Zero means runtime.GOMAXPROCS(0). Results
	// do not depend on it.
	Workers int
}

// Default returns iCEM with colored-noise exponent beta at the given budget
// (see Budget).
func Default(beta float64, budget int) (Config, error) {
	n, it, err := Budget(budget)
	if err != nil {
		return Config{}, err
	}
	c := Config{Beta: beta, Population: n, Iterations: it}
	return c, c.Validate()
}

// PlainCEM returns the plain CEM baseline (as in Chua et al. 2018, the
// reference point of the iCEM paper) at the given budget: white noise, no
// memory (no elites kept across iterations or shifted across steps), no mean
// sample. Momentum, population decay and clipping are iCEM's so that the
// two spend the same budget.
func PlainCEM(budget int) (Config, error) {
	c, err := Default(0, budget)
	c.NoMean, c.NoKeepElites, c.NoShiftElites = true, true, true
	return c, err
}

// Budget returns the initial population N and iterations I whose total
// samples per environment step Σ_i N_i match the budget b, for the default
// K = 10 and γ = 1.25. The paper's budgets are presets:
//
//	b =  45: N =  25, I = 2 (25 + 20 = 45; I = 3 cannot go below 3·2K = 60)
//	b = 100: N =  40, I = 3 (40 + 32 + 25 = 97, PLANNER.md's example)
//	b = 300: N = 123, I = 3 (123 + 98 + 78 = 299)
//
// Any other b ≥ 2K gets I = 3 when b ≥ 60 (else I = 2 when b ≥ 40, else
// I = 1) and the largest N whose Σ_i N_i does not exceed b.
func Budget(b int) (population, iterations int, err error) {
	if b > MaxPopulation {
		return 0, 0, fmt.Errorf("icem: budget %d above the limit of %d samples per step", b, MaxPopulation)
	}
	switch b {
	case 45:
		return 25, 2, nil
	case 100:
		return 40, 3, nil
	case 300:
		return 123, 3, nil
	}
	const k = DefaultElites
	if b < 2*k {
		return 0, 0, fmt.Errorf("icem: budget %d below 2K = %d samples per step", b, 2*k)
	}
	it := 1
	switch {
	case b >= 6*k:
		it = 3
	case b >= 4*k:
		it = 2
	}
	n := 2 * k
	for total(populations(n+1, it, k, DefaultGamma)) <= b {
		n++
	}
	return n, it, nil
}

func total(ns []int) int {
	s := 0
	for _, n := range ns {
		s += n
	}
	return s
}

// populations returns N_i = N for i = 0 and max(2K, ⌊N_{i−1}/γ⌋) after.
func populations(n, iters, k int, gamma float64) []int {
	ns := make([]int, iters)
	for i := range ns {
		if i == 0 {
			ns[i] = n
			continue
		}
		ns[i] = max(2*k, int(math.Floor(float64(ns[i-1])/gamma)))
	}
	return ns
}

// Populations returns the samples ranked in every CEM iteration, defaults
// applied: the N_i fresh samples of the decaying population, whose sum is
// the budget (sampled trajectories per environment step and problem), plus
// the memory that PLANNER.md adds to them, ⌊ξK⌋ per iteration: in
// iteration 0 the last step's elites, shifted (simulated; fresh samples in
// their place at an episode's first step), later the elites of the
// iteration before (kept, not simulated). As the iCEM reference
// implementation does; counting the memory within N_i instead, as apex
// 0.4.0 did, cost 6 % of the return at budget 45 (BENCHMARKS.md).
func (c Config) Populations() []int {
	d := c.withDefaults()
	ns := populations(d.Population, d.Iterations, d.Elites, d.Gamma)
	r := int(math.Floor(d.Xi * float64(d.Elites)))
	for i := range ns {
		if (i == 0 && !d.NoShiftElites) || (i > 0 && !d.NoKeepElites) {
			ns[i] += r
		}
	}
	return ns
}

// Validate reports settings out of range as an error naming each.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if d.Horizon < 1 || d.Horizon > MaxHorizon {
		bad("horizon %d outside [1, %d]", c.Horizon, MaxHorizon)
	}
	if d.Iterations < 1 || d.Iterations > MaxIterations {
		bad("iterations %d outside [1, %d]", c.Iterations, MaxIterations)
	}
	if d.Population > MaxPopulation {
		bad("population %d above the limit of %d samples", c.Population, MaxPopulation)
	}
	if d.Elites < 1 {
		bad("elites %d < 1", c.Elites)
	}
	if d.Population < 2*d.Elites {
		bad("population (budget) %d below 2K = %d", d.Population, 2*d.Elites)
	}
	if !(d.SigmaInit > 0) || math.IsInf(d.SigmaInit, 0) {
		bad("sigma init %v not > 0", c.SigmaInit)
	}
	if !(d.Alpha > 0 && d.Alpha < 1) {
		bad("momentum alpha %v outside (0, 1)", c.Alpha)
	}
	if !(d.Gamma >= 1) || math.IsInf(d.Gamma, 0) {
		bad("decay gamma %v < 1", c.Gamma)
	}
	if !(d.Xi > 0 && d.Xi <= 1) {
		bad("reuse fraction xi %v outside (0, 1]", c.Xi)
	}
	if !(c.Beta >= 0) || math.IsInf(c.Beta, 0) {
		bad("noise beta %v < 0", c.Beta)
	}
	if c.Lambda != LambdaAdaptive && c.Lambda != LambdaFixed {
		bad("unknown lambda mode %d", int(c.Lambda))
	}
	if math.IsNaN(c.CGuide) || math.IsNaN(c.CNorm) || math.IsInf(c.CGuide, 0) || math.IsInf(c.CNorm, 0) {
		bad("c_guide %v, c_norm %v not finite", c.CGuide, c.CNorm)
	}
	if !(c.FixedGuide >= 0) || !(c.FixedNorm >= 0) || math.IsInf(c.FixedGuide+c.FixedNorm, 0) {
		bad("fixed lambda (%v, %v) not finite and ≥ 0", c.FixedGuide, c.FixedNorm)
	}
	if c.Workers < 0 {
		bad("workers %d < 0", c.Workers)
	}
	if len(errs) > 0 {
		return fmt.Errorf("icem: config: %w", errors.Join(errs...))
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(x *int, v int) {
		if *x == 0 {
			*x = v
		}
	}
	deff := func(x *float64, v float64) {
		if *x == 0 {
			*x = v
		}
	}
	def(&c.Horizon, DefaultHorizon)
	def(&c.Population, DefaultPopulation)
	def(&c.Iterations, DefaultIterations)
	def(&c.Elites, DefaultElites)
	deff(&c.SigmaInit, DefaultSigmaInit)
	deff(&c.Alpha, DefaultAlpha)
	deff(&c.Gamma, DefaultGamma)
	deff(&c.Xi, DefaultXi)
	deff(&c.CGuide, DefaultCGuide)
	deff(&c.CNorm, DefaultCNorm)
	return c
}
