package main

import (
	"image/gif"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		{[]string{"render", traj, "--out", out, "--frames", "0", "--lookat", "0,0,0.5", "--distance", "2"}, 0, ""},
		{[]string{"render", traj, "--out", out, "--lookat", "1,2"}, 2, "--lookat: want X,Y,Z"},
		{[]string{"render", traj, "--out", out, "--lookat", "1,2,NaN"}, 2, "finite"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// sharedCheetah returns gym's cheetah file from the repository's models/
// (an explicit --model with the trajectory's nq).
func sharedCheetah(t *testing.T) string {
	return repoModel(t, "half_cheetah.xml")
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

// renderEnv sets XDG_RUNTIME_DIR for the WebGPU loader when it is unset.
func renderEnv(t *testing.T) {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir := filepath.Join(t.TempDir(), "xdg")
		os.Mkdir(dir, 0o700)
		t.Setenv("XDG_RUNTIME_DIR", dir)
	}
}

// #6: Ctrl-C near the end of a render leaves the old GIF as it was (it was
// written in place and left at 0 bytes) and no temporary file.
func TestRenderInterruptKeepsOldGIF(t *testing.T) {
	renderEnv(t)
	traj := cheetahTraj(t, 4)
	dir := t.TempDir()
	out := filepath.Join(dir, "old.gif")
	os.WriteFile(out, []byte("the old animation"), 0o644)
	defer func() { renderFrameHook = nil }()
	renderFrameHook = func(i int) {
		if i == 3 { // the last frame
			interruptSelf(t, syscall.SIGINT)
		}
	}
	code, _, stderr := runCLI(t, "render", traj, "--out", out, "--width", "64", "--height", "48")
	if code == 1 && strings.Contains(stderr, "no WebGPU adapter") {
		t.Skipf("no WebGPU adapter: %s", stderr)
	}
	if code != 1 || !strings.Contains(stderr, "interrupted") {
		t.Errorf("interrupted render: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "the old animation" {
		t.Errorf("the old GIF now holds %d bytes", len(b))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// #1, #8: a PNG series checks every output before rendering (a folder in
// the way fails at once and replaces none of the others), and a
// symbolically linked output is written through.
func TestRenderPNGSeriesOutputs(t *testing.T) {
	renderEnv(t)
	traj := cheetahTraj(t, 4)
	dir := t.TempDir()
	first := filepath.Join(dir, "f_0000.png")
	os.WriteFile(first, []byte("old frame"), 0o644)
	os.Mkdir(filepath.Join(dir, "f_0002.png"), 0o755) // in the way
	code, _, stderr := runCLI(t, "render", traj, "--out", filepath.Join(dir, "f.png"), "--frames", "0,2", "--width", "32", "--height", "24")
	if code != 1 || !strings.Contains(stderr, "f_0002.png") || !strings.Contains(stderr, "is a directory") {
		t.Errorf("an output that is a folder: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(first); string(b) != "old frame" {
		t.Errorf("f_0000.png was replaced although the job failed: %d bytes", len(b))
	}
	os.Remove(filepath.Join(dir, "f_0002.png"))
	real := filepath.Join(dir, "real.png")
	link := filepath.Join(dir, "link.png")
	os.Symlink("real.png", link)
	code, stdout, stderr := runCLI(t, "render", traj, "--out", link, "--width", "32", "--height", "24")
	if code == 1 && strings.Contains(stderr, "no WebGPU adapter") {
		t.Skipf("no WebGPU adapter: %s", stderr)
	}
	if code != 0 || !strings.Contains(stdout, "rendered 1 frames") {
		t.Fatalf("render to a link: exit %d, %s %s", code, stdout, stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", st.Mode(), err)
	}
	if b, _ := os.ReadFile(real); !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("the link's target is not a PNG: %.8q", b)
	}
	if code, _, stderr := runCLI(t, "render", traj, "--out", filepath.Join(dir, "f.png"), "--frames", "0,2", "--width", "32", "--height", "24"); code != 0 {
		t.Fatalf("PNG series: exit %d, %s", code, stderr)
	}
	for _, p := range []string{first, filepath.Join(dir, "f_0002.png")} {
		if b, _ := os.ReadFile(p); !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("%s is not a PNG", p)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
