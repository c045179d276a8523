package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/gpu"
)

// apex demo --out replaces only its own earlier run: a run made by apex
// train, or a folder of the user's files, is refused (exit 2) and kept.
func TestDemoKeepsOtherRuns(t *testing.T) {
	run := filepath.Join(t.TempDir(), "mine")
	cfg := apex.RunConfig{Task: "halfcheetah", Iterations: 1, EpisodeLen: 2, Budget: 20, Horizon: 2, Hidden: []int{4}, TrainSteps: 1, BatchSize: 4}
	if _, err := apex.Create(run, cfg, batchsim.NewCPU(1), false); err != nil {
		t.Fatal(err)
	}
	user := t.TempDir()
	if err := os.WriteFile(filepath.Join(user, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{run, user} {
		before, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "demo", "--out", dir, "--backend", "cpu")
		if code != 2 || !strings.Contains(errOut, "did not make") {
			t.Fatalf("demo --out %s: exit %d, %s", dir, code, errOut)
		}
		after, err := os.ReadDir(dir)
		if err != nil || len(after) != len(before) {
			t.Fatalf("demo --out %s changed the folder: %d entries before, %d after (%v)", dir, len(before), len(after), err)
		}
	}
	if !apex.IsRunFolder(run) {
		t.Fatal("the run lost its config.json")
	}
}

// Unknown DAgger relabel and label modes are usage errors, before any run
// folder is made.
func TestTrainRejectsUnknownModes(t *testing.T) {
	for _, args := range [][]string{{"--relabel", "batched"}, {"--relabel", "sequential"}, {"--label", "median"}} {
		out := filepath.Join(t.TempDir(), "run")
		code, _, errOut := runCLI(t, append([]string{"train", "--backend", "cpu", "--out", out}, args...)...)
		if code != 2 || !strings.Contains(errOut, args[1]) {
			t.Errorf("train %v: exit %d, %s", args, code, errOut)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("train %v made %s", args, out)
		}
	}
}

// eval checks --save-traj before the episodes, and a run folder whose
// config.json is corrupt is an error, not a silent HalfCheetah.
func TestEvalChecksFirst(t *testing.T) {
	dir := t.TempDir()
	cfg := apex.RunConfig{Task: "halfcheetah", Iterations: 1, EpisodeLen: 2, Budget: 20, Horizon: 2, Hidden: []int{4}, TrainSteps: 1, BatchSize: 4}
	if _, err := apex.Create(dir, cfg, batchsim.NewCPU(1), false); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "eval", "--policy", dir, "--save-traj", filepath.Join(dir, "nodir", "x.traj"))
	if code == 0 || !strings.Contains(errOut, "nodir") {
		t.Fatalf("eval --save-traj nodir/x.traj: exit %d, %s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, apex.ConfigFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "eval", "--policy", dir)
	if code == 0 || !strings.Contains(errOut, "config.json") {
		t.Fatalf("eval of a run with a corrupt config.json: exit %d, %s", code, errOut)
	}
	for _, args := range [][]string{{"train", "--workers", "-1"}, {"demo", "--workers", "-1"}, {"eval", "--policy", dir, "--workers", "-1"}} {
		if code, _, errOut := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}

// A controls file without line breaks (/dev/zero) is refused with the
// limit, not read into memory without end.
func TestControlsWithoutLineBreaks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.jsonl")
	code, _, errOut := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "2", "--ctrl-file", "/dev/zero", "--out", out)
	if code != 1 || !strings.Contains(errOut, "1048576") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an output was written")
	}
}

