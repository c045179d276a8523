package main

// Tests of issue 12's CLI data-safety defects; each names its number.

import (
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// interruptSelf sends sig to this process and returns once it has been
// delivered (to a channel of the test's own, and so to the command's
// handler, which was installed first) and the handler has had time to run.
func interruptSelf(t *testing.T, sig syscall.Signal) {
	t.Helper()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	defer signal.Stop(ch)
	syscall.Kill(os.Getpid(), sig)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Errorf("signal %v not delivered within 10 s", sig)
	}
	time.Sleep(100 * time.Millisecond)
}

// tempFiles lists the temporary files of atomic writes left in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// #1: /dev/null stays a device; a symbolic link is written through, not
// replaced by a regular file.
func TestSimOutputDeviceAndSymlink(t *testing.T) {
	code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "2", "--out", "/dev/null")
	if code != 0 {
		t.Fatalf("--out /dev/null: exit %d: %s", code, stderr)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "data"), 0o755)
	target := filepath.Join(dir, "data", "s.jsonl")
	os.WriteFile(target, []byte("old\n"), 0o640)
	link := filepath.Join(dir, "s.jsonl")
	os.Symlink(filepath.Join("data", "s.jsonl"), link)
	trajLink := filepath.Join(dir, "s.traj")
	os.Symlink(filepath.Join("data", "s.traj"), trajLink)
	code, _, stderr = runCLI(t, "sim", "--task", "halfcheetah", "--steps", "2", "--out", link, "--save-traj", trajLink)
	if code != 0 {
		t.Fatalf("symlinked --out: exit %d: %s", code, stderr)
	}
	for _, l := range []string{link, trajLink} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s was replaced by a regular file: %v %v", l, st.Mode(), err)
		}
	}
	if got := mustRead(t, target); strings.Count(got, "\n") != 3 || !strings.Contains(got, `"qpos"`) {
		t.Errorf("the link's target holds %q, want 3 JSON lines", got)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("the replaced file's mode changed to %v, want 0640", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "s.traj")); err != nil {
		t.Errorf("--save-traj through a dangling link: %v", err)
	}
	if m := tempFiles(t, filepath.Join(dir, "data")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// #14: a new output file gets 0666 less the umask (it was 0600).
func TestSimOutputUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	out := filepath.Join(t.TempDir(), "s.jsonl")
	if code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o640 {
		t.Errorf("new --out file mode %v under umask 027, want 0640", st.Mode().Perm())
	}
}

// #7: Ctrl-C (SIGINT) during sim removes the temporary file and leaves the
// old output as it was. (Before, SIGINT killed the process, and this test
// with it, leaving .s.jsonl.tmpNNN behind.)
func TestSimInterruptRemovesTemporary(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s.jsonl")
	os.WriteFile(out, []byte("old output\n"), 0o644)
	defer func() { simStepHook = nil }()
	simStepHook = func(step int) {
		if step == 100 {
			// The handler is installed and the temporary file exists.
			if len(tempFiles(t, dir)) != 1 {
				t.Errorf("step 100: temporary files %v, want one", tempFiles(t, dir))
			}
			interruptSelf(t, syscall.SIGINT)
		}
	}
	code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "100000", "--out", out)
	if code != 1 || !strings.Contains(stderr, "interrupted") {
		t.Errorf("interrupted sim: exit %d, stderr %q; want exit 1 and 'interrupted'", code, stderr)
	}
	if got := mustRead(t, out); got != "old output\n" {
		t.Errorf("the old output was replaced by %d bytes", len(got))
	}
	if m := tempFiles(t, dir); len(m) > 0 {
		t.Errorf("temporary files left after the interrupt: %v", m)
	}
	// SIGTERM does the same.
	simStepHook = func(step int) {
		if step == 10 {
			interruptSelf(t, syscall.SIGTERM)
		}
	}
	if code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "100000", "--out", out); code != 1 || !strings.Contains(stderr, "interrupted") {
		t.Errorf("SIGTERM: exit %d, stderr %q", code, stderr)
	}
	if got := mustRead(t, out); got != "old output\n" || len(tempFiles(t, dir)) > 0 {
		t.Errorf("after SIGTERM: output %q, temporaries %v", got, tempFiles(t, dir))
	}
}

