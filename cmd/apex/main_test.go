package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/viewer"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// repoModel returns the path of a reference model in the repository's
// models/ folder; the test fails without it (it belongs to the repository).
func repoModel(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference model %s missing (see models/README.md): %v", p, err)
	}
	return p
}

func TestModelJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "model", repoModel(t, "half_cheetah.xml"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m modelJSON
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.Nq != 9 || m.Nv != 9 || m.Nu != 6 || len(m.Bodies) != 8 || len(m.Joints) != 9 || m.Timestep != 0.01 {
		t.Errorf("nq %d nv %d nu %d bodies %d joints %d timestep %g", m.Nq, m.Nv, m.Nu, len(m.Bodies), len(m.Joints), m.Timestep)
	}
	if m.Joints[3].QposAdr != 3 || m.Joints[3].Range == nil {
		t.Errorf("joint bthigh: %+v", m.Joints[3])
	}
}

func TestModelWarnsAboutRK4(t *testing.T) {
	code, _, errOut := runCLI(t, "model", repoModel(t, "humanoidstandup.xml"))
	if code != 0 || !strings.Contains(errOut, "RK4") {
		t.Errorf("exit %d, stderr %q: want a warning about RK4", code, errOut)
	}
}

func TestSimTask(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.jsonl")
	trajFile := filepath.Join(t.TempDir(), "s.traj")
	code, _, errOut := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "5", "--out", out, "--save-traj", trajFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if tr, err := viewer.LoadTraj(trajFile); err != nil || len(tr.Qpos) != 6 || len(tr.Rewards) != 5 || tr.Task != "halfcheetah" {
		t.Errorf("trajectory: %v, %+v", err, tr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var l simLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Qpos) != 9 || len(l.Qvel) != 9 || (n > 0) != (l.Reward != nil) {
			t.Errorf("line %d: %+v", n, l)
		}
		if want := float64(n) * 0.05; abs(l.T-want) > 1e-9 {
			t.Errorf("line %d: t = %g, want %g", n, l.T, want)
		}
		n++
	}
	if n != 6 {
		t.Errorf("%d lines, want 6 (initial state + 5 steps)", n)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	badCSV := filepath.Join(dir, "ctrl.csv")
	os.WriteFile(badCSV, []byte("0,0,0,0,0,0\n0,0,0\n"), 0o644)
	nanCSV := filepath.Join(dir, "nan.csv")
	os.WriteFile(nanCSV, []byte("0,0,0,0,0,NaN\n"), 0o644)
	badXML := filepath.Join(dir, "bad.xml")
	os.WriteFile(badXML, []byte("<mujoco>\n<worldbody>\n<body><joint type=\"ball\"/></body></worldbody></mujoco>"), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"sim", "--frobnicate"}, 2, "unknown flag: --frobnicate"},
		{"missing model", []string{"model", filepath.Join(dir, "nope.xml")}, 1, "nope.xml"},
		{"bad joint", []string{"model", badXML}, 1, "bad.xml:3: <joint>: ball joints are not supported"},
		{"wrong columns", []string{"sim", "--task", "halfcheetah", "--steps", "2", "--ctrl-file", badCSV, "--out", out}, 1, "ctrl.csv:2: 3 columns"},
		{"NaN control", []string{"sim", "--task", "halfcheetah", "--steps", "1", "--ctrl-file", nanCSV, "--out", out}, 1, "nan.csv:1: column 6"},
		{"NaN init", []string{"sim", "--task", "halfcheetah", "--init-qvel", "0,0,0,0,0,0,0,0,nan", "--out", out}, 2, "--init-qvel"},
		{"unknown task", []string{"plan", "--task", "walker"}, 2, `unknown task "walker"`},
		{"budget too small", []string{"plan", "--budget", "10"}, 2, "--budget"},
		{"bad backend", []string{"plan", "--steps", "1", "--backend", "tpu"}, 2, "--backend"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed sim left %s behind", out)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".out.jsonl.tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestPlanJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("plans a short episode")
	}
	traj := filepath.Join(t.TempDir(), "p.traj")
	code, out, errOut := runCLI(t, "plan", "--task", "halfcheetah", "--budget", "45", "--steps", "5", "--backend", "cpu", "--json", "--save-traj", traj)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s planSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Episodes) != 1 || s.Episodes[0].Steps != 5 || s.Population != 25 || s.Iterations != 2 {
		t.Errorf("summary %+v", s)
	}
	// per_step: the step's time is device + host; the CPU evaluator has no
	// host work of its own, so its time is all device time.
	if p := s.Episodes[0].Profile; !(p.DeviceSeconds > 0) || !(p.HostSeconds > 0) ||
		math.Abs(p.PlanSeconds-p.DeviceSeconds-p.HostSeconds) > 1e-9 || p.EvaluatorHostSeconds != 0 ||
		math.Abs(p.EvaluatorSeconds-p.DeviceSeconds) > 1e-9 || p.BytesUp != 0 {
		t.Errorf("per-step profile %+v", p)
	}
	tr, err := viewer.LoadTraj(traj)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Paths) != 5 {
		t.Fatalf("%d steps of planned paths, want 5", len(tr.Paths))
	}
	for k, step := range tr.Paths {
		bests := 0
		for _, p := range step {
			if p.Best {
				bests++
			}
			if len(p.Points) != 31 {
				t.Errorf("step %d: path of %d points, want horizon + 1 = 31", k, len(p.Points))
			}
		}
		if bests != 1 || len(step) < 2 {
			t.Errorf("step %d: %d paths with %d best, want elites and one best", k, len(step), bests)
		}
	}
}

// TestPlanCPUProfile: --cpuprofile writes a pprof profile (gzip) once the
// episodes are done, refuses the --save-traj file, and a bad path fails
// before any planning.
func TestPlanCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	code, _, errOut := runCLI(t, "plan", "--task", "halfcheetah", "--budget", "45", "--steps", "2", "--backend", "cpu", "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--cpuprofile wrote %d bytes, not a gzip-compressed pprof profile", len(b))
	}
	code, _, errOut = runCLI(t, "plan", "--steps", "1", "--backend", "cpu", "--cpuprofile", prof, "--save-traj", prof)
	if code != 2 || !strings.Contains(errOut, "same file") {
		t.Errorf("--cpuprofile and --save-traj on one file: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "plan", "--steps", "1", "--backend", "cpu", "--cpuprofile", filepath.Join(dir, "no", "such", "cpu.prof"))
	if code != 1 || !strings.Contains(errOut, "--cpuprofile") || strings.Contains(errOut, "episode 0") {
		t.Errorf("--cpuprofile in a missing folder: exit %d, %q", code, errOut)
	}
}

// TestPlanTrajKeepsParams: --save-traj records the episode's task parameters
// (Fetch's goal), so that the viewer can rebuild the episode's model.
func TestPlanTrajKeepsParams(t *testing.T) {
	traj := filepath.Join(t.TempDir(), "f.traj")
	code, _, errOut := runCLI(t, "plan", "--task", "fetchpickplace", "--budget", "45", "--horizon", "5", "--steps", "2", "--backend", "cpu", "--json", "--save-traj", traj)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tr, err := viewer.LoadTraj(traj)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Params) != 3 || tr.Params[0] == 0 && tr.Params[1] == 0 && tr.Params[2] == 0 {
		t.Fatalf("trajectory params %v, want Fetch's goal (3 numbers)", tr.Params)
	}
	if _, err := viewer.ModelFor(tr, ""); err != nil {
		t.Errorf("ModelFor the saved trajectory: %v", err)
	}
}
