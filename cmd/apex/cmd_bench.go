package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/mjref"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "Measure rollout throughput per backend and batch size (physics steps/s, simulated s per wall s), beside MuJoCo.",
		usage:   "bench [--task NAME] [--backend cpu|gpu|all] [--batch 64,256,...] [--horizon H] [--check] [--json] | bench --planner [--sizes 1x4096,64x100,...] [--steps K] [--guided=false] [--plan-on host|device|both] [--backend ...] [--kernel auto|specialized|generic|lean]",
		run:     runBench,
	})
}

type benchRow struct {
	Backend        string  `json:"backend"`
	Workers        int     `json:"workers,omitempty"`
	Batch          int     `json:"batch"`
	Horizon        int     `json:"horizon"`
	FrameSkip      int     `json:"frame_skip"`
	Seconds        float64 `json:"seconds"`
	RolloutsPerSec float64 `json:"rollouts_per_sec"`
	StepsPerSec    float64 `json:"steps_per_sec"`
	StepsPerSecCPU float64 `json:"steps_per_sec_per_core,omitempty"`
	SimPerWall     float64 `json:"sim_seconds_per_wall_second"`
	RatioToCPU     float64 `json:"ratio_to_cpu_all_cores,omitempty"`
	MaxRelDiff     float64 `json:"max_rel_diff_vs_cpu,omitempty"`
}

