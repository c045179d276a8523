package apex

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// TrajRecord is a recorded rollout for a trajectory file.
type TrajRecord struct {
	Kind      string // "expert" or "policy"
	Iteration int
	Episode   int
	// States are qpos then qvel, the start state first ((steps+1) × (nq+nv)).
	States  [][]float64
	Actions [][]float64 // (steps × nu)
	Rewards []float64   // (steps)
	Params  []float64   // the episode's task parameters (nil if none)
}

// TrajWriter writes a rollout of task as a trajectory file at path. The
// apex package does not write .traj files itself (the viewer package that
// owns the format depends on WebGPU); the caller hands in a writer, e.g.
// one that calls viewer.SaveTraj.
type TrajWriter func(path string, task *batchsim.Task, rec *TrajRecord) error

// Stages of an iteration, as reported in Event.Stage.
const (
	StageExpert  = "expert"  // expert rollouts (Step: environment steps)
	StageTrain   = "train"   // a training call (Step: gradient steps)
	StagePolicy  = "policy"  // the policy rollout of DAgger
	StageRelabel = "relabel" // DAgger relabelling (Step: states relabelled)
	StageEval    = "eval"    // evaluation of the policy alone
	StageDone    = "done"    // the iteration is checkpointed (Metrics set)
)

// Event reports the progress of Run.Train.
type Event struct {
	Iteration, Iterations int
	Stage                 string
	Step, Steps           int      // progress within the stage
	Return                float64  // expert return so far (StageExpert), policy return (StagePolicy, StageEval)
	Metrics               *Metrics // the iteration's row (StageDone)
}

// RunOptions configure Run.Train.
type RunOptions struct {
	// Progress, when set, is called from the training goroutine.
	Progress func(Event)
	// SaveTraj, when set, writes the expert and policy rollouts to
	// trajectories/.
	SaveTraj TrajWriter
	// StopAfter > 0 stops (without error) once that many iterations are
	// complete, as an interruption would; 0 runs all of Config.Iterations.
	StopAfter int
	// Workers: goroutines for training, policy rollouts and evaluation
	// (0: GOMAXPROCS). Results do not depend on it.
	Workers int
}

// Run is an APEX run (Pinneri et al. 2021, Alg. 2, with the baselines and
// ablations of RunConfig) in its run folder:
//
//	θ random; D ← ∅
//	repeat:
//	   n expert rollouts with iCEMπ(J + λ1·C_guide + λ2·C_norm, π_θ); D ← D ∪ τ_CEM; train π_θ on D
//	   τ_π ← rollout of π_θ; relabel each state of τ_π with iCEMπ; D ← D ∪ τ_DAgger; train π_θ on D
//
// Iteration 0 plans with the randomly initialised π_θ, as Alg. 2 does; the
// adaptive λ scales its guidance to the spread of the main cost over the
// elites, so a random π shapes the plans little. After every iteration the
// policy is evaluated alone (no planner) and the iteration checkpointed.
type Run struct {
	Dir    string
	Config RunConfig // defaults applied

	task    *batchsim.Task
	eval    batchsim.Evaluator
	planner icem.StepPlanner
	trainer *Trainer
	ds      *Dataset
	state   runState
	workers int
}

// PlannerFactory makes a run's planner for its task and planner settings.
type PlannerFactory func(task *batchsim.Task, cfg icem.Config) (icem.StepPlanner, error)

// OpenOptions configure Create and Resume.
type OpenOptions struct {
	// Planner, when set, makes the run's planner. A run with PlanOn
	// PlanOnDevice needs it: the device planner (gpu.Planner) is the
	// caller's to open, and to close after the run, as this package does
	// not depend on the GPU. nil: the host planner (icem.New) on the
	// evaluator. A planner with Forget(...*icem.Problem) is told of every
	// problem the run is done with; one with Sequences (as gpu.Planner)
	// gives the elites of LabelEliteMean.
	Planner PlannerFactory
}

