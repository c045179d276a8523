package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/icem"
	"github.com/apex-robotics/apex/viewer"
)

// plan --plan-on device runs the whole planning step on the GPU device
// (lavapipe here): a short episode whose per-step profile has device and
// host seconds adding up, bytes moved, a backend named as the device
// planner, and planned paths in --save-traj.
func TestPlanOnDevice(t *testing.T) {
	traj := filepath.Join(t.TempDir(), "plan.traj")
	code, out, errOut := runCLI(t, "plan", "--task", "halfcheetah", "--budget", "45", "--horizon", "5", "--steps", "3", "--plan-on", "device", "--json", "--profile", "--save-traj", traj)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s planSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Episodes) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	e := s.Episodes[0]
	p := e.Profile
	if s.PlanOn != "device" || !strings.Contains(s.Backend, "device planner") || e.Steps != 3 {
		t.Fatalf("summary %+v", s)
	}
	if d := p.PlanSeconds - p.DeviceSeconds - p.HostSeconds; d*d > 1e-18 || !(p.DeviceSeconds > 0) || !(p.HostSeconds > 0) || !(p.BytesUp > 0) || !(p.BytesDown > 0) {
		t.Fatalf("profile %+v", p)
	}
	if !strings.Contains(errOut, "profile: episode 0") {
		t.Errorf("no --profile line on stderr: %s", errOut)
	}
	// --save-traj: each step's planned paths, read back from the device
	// (K elites and the best).
	tr, err := viewer.LoadTraj(traj)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Paths) != 3 || len(tr.Paths[0]) != icem.DefaultElites+1 || len(tr.Paths[2][0].Points) != 6 {
		t.Fatalf("planned paths: %d steps, %d paths in the first", len(tr.Paths), len(tr.Paths[0]))
	}
}

// Combinations the device planner cannot run are usage errors naming the
// flag, before any device is opened.
func TestPlanOnDeviceRefuses(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--plan-on", "device", "--backend", "cpu"}, "--backend"},
		{[]string{"plan", "--plan-on", "tpu"}, "--plan-on"},
		{[]string{"bench", "--planner", "--plan-on", "tpu", "--guided=false"}, "--plan-on"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %s named", c.args, code, errOut, c.want)
		}
	}
}

// bench --planner --plan-on both measures the host and the device planner
// at the same size, guided by a random policy (iCEMπ): the same samples
// per step, the device's upload the start states, a few words and the
// policy's rollout per problem.
func TestBenchPlannerOnDevice(t *testing.T) {
	code, out, errOut := runCLI(t, "bench", "--planner", "--plan-on", "both", "--sizes", "2x20", "--steps", "1", "--horizon", "3", "--backend", "cpu", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Rows []plannerRow `json:"planner_rows"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Rows) != 2 {
		t.Fatalf("%v: %s", err, out)
	}
	h, d := res.Rows[0], res.Rows[1]
	if h.PlanOn != "host" || d.PlanOn != "device" || h.Samples != d.Samples || d.Samples != 2*(23+20+20) || !d.Guided {
		t.Fatalf("rows %+v", res.Rows)
	}
	if !(d.BytesUp > 0 && d.BytesUp < 1024) || !(d.DeviceSeconds > 0) {
		t.Fatalf("device row %+v: want a few hundred bytes up and device time", d)
	}
}
