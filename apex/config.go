package apex

import (
	"errors"
	"fmt"
	"slices"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// Version is the version of the apex program that config.json records.
// 0.3.0: the planner's noise comes from per-sample Philox streams (issue
// 14), so the same seed plans differently from 0.2.0. 0.4.0: the door task
// drops its door–table contact pairs, and the engine's constrained steps
// factor differently (Newton–Euler a0, tree factorisations: the same
// dynamics to rounding), so a run continues differently from 0.3.0. 0.5.0:
// each CEM iteration ranks its N_i fresh samples plus the planner's memory
// (icem.Config.Populations), as PLANNER.md and the iCEM reference do, where
// 0.4.0 counted the memory within N_i: more samples per step, other plans.
// 0.6.0: the door task's planning cost has a latch term (door-dense is the
// cost without it), so a door run plans differently from 0.5.0.
const Version = "0.6.0"

// Method is the way expert data is produced and the policy extracted: APEX
// or one of the paper's baselines (Pinneri et al. 2021, Fig. 4;
// docs/design/PLANNER.md).
type Method string

const (
	// MethodAPEX: iCEMπ experts (guidance with adaptive λ, action-norm cost,
	// warm start, policy sample) and DAgger relabelling with the same
	// iCEMπ (Alg. 2).
	MethodAPEX Method = "apex"
	// MethodICEMBC: behaviour cloning of plain iCEM (no policy in the
	// planner, no DAgger).
	MethodICEMBC Method = "icem-bc"
	// MethodICEMDAgger: DAgger with plain, unguided iCEM as the expert and
	// relabeller.
	MethodICEMDAgger Method = "icem-dagger"
	// MethodICEMPiGPS: behaviour cloning of iCEMπ with fixed λ and warm
	// start (its policy sample kept, as iCEMπ has it), no DAgger: a GPS-like
	// guided expert.
	MethodICEMPiGPS Method = "icempi-gps"
)

// Methods lists the methods in the order of the paper's Fig. 4.
var Methods = []Method{MethodAPEX, MethodICEMBC, MethodICEMDAgger, MethodICEMPiGPS}

// Ablation switches off one part of APEX (Pinneri et al. 2021, Fig. 6).
type Ablation string

const (
	// AblationNone is full APEX.
	AblationNone Ablation = ""
	// AblationLambdaFixed: constant λ per task instead of the adaptive one.
	AblationLambdaFixed Ablation = "lambda-fixed"
	// AblationNoDAgger: expert data only; the policy still gets the same
	// number of gradient steps (the second training call runs on the
	// expert data).
	AblationNoDAgger Ablation = "no-dagger"
	// AblationNoWarmStart: μ starts at the middle of the action range at
	// t = 0 and the shifted mean repeats its last action (icem.Config.NoWarmStart).
	AblationNoWarmStart Ablation = "no-warmstart"
	// AblationNoPolicySamples: the policy's h-step rollout is not added as a
	// sample (icem.Config.NoPolicySample).
	AblationNoPolicySamples Ablation = "no-policy-samples"
)

// Ablations lists the ablations (without AblationNone).
var Ablations = []Ablation{AblationLambdaFixed, AblationNoDAgger, AblationNoWarmStart, AblationNoPolicySamples}

// Relabel modes of DAgger.
const (
	// RelabelMemory (the default, the paper's DAgger): the relabelling
	// expert is the iCEMπ planner run along each policy trajectory with its
	// memory (shifted mean, kept elites, warm start), one problem per
	// rollout; the rollouts of an iteration are relabelled in lock-step, one
	// Plan call of P = (DAgger rollouts) problems per time step.
	RelabelMemory = "memory"
	// RelabelFresh (an ablation, the default of apex 0.1.0): every state is
	// planned as a fresh problem, without the memory of the step before;
	// its labels stay close to π's own actions (issue 11 measured the policy
	// copying itself).
	RelabelFresh = "fresh"
)

// RelabelModes lists the relabel modes, the default first.
var RelabelModes = []string{RelabelMemory, RelabelFresh}

// Label modes: which action of a planner call becomes the DAgger label.
const (
	// LabelBest (the default, the paper's): the first action of the
	// executed sample, the best one of the call.
	LabelBest = "best"
	// LabelEliteMean: the mean first action of the final elites, less noisy
	// than one sample.
	LabelEliteMean = "elite-mean"
)

// LabelModes lists the label modes, the default first.
var LabelModes = []string{LabelBest, LabelEliteMean}

// Where the planner runs (RunConfig.PlanOn).
const (
	// PlanOnHost (the default): the host planner (icem.Planner) on the
	// CPU, its rollouts on the run's evaluator.
	PlanOnHost = "host"
	// PlanOnDevice: the whole planning step on a GPU device (gpu.Planner,
	// float32), which the caller opens (OpenOptions.Planner).
	PlanOnDevice = "device"
)

// PlanOnModes lists where the planner may run, the default first.
var PlanOnModes = []string{PlanOnHost, PlanOnDevice}

// FixedLambda holds the constant weights of the "λ-fixed" ablation and the
// iCEMπ-GPS baseline.
type FixedLambda struct {
	Guide float64 `json:"guide"`
	Norm  float64 `json:"norm"`
}

// fixedLambdas are the per-task constants of λ-fixed (PLANNER.md: "a
// constant λ chosen per task"). HalfCheetah's λ_guide is the mean adaptive
// λ_guide of APEX runs at budget 45 (0.011–0.013 in metrics.csv's
// lambda_mean over 5 iterations of 200-step episodes, seed 1), with λ_norm
// at the ratio icem.DefaultCNorm : icem.DefaultCGuide = 0.4.
var fixedLambdas = map[string]FixedLambda{
	"halfcheetah": {Guide: 0.012, Norm: 0.0048},
}

// DefaultFixedLambda returns the λ-fixed constants of a task (HalfCheetah's
// for tasks without their own).
func DefaultFixedLambda(task string) FixedLambda {
	if l, ok := fixedLambdas[task]; ok {
		return l
	}
	return fixedLambdas["halfcheetah"]
}

// Limits of RunConfig, checked before anything is allocated.
const (
	MaxHiddenWidth  = 4096      // units per hidden layer
	MaxHiddenLayers = 16        // hidden layers
	MaxIterations   = 100000    // APEX iterations
	MaxRollouts     = 10000     // expert, DAgger or evaluation rollouts per iteration
	MaxEpisodeLen   = 1000000   // control steps per rollout
	MaxBatchSize    = 1 << 20   // training minibatch
	MaxTrainSteps   = 100000000 // gradient steps per training call
)

// Window and rollouts per iteration of each task (PLANNER.md; Pinneri et al.
// 2021, Sec. 4): HalfCheetah 50 and 1, Humanoid 100 and 1, Fetch 150·25 and
// 25, Door 100·10 and 10 (its planning-cost variants and the stand-in
// door-hook as the Door).
var taskDefaults = map[string]struct{ window, rollouts int }{
	"halfcheetah":     {50, 1},
	"humanoidstandup": {100, 1},
	"fetchpickplace":  {150 * 25, 25},
	"door":            {100 * 10, 10},
	"door-dense":      {100 * 10, 10},
	"door-unshaped":   {100 * 10, 10},
	"door-hook":       {100 * 10, 10},
}

// RunConfig is every setting of an APEX run; config.json holds it. The zero
// value of a numeric field means its default (see WithDefaults).
type RunConfig struct {
	Version  string   `json:"version"` // apex Version that wrote it
	Task     string   `json:"task"`
	Method   Method   `json:"method"`
	Ablation Ablation `json:"ablation,omitempty"`
	Seed     uint64   `json:"seed"`

	Iterations     int `json:"iterations"`      // APEX iterations; default 10
	ExpertRollouts int `json:"expert_rollouts"` // n per iteration; default per task
	// DAggerRollouts: policy rollouts relabelled per iteration; default n.
	DAggerRollouts int `json:"dagger_rollouts"`
	EpisodeLen     int `json:"episode_len"`   // steps per rollout; default the task's
	EvalEpisodes   int `json:"eval_episodes"` // policy-only episodes per iteration; default 10
	Window         int `json:"window"`        // rollouts the data set keeps; default per task

	// Planner.
	Budget  int     `json:"budget"`  // samples per step; default 45
	Horizon int     `json:"horizon"` // default 30
	Beta    float64 `json:"beta"`    // colored-noise exponent; default the task's
	Relabel string  `json:"relabel"` // RelabelMemory (default) or RelabelFresh
	Label   string  `json:"label"`   // LabelBest (default) or LabelEliteMean
	// Fixed λ of λ-fixed and iCEMπ-GPS; default DefaultFixedLambda(Task).
	FixedLambda *FixedLambda `json:"fixed_lambda,omitempty"`

	// Policy and training.
	Hidden     []int   `json:"hidden"`      // default DefaultHidden
	TrainSteps int     `json:"train_steps"` // per training call; default TrainSteps
	BatchSize  int     `json:"batch_size"`  // default 1024
	LR         float64 `json:"lr"`          // default 5e-4

	// PlanOn is where the planner runs: PlanOnHost (default) or
	// PlanOnDevice. A run keeps it: the device plans in float32, so the
	// two differ beyond rounding and a resumed run must plan as it began.
	PlanOn string `json:"plan_on"`

	// Backend is the planner's name (the evaluator's, planning on the
	// host), for the record only (the caller chooses the evaluator;
	// results do not depend on it).
	Backend string `json:"backend,omitempty"`
}

// WithDefaults returns c with its defaults filled in and Version set.
func (c RunConfig) WithDefaults() RunConfig {
	c.Version = Version
	if c.Method == "" {
		c.Method = MethodAPEX
	}
	td, ok := taskDefaults[c.Task]
	if !ok {
		td = taskDefaults["halfcheetah"]
	}
	def := func(x *int, v int) {
		if *x == 0 {
			*x = v
		}
	}
	def(&c.Iterations, 10)
	def(&c.ExpertRollouts, td.rollouts)
	def(&c.DAggerRollouts, c.ExpertRollouts)
	def(&c.EvalEpisodes, 10)
	def(&c.Window, td.window)
	def(&c.Budget, 45)
	def(&c.Horizon, icem.DefaultHorizon)
	def(&c.TrainSteps, TrainSteps)
	def(&c.BatchSize, 1024)
	if c.LR == 0 {
		c.LR = 5e-4
	}
	if c.Relabel == "" {
		c.Relabel = RelabelMemory
	}
	if c.Label == "" {
		c.Label = LabelBest
	}
	if c.PlanOn == "" {
		c.PlanOn = PlanOnHost
	}
	if c.Hidden == nil {
		c.Hidden = slices.Clone(DefaultHidden)
	}
	if c.FixedLambda == nil && (c.Method == MethodICEMPiGPS || c.Ablation == AblationLambdaFixed) {
		l := DefaultFixedLambda(c.Task)
		c.FixedLambda = &l
	}
	return c
}

// Validate reports bad settings.
func (c RunConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !slices.Contains(Methods, c.Method) {
		bad("unknown method %q (want one of %v)", c.Method, Methods)
	}
	if c.Ablation != AblationNone {
		if !slices.Contains(Ablations, c.Ablation) {
			bad("unknown ablation %q (want one of %v)", c.Ablation, Ablations)
		} else if c.Method != MethodAPEX {
			bad("ablation %q applies to method apex, not %q", c.Ablation, c.Method)
		}
	}
	if c.Iterations < 1 || c.ExpertRollouts < 1 || c.DAggerRollouts < 1 || c.EvalEpisodes < 0 || c.Window < 1 || c.EpisodeLen < 0 {
		bad("iterations %d, expert rollouts %d, DAgger rollouts %d, window %d must be ≥ 1, eval episodes %d and episode length %d ≥ 0",
			c.Iterations, c.ExpertRollouts, c.DAggerRollouts, c.Window, c.EvalEpisodes, c.EpisodeLen)
	}
	if c.TrainSteps < 0 || c.BatchSize < 1 || !(c.LR > 0) {
		bad("train steps %d < 0, batch size %d < 1 or learning rate %g ≤ 0", c.TrainSteps, c.BatchSize, c.LR)
	}
	for _, h := range c.Hidden {
		if h < 1 || h > MaxHiddenWidth {
			bad("hidden width %d outside [1, %d]", h, MaxHiddenWidth)
		}
	}
	if len(c.Hidden) > MaxHiddenLayers {
		bad("%d hidden layers above the limit of %d", len(c.Hidden), MaxHiddenLayers)
	}
	if c.Iterations > MaxIterations || c.EpisodeLen > MaxEpisodeLen || c.BatchSize > MaxBatchSize || c.TrainSteps > MaxTrainSteps ||
		max(c.ExpertRollouts, c.DAggerRollouts, c.EvalEpisodes) > MaxRollouts || c.Window > MaxRollouts {
		bad("a size above its limit: iterations %d (≤ %d), episode length %d (≤ %d), batch size %d (≤ %d), train steps %d (≤ %d), expert/DAgger/eval rollouts and window %d/%d/%d/%d (≤ %d)",
			c.Iterations, MaxIterations, c.EpisodeLen, MaxEpisodeLen, c.BatchSize, MaxBatchSize, c.TrainSteps, MaxTrainSteps,
			c.ExpertRollouts, c.DAggerRollouts, c.EvalEpisodes, c.Window, MaxRollouts)
	}
	if !slices.Contains(RelabelModes, c.Relabel) {
		bad("relabel %q: want one of %v", c.Relabel, RelabelModes)
	}
	if !slices.Contains(LabelModes, c.Label) {
		bad("label %q: want one of %v", c.Label, LabelModes)
	}
	if !slices.Contains(PlanOnModes, c.PlanOn) {
		bad("plan_on %q: want one of %v", c.PlanOn, PlanOnModes)
	}
	if l := c.FixedLambda; l != nil && (!(l.Guide >= 0) || !(l.Norm >= 0)) {
		bad("fixed lambda %+v must be ≥ 0", *l)
	}
	if _, err := c.PlannerConfig(0); err != nil {
		bad("%w", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("apex: run config: %w", errors.Join(errs...))
	}
	return nil
}

// Switches are what a method and an ablation turn on: the parts of APEX
// (Alg. 2) that a run uses.
type Switches struct {
	// Guided: the planner is iCEMπ (a policy is set), else plain iCEM.
	Guided bool
	// DAgger: relabel the policy's states with the expert and add them.
	DAgger bool
	// The icem.Config switches of iCEMπ.
	LambdaFixed, NoWarmStart, NoPolicySample bool
}

// Switches returns the parts of APEX that c's method and ablation use.
func (c RunConfig) Switches() Switches {
	s := Switches{}
	switch c.Method {
	case MethodAPEX:
		s.Guided, s.DAgger = true, true
	case MethodICEMBC:
	case MethodICEMDAgger:
		s.DAgger = true
	case MethodICEMPiGPS:
		s.Guided, s.LambdaFixed = true, true
	}
	switch c.Ablation {
	case AblationLambdaFixed:
		s.LambdaFixed = true
	case AblationNoDAgger:
		s.DAgger = false
	case AblationNoWarmStart:
		s.NoWarmStart = true
	case AblationNoPolicySamples:
		s.NoPolicySample = true
	}
	return s
}

// PlannerConfig returns the iCEM / iCEMπ settings of the run's expert (and
// relabeller): the budget's population and iterations, the horizon, the
// noise exponent beta (c.Beta when set) and the method's switches.
func (c RunConfig) PlannerConfig(beta float64) (icem.Config, error) {
	if c.Beta != 0 {
		beta = c.Beta
	}
	pc, err := icem.Default(beta, c.Budget)
	if err != nil {
		return pc, err
	}
	pc.Horizon = c.Horizon
	s := c.Switches()
	pc.NoWarmStart, pc.NoPolicySample = s.NoWarmStart, s.NoPolicySample
	if s.LambdaFixed {
		pc.Lambda = icem.LambdaFixed
		l := DefaultFixedLambda(c.Task)
		if c.FixedLambda != nil {
			l = *c.FixedLambda
		}
		pc.FixedGuide, pc.FixedNorm = l.Guide, l.Norm
	}
	return pc, pc.Validate()
}

// trainConfig returns the policy's training settings.
func (c RunConfig) trainConfig() TrainConfig {
	return TrainConfig{LR: c.LR, BatchSize: c.BatchSize}
}

// episodeLen returns the rollout length for task.
func (c RunConfig) episodeLen(task *batchsim.Task) int {
	if c.EpisodeLen > 0 {
		return c.EpisodeLen
	}
	return task.EpisodeLen
}
