package main

import (
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/viewer"
)

// cheetahTraj writes a short HalfCheetah trajectory (the default pose,
// drifting forward) and returns its path.
func cheetahTraj(t *testing.T, frames int) string {
	t.Helper()
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		t.Fatal(err)
	}
	m := task.Model
	tr := &viewer.Trajectory{Version: viewer.TrajVersion, Task: task.Name, Model: m.File, Nq: m.Nq, Nv: m.Nv, Dt: task.ControlDt()}
	for k := range frames {
		q := append([]float64(nil), m.Qpos0...)
		q[0] = 0.1 * float64(k)
		tr.Qpos = append(tr.Qpos, q)
		if k > 0 {
			tr.Rewards = append(tr.Rewards, 1)
		}
	}
	p := filepath.Join(t.TempDir(), "c.traj")
	if err := viewer.SaveTraj(p, tr); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderCommand(t *testing.T) {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir := filepath.Join(t.TempDir(), "xdg")
		os.Mkdir(dir, 0o700)
		t.Setenv("XDG_RUNTIME_DIR", dir)
	}
	traj := cheetahTraj(t, 6)
	out := filepath.Join(t.TempDir(), "c.gif")
	code, stdout, stderr := runCLI(t, "render", traj, "--out", out, "--frames", "0,2,5", "--width", "96", "--height", "64", "--info")
	if code == 1 && strings.Contains(stderr, "no WebGPU adapter") {
		t.Skipf("no WebGPU adapter: %s", stderr)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "rendered 3 frames") {
		t.Errorf("stdout %q", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 {
		t.Errorf("GIF has %d frames, want 3", len(g.Image))
	}

	bad := filepath.Join(t.TempDir(), "bad.traj")
	os.WriteFile(bad, []byte("garbage"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render", bad, "--out", out}, 1, "not a .traj file"},
		{[]string{"render", traj, "--out", out, "--model", sharedCheetah(t)}, 0, ""},
		{[]string{"render", traj, "--out", out, "--frames", "9"}, 2, "out of range"},
		{[]string{"render", traj, "--out", "x.jpg"}, 2, ".png or .gif"},
		{[]string{"render", traj}, 2, "--out"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// sharedCheetah returns gym's cheetah file from shared/mjcf (an explicit
// --model with the trajectory's nq), skipping the test without it.
func sharedCheetah(t *testing.T) string {
	p := filepath.Join("..", "..", "..", "shared", "mjcf", "half_cheetah.xml")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not found: %v", p, err)
	}
	return p
}

func TestRenderWrongModel(t *testing.T) {
	traj := cheetahTraj(t, 2)
	model := filepath.Join(t.TempDir(), "ball.xml")
	os.WriteFile(model, []byte(`<mujoco><worldbody><body><joint type="slide"/><geom type="sphere" size="0.1"/></body></worldbody></mujoco>`), 0o644)
	code, _, stderr := runCLI(t, "render", traj, "--out", filepath.Join(t.TempDir(), "x.png"), "--model", model)
	if code != 1 || !strings.Contains(stderr, "nq") {
		t.Errorf("wrong model: exit %d, stderr %q", code, stderr)
	}
}