// #8: every output path is checked before the work, and nothing is
// replaced unless the whole job succeeds.
func TestOutputsCheckedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep.jsonl")
	os.WriteFile(keep, []byte("keep me\n"), 0o644)
	missing := filepath.Join(dir, "nodir", "x.traj")
	code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "3", "--out", keep, "--save-traj", missing)
	if code != 1 || !strings.Contains(stderr, "--save-traj") || !strings.Contains(stderr, "nodir") {
		t.Errorf("sim with an unwritable --save-traj: exit %d, stderr %q", code, stderr)
	}
	if got := mustRead(t, keep); got != "keep me\n" {
		t.Errorf("--out was replaced although --save-traj failed: %q", got)
	}
	// plan fails before its first episode (it used to plan the whole
	// episode and print it first).
	code, stdout, stderr := runCLI(t, "plan", "--task", "halfcheetah", "--budget", "45", "--steps", "1000", "--backend", "cpu", "--save-traj", missing)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "nodir") {
		t.Errorf("plan with an unwritable --save-traj: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A folder is not an output file; a socket is neither a file nor a
	// device.
	code, _, stderr = runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--out", dir)
	if code != 1 || !strings.Contains(stderr, "is a directory") {
		t.Errorf("--out DIR: exit %d, stderr %q", code, stderr)
	}
	// Two outputs naming one file.
	code, _, stderr = runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--out", keep, "--save-traj", keep)
	if code != 2 || !strings.Contains(stderr, "same file") {
		t.Errorf("--out and --save-traj the same: exit %d, stderr %q", code, stderr)
	}
	if m := tempFiles(t, dir); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// #9: sim without --save-traj streams its lines: the heap does not grow
// with the steps (it kept ~0.35 KB a step).
func TestSimStreams(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.jsonl")
	const steps = 6000
	var before, at runtime.MemStats
	defer func() { simStepHook = nil }()
	simStepHook = func(step int) {
		if step == steps-1 {
			runtime.GC()
			runtime.ReadMemStats(&at)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	if code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "6000", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Holding the trajectory took 6000 × (3 slices of 9, 9 and 6 values
	// + a reward) ≈ 1.8 MB.
	grew := int64(at.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap grew by %d KB over %d steps", grew>>10, steps)
	if grew > 600<<10 {
		t.Errorf("the live heap grew by %d KB over %d steps", grew>>10, steps)
	}
}

// #9, #4: sizes that cannot fit are refused up front with the limit.
func TestSizeLimits(t *testing.T) {
	traj := cheetahTraj(t, 5)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--batch", "1000000000"}, "at most 1048576"},
		{[]string{"bench", "--batch", "100000", "--horizon", "5000"}, "at most 67108864"},
		{[]string{"sim", "--task", "halfcheetah", "--steps", "1000000", "--out", filepath.Join(dir, "s.jsonl"), "--save-traj", filepath.Join(dir, "s.traj")}, "(MaxTrajSize)"},
		{[]string{"plan", "--budget", "9223372036854775807"}, "at most 65536"},
		{[]string{"plan", "--steps", "2000000000"}, "1000000"},
		{[]string{"plan", "--horizon", "1000000000"}, "1..1000"},
		{[]string{"render", traj, "--out", filepath.Join(dir, "x.gif"), "--width", "8192", "--height", "8192"}, "at most 268435456"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", c.args, code, stderr, c.want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) > 0 {
		t.Errorf("refused commands left files: %v", m)
	}
}

// #10: numbers in --init-qpos are parsed strictly; the bad entry is named.
func TestInitQposStrict(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.jsonl")
	for _, c := range []struct{ qpos, want string }{
		{"1abc,0,0,0,0,0,0,0,0", `entry 1, "1abc"`},
		{"0,1.5.5,0,0,0,0,0,0,0", `entry 2, "1.5.5"`},
		{"1 2,0,0,0,0,0,0,0,0", `entry 1, "1 2"`},
		{"0,,0,0,0,0,0,0,0", `entry 2, ""`},
		{"0,0,0,0,0,0,0,0,1e999", "out of range"},
		{"0,0,0,0,0,0,0,0,inf", "not finite"},
	} {
		code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--out", out, "--init-qpos", c.qpos)
		if code != 2 || !strings.Contains(stderr, "--init-qpos") || !strings.Contains(stderr, c.want) {
			t.Errorf("--init-qpos %q: exit %d, stderr %q; want exit 2 with %q", c.qpos, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused sim wrote its output")
	}
	code, _, stderr := runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--out", out, "--init-qpos", " 0, 0.5,0,0,0,0,0,0,-1e-3")
	if code != 0 {
		t.Errorf("valid --init-qpos with spaces: exit %d, %s", code, stderr)
	}
}

// #13 and the README's exit codes: --help prints on stdout and exits 0
// (it printed on stderr); usage errors exit 2, failures 1.
func TestHelpAndExitCodes(t *testing.T) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, args := range [][]string{{n, "--help"}, {n, "-h"}, {"help", n}} {
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 || !strings.HasPrefix(stdout, "Usage: apex "+n) || !strings.Contains(stdout, "Flags:") || stderr != "" {
				t.Errorf("%v: exit %d, stdout %.40q, stderr %q; want exit 0 with the usage on stdout", args, code, stdout, stderr)
			}
		}
	}
	code, stdout, _ := runCLI(t, "--help")
	if code != 0 || !strings.Contains(stdout, "Commands:") {
		t.Errorf("apex --help: exit %d, %q", code, stdout)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"sim", "--steps", "x"}, 2},
		{[]string{"help", "nope"}, 2},
		{[]string{"model", filepath.Join(t.TempDir(), "none.xml")}, 1},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || stdout != "" || stderr == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d with the message on stderr", c.args, code, stdout, stderr, c.code)
		}
	}
}

// #5: a command that takes no positional arguments refuses them (`apex
// train door` trained HalfCheetah into a run folder).
func TestExtraPositionalArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"train", "door", "--out", filepath.Join(dir, "run")},
		{"plan", "door"},
		{"plan", "--task", "halfcheetah", "--", "door"},
		{"sim", "--task", "halfcheetah", "--out", filepath.Join(dir, "s.jsonl"), "extra"},
		{"bench", "cpu"},
		{"tasks", "x"},
		{"eval", "--policy", filepath.Join(dir, "p.json"), "door"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "unexpected argument") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error about the argument", args, code, stderr)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) > 0 {
		t.Errorf("refused commands wrote %v", m)
	}
}

