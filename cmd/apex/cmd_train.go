package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/viewer"
	"golang.org/x/term"
)

func init() {
	register(&command{
		name:    "train",
		summary: "Extract a policy from the iCEMπ planner with APEX (or a baseline / ablation) into a run folder.",
		usage: "train --task NAME [--method apex|icem-bc|icem-dagger|icempi-gps] [--ablation lambda-fixed|no-dagger|no-warmstart|no-policy-samples] " +
			"[--iterations N] [--budget B] [--episode-len T] [--train-steps S] [--relabel memory|fresh] [--label best|elite-mean] [--backend cpu|gpu|auto] [--plan-on host|device] [--kernel K] [--seed S] [--out DIR] [--force] [--json]\n" +
			"       apex train --resume DIR [--iterations N] [--backend cpu|gpu|auto] [--kernel K] [--json]",
		run: runTrain,
	})
}

// trainResult is what train and demo print with --json.
type trainResult struct {
	RunDir      string            `json:"run_dir"`
	Config      apex.RunConfig    `json:"config"`
	Completed   int               `json:"completed_iterations"`
	Rows        []apex.Metrics    `json:"metrics"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Files       map[string]string `json:"files"`
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["train"], stderr)
	taskName := fs.String("task", "halfcheetah", "task name")
	method := fs.String("method", "apex", "apex, icem-bc, icem-dagger or icempi-gps")
	ablation := fs.String("ablation", "", "an ablation of apex: lambda-fixed, no-dagger, no-warmstart or no-policy-samples")
	iterations := fs.Int("iterations", 10, "APEX iterations")
	budget := fs.Int("budget", 45, "planner samples per environment step (45, 100, 300 or any ≥ 20)")
	horizon := fs.Int("horizon", 30, "planning horizon in control steps")
	episodeLen := fs.Int("episode-len", 0, "control steps per rollout (default: the task's episode length)")
	trainSteps := fs.Int("train-steps", apex.TrainSteps, "gradient steps per training call (two calls per iteration)")
	batchSize := fs.Int("batch-size", 1024, "training minibatch size")
	hidden := fs.IntSlice("hidden", apex.DefaultHidden, "hidden layer widths of the policy")
	rollouts := fs.Int("expert-rollouts", 0, "expert rollouts per iteration (default: the task's, 1 for HalfCheetah)")
	window := fs.Int("window", 0, "rollouts the data set keeps (default: the task's, 50 for HalfCheetah)")
	daggerRollouts := fs.Int("dagger-rollouts", 0, "policy rollouts relabelled per iteration (default: --expert-rollouts)")
	evalEpisodes := fs.Int("eval-episodes", 10, "episodes of the policy alone evaluated per iteration")
	relabel := fs.String("relabel", apex.RelabelMemory, "DAgger relabelling: memory (the paper's: the planner follows each policy rollout with its memory, rollouts in lock-step) or fresh (ablation: each state a fresh problem)")
	label := fs.String("label", apex.LabelBest, "DAgger label: best (first action of the executed sample, the paper's) or elite-mean (mean first action of the final elites)")
	backend := fs.String("backend", "auto", "rollout backend: cpu, gpu or auto")
	planOn := fs.String("plan-on", apex.PlanOnHost, "where the planner runs: host (the CPU; rollouts on --backend) or device (the whole planning step on the GPU device, float32; --backend gpu or auto); the run keeps it on --resume")
	setKernel := kernelFlag(fs)
	workers := fs.Int("workers", 0, "CPU workers (default: one per core)")
	seed := fs.Uint64("seed", 1, "run seed; every random stream derives from it")
	out := fs.String("out", "", "run folder (default runs/TASK-METHOD[-ABLATION]-sSEED)")
	force := fs.Bool("force", false, "overwrite an existing run folder at --out")
	resume := fs.String("resume", "", "continue the run in this folder from its last complete iteration")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := setKernel(); err != nil {
		return err
	}
	if *workers < 0 || *workers > maxWorkers {
		return usagef("--workers %d outside [0, %d]", *workers, maxWorkers)
	}
	if *resume != "" {
		for _, name := range []string{"task", "method", "ablation", "budget", "horizon", "episode-len", "train-steps", "batch-size",
			"hidden", "expert-rollouts", "dagger-rollouts", "window", "eval-episodes", "relabel", "label", "plan-on", "seed", "out", "force"} {
			if fs.Changed(name) {
				return usagef("--%s cannot be changed on --resume (the run's config.json holds it)", name)
			}
		}
		if !apex.IsRunFolder(*resume) {
			return usagef("--resume %s: not a run folder (no config.json)", *resume)
		}
		saved, err := apex.LoadRunConfig(*resume)
		if err != nil {
			return usageError{fmt.Errorf("--resume: %w", err)}
		}
		if !slices.Contains(apex.PlanOnModes, saved.PlanOn) {
			return usagef("--resume %s: its config.json's plan_on %q: want %s", *resume, saved.PlanOn, planOnValues)
		}
		// The run plans where it began (config.json's plan_on).
		ev, opt, closePlanner, err := openRunPlanner(saved.PlanOn, *backend, *workers)
		if err != nil {
			var ue usageError
			if saved.PlanOn == apex.PlanOnDevice && errors.As(err, &ue) {
				return usageError{fmt.Errorf("--resume %s plans on the device (config.json's plan_on): %w", *resume, err)}
			}
			return err
		}
		defer closePlanner()
		r, err := apex.Resume(*resume, ev, opt)
		if err != nil {
			return err
		}
		if fs.Changed("iterations") {
			if err := r.SetIterations(*iterations); err != nil {
				return usageError{err}
			}
		}
		fmt.Fprintf(stderr, "resuming %s after %d complete iterations of %d, planning on the %s: %s\n",
			*resume, r.Completed(), r.Config.Iterations, r.Config.PlanOn, r.PlannerName())
		return trainAndReport(r, stdout, stderr, *asJSON, *workers)
	}

	cfg := apex.RunConfig{Task: strings.ToLower(*taskName), Method: apex.Method(*method), Ablation: apex.Ablation(*ablation),
		Seed: *seed, Iterations: *iterations, Budget: *budget, Horizon: *horizon, EpisodeLen: *episodeLen,
		TrainSteps: *trainSteps, BatchSize: *batchSize, Hidden: *hidden, ExpertRollouts: *rollouts, Window: *window,
		DAggerRollouts: *daggerRollouts, EvalEpisodes: *evalEpisodes, Relabel: *relabel, Label: *label, PlanOn: *planOn}
	if _, err := batchsim.NewTask(cfg.Task); err != nil {
		return usageError{fmt.Errorf("--task: %w", err)}
	}
	if *iterations < 1 || *trainSteps < 0 || *episodeLen < 0 || *evalEpisodes < 0 || *daggerRollouts < 0 {
		return usagef("--iterations must be ≥ 1; --train-steps, --episode-len, --dagger-rollouts and --eval-episodes ≥ 0")
	}
	if !slices.Contains(apex.RelabelModes, *relabel) {
		return usagef("--relabel %q: want one of %v", *relabel, apex.RelabelModes)
	}
	if !slices.Contains(apex.LabelModes, *label) {
		return usagef("--label %q: want one of %v", *label, apex.LabelModes)
	}
	if !slices.Contains(apex.PlanOnModes, *planOn) {
		return usagef("--plan-on %q: want %s", *planOn, planOnValues)
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageError{err}
	}
	dir := *out
	if dir == "" {
		name := fmt.Sprintf("%s-%s", cfg.Task, cfg.Method)
		if cfg.Ablation != "" {
			name += "-" + string(cfg.Ablation)
		}
		dir = filepath.Join("runs", fmt.Sprintf("%s-s%d", name, cfg.Seed))
	}
	ev, opt, closePlanner, err := openRunPlanner(*planOn, *backend, *workers)
	if err != nil {
		return err
	}
	defer closePlanner()
	r, err := apex.Create(dir, cfg, ev, *force, opt)
	if err != nil {
		return err
	}
	return trainAndReport(r, stdout, stderr, *asJSON, *workers)
}

// openRunPlanner opens what a run planning on planOn (host or device)
// needs: on the host, --backend's evaluator; on the device, no evaluator
// but the factory of the device planner, under openPlanner's rules for
// --backend. close releases whatever was opened, the run's planner too.
func openRunPlanner(planOn, backend string, workers int) (ev batchsim.Evaluator, opt apex.OpenOptions, close func(), err error) {
	switch planOn {
	case apex.PlanOnHost:
		ev, err := openBackend(backend, workers)
		if err != nil {
			return nil, opt, nil, err
		}
		return ev, opt, func() { ev.Close() }, nil
	case apex.PlanOnDevice:
		open, close, err := devicePlannerFactory(backend)
		if err != nil {
			return nil, opt, nil, err
		}
		return nil, apex.OpenOptions{Planner: open}, close, nil
	}
	return nil, opt, nil, usagef("--plan-on %q: want %s", planOn, planOnValues)
}

// trainAndReport trains r with progress on stderr until done or Ctrl-C,
// then prints the summary (or JSON) on stdout.
func trainAndReport(r *apex.Run, stdout, stderr io.Writer, asJSON bool, workers int) error {
	ctx, stop := interruptContext()
	defer stop()
	rep := newTrainReporter(stderr)
	start := time.Now()
	err := r.Train(ctx, apex.RunOptions{Progress: rep.event, SaveTraj: saveRunTraj, Workers: workers})
	rep.endStage()
	interrupted := err != nil && errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		return fmt.Errorf("%w (the run folder keeps every complete iteration: apex train --resume %s)", err, r.Dir)
	}
	res := trainResult{RunDir: r.Dir, Config: r.Config, Completed: r.Completed(), Rows: r.Rows(), Interrupted: interrupted,
		Files: map[string]string{
			"config":       filepath.Join(r.Dir, apex.ConfigFile),
			"metrics":      filepath.Join(r.Dir, apex.MetricsFile),
			"policy":       filepath.Join(r.Dir, apex.PolicyFile),
			"trajectories": filepath.Join(r.Dir, "trajectories"),
			"plot_returns": filepath.Join(r.Dir, apex.PlotFiles[0]),
			"plot_lambda":  filepath.Join(r.Dir, apex.PlotFiles[1]),
		}}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printRunSummary(stdout, r, time.Since(start))
	}
	if interrupted {
		return fmt.Errorf("interrupted after %d complete iterations; continue with: apex train --resume %s", r.Completed(), r.Dir)
	}
	return nil
}

// printRunSummary prints the policy vs expert table and where the files are.
func printRunSummary(w io.Writer, r *apex.Run, wall time.Duration) {
	c := r.Config
	name := string(c.Method)
	if c.Ablation != "" {
		name += " (" + string(c.Ablation) + ")"
	}
	steps := c.EpisodeLen
	if steps == 0 {
		steps = r.Task().EpisodeLen
	}
	fmt.Fprintf(w, "\n%s on %s, budget %d, %d-step episodes, %d gradient steps per training call (batch %d), seed %d, %s\n",
		name, c.Task, c.Budget, steps, c.TrainSteps, c.BatchSize, c.Seed, c.Backend)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "iteration\tpolicy return (%d episodes, 95%% CI)\texpert return\tλ guide mean\tdata pairs\texpert s\tDAgger s\ttrain s\titeration s\t\n", c.EvalEpisodes)
	for _, m := range r.Rows() {
		fmt.Fprintf(tw, "%d\t%.1f ± %.1f\t%.1f\t%.3g\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", m.Iteration, m.PolicyReturn, m.PolicyReturnCI95, m.ExpertReturn,
			m.LambdaMean, m.DatasetPairs, m.ExpertSeconds, m.DAggerSeconds, m.TrainSeconds, m.IterationSeconds)
	}
	tw.Flush()
	if v := apex.Verdict(r.Rows()); v != "" {
		fmt.Fprintf(w, "\n%s\n", v)
	}
	fmt.Fprintf(w, "\n%d of %d iterations in %.1f s. Run folder: %s\n", r.Completed(), c.Iterations, wall.Seconds(), r.Dir)
	fmt.Fprintf(w, "  metrics:      %s\n", filepath.Join(r.Dir, apex.MetricsFile))
	fmt.Fprintf(w, "  policy:       %s   (apex eval --policy %s --task %s)\n", filepath.Join(r.Dir, apex.PolicyFile), r.Dir, c.Task)
	fmt.Fprintf(w, "  plots:        %s, %s\n", filepath.Join(r.Dir, apex.PlotFiles[0]), filepath.Join(r.Dir, apex.PlotFiles[1]))
	fmt.Fprintf(w, "  trajectories: %s\n", filepath.Join(r.Dir, "trajectories"))
}

// saveRunTraj writes a rollout of the run as a .traj file for the viewer.
func saveRunTraj(path string, task *batchsim.Task, rec *apex.TrajRecord) error {
	m := task.Model
	tr := &viewer.Trajectory{Version: viewer.TrajVersion, Task: task.Name, Model: m.File, Nq: m.Nq, Nv: m.Nv,
		Dt: task.ControlDt(), Params: rec.Params, Actions: rec.Actions, Rewards: rec.Rewards}
	for _, s := range rec.States {
		tr.Qpos = append(tr.Qpos, s[:m.Nq])
		tr.Qvel = append(tr.Qvel, s[m.Nq:])
	}
	return viewer.SaveTraj(path, tr)
}

// trainReporter shows the progress of a run on stderr: a bar per stage on a
// terminal, otherwise one line per finished stage; always one line per
// finished iteration.
type trainReporter struct {
	w          io.Writer
	tty        bool
	bar        *progress
	stage      string
	iter       int
	last       apex.Event
	stageStart time.Time
}

func newTrainReporter(stderr io.Writer) *trainReporter {
	t := &trainReporter{w: stderr, iter: -1}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.tty = true
	}
	return t
}

func (t *trainReporter) event(e apex.Event) {
	if e.Stage != t.stage || e.Iteration != t.iter {
		t.endStage()
		t.stage, t.iter, t.stageStart = e.Stage, e.Iteration, time.Now()
		if e.Stage != apex.StageDone && t.tty {
			t.bar = newProgress(t.w, max(e.Steps, 1), fmt.Sprintf("iteration %d/%d %s", e.Iteration+1, e.Iterations, e.Stage))
		}
	}
	t.last = e
	if t.bar != nil {
		status := ""
		if e.Stage == apex.StageExpert || e.Stage == apex.StagePolicy || e.Stage == apex.StageEval {
			status = fmt.Sprintf("return %.1f", e.Return)
		}
		t.bar.set(e.Step, status)
	}
	if e.Stage == apex.StageDone && e.Metrics != nil {
		m := e.Metrics
		fmt.Fprintf(t.w, "iteration %d/%d: policy return %.1f, expert return %.1f, λ guide %.3g [%.3g, %.3g], %d pairs; expert %.1f s, DAgger %.1f s, train %.1f s\n",
			e.Iteration+1, e.Iterations, m.PolicyReturn, m.ExpertReturn, m.LambdaMean, m.LambdaMin, m.LambdaMax,
			m.DatasetPairs, m.ExpertSeconds, m.DAggerSeconds, m.TrainSeconds)
		t.stage = ""
	}
}

// endStage closes the bar of the current stage (or logs it without a tty).
func (t *trainReporter) endStage() {
	if t.stage == "" || t.stage == apex.StageDone {
		return
	}
	if t.bar != nil {
		t.bar.finish()
		t.bar = nil
		return
	}
	e := t.last
	extra := ""
	if e.Stage == apex.StageExpert || e.Stage == apex.StagePolicy || e.Stage == apex.StageEval {
		extra = fmt.Sprintf(", return %.1f", e.Return)
	}
	fmt.Fprintf(t.w, "  iteration %d/%d %s: %d/%d%s, %.1f s\n", e.Iteration+1, e.Iterations, e.Stage, e.Step, e.Steps, extra, time.Since(t.stageStart).Seconds())
}
