package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apex-robotics/apex/apex"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "A short APEX run on HalfCheetah Running (a few minutes on 2 cores) that leaves a run folder with plots.",
		usage:   "demo [--out DIR] [--backend cpu|gpu|auto] [--workers N] [--json]",
		run:     runDemo,
	})
}

// demoConfig is the demo's run: HalfCheetah Running at budget 45 (the
// paper's small budget) with 200-step episodes (the paper's are 1000 steps)
// and 300 gradient steps at batch 256 per training call (the paper: 1000 at
// 1024), 12 iterations, the policy evaluated on 10 episodes each: the
// experiment of issue 11, in which the policy's return rises clearly above
// its first iteration's (a few minutes on 2 cores).
const demoConfig = `{
  "task": "halfcheetah",
  "method": "apex",
  "seed": 1,
  "iterations": 12,
  "episode_len": 200,
  "eval_episodes": 10,
  "budget": 45,
  "horizon": 30,
  "relabel": "memory",
  "label": "best",
  "train_steps": 300,
  "batch_size": 256
}`

// demoMarker marks a run folder made by apex demo, the only kind it
// replaces.
const demoMarker = ".apex-demo"

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["demo"], stderr)
	out := fs.String("out", "runs/demo", "run folder (an earlier demo run there is replaced; nothing else is)")
	backend := fs.String("backend", "auto", "rollout backend: cpu, gpu or auto")
	workers := fs.Int("workers", 0, "CPU workers (default: one per core)")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *workers < 0 || *workers > maxWorkers {
		return usagef("--workers %d outside [0, %d]", *workers, maxWorkers)
	}
	var cfg apex.RunConfig
	if err := json.Unmarshal([]byte(demoConfig), &cfg); err != nil {
		panic("apex demo: embedded config: " + err.Error())
	}
	ev, err := openBackend(*backend, *workers)
	if err != nil {
		return err
	}
	defer ev.Close()
	// Overwrite only an earlier demo run (it carries demoMarker): another
	// run, or any other folder, is the user's and is never deleted.
	overwrite := false
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(*out, demoMarker)); err != nil {
			return usagef("--out %s holds files that apex demo did not make; it replaces only its own earlier run: choose another --out", *out)
		}
		overwrite = true
	}
	r, err := apex.Create(*out, cfg, ev, overwrite)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, demoMarker), []byte("made by apex demo: the next apex demo with this --out replaces this folder\n"), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	c := r.Config
	fmt.Fprintf(stderr, "apex demo: %d APEX iterations on %s (budget %d, %d-step episodes, %d+%d gradient steps per iteration) into %s\n",
		c.Iterations, c.Task, c.Budget, c.EpisodeLen, c.TrainSteps, c.TrainSteps, r.Dir)
	return trainAndReport(r, stdout, stderr, *asJSON, *workers)
}
