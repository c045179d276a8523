package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/apex-robotics/apex/viewer"
)

func init() {
	// The window (GLFW) must run on the main OS thread: lock the main
	// goroutine, which runs the command, to it before main starts.
	runtime.LockOSThread()
	register(&command{
		name:      "view",
		summary:   "Open a window that plays a .traj file (or a run folder's newest), or shows a policy or the planner controlling a task live.",
		usage:     "view (FILE.traj | RUN_DIR | --task T --live) [--policy P] [--model PATH.xml] [--width W --height H] [--azimuth A --elevation E --distance D] [--lookat X,Y,Z] [--no-track]",
		takesArgs: true,
		run:       runView,
	})
}

func runView(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["view"], stderr)
	taskName := fs.String("task", "", "task to control live (with --live)")
	policyPath := fs.String("policy", "", "policy.json: with --live the policy controls the task (else the iCEM planner does)")
	live := fs.Bool("live", false, "control the task live from the start: Enter stops and restarts the controller")
	modelPath := fs.String("model", "", "model file (default: the trajectory's task, else the model file it names)")
	width := fs.Int("width", 1280, "window width")
	height := fs.Int("height", 720, "window height")
	budget := fs.Int("budget", 45, "live planner: sampled trajectories per step")
	horizon := fs.Int("horizon", 30, "live planner: horizon in control steps")
	backend := fs.String("backend", "cpu", "live planner: rollout backend cpu, gpu or auto")
	seed := fs.Uint64("seed", 1, "live: random seed of the reset and the planner")
	maxFrames := fs.Int("max-frames", 0, "close after drawing this many frames (scripted captures)")
	screenshot := fs.String("screenshot", "", "write the last frame to this PNG when the window closes")
	cf := addCamFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if *width < 1 || *height < 1 || *width > 8192 || *height > 8192 {
		return usagef("--width/--height %d×%d: want 1..8192 (the renderer's limit)", *width, *height)
	}
	if *budget > maxPlanBudget || *horizon < 1 || *horizon > maxPlanHorizon {
		return usagef("--budget %d, --horizon %d: want a budget of at most %d and a horizon of 1..%d", *budget, *horizon, maxPlanBudget, maxPlanHorizon)
	}
	if *screenshot != "" {
		if err := checkOutput("screenshot", *screenshot); err != nil {
			return err
		}
	}
	opt := viewer.WindowOptions{Width: *width, Height: *height, MaxFrames: *maxFrames, Screenshot: *screenshot}
	switch {
	case *live:
		if fs.NArg() != 0 {
			return usagef("--live takes no file")
		}
		if *taskName == "" {
			return usagef("--live needs --task")
		}
		task, err := batchsim.NewTask(*taskName)
		if err != nil {
			return usageError{fmt.Errorf("--task: %w", err)}
		}
		lv, err := newLiveRun(task, *policyPath, *budget, *horizon, *backend, *seed)
		if err != nil {
			return err
		}
		defer lv.close()
		opt.Model, opt.Live = task.Model, lv
		lv.Toggle() // control from the start; Enter stops and restarts
	default:
		if fs.NArg() != 1 {
			return usagef("want one FILE.traj or RUN_DIR (or --task T --live)")
		}
		path, err := trajPath(fs.Arg(0))
		if err != nil {
			return err
		}
		tr, err := viewer.LoadTraj(path)
		if err != nil {
			return err
		}
		if opt.Model, err = viewer.ModelFor(tr, *modelPath); err != nil {
			return err
		}
		opt.Traj = tr
	}
	if !viewer.HasWindow {
		return viewer.Show(opt)
	}
	cam := viewer.DefaultCamera(opt.Model)
	cf.apply(&cam)
	opt.Camera = &cam
	if err := viewer.Show(opt); err != nil {
		if errors.Is(err, viewer.ErrNoDisplay) {
			return fmt.Errorf("%w; e.g. apex render FILE.traj --out episode.gif", err)
		}
		return err
	}
	return nil
}

// trajPath returns arg if it is a file, or the newest .traj of a run folder
// (its trajectories/ folder, or the folder itself).
func trajPath(arg string) (string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return arg, nil
	}
	var found []string
	for _, dir := range []string{filepath.Join(arg, "trajectories"), arg} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.traj"))
		found = append(found, m...)
	}
	if len(found) == 0 {
		return "", fmt.Errorf("%s: no .traj files in it or in its trajectories/ folder", arg)
	}
	mod := func(p string) time.Time {
		st, err := os.Stat(p)
		if err != nil {
			return time.Time{}
		}
		return st.ModTime()
	}
	sort.Slice(found, func(i, j int) bool { return mod(found[i]).After(mod(found[j])) })
	return found[0], nil
}

