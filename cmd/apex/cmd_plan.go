package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime/pprof"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/apex-robotics/apex/internal/atomicfile"
	"github.com/apex-robotics/apex/viewer"
)

func init() {
	register(&command{
		name:    "plan",
		summary: "Run the iCEM planner (or plain CEM) as the controller of whole episodes.",
		usage:   "plan --task NAME [--budget B] [--horizon H] [--steps T] [--episodes E] [--planner icem|cem] [--backend cpu|gpu|auto|mujoco] [--plan-on host|device] [--kernel K] [--seed S] [--save-traj F] [--profile] [--json]",
		run:     runPlan,
	})
}

type planEpisode struct {
	Episode     int      `json:"episode"`
	Seed        uint64   `json:"seed"`
	Return      float64  `json:"return"`
	Steps       int      `json:"steps"`
	Success     *bool    `json:"success,omitempty"`
	WallSeconds float64  `json:"wall_seconds"`
	StepsPerSec float64  `json:"env_steps_per_sec"`
	SimSteps    float64  `json:"simulated_control_steps_per_sec"`
	NonFinite   int      `json:"non_finite_samples"`
	LambdaMean  *float64 `json:"lambda_guide_mean,omitempty"`
	// Per planning step, averaged over the episode: where the time goes.
	Profile planProfile `json:"per_step"`
}

// planProfile is the mean cost of one planning step (one Plan call): its
// whole time = device + host. Device: the rollouts and costs (waiting for
// the GPU; simulating, for the CPU backend). Host: the planner's work
// (sampling, ranking, λ, policy rollouts, copies) and the evaluator's own
// host work (packing actions to float32 and scanning them, unpacking
// costs). Evaluator: the time inside the evaluator, its device and host
// parts together. Then the bytes moved to and from the device. With
// --plan-on device the device seconds are the wait for the step's one
// submission (noise, rollouts, ranking: all on the device) and the host
// seconds the rest (uploads, encoding, readback); the evaluator's host
// seconds are 0.
type planProfile struct {
	PlanSeconds          float64 `json:"plan_seconds"`
	DeviceSeconds        float64 `json:"device_seconds"`
	HostSeconds          float64 `json:"host_seconds"`
	EvaluatorSeconds     float64 `json:"evaluator_seconds"`
	EvaluatorHostSeconds float64 `json:"evaluator_host_seconds"`
	BytesUp              float64 `json:"bytes_up"`
	BytesDown            float64 `json:"bytes_down"`
}

func profileOf(ep *icem.Episode) planProfile {
	n := float64(max(1, len(ep.Rewards)))
	return planProfile{
		PlanSeconds:          ep.PlanTime.Seconds() / n,
		DeviceSeconds:        (ep.EvalTime - ep.EvalHostTime).Seconds() / n,
		HostSeconds:          (ep.PlanTime - ep.EvalTime + ep.EvalHostTime).Seconds() / n,
		EvaluatorSeconds:     ep.EvalTime.Seconds() / n,
		EvaluatorHostSeconds: ep.EvalHostTime.Seconds() / n,
		BytesUp:              float64(ep.BytesUp) / n,
		BytesDown:            float64(ep.BytesDown) / n,
	}
}

type planSummary struct {
	Task        string        `json:"task"`
	Planner     string        `json:"planner"`
	PlanOn      string        `json:"plan_on"` // host or device
	Budget      int           `json:"budget"`
	Population  int           `json:"population"`
	Iterations  int           `json:"iterations"`
	Horizon     int           `json:"horizon"`
	Backend     string        `json:"backend"`
	Episodes    []planEpisode `json:"episodes"`
	MeanReturn  float64       `json:"mean_return"`
	StdReturn   float64       `json:"std_return"`
	SuccessRate *float64      `json:"success_rate,omitempty"`
}

// Limits of apex plan, checked before anything is allocated so that a
// typo is a usage error that names the limit, not an out-of-memory crash or
// a hang.
const (
	// maxPlanBudget bounds --budget (samples per environment step): the
	// planner's own limit, so that the message names it before any work.
	maxPlanBudget = icem.MaxPopulation
	// maxPlanHorizon bounds --horizon (control steps).
	maxPlanHorizon = icem.MaxHorizon
	// maxPlanActions bounds budget × horizon × nu, the action values the
	// planner samples per step (512 MiB of float64).
	maxPlanActions = 1 << 26
	// maxPlanSteps bounds --steps: an episode's states are kept.
	maxPlanSteps = 1000000
	// maxPlanPathPoints bounds the planner's paths --save-traj records:
	// steps × (elites + 1) × (horizon + 1) points (at most 4 JSON values
	// and about 80 bytes each: half of viewer.MaxTrajValues and
	// MaxTrajSize).
	maxPlanPathPoints = 1 << 21
	// maxWorkers bounds --workers.
	maxWorkers = 4096
)