// Limits of apex bench, checked before anything is allocated: the batch
// holds batch × horizon × nu sampled actions (and the evaluators a state
// per rollout).
const (
	// maxBenchBatch bounds each --batch size (rollouts per call).
	maxBenchBatch = 1 << 20
	// maxBenchActions bounds batch × horizon × nu (512 MiB of float64).
	maxBenchActions = 1 << 26
	// maxBenchHorizon bounds --horizon.
	maxBenchHorizon = 10000
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["bench"], stderr)
	taskName := fs.String("task", "halfcheetah", "task to benchmark")
	backend := fs.String("backend", "cpu", "backends to measure: cpu, gpu or all")
	batches := fs.String("batch", "64,256,1024,4096,16384", "batch sizes (rollouts per call)")
	horizon := fs.Int("horizon", 30, "control steps per rollout")
	reps := fs.Int("reps", 1, "calls per measurement (the fastest counts)")
	check := fs.Bool("check", false, "compare the GPU's cost terms with the CPU's on each batch")
	asJSON := fs.Bool("json", false, "print rows as JSON")
	mjModel := fs.String("mujoco-model", "", "model file for MuJoCo's row (mujoco-testspeed; default: the task's gym file in the repository's models/ folder, when run from the repository, none for tasks without one)")
	seed := fs.Uint64("seed", 1, "random seed of the actions")
	planner := fs.Bool("planner", false, "measure whole planning steps (host and evaluator) for the --sizes P×N instead of rollouts")
	plannerSizes := fs.String("sizes", "1x4096,1x16384,1x65536,64x100", "with --planner: P problems × N samples (first CEM iteration)")
	plannerSteps := fs.Int("steps", 3, "with --planner: planning steps measured per size")
	guided := fs.Bool("guided", true, "with --planner: plan with a (random) policy, as APEX does: iCEMπ's warm start, policy sample and guidance cost")
	setKernel := kernelFlag(fs)
	planOn := fs.String("plan-on", "host", "with --planner: host (the CPU planner over --backend's evaluators), device (the device planner: the whole step on the GPU device) or both")
	if err := parse(fs, args); err != nil {
		return err
	}
	task, err := batchsim.NewTask(*taskName)
	if err != nil {
		return usageError{fmt.Errorf("--task: %w", err)}
	}
	if err := setKernel(); err != nil {
		return err
	}
	if *horizon < 1 || *horizon > maxBenchHorizon || *reps < 1 {
		return usagef("--horizon %d, --reps %d: want a horizon of 1..%d and reps ≥ 1", *horizon, *reps, maxBenchHorizon)
	}
	var psizes []plannerSize
	if *planner {
		if psizes, err = parsePlannerSizes(*plannerSizes, *horizon, task.Model.Nu); err != nil {
			return usageError{err}
		}
		if *plannerSteps < 1 || *plannerSteps > 1000 {
			return usagef("--steps %d: want 1..1000", *plannerSteps)
		}
	}
	var sizes []int
	for _, s := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return usagef("--batch: %q is not a positive integer", s)
		}
		if n > maxBenchBatch {
			return usagef("--batch %d: at most %d rollouts per call", n, maxBenchBatch)
		}
		if a := int64(n) * int64(*horizon) * int64(task.Model.Nu); a > maxBenchActions {
			return usagef("--batch %d × --horizon %d × %d actuators = %d sampled action values: at most %d",
				n, *horizon, task.Model.Nu, a, maxBenchActions)
		}
		sizes = append(sizes, n)
	}
	type be struct {
		name    string
		workers int
		ev      batchsim.Evaluator
	}
	var bes []be
	cores := runtime.GOMAXPROCS(0)
	if *backend == "cpu" || *backend == "all" {
		bes = append(bes, be{"cpu", 1, batchsim.NewCPU(1)}, be{"cpu", cores, batchsim.NewCPU(cores)})
	}
	if *backend == "gpu" || *backend == "all" {
		ev, err := openBackend("gpu", 0)
		if err != nil {
			return err
		}
		defer ev.Close()
		bes = append(bes, be{"gpu", 0, ev})
	}
	if len(bes) == 0 {
		return usagef("--backend %q: want cpu, gpu or all", *backend)
	}
	if *planner {
		var evs []batchsim.Evaluator
		for _, e := range bes {
			if e.name == "cpu" && e.workers == 1 && len(bes) > 1 {
				continue // the planner's CPU row uses every core
			}
			evs = append(evs, e.ev)
		}
		return benchPlanner(stdout, task, evs, *planOn, psizes, *horizon, *plannerSteps, *guided, *asJSON, *seed)
	}
	m := task.Model
	// One untimed call per backend: the GPU backend compiles its kernel for
	// the task on the first call.
	firstCall := map[string]float64{}
	kept := bes[:0]
	for _, e := range bes {
		warm := &batchsim.Batch{Task: task, Problems: 1, Samples: 1, Horizon: 1,
			Qpos: append([]float64(nil), m.Qpos0...), Qvel: make([]float64, m.Nv), Params: make([]float64, task.NParam),
			Actions: make([]float64, m.Nu)}
		t0 := time.Now()
		if err := e.ev.Evaluate(warm, &batchsim.Result{}); err != nil {
			if e.name == "gpu" && *backend == "all" {
				// --backend all measures what can run: a GPU that refuses
				// the task (a feature the kernel lacks, a software
				// adapter's loop limit) leaves the CPU and MuJoCo rows.
				fmt.Fprintf(stderr, "apex bench: %s not measured: %v\n", e.ev.Name(), err)
				continue
			}
			return fmt.Errorf("%s: %w", e.ev.Name(), err)
		}
		if e.name == "gpu" {
			firstCall[e.ev.Name()] = time.Since(t0).Seconds()
		}
		kept = append(kept, e)
	}
	bes = kept
	rng := rand.New(rand.NewPCG(*seed, 1))
	var rows []benchRow
	for _, size := range sizes {
		b := &batchsim.Batch{Task: task, Problems: 1, Samples: size, Horizon: *horizon,
			Qpos: append([]float64(nil), m.Qpos0...), Qvel: make([]float64, m.Nv), Params: make([]float64, task.NParam),
			Actions: make([]float64, size**horizon*m.Nu)}
		for i := range b.Actions {
			k := i % m.Nu
			b.Actions[i] = task.ActLow[k] + rng.Float64()*(task.ActHigh[k]-task.ActLow[k])
		}
		var cpuAll *batchsim.Result
		var cpuAllRate float64
		for _, e := range bes {
			var res batchsim.Result
			best := math.Inf(1)
			for range *reps {
				t0 := time.Now()
				if err := e.ev.Evaluate(b, &res); err != nil {
					return fmt.Errorf("%s: %w", e.ev.Name(), err)
				}
				best = min(best, time.Since(t0).Seconds())
			}
			steps := float64(size * *horizon * task.FrameSkip)
			row := benchRow{Backend: e.name, Workers: e.workers, Batch: size, Horizon: *horizon, FrameSkip: task.FrameSkip,
				Seconds: best, RolloutsPerSec: float64(size) / best, StepsPerSec: steps / best,
				SimPerWall: steps * m.Opt.Timestep / best}
			if e.workers > 0 {
				row.StepsPerSecCPU = row.StepsPerSec / float64(e.workers)
			}
			if e.name == "cpu" && e.workers == cores {
				cpuAll = &res
				cpuAllRate = row.StepsPerSec
			}
			if e.name == "gpu" && cpuAllRate > 0 {
				row.RatioToCPU = row.StepsPerSec / cpuAllRate
			}
			if e.name == "gpu" && *check {
				ref := cpuAll
				if ref == nil {
					ref = new(batchsim.Result)
					if err := batchsim.NewCPU(cores).Evaluate(b, ref); err != nil {
						return err
					}
				}
				row.MaxRelDiff = maxRelDiff(res.Main, ref.Main)
			}
			rows = append(rows, row)
		}
	}
	var mjRate float64
	var mjErr error
	if *mjModel == "" {
		*mjModel = mujocoModels[task.Name]
	}
	if *mjModel == "" {
		mjErr = fmt.Errorf("task %s has no reference model file; name one with --mujoco-model", task.Name)
	} else if _, err := os.Stat(*mjModel); err == nil {
		mjRate, mjErr = mjref.TestSpeed(*mjModel, 50000)
	} else {
		mjErr = err
	}
	if *asJSON {
		// JSON holds no NaN or infinity: a measurement that is not finite
		// (a GPU that returned NaN costs) is an error that says which.
		for _, r := range rows {
			if !finite([]float64{r.Seconds, r.RolloutsPerSec, r.StepsPerSec, r.StepsPerSecCPU, r.SimPerWall, r.RatioToCPU, r.MaxRelDiff}) {
				return fmt.Errorf("%s batch %d: a measurement is not finite: %+v", r.Backend, r.Batch, r)
			}
		}
		if !finite([]float64{mjRate}) {
			mjErr = fmt.Errorf("mujoco-testspeed rate %g is not finite", mjRate)
		}
		out := map[string]any{"task": task.Name, "rows": rows, "gpu_first_call_seconds": firstCall}
		if mjErr == nil {
			out["mujoco_steps_per_sec_single_core"] = mjRate
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "task %s: horizon %d, frame skip %d, timestep %g s\n", task.Name, *horizon, task.FrameSkip, m.Opt.Timestep)
	for name, s := range firstCall {
		fmt.Fprintf(stdout, "%s: first call %.2f s (the kernel's compile for the task, one tiny dispatch; untimed below)\n", name, s)
	}
	fmt.Fprintf(stdout, "%-8s %7s %7s %12s %14s %14s %10s %9s\n", "backend", "workers", "batch", "rollouts/s", "steps/s", "steps/s/core", "sim s/s", "gpu/cpu")
	for _, r := range rows {
		ratio := ""
		if r.RatioToCPU > 0 {
			ratio = fmt.Sprintf("%.2f", r.RatioToCPU)
		}
		perCore := ""
		if r.StepsPerSecCPU > 0 {
			perCore = fmt.Sprintf("%.0f", r.StepsPerSecCPU)
		}
		fmt.Fprintf(stdout, "%-8s %7d %7d %12.0f %14.0f %14s %10.0f %9s\n", r.Backend, r.Workers, r.Batch, r.RolloutsPerSec, r.StepsPerSec, perCore, r.SimPerWall, ratio)
		if r.MaxRelDiff > 0 {
			fmt.Fprintf(stdout, "         largest relative difference of the main cost, gpu vs cpu: %.3g\n", r.MaxRelDiff)
		}
	}
	if mjErr == nil {
		fmt.Fprintf(stdout, "%-8s %7d %7s %12s %14.0f %14.0f %10.0f   (mujoco-testspeed %s 50000 1 0)\n", "mujoco", 1, "-", "-", mjRate, mjRate, mjRate*m.Opt.Timestep, *mjModel)
	} else {
		fmt.Fprintf(stdout, "mujoco: no reference row (%v)\n", mjErr)
	}
	return nil
}

// mujocoModels are the unmodified gym (and Gymnasium-Robotics) files of the
// tasks built from one, in the repository's models/ folder (relative to the
// repository root, where `make bench` runs). The door task runs its file
// without three door–table pairs that never touch in MuJoCo.
var mujocoModels = map[string]string{
	"halfcheetah":     filepath.Join("models", "half_cheetah.xml"),
	"humanoidstandup": filepath.Join("models", "humanoidstandup.xml"),
	"door":            filepath.Join("models", "adroit", "adroit_door.xml"),
}

func maxRelDiff(a, b []float64) float64 {
	worst := 0.0
	for i := range a {
		d := math.Abs(a[i]-b[i]) / math.Max(1, math.Abs(b[i]))
		worst = math.Max(worst, d)
	}
	return worst
}
