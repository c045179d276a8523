package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "Run a trained policy alone (no planner): returns, success and its control rate.",
		usage:   "eval --policy DIR|FILE [--task NAME] [--episodes E] [--steps T] [--seed S] [--workers W] [--save-traj F] [--json]",
		run:     runEval,
	})
}

type evalOutput struct {
	Policy string `json:"policy"`
	Task   string `json:"task"`
	Seed   uint64 `json:"seed"`
	*apex.EvalResult
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["eval"], stderr)
	policyPath := fs.String("policy", "", "policy.json, or a run folder (its policy.json)")
	taskName := fs.String("task", "", "task name (default: the run folder's task, else halfcheetah)")
	episodes := fs.Int("episodes", 10, "episodes to run")
	workers := fs.Int("workers", 0, "goroutines running the episodes (default: one per core; results do not depend on it)")
	steps := fs.Int("steps", 0, "control steps per episode (default: the task's episode length)")
	seed := fs.Uint64("seed", 1000, "seed of the episodes' start states")
	saveTraj := fs.String("save-traj", "", "write the first episode as a .traj file")
	asJSON := fs.Bool("json", false, "print one JSON object with all results")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *policyPath == "" {
		return usagef("--policy is required")
	}
	if *episodes < 1 || *episodes > apex.MaxRollouts || *steps < 0 || *steps > apex.MaxEpisodeLen || *workers < 0 || *workers > maxWorkers {
		return usagef("--episodes must be in [1, %d], --steps in [0, %d] and --workers in [0, %d]", apex.MaxRollouts, apex.MaxEpisodeLen, maxWorkers)
	}
	if *saveTraj != "" {
		if err := checkOutput("save-traj", *saveTraj); err != nil {
			return err
		}
	}
	file, name := *policyPath, *taskName
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		if name == "" && apex.IsRunFolder(file) {
			c, err := apex.LoadRunConfig(file)
			if err != nil {
				return err
			}
			name = c.Task
		}
		file = filepath.Join(file, apex.PolicyFile)
	}
	if name == "" {
		name = "halfcheetah"
	}
	task, err := batchsim.NewTask(strings.ToLower(name))
	if err != nil {
		return usageError{fmt.Errorf("--task: %w", err)}
	}
	pol, err := apex.LoadPolicy(file)
	if err != nil {
		return err
	}
	if pol.ObsDim() != task.ObsDim() || pol.ActDim() != task.Model.Nu {
		return fmt.Errorf("policy %s maps %d observations to %d actions; task %s has %d and %d",
			file, pol.ObsDim(), pol.ActDim(), task.Name, task.ObsDim(), task.Model.Nu)
	}
	ctx, stop := interruptContext()
	defer stop()
	res, err := apex.EvalPolicy(ctx, pol, task, *episodes, *steps, *seed, *workers)
	if err != nil {
		return err
	}
	if *saveTraj != "" {
		ep := res.Episode(0)
		if err := saveRunTraj(*saveTraj, task, &apex.TrajRecord{Kind: "policy", States: ep.States, Actions: ep.Actions, Rewards: ep.Rewards}); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(evalOutput{Policy: file, Task: task.Name, Seed: *seed, EvalResult: res})
	}
	for e, r := range res.Returns {
		fmt.Fprintf(stdout, "episode %d: return %.1f\n", e, r)
	}
	succ := ""
	if res.SuccessRate != nil {
		succ = fmt.Sprintf(", success rate %.3f", *res.SuccessRate)
	}
	div := ""
	if res.Diverged > 0 {
		div = fmt.Sprintf(" (%d diverged and ended early)", res.Diverged)
	}
	fmt.Fprintf(stdout, "%s, policy alone: mean return %.1f (95%% CI ± %.1f, std %.1f) over %d episodes%s%s\n",
		task.Name, res.MeanReturn, res.CI95, res.StdReturn, len(res.Returns), succ, div)
	fmt.Fprintf(stdout, "control rate: %.0f actions/s (policy inference, one core); %.0f env steps/s with the simulation\n", res.ActionsPerSec, res.EnvStepsPerSec)
	return nil
}