// Create starts a new run in dir with cfg (defaults applied, validated),
// planning through eval (which may be nil when opt[0].Planner is set).
// dir must not exist, be empty, or (with overwrite) hold an earlier run,
// which is then deleted. opt: at most one.
func Create(dir string, cfg RunConfig, eval batchsim.Evaluator, overwrite bool, opt ...OpenOptions) (*Run, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o, err := oneOption(opt)
	if err != nil {
		return nil, err
	}
	r, err := newRun(dir, cfg, eval, o)
	if err != nil {
		return nil, err
	}
	if err := prepareFolder(dir, overwrite); err != nil {
		return nil, err
	}
	if err := writeConfig(dir, r.Config); err != nil {
		return nil, err
	}
	return r, nil
}

// Resume reopens the run in dir at its last complete iteration: the trainer
// (policy and Adam state), the data set and the metrics rows come from that
// checkpoint, and metrics.csv, policy.json and the plots are rewritten from
// it. A run without a complete iteration starts over from its config. The
// run plans where its config says (PlanOn): opt as for Create.
func Resume(dir string, eval batchsim.Evaluator, opt ...OpenOptions) (*Run, error) {
	o, err := oneOption(opt)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadRunConfig(dir)
	if err != nil {
		return nil, err
	}
	if cfg.Version != Version {
		return nil, fmt.Errorf("apex: resume %s: written by apex %s, this is %s: %s; start a new run (apex train --out NEW_DIR)",
			dir, cfg.Version, Version, versionChange(cfg.Version))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := newRun(dir, cfg, eval, o)
	if err != nil {
		return nil, err
	}
	its, err := completedIterations(dir)
	if err != nil || len(its) == 0 {
		return r, err
	}
	cp := checkpointDir(dir, its[len(its)-1])
	st, err := loadState(filepath.Join(cp, stateFile))
	if err != nil {
		return nil, err
	}
	if st.Iteration != its[len(its)-1] {
		return nil, fmt.Errorf("apex: resume %s: checkpoint %s holds the state of iteration %d", dir, cp, st.Iteration)
	}
	tr, err := LoadTrainer(filepath.Join(cp, trainerGob))
	if err != nil {
		return nil, err
	}
	ds, err := LoadDataset(filepath.Join(cp, datasetGob))
	if err != nil {
		return nil, err
	}
	r.trainer, r.ds, r.state = tr, ds, *st
	if err := r.writeTop(); err != nil {
		return nil, err
	}
	return r, nil
}

// versionChange says why a run folder of an older version cannot resume.
func versionChange(old string) string {
	switch old {
	case "0.1.0":
		return "0.2.0 relabels DAgger states with the planner's memory over n rollouts per iteration, evaluates 10 episodes with confidence intervals and writes new metrics.csv columns, so the run could not continue as it began"
	case "0.3.0":
		return "0.4.0 changed the door task's contacts and the engine's factorisations, so the run would not continue as it began"
	case "0.4.0":
		return "0.5.0 plans with the memory added to each CEM iteration's fresh samples, not counted within them, so the run would not continue as it began"
	case "0.5.0":
		return "0.6.0 plans the door with a latch term in its cost (door-dense is the old cost), so a door run would not continue as it began"
	}
	return "the checkpoint formats and the run's method may differ"
}

// oneOption returns the OpenOptions of Create's and Resume's variadic
// argument (kept variadic so that their callers without one stay as they
// are).
func oneOption(opt []OpenOptions) (OpenOptions, error) {
	switch len(opt) {
	case 0:
		return OpenOptions{}, nil
	case 1:
		return opt[0], nil
	}
	return OpenOptions{}, fmt.Errorf("apex: %d OpenOptions, want at most one", len(opt))
}

// newRun builds the run's task, planner, fresh policy, trainer and data set.
func newRun(dir string, cfg RunConfig, eval batchsim.Evaluator, opt OpenOptions) (*Run, error) {
	task, err := batchsim.NewTask(cfg.Task)
	if err != nil {
		return nil, fmt.Errorf("apex: new run: %w", err)
	}
	pc, err := cfg.PlannerConfig(task.Beta)
	if err != nil {
		return nil, fmt.Errorf("apex: new run: %w", err)
	}
	var pl icem.StepPlanner
	switch {
	case opt.Planner != nil:
		if pl, err = opt.Planner(task, pc); err == nil && pl == nil {
			err = errors.New("the planner factory made no planner")
		}
	case cfg.PlanOn == PlanOnDevice:
		err = errors.New("plan_on device: no device planner was given (OpenOptions.Planner)")
	case eval == nil:
		err = errors.New("nil evaluator")
	default:
		pl, err = icem.New(task, eval, pc)
	}
	if err != nil {
		return nil, fmt.Errorf("apex: new run: %w", err)
	}
	if cfg.Backend == "" {
		cfg.Backend = plannerName(pl, eval)
	}
	pol := NewPolicy(task.ObsDim(), task.ActLow, task.ActHigh, cfg.Hidden,
		rand.NewPCG(SubSeed(cfg.Seed, streamInit, 0, 0), streamInit))
	return &Run{
		Dir: dir, Config: cfg, task: task, eval: eval, planner: pl,
		trainer: NewTrainer(pol, cfg.trainConfig()),
		ds:      NewDataset(task.ObsDim(), task.Model.Nu, cfg.Window),
		state:   runState{Format: stateFormat, Iteration: -1},
	}, nil
}

// plannerName names where pl plans: its own name (the device planner's),
// else its evaluator's.
func plannerName(pl icem.StepPlanner, eval batchsim.Evaluator) string {
	if n, ok := pl.(interface{ Name() string }); ok {
		return n.Name()
	}
	if eval != nil {
		return eval.Name()
	}
	return ""
}

// PlannerName names the run's planner as the config's Backend does: the
// device planner's name, or the evaluator's when planning on the host.
func (r *Run) PlannerName() string { return plannerName(r.planner, r.eval) }

// forget tells the planner that problems will not be planned again, so
// that a long run does not hold device memory for every problem it made.
func (r *Run) forget(problems ...*icem.Problem) {
	if f, ok := r.planner.(icem.Forgetter); ok && len(problems) > 0 {
		f.Forget(problems...)
	}
}

// elites returns the final elites of pr's last Plan call.
func (r *Run) elites(pr *icem.Problem) ([][]float64, error) {
	if s, ok := r.planner.(icem.Sequencer); ok {
		_, el, err := s.Sequences(pr)
		return el, err
	}
	return pr.Elites(), nil
}

// SetIterations changes the number of iterations (e.g. to extend a resumed
// run) and records it in config.json.
func (r *Run) SetIterations(n int) error {
	if n < 1 || n > MaxIterations {
		return fmt.Errorf("apex: iterations %d outside [1, %d]", n, MaxIterations)
	}
	if n < r.Completed() {
		return fmt.Errorf("apex: iterations %d: the run in %s has %d complete iterations already", n, r.Dir, r.Completed())
	}
	r.Config.Iterations = n
	return writeConfig(r.Dir, r.Config)
}

// Task returns the run's task.
func (r *Run) Task() *batchsim.Task { return r.task }

// Policy returns the policy being trained.
func (r *Run) Policy() *Policy { return r.trainer.Policy() }

// Dataset returns the training set.
func (r *Run) Dataset() *Dataset { return r.ds }

// Completed is the number of complete iterations.
func (r *Run) Completed() int { return r.state.Iteration + 1 }

// Rows returns the metrics of the complete iterations.
func (r *Run) Rows() []Metrics { return append([]Metrics(nil), r.state.Rows...) }

// Train runs the remaining iterations. Each is checkpointed when complete;
// when ctx is done it returns ctx's error, and the iteration in progress is
// lost (Resume repeats it identically).
func (r *Run) Train(ctx context.Context, opt RunOptions) error {
	if err := r.trainer.SetCompute(opt.Workers, BLASAuto); err != nil {
		return err
	}
	r.workers = opt.Workers
	if r.workers <= 0 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	for i := r.Completed(); i < r.Config.Iterations; i++ {
		if opt.StopAfter > 0 && i >= opt.StopAfter {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apex: run stopped before iteration %d: %w", i, err)
		}
		m, lam, err := r.iterate(ctx, i, opt)
		if err != nil {
			return fmt.Errorf("apex: iteration %d: %w", i, err)
		}
		if err := r.checkpoint(i, m, lam); err != nil {
			return err
		}
		if opt.Progress != nil {
			opt.Progress(Event{Iteration: i, Iterations: r.Config.Iterations, Stage: StageDone, Metrics: &m})
		}
	}
	return nil
}

// iterate runs iteration i and returns its metrics and the λ_guide series
// of its first expert rollout.
func (r *Run) iterate(ctx context.Context, i int, opt RunOptions) (Metrics, []float64, error) {
	cfg, sw := r.Config, r.Config.Switches()
	T := cfg.episodeLen(r.task)
	start := time.Now()
	m := Metrics{Iteration: i}
	report := func(e Event) {
		if opt.Progress != nil {
			e.Iteration, e.Iterations = i, cfg.Iterations
			opt.Progress(e)
		}
	}
	if err := r.setPlannerPolicy(sw); err != nil {
		return m, nil, fmt.Errorf("%s: %w", StageExpert, err)
	}

	// Expert rollouts.
	var lams, norms, returns, series []float64
	successes, withSuccess := 0, 0
	for e := range cfg.ExpertRollouts {
		env := batchsim.NewEnv(r.task)
		resetSeed := SubSeed(cfg.Seed, streamResetExpert, i, e)
		env.Reset(streamRand(cfg.Seed, streamResetExpert, i, e))
		eo := icem.EpisodeOptions{
			Steps: T, Seed: SubSeed(cfg.Seed, streamPlanExpert, i, e), Params: env.Params,
			Progress: func(p icem.Progress) {
				report(Event{Stage: StageExpert, Step: e*T + p.Step, Steps: cfg.ExpertRollouts * T, Return: p.Return})
			},
		}
		if len(r.task.Success) > 0 {
			eo.Success = func(env *batchsim.Env) bool { return env.Solved() }
		}
		ep, err := icem.RunEpisode(ctx, r.planner, env, eo) // forgets its problem
		if err != nil {
			return m, nil, fmt.Errorf("%s rollout %d: %w", StageExpert, e, err)
		}
		r.ds.Add(Provenance{Source: SourceExpert, Iteration: i, Episode: e, Seed: resetSeed},
			r.observations(ep.States[:len(ep.Actions)], env.Params), flatten(ep.Actions))
		returns = append(returns, ep.Return)
		if ep.Success != nil {
			withSuccess++
			if *ep.Success {
				successes++
			}
		}
		for t, step := range ep.Lambda {
			var s float64
			for _, l := range step {
				lams = append(lams, l.Guide)
				norms = append(norms, l.Norm)
				s += l.Guide
			}
			if e == 0 {
				series = append(series, s/float64(len(ep.Lambda[t])))
			}
		}
		if err := r.saveTraj(opt, &TrajRecord{Kind: "expert", Iteration: i, Episode: e,
			States: ep.States, Actions: ep.Actions, Rewards: ep.Rewards, Params: env.Params}); err != nil {
			return m, nil, err
		}
	}
	m.ExpertReturn, m.ExpertReturnStd = stats(returns)
	m.ExpertReturnCI95 = ci95(returns)
	if withSuccess > 0 {
		rate := float64(successes) / float64(withSuccess)
		m.ExpertSuccess = &rate
	}
	m.LambdaMean, _ = stats(lams)
	m.LambdaNormMean, _ = stats(norms)
	m.LambdaMin, m.LambdaMax = minMax(lams)
	m.ExpertSeconds = time.Since(start).Seconds()

	trainTime := time.Duration(0)
	train := func(k int) error {
		t0 := time.Now()
		st, err := r.train(ctx, i, k, report)
		trainTime += time.Since(t0)
		m.TrainMSE = st.MSE
		return err
	}
	if err := train(0); err != nil {
		return m, nil, err
	}

	// DAgger: roll the policy out, relabel its states with the expert.
	if sw.DAgger {
		t0 := time.Now()
		n := cfg.DAggerRollouts
		report(Event{Stage: StagePolicy, Steps: n * T})
		eps := make([]*PolicyEpisode, n)
		errs := make([]error, n)
		pi := r.trainer.Policy()
		parallel(r.workers, n, func(e int) {
			env := batchsim.NewEnv(r.task)
			env.Reset(streamRand(cfg.Seed, streamResetPolicy, i, e))
			eps[e], errs[e] = RolloutPolicy(ctx, pi, env, T)
		})
		if err := errors.Join(errs...); err != nil {
			return m, nil, err
		}
		var ret float64
		for _, pe := range eps {
			ret += pe.Return
		}
		report(Event{Stage: StagePolicy, Step: n * T, Steps: n * T, Return: ret / float64(n)})
		if err := r.setPlannerPolicy(sw); err != nil {
			return m, nil, fmt.Errorf("%s: %w", StageRelabel, err)
		}
		labels, err := r.relabel(ctx, i, eps, report)
		if err != nil {
			return m, nil, err
		}
		for e, pe := range eps {
			if len(pe.Obs) == 0 { // a policy that diverges at once leaves nothing to relabel
				continue
			}
			r.ds.Add(Provenance{Source: SourceDAgger, Iteration: i, Episode: e, Seed: SubSeed(cfg.Seed, streamResetPolicy, i, e)},
				flatten(pe.Obs), labels[e])
			m.DAggerPairs += len(pe.Obs)
		}
		m.DAggerSeconds = time.Since(t0).Seconds()
	}
	// The second training call runs without DAgger too, so that every
	// method takes the same number of gradient steps.
	if err := train(1); err != nil {
		return m, nil, err
	}
	m.TrainSeconds = trainTime.Seconds()
	m.GradientSteps = r.trainer.Steps()
	m.DatasetPairs, m.DatasetRollouts = r.ds.Len(), r.ds.NumRollouts()

	// The policy alone.
	t0 := time.Now()
	report(Event{Stage: StageEval, Steps: cfg.EvalEpisodes})
	if cfg.EvalEpisodes > 0 {
		res, err := EvalPolicy(ctx, r.trainer.Policy(), r.task, cfg.EvalEpisodes, T, cfg.Seed, r.workers)
		if err != nil {
			return m, nil, err
		}
		report(Event{Stage: StageEval, Step: cfg.EvalEpisodes, Steps: cfg.EvalEpisodes, Return: res.MeanReturn})
		m.PolicyReturn, m.PolicyReturnStd, m.PolicyReturnCI95 = res.MeanReturn, res.StdReturn, res.CI95
		m.PolicySuccess = res.SuccessRate
		ep := res.Episode(0)
		if err := r.saveTraj(opt, &TrajRecord{Kind: "policy", Iteration: i,
			States: ep.States, Actions: ep.Actions, Rewards: ep.Rewards, Params: ep.Params}); err != nil {
			return m, nil, err
		}
	}
	m.EvalSeconds = time.Since(t0).Seconds()
	m.IterationSeconds = time.Since(start).Seconds()
	return m, series, nil
}

// setPlannerPolicy hands the current policy to the planner when the method
// is guided (again after each training call: the evaluator keeps a copy).
func (r *Run) setPlannerPolicy(sw Switches) error {
	var pi icem.Policy
	if sw.Guided {
		pi = r.trainer.Policy()
	}
	if err := r.planner.SetPolicy(pi); err != nil {
		return fmt.Errorf("set the planner's policy: %w", err)
	}
	return nil
}

// train runs training call k of iteration i: Config.TrainSteps steps, in
// chunks so that ctx is honoured. Chunks draw from the same stream, so the
// result equals one call of all steps.
func (r *Run) train(ctx context.Context, i, k int, report func(Event)) (TrainStats, error) {
	const chunk = 50
	rng := streamRand(r.Config.Seed, streamTrain, i, k)
	steps := r.Config.TrainSteps
	var st TrainStats
	for done := 0; done < steps || done == 0; {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("training stopped: %w", err)
		}
		n := min(chunk, steps-done)
		s, err := r.trainer.Train(r.ds, n, rng)
		if err != nil {
			return st, err
		}
		st = s
		done += n
		report(Event{Stage: StageTrain, Step: done, Steps: steps})
		if steps == 0 {
			break
		}
	}
	return st, nil
}