// liveRun is an episode controlled live by a policy or the iCEM planner,
// in its own goroutine, paced to real time.
type liveRun struct {
	task   *batchsim.Task
	env    *batchsim.Env
	policy *apex.Policy
	pl     *icem.Planner
	ev     batchsim.Evaluator
	seed   uint64

	mu      sync.Mutex
	traj    viewer.Trajectory
	cancel  context.CancelFunc
	done    chan struct{}
	running bool
}

func newLiveRun(task *batchsim.Task, policyPath string, budget, horizon int, backend string, seed uint64) (*liveRun, error) {
	m := task.Model
	lv := &liveRun{task: task, env: batchsim.NewEnv(task), seed: seed,
		traj: viewer.Trajectory{Version: viewer.TrajVersion, Task: task.Name, Model: m.File, Nq: m.Nq, Nv: m.Nv, Dt: task.ControlDt()}}
	lv.env.Reset(rand.New(rand.NewPCG(seed, 0x5EED)))
	lv.traj.Qpos = append(lv.traj.Qpos, append([]float64(nil), lv.env.Data.Qpos...))
	if policyPath != "" {
		p, err := apex.LoadPolicy(policyPath)
		if err != nil {
			return nil, err
		}
		if p.ActDim() != m.Nu || p.ObsDim() != task.ObsDim() {
			return nil, fmt.Errorf("--policy %s: %d observations → %d actions, task %s has %d → %d",
				policyPath, p.ObsDim(), p.ActDim(), task.Name, task.ObsDim(), m.Nu)
		}
		lv.policy = p
		return lv, nil
	}
	cfg, err := icem.Default(task.Beta, budget)
	if err != nil {
		return nil, usageError{fmt.Errorf("--budget: %w", err)}
	}
	cfg.Horizon = horizon
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	if lv.ev, err = openBackend(backend, 0); err != nil {
		return nil, err
	}
	if lv.pl, err = icem.New(task, lv.ev, cfg); err != nil {
		lv.ev.Close()
		return nil, err
	}
	return lv, nil
}

func (lv *liveRun) Traj() *viewer.Trajectory {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	t := lv.traj // the slices only grow: a copy of the headers is a stable snapshot
	return &t
}

func (lv *liveRun) Running() bool {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.running
}

func (lv *liveRun) Toggle() {
	lv.mu.Lock()
	if lv.running {
		cancel, done := lv.cancel, lv.done
		lv.mu.Unlock()
		cancel()
		<-done
		return
	}
	if lv.env.Done() {
		lv.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	lv.running, lv.cancel, lv.done = true, cancel, make(chan struct{})
	lv.mu.Unlock()
	go lv.control(ctx)
}

// record appends the env's state after a step that earned reward.
func (lv *liveRun) record(reward float64) {
	q := append([]float64(nil), lv.env.Data.Qpos...)
	lv.mu.Lock()
	lv.traj.Qpos = append(lv.traj.Qpos, q)
	lv.traj.Rewards = append(lv.traj.Rewards, reward)
	lv.mu.Unlock()
}

// control runs the controller until ctx ends or the episode does, sleeping
// so that one control step takes at least its simulated duration.
func (lv *liveRun) control(ctx context.Context) {
	defer func() {
		lv.mu.Lock()
		lv.running = false
		close(lv.done)
		lv.mu.Unlock()
	}()
	start, steps0 := time.Now(), lv.env.Step
	pace := func() {
		due := start.Add(time.Duration(float64(lv.env.Step-steps0) * lv.traj.Dt * float64(time.Second)))
		time.Sleep(time.Until(due))
	}
	if lv.policy != nil {
		obs := make([]float64, lv.policy.ObsDim())
		act := make([]float64, lv.task.Model.Nu)
		for ctx.Err() == nil && !lv.env.Done() {
			lv.env.Observe(obs)
			lv.policy.Act(obs, act)
			r, _, err := lv.env.Act(act)
			if err != nil {
				return
			}
			lv.record(r)
			pace()
		}
		return
	}
	lastReturn := 0.0
	lv.seed++
	_, _ = icem.RunEpisode(ctx, lv.pl, lv.env, icem.EpisodeOptions{Seed: lv.seed, Progress: func(p icem.Progress) {
		lv.record(p.Return - lastReturn)
		lastReturn = p.Return
		pace()
	}})
}

func (lv *liveRun) close() {
	if lv.Running() {
		lv.Toggle()
	}
	if lv.ev != nil {
		lv.ev.Close()
	}
}