func runPlan(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags(commands["plan"], stderr)
	taskName := fs.String("task", "halfcheetah", "task name (see apex tasks)")
	budget := fs.Int("budget", 100, "sampled trajectories per environment step: 45, 100 or 300, or any N·(1 + 1/γ + ...) ≥ 2K")
	horizon := fs.Int("horizon", 30, "planning horizon h in control steps")
	steps := fs.Int("steps", 0, "environment steps per episode (default: the task's episode length)")
	episodes := fs.Int("episodes", 1, "episodes to run")
	planner := fs.String("planner", "icem", "icem, or cem for plain CEM (white noise, no memory)")
	backend := fs.String("backend", "auto", "rollout backend: cpu, gpu or auto; mujoco (MuJoCo 2.2.2 as a reference) in a build with -tags mujoco")
	planOn := fs.String("plan-on", "host", "where the planner runs: host (the CPU; rollouts on --backend) or device (the whole planning step on the GPU device, rollouts included)")
	setKernel := kernelFlag(fs)
	workers := fs.Int("workers", 0, "CPU workers (default: one per core)")
	seed := fs.Uint64("seed", 1, "random seed (reset and planner)")
	saveTraj := fs.String("save-traj", "", "write the (last) episode as a .traj file, written atomically")
	asJSON := fs.Bool("json", false, "print one JSON object with all results")
	profile := fs.Bool("profile", false, "print per episode where a planning step's time goes (evaluator vs host) and the bytes moved, on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the episodes (pprof format) to this file, written atomically")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := setKernel(); err != nil {
		return err
	}
	task, err := batchsim.NewTask(*taskName)
	if err != nil {
		return usageError{fmt.Errorf("--task: %w", err)}
	}
	if *episodes < 1 {
		return usagef("--episodes %d: must be at least 1", *episodes)
	}
	if *steps < 0 || *steps > maxPlanSteps {
		return usagef("--steps %d: want 0 (the task's episode length) to %d", *steps, maxPlanSteps)
	}
	if *horizon < 1 || *horizon > maxPlanHorizon {
		return usagef("--horizon %d: want 1..%d", *horizon, maxPlanHorizon)
	}
	if *budget > maxPlanBudget {
		return usagef("--budget %d: at most %d samples per step", *budget, maxPlanBudget)
	}
	if n := int64(*budget) * int64(*horizon) * int64(task.Model.Nu); n > maxPlanActions {
		return usagef("--budget %d × --horizon %d × %d actuators = %d sampled action values per step: at most %d",
			*budget, *horizon, task.Model.Nu, n, maxPlanActions)
	}
	if *saveTraj == stdoutName {
		return usagef("--save-traj -: standard output carries the results; name a file")
	}
	if *workers < 0 || *workers > maxWorkers {
		return usagef("--workers %d: want 0 (one per core) to %d", *workers, maxWorkers)
	}
	var cfg icem.Config
	switch *planner {
	case "icem":
		cfg, err = icem.Default(task.Beta, *budget)
	case "cem":
		cfg, err = icem.PlainCEM(*budget)
	default:
		return usagef("--planner %q: want icem or cem", *planner)
	}
	if err != nil {
		return usageError{fmt.Errorf("--budget: %w", err)}
	}
	cfg.Horizon = *horizon
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	n := *steps
	if n == 0 {
		n = task.EpisodeLen
	}
	if *saveTraj != "" {
		if err := viewer.CheckTrajSize(n+1, task.Model.Nq, task.Model.Nv, task.Model.Nu); err != nil {
			return usagef("--save-traj with %d steps: %v", n, err)
		}
		elites := cfg.Elites
		if elites == 0 {
			elites = icem.DefaultElites
		}
		if pts := int64(n) * int64(elites+1) * int64(*horizon+1); pts > maxPlanPathPoints {
			return usagef("--save-traj records the planner's paths: %d steps × %d paths × %d points = %d, at most %d; use fewer --steps or a shorter --horizon",
				n, elites+1, *horizon+1, pts, maxPlanPathPoints)
		}
	}
	// The trajectory file is opened (its temporary file created) before
	// the episodes, so that a path that cannot be written fails at once;
	// it replaces an old file only once every episode is done.
	ctx, stop := interruptContext()
	defer stop()
	var trajF *atomicfile.File
	if *saveTraj != "" {
		if trajF, err = createOutput("save-traj", *saveTraj, stdout); err != nil {
			return err
		}
		defer trajF.Abort()
	}
	if *cpuProfile != "" {
		if err := sameOutput("save-traj", *saveTraj, "cpuprofile", *cpuProfile); err != nil {
			return err
		}
		pf, err := createOutput("cpuprofile", *cpuProfile, stdout)
		if err != nil {
			return err
		}
		defer pf.Abort()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		// Stopped and committed once every episode is done; an error or
		// interrupt leaves no profile behind.
		defer func() {
			pprof.StopCPUProfile()
			if err == nil {
				err = pf.Commit()
			}
		}()
	}
	pl, backendName, closePlanner, err := openPlanner(*planOn, *backend, *workers, task, cfg)
	if err != nil {
		return err
	}
	defer closePlanner()
	sum := planSummary{Task: task.Name, Planner: *planner, PlanOn: *planOn, Budget: *budget, Population: cfg.Population,
		Iterations: cfg.Iterations, Horizon: *horizon, Backend: backendName}
	successes, withSuccess := 0, 0
	var last *icem.Episode
	var lastParams []float64
	var lastPaths [][]viewer.PlannedPath
	for e := 0; e < *episodes; e++ {
		epSeed := *seed + uint64(e)
		env := batchsim.NewEnv(task)
		env.Reset(rand.New(rand.NewPCG(epSeed, 0x5EED)))
		bar := newProgress(stderr, n, fmt.Sprintf("episode %d/%d", e+1, *episodes))
		var rec *pathRecorder
		if *saveTraj != "" {
			rec = newPathRecorder(env)
		}
		var recErr error
		opts := icem.EpisodeOptions{Steps: n, Seed: epSeed, Params: env.Params,
			Progress: func(p icem.Progress) {
				bar.set(p.Step, fmt.Sprintf("return %.1f", p.Return))
				if rec == nil || recErr != nil {
					return
				}
				best, elites := p.Problem.Best(), p.Problem.Elites()
				if sp, ok := pl.(icem.Sequencer); ok {
					// The device planner keeps them on the device: K + 1
					// sequences come back per step.
					best, elites, recErr = sp.Sequences(p.Problem)
				}
				rec.record(best, elites, env)
			}}
		if len(task.Success) > 0 {
			opts.Success = func(e *batchsim.Env) bool { return e.Solved() }
		}
		ep, err := icem.RunEpisode(ctx, pl, env, opts)
		bar.finish()
		if ctx.Err() != nil {
			return errInterrupted(ctx)
		}
		if err == nil && recErr != nil {
			err = fmt.Errorf("--save-traj: read the planned paths: %w", recErr)
		}
		if err != nil {
			return err
		}
		if !finite([]float64{ep.Return, ep.Wall.Seconds(), ep.StepsPerSec, ep.SimStepsPerSec}) {
			return fmt.Errorf("episode %d: return %g over %d steps is not finite (the simulation diverged)", e, ep.Return, len(ep.Rewards))
		}
		last, lastParams = ep, append([]float64(nil), env.Params...)
		if rec != nil {
			lastPaths = rec.paths
		}
		pe := planEpisode{Episode: e, Seed: epSeed, Return: ep.Return, Steps: len(ep.Rewards), Success: ep.Success,
			WallSeconds: ep.Wall.Seconds(), StepsPerSec: ep.StepsPerSec, SimSteps: ep.SimStepsPerSec, NonFinite: ep.NonFinite,
			Profile: profileOf(ep)}
		if *profile {
			p := pe.Profile
			fmt.Fprintf(stderr, "profile: episode %d: per planning step %.2f ms = %.2f ms device + %.2f ms host (%.0f%% host; %.2f ms of it packing and unpacking in the evaluator); %.0f B up, %.0f B down\n",
				e, 1e3*p.PlanSeconds, 1e3*p.DeviceSeconds, 1e3*p.HostSeconds, 100*p.HostSeconds/max(p.PlanSeconds, 1e-12), 1e3*p.EvaluatorHostSeconds, p.BytesUp, p.BytesDown)
		}
		if ep.Success != nil {
			withSuccess++
			if *ep.Success {
				successes++
			}
		}
		sum.Episodes = append(sum.Episodes, pe)
		if !*asJSON {
			succ := ""
			if ep.Success != nil {
				succ = fmt.Sprintf(", success %v", *ep.Success)
			}
			fmt.Fprintf(stdout, "episode %d: return %.1f over %d steps%s, %.1f s, %.1f env steps/s (%.0f simulated control steps/s)\n",
				e, ep.Return, len(ep.Rewards), succ, ep.Wall.Seconds(), ep.StepsPerSec, ep.SimStepsPerSec)
		}
	}
	var mean, sq float64
	for _, e := range sum.Episodes {
		mean += e.Return
	}
	mean /= float64(len(sum.Episodes))
	for _, e := range sum.Episodes {
		sq += (e.Return - mean) * (e.Return - mean)
	}
	sum.MeanReturn, sum.StdReturn = mean, math.Sqrt(sq/float64(len(sum.Episodes)))
	if withSuccess > 0 {
		r := float64(successes) / float64(withSuccess)
		sum.SuccessRate = &r
	}
	if trajF != nil {
		tr := episodeTraj(task, last, lastParams)
		tr.Paths = lastPaths
		if err := viewer.EncodeTraj(trajF, tr); err != nil {
			return fmt.Errorf("--save-traj: %w", err)
		}
		if ctx.Err() != nil {
			return errInterrupted(ctx)
		}
		if err := trajF.Commit(); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(stdout, "%s %s, budget %d (N %d × %d iterations), horizon %d, %s: mean return %.1f ± %.1f over %d episodes\n",
		task.Name, *planner, *budget, cfg.Population, cfg.Iterations, *horizon, backendName, sum.MeanReturn, sum.StdReturn, len(sum.Episodes))
	return nil
}

// episodeTraj turns a planner episode into a trajectory file.
func episodeTraj(task *batchsim.Task, ep *icem.Episode, params []float64) *viewer.Trajectory {
	m := task.Model
	tr := &viewer.Trajectory{Version: viewer.TrajVersion, Task: task.Name, Model: m.File, Nq: m.Nq, Nv: m.Nv,
		Dt: task.ControlDt(), Params: params, Actions: ep.Actions, Rewards: ep.Rewards}
	for _, s := range ep.States {
		tr.Qpos = append(tr.Qpos, s[:m.Nq])
		tr.Qvel = append(tr.Qvel, s[m.Nq:])
	}
	return tr
}

// pathRecorder keeps, per step of an episode, the paths of the root body
// under the planner's elite sequences and its best one, for the viewer's
// overlay. It replays each sequence from the state the step started from.
type pathRecorder struct {
	env        *batchsim.Env // the episode's environment
	sim        *batchsim.Env // scratch world for the replays
	qpos, qvel []float64     // start state of the current step
	paths      [][]viewer.PlannedPath
}

func newPathRecorder(env *batchsim.Env) *pathRecorder {
	r := &pathRecorder{env: env, sim: batchsim.NewEnv(env.Task)}
	r.sim.Params = env.Params
	r.qpos = append([]float64(nil), env.Data.Qpos...)
	r.qvel = append([]float64(nil), env.Data.Qvel...)
	return r
}

// record is called after each step with the sequences that planned it: the
// final elites and the best (executed) one.
func (r *pathRecorder) record(best []float64, elites [][]float64, env *batchsim.Env) {
	var step []viewer.PlannedPath
	if best != nil {
		for _, seq := range elites {
			step = append(step, r.replay(seq, false))
		}
		step = append(step, r.replay(best, true))
	}
	r.paths = append(r.paths, step)
	copy(r.qpos, env.Data.Qpos)
	copy(r.qvel, env.Data.Qvel)
}

// replay rolls seq out from the step's start state and returns the path of
// body 1 (the root of the tree).
func (r *pathRecorder) replay(seq []float64, best bool) viewer.PlannedPath {
	m := r.sim.Task.Model
	nu := m.Nu
	r.sim.SetState(r.qpos, r.qvel)
	p := viewer.PlannedPath{Body: m.BodyName[1], Best: best, Points: [][3]float64{r.sim.Data.Xpos[1]}}
	for t := 0; t+nu <= len(seq); t += nu {
		if _, _, err := r.sim.Act(seq[t : t+nu]); err != nil {
			break
		}
		batchsim.Forward(m, r.sim.Data)
		p.Points = append(p.Points, r.sim.Data.Xpos[1])
	}
	return p
}