// #16: repeated frames, negative workers, and a control that makes the
// simulation diverge.
func TestEdgeInputs(t *testing.T) {
	traj := cheetahTraj(t, 4)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "render", traj, "--out", filepath.Join(dir, "f.png"), "--frames", "0,0,0")
	if code != 2 || !strings.Contains(stderr, "more than once") {
		t.Errorf("--frames 0,0,0: exit %d, stderr %q; want a usage error", code, stderr)
	}
	code, _, stderr = runCLI(t, "plan", "--workers", "-1")
	if code != 2 || !strings.Contains(stderr, "--workers -1") {
		t.Errorf("--workers -1: exit %d, stderr %q", code, stderr)
	}
	// plan's results go to stdout: a .traj there would corrupt them.
	code, _, stderr = runCLI(t, "plan", "--save-traj", "-")
	if code != 2 || !strings.Contains(stderr, "standard output") {
		t.Errorf("plan --save-traj -: exit %d, stderr %q", code, stderr)
	}
	csv := filepath.Join(dir, "big.csv")
	os.WriteFile(csv, []byte("1e300,0,0,0,0,0\n"), 0o644)
	out := filepath.Join(dir, "s.jsonl")
	code, _, stderr = runCLI(t, "sim", "--task", "halfcheetah", "--steps", "1", "--ctrl-file", csv, "--out", out, "--save-traj", filepath.Join(dir, "s.traj"))
	if code != 1 || strings.Contains(stderr, "unsupported value") || !strings.Contains(stderr, "big.csv:1") {
		t.Errorf("a 1e300 control: exit %d, stderr %q; want a failure naming the row", code, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "s.*")); len(m) > 0 {
		t.Errorf("a failed sim left %v", m)
	}
	// A short controls file fails before the run, naming the file.
	os.WriteFile(csv, []byte("0,0,0,0,0,0\n"), 0o644)
	code, _, stderr = runCLI(t, "sim", "--task", "halfcheetah", "--steps", "3", "--ctrl-file", csv, "--out", out)
	if code != 1 || !strings.Contains(stderr, "1 rows of controls for 3 steps") {
		t.Errorf("short controls: exit %d, stderr %q", code, stderr)
	}
}