// relabel returns the expert's actions at the states of the policy
// episodes eps, one flattened slice per episode (len(Actions) × nu). With
// RelabelMemory, problem e follows episode e with iCEM's memory, and all
// episodes are planned in lock-step: one Plan call per time step with the
// episodes still running. With RelabelFresh each state is a fresh problem
// (t = 0 for iCEMπ, so warm-started from π) and all of them go in one call.
func (r *Run) relabel(ctx context.Context, i int, eps []*PolicyEpisode, report func(Event)) ([][]float64, error) {
	m, nu := r.task.Model, r.task.Model.Nu
	seed := SubSeed(r.Config.Seed, streamPlanRelabel, i, 0)
	out := make([][]float64, len(eps))
	total, longest := 0, 0
	for e, pe := range eps {
		out[e] = make([]float64, len(pe.Actions)*nu)
		total += len(pe.Actions)
		longest = max(longest, len(pe.Actions))
	}
	report(Event{Stage: StageRelabel, Steps: total})
	label := func(pr *icem.Problem, dst []float64) error {
		if r.Config.Label != LabelEliteMean {
			return nil // Plan wrote the first action of the best sample
		}
		el, err := r.elites(pr)
		if err != nil {
			return err
		}
		if len(el) == 0 {
			return errors.New("the planner kept no elites")
		}
		clear(dst)
		for _, s := range el {
			for j := range dst {
				dst[j] += s[j]
			}
		}
		for j := range dst {
			dst[j] /= float64(len(el))
		}
		return nil
	}
	var probs []*icem.Problem
	var dst [][]float64
	if r.Config.Relabel == RelabelFresh {
		for e, pe := range eps {
			for t, s := range pe.States[:len(pe.Actions)] {
				pr := r.planner.NewProblem(seed, e*(longest+1)+t)
				pr.SetState(s[:m.Nq], s[m.Nq:], pe.Params)
				probs = append(probs, pr)
				dst = append(dst, out[e][t*nu:(t+1)*nu])
			}
		}
		// In calls the planner can take, each chunk forgotten once
		// labelled, so that the device holds one chunk's memory.
		forgotten := 0
		defer func() { r.forget(probs[forgotten:]...) }()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("relabel stopped: %w", err)
		}
		err := r.planChunks(dst, probs, func(a, b int) error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("relabel stopped: %w", err)
			}
			for k := a; k < b; k++ {
				if err := label(probs[k], dst[k]); err != nil {
					return fmt.Errorf("relabel state %d of %d: %s label: %w", k, len(probs), r.Config.Label, err)
				}
			}
			r.forget(probs[a:b]...)
			forgotten = b
			report(Event{Stage: StageRelabel, Step: b, Steps: total})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	own := make([]*icem.Problem, len(eps))
	for e := range eps {
		own[e] = r.planner.NewProblem(seed, e)
	}
	defer r.forget(own...)
	done := 0
	for t := 0; t < longest; t++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("relabel stopped at step %d: %w", t, err)
		}
		probs, dst = probs[:0], dst[:0]
		for e, pe := range eps {
			if t >= len(pe.Actions) {
				continue
			}
			s := pe.States[t]
			own[e].SetState(s[:m.Nq], s[m.Nq:], pe.Params)
			probs = append(probs, own[e])
			dst = append(dst, out[e][t*nu:(t+1)*nu])
		}
		err := r.planChunks(dst, probs, func(a, b int) error {
			for k := a; k < b; k++ {
				if err := label(probs[k], dst[k]); err != nil {
					return fmt.Errorf("relabel step %d, problem %d of %d: %s label: %w", t, k, len(probs), r.Config.Label, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("relabel step %d (%d rollouts): %w", t, len(probs), err)
		}
		done += len(probs)
		report(Event{Stage: StageRelabel, Step: done, Steps: total})
	}
	return out, nil
}

// planChunks plans probs in calls of at most the planner's MaxProblems
// (the device planner's limit; the host planner has none), calling after
// with each call's range [a, b) once it is planned.
func (r *Run) planChunks(dst [][]float64, probs []*icem.Problem, after func(a, b int) error) error {
	n := len(probs)
	if lim, ok := r.planner.(interface{ MaxProblems() int }); ok && lim.MaxProblems() < n {
		n = lim.MaxProblems()
		if n < 1 {
			return fmt.Errorf("the planner takes no problem per call (MaxProblems %d): its settings do not fit the device", n)
		}
	}
	for a := 0; a < len(probs); a += n {
		b := min(a+n, len(probs))
		if _, err := r.planner.Plan(dst[a:b], probs[a:b]); err != nil {
			if a == 0 && b == len(probs) {
				return fmt.Errorf("plan %d states: %w", b, err)
			}
			return fmt.Errorf("plan states %d–%d of %d: %w", a, b-1, len(probs), err)
		}
		if err := after(a, b); err != nil {
			return err
		}
	}
	return nil
}

// observations returns the task's observations of the states under the
// task parameters params, flattened.
func (r *Run) observations(states [][]float64, params []float64) []float64 {
	m := r.task.Model
	d := batchsim.NewData(m)
	k := r.task.ObsDim()
	out := make([]float64, len(states)*k)
	for t, s := range states {
		copy(d.Qpos, s[:m.Nq])
		copy(d.Qvel, s[m.Nq:])
		r.task.ObserveParams(d, params, out[t*k:(t+1)*k])
	}
	return out
}

func flatten(x [][]float64) []float64 {
	var out []float64
	for _, v := range x {
		out = append(out, v...)
	}
	return out
}

func minMax(x []float64) (lo, hi float64) {
	if len(x) == 0 {
		return 0, 0
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func (r *Run) saveTraj(opt RunOptions, rec *TrajRecord) error {
	if opt.SaveTraj == nil {
		return nil
	}
	name := fmt.Sprintf("policy-%03d.traj", rec.Iteration)
	if rec.Kind == "expert" {
		name = fmt.Sprintf("expert-%03d-%d.traj", rec.Iteration, rec.Episode)
	}
	if err := opt.SaveTraj(filepath.Join(r.Dir, trajDir, name), r.task, rec); err != nil {
		return fmt.Errorf("save trajectory %s: %w", name, err)
	}
	return nil
}

// checkpoint writes iteration i's trainer, data set and policy, then its
// state.json (which marks it complete), then the top-level files.
func (r *Run) checkpoint(i int, m Metrics, lam []float64) error {
	cp := checkpointDir(r.Dir, i)
	if err := os.MkdirAll(cp, 0o755); err != nil {
		return fmt.Errorf("apex: checkpoint: %w", err)
	}
	// A stale state.json of an earlier, interrupted attempt must not mark
	// the new files complete before they are all written.
	if err := os.Remove(filepath.Join(cp, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("apex: checkpoint: %w", err)
	}
	if err := r.trainer.Save(filepath.Join(cp, trainerGob)); err != nil {
		return err
	}
	if err := r.ds.Save(filepath.Join(cp, datasetGob)); err != nil {
		return err
	}
	if err := r.trainer.Policy().Save(filepath.Join(cp, PolicyFile)); err != nil {
		return err
	}
	st := runState{Format: stateFormat, Iteration: i,
		Rows:   append(append([]Metrics(nil), r.state.Rows...), m),
		Lambda: append(append([][]float64(nil), r.state.Lambda...), lam)}
	if err := writeJSON(filepath.Join(cp, stateFile), st); err != nil {
		return fmt.Errorf("apex: checkpoint: %w", err)
	}
	r.state = st
	return r.writeTop()
}

// writeTop rewrites metrics.csv, policy.json and the plots from the state.
func (r *Run) writeTop() error {
	if err := writeFileAtomic(filepath.Join(r.Dir, MetricsFile), MetricsCSV(r.state.Rows)); err != nil {
		return fmt.Errorf("apex: write metrics: %w", err)
	}
	if err := r.trainer.Policy().Save(filepath.Join(r.Dir, PolicyFile)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, plotDir), 0o755); err != nil {
		return fmt.Errorf("apex: plots: %w", err)
	}
	if err := PlotReturns(filepath.Join(r.Dir, plotDir, "returns.png"), r.state.Rows, r.Config); err != nil {
		return err
	}
	return PlotLambda(filepath.Join(r.Dir, plotDir, "lambda.png"), r.state.Lambda, r.task.ControlDt())
}

// PlotFiles are the plots a run folder holds, relative to it.
var PlotFiles = []string{filepath.Join(plotDir, "returns.png"), filepath.Join(plotDir, "lambda.png")}