// apex kernel writes the task's specialised WGSL kernel or the shape
// --kernel names, and refuses an unknown task or shape as a usage error.
func TestKernelCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "k.wgsl")
	if code, _, errOut := runCLI(t, "kernel", "--task", "door-hook", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "@compute") || strings.Contains(string(b), "// DRIVER") {
		t.Fatalf("kernel file: %v", err)
	}
	if code, _, _ := runCLI(t, "kernel", "--task", "nope", "--out", out); code != 2 {
		t.Fatalf("unknown task: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "kernel", "--task", "door-hook", "--kernel", "lean", "--out", out); code != 0 {
		t.Fatalf("--kernel lean: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "world_mem[wgi].qpos[") {
		t.Fatalf("--kernel lean did not write the lean kernel: %v", err)
	}
	for _, bad := range [][]string{{"--kernel", "auto"}, {"--kernel", "fast"}, {"--generic", "--kernel", "lean"}} {
		args := append([]string{"kernel", "--task", "door-hook", "--out", out}, bad...)
		if code, _, errOut := runCLI(t, args...); code != 2 || !strings.Contains(errOut, "--") {
			t.Errorf("%v: exit %d (%s), want a usage error", bad, code, errOut)
		}
	}
}

// plan and train take --kernel: an unknown shape is a usage error, and the
// shape reaches the GPU evaluator (on a software adapter the specialised
// kernel refuses the Adroit door, which auto runs in the lean one, with
// the loop limit named).
func TestPlanTrainKernelFlag(t *testing.T) {
	for _, cmd := range [][]string{{"plan", "--steps", "1"}, {"train", "--out", filepath.Join(t.TempDir(), "run")}} {
		args := append(cmd, "--kernel", "fast")
		if code, _, errOut := runCLI(t, args...); code != 2 || !strings.Contains(errOut, "--kernel \"fast\"") {
			t.Errorf("%v: exit %d (%s), want a usage error naming --kernel", args, code, errOut)
		}
	}
	if _, err := gpu.Available(); !errors.Is(err, gpu.ErrSoftwareOnly) {
		return // a hardware GPU runs the door in every shape; no adapter: nothing to reach
	}
	code, _, errOut := runCLI(t, "plan", "--task", "door", "--backend", "gpu", "--kernel", "specialized", "--steps", "1", "--budget", "20", "--horizon", "2")
	if code == 0 || !strings.Contains(errOut, "specialized kernel") || !strings.Contains(errOut, "loop iterations") {
		t.Errorf("plan --kernel specialized on the door: exit %d, %q, want the loop limit named", code, errOut)
	}
	if gpuKernel != "specialized" {
		t.Errorf("after --kernel specialized the GPU opener has %q", gpuKernel)
	}
	if code, _, _ := runCLI(t, "plan", "--steps", "1", "--budget", "20", "--horizon", "2", "--backend", "cpu"); code != 0 || gpuKernel != "auto" {
		t.Errorf("plan without --kernel after one with it: exit %d, kernel %q, want auto", code, gpuKernel)
	}
}

// bench --planner measures whole planning steps: samples per step as the
// budget says, the host and evaluator seconds adding up to the step's.
func TestBenchPlanner(t *testing.T) {
	code, out, errOut := runCLI(t, "bench", "--planner", "--sizes", "2x20", "--steps", "1", "--horizon", "3", "--backend", "cpu", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Rows []plannerRow `json:"planner_rows"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Rows) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	r := res.Rows[0]
	// N = 20 = 2K: every CEM iteration simulates 20 fresh samples (the
	// memory's 3 elites kept, not simulated, after the first), and the
	// first iteration 3 more in the place of the last step's shifted
	// elites (a first step has none), for 2 problems.
	if r.Problems != 2 || r.Population != 20 || r.Samples != 2*(23+20+20) || !r.Guided {
		t.Fatalf("row %+v", r)
	}
	if d := r.PlanSeconds - r.DeviceSeconds - r.HostSeconds; d*d > 1e-18 || !(r.DeviceSeconds > 0) || !(r.HostSeconds > 0) {
		t.Fatalf("times do not add up: %+v", r)
	}
	if d := r.EvaluatorSeconds - r.DeviceSeconds - r.EvaluatorHostSeconds; d*d > 1e-18 || r.EvaluatorHostSeconds != 0 {
		t.Fatalf("evaluator time is not device + its host work (none on the CPU): %+v", r)
	}
	for _, bad := range []string{"2x10", "0x100", "1x70000", "axb"} {
		if code, _, _ := runCLI(t, "bench", "--planner", "--sizes", bad, "--backend", "cpu"); code != 2 {
			t.Errorf("--sizes %s: exit %d", bad, code)
		}
	}
}

// TestBenchAllWithoutTheGPU: --backend all where the GPU cannot run the
// task (on a software adapter the door in the specialised kernel, whose
// step exceeds llvmpipe's loop limit) says why and still measures the CPU
// and MuJoCo; --backend gpu alone then fails with the reason. On a hardware
// GPU the door runs in the automatic shape and has its row.
func TestBenchAllWithoutTheGPU(t *testing.T) {
	var kernel []string
	if _, err := gpu.Available(); errors.Is(err, gpu.ErrSoftwareOnly) {
		kernel = []string{"--kernel", "specialized"}
	}
	code, out, errOut := runCLI(t, append([]string{"bench", "--task", "door", "--backend", "all", "--batch", "4", "--horizon", "1",
		"--mujoco-model", repoModel(t, filepath.Join("adroit", "adroit_door.xml"))}, kernel...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cpuRows, gpuRows := 0, 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "cpu ") {
			cpuRows++
		}
		if strings.HasPrefix(l, "gpu ") {
			gpuRows++
		}
	}
	if cpuRows != 2 || !strings.Contains(out, "mujoco-testspeed") {
		t.Errorf("want two CPU rows and MuJoCo's, got:\n%s", out)
	}
	refused := strings.Contains(errOut, "not measured: gpu: task door")
	if refused == (gpuRows > 0) {
		t.Fatalf("the GPU was neither measured nor refused with a reason (or both): %d GPU rows, stderr %q", gpuRows, errOut)
	}
	if !refused {
		return
	}
	if code, _, errOut := runCLI(t, append([]string{"bench", "--task", "door", "--backend", "gpu", "--batch", "4", "--horizon", "1"}, kernel...)...); code == 0 || !strings.Contains(errOut, "task door") {
		t.Errorf("--backend gpu on the door: exit %d, %q", code, errOut)
	}
}
