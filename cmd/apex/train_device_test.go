package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// hostFactory makes the host planner, standing in for the device's where
// no device is needed.
func hostFactory(task *batchsim.Task, cfg icem.Config) (icem.StepPlanner, error) {
	return icem.New(task, batchsim.NewCPU(1), cfg)
}

// train --plan-on device plans the expert rollouts and the DAgger
// relabelling on the GPU device (lavapipe here), elite-mean labels read
// back from it: a tiny run whose config.json keeps plan_on device and
// names the device planner, and which --resume continues on the device.
func TestTrainOnDevice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runCLI(t, "train", "--task", "halfcheetah", "--plan-on", "device", "--backend", "gpu",
		"--iterations", "1", "--expert-rollouts", "1", "--dagger-rollouts", "1", "--episode-len", "3", "--budget", "20",
		"--horizon", "3", "--hidden", "8", "--train-steps", "2", "--batch-size", "4", "--eval-episodes", "1",
		"--label", "elite-mean", "--workers", "1", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res trainResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Completed != 1 || len(res.Rows) != 1 || res.Config.PlanOn != apex.PlanOnDevice || !strings.Contains(res.Config.Backend, "device planner") {
		t.Fatalf("result %+v", res)
	}
	if m := res.Rows[0]; m.DAggerPairs != 3 || m.DatasetPairs != 6 {
		t.Fatalf("metrics %+v: want 3 expert and 3 DAgger pairs", m)
	}
	if c, err := apex.LoadRunConfig(dir); err != nil || c.PlanOn != apex.PlanOnDevice {
		t.Fatalf("config.json: plan_on %q, %v", c.PlanOn, err)
	}
	// --resume plans on the device again, as config.json says, without
	// being told.
	code, out, errOut = runCLI(t, "train", "--resume", dir, "--iterations", "2", "--backend", "gpu", "--json", "--workers", "1")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "planning on the device: device planner") {
		t.Errorf("resume does not say it plans on the device: %s", errOut)
	}
	res = trainResult{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Completed != 2 || res.Config.PlanOn != apex.PlanOnDevice {
		t.Fatalf("resumed: %v, %+v", err, res)
	}
}

// Combinations train cannot plan with are usage errors naming the flag,
// before any run folder is made or device opened: the device planner with
// the CPU backend, an unknown --plan-on, and changing --plan-on (or
// giving a device run the CPU backend) on --resume.
func TestTrainPlanOnRefuses(t *testing.T) {
	// A device run folder (no iteration complete), made without a device.
	devRun := filepath.Join(t.TempDir(), "dev")
	cfg := apex.RunConfig{Task: "halfcheetah", Iterations: 1, EpisodeLen: 2, Budget: 20, Horizon: 2, Hidden: []int{4}, TrainSteps: 1, BatchSize: 4,
		PlanOn: apex.PlanOnDevice}
	if _, err := apex.Create(devRun, cfg, nil, false, apex.OpenOptions{Planner: hostFactory}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--plan-on", "device", "--backend", "cpu"}, "--backend"},
		{[]string{"--plan-on", "tpu"}, "--plan-on"},
		{[]string{"--resume", devRun, "--plan-on", "host"}, "--plan-on"},
		{[]string{"--resume", devRun, "--plan-on", "device"}, "--plan-on"},
		{[]string{"--resume", devRun, "--backend", "cpu"}, "--backend"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "--out", out}, c.args...)
		if c.args[0] == "--resume" {
			args = append([]string{"train"}, c.args...)
		}
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %s named", args, code, errOut, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v made %s", args, out)
		}
	}
	if c, err := apex.LoadRunConfig(devRun); err != nil || c.PlanOn != apex.PlanOnDevice {
		t.Fatalf("the refused resumes changed config.json: plan_on %q, %v", c.PlanOn, err)
	}
}
