//go:build unix

package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// noTemps fails if dir holds a temporary file of this package.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewFileHasUmaskMode(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := WriteFile(p, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), fs.FileMode(0o666&^0o027); got != want {
		t.Errorf("new file mode %v, want %v (0666 less the umask)", got, want)
	}
	if readString(t, p) != "hello" {
		t.Errorf("content %q", readString(t, p))
	}
	noTemps(t, dir)
}

func TestReplaceKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("replaced file has mode %v, want the old 0640", st.Mode().Perm())
	}
	if readString(t, p) != "new" {
		t.Errorf("content %q", readString(t, p))
	}
	noTemps(t, dir)
}

func TestSymlinkIsWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	realDir := filepath.Join(dir, "real")
	os.Mkdir(realDir, 0o755)
	target := filepath.Join(realDir, "data.jsonl")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.jsonl")
	// A relative link, resolved against the link's own folder.
	if err := os.Symlink(filepath.Join("real", "data.jsonl"), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(link)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a regular file: %v %v", st.Mode(), err)
	}
	if readString(t, target) != "new" {
		t.Errorf("the link's target holds %q, want new", readString(t, target))
	}
	noTemps(t, dir)
	noTemps(t, realDir)

	// A dangling link creates its target.
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(realDir, "fresh.txt"), dangling)
	if err := WriteFile(dangling, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if readString(t, filepath.Join(realDir, "fresh.txt")) != "x" {
		t.Error("a dangling link's target was not created")
	}
	if st, _ := os.Lstat(dangling); st.Mode()&fs.ModeSymlink == 0 {
		t.Error("the dangling link was replaced")
	}

	// A loop of links is an error, not a hang.
	a, b := filepath.Join(dir, "la"), filepath.Join(dir, "lb")
	os.Symlink(b, a)
	os.Symlink(a, b)
	if err := WriteFile(a, []byte("x")); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("link loop: %v", err)
	}
}

func TestDevicesAreWrittenDirectly(t *testing.T) {
	for _, p := range []string{"/dev/null", "/dev/stdout"} {
		if err := WriteFile(p, nil); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := Check(p); err != nil {
			t.Errorf("Check(%s): %v", p, err)
		}
	}
	st, err := os.Lstat("/dev/null")
	if err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a character device: %v %v", st.Mode(), err)
	}
	// A symbolic link to /dev/null writes the device.
	link := filepath.Join(t.TempDir(), "out.jsonl")
	os.Symlink("/dev/null", link)
	if err := WriteFile(link, []byte("gone")); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null replaced through a link: %v %v", st.Mode(), err)
	}
}

func TestNamedPipeIsWrittenDirectly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := WriteFile(fifo, []byte("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if st, _ := os.Lstat(fifo); st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v", st.Mode())
	}
	noTemps(t, dir)
}

func TestAbortKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keep.gif")
	os.WriteFile(p, []byte("old content"), 0o644)
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	if readString(t, p) != "old content" {
		t.Error("the target changed before Commit")
	}
	f.Abort()
	f.Abort() // idempotent
	if readString(t, p) != "old content" {
		t.Errorf("after Abort the target holds %q", readString(t, p))
	}
	noTemps(t, dir)
	if err := f.Commit(); err != nil {
		t.Errorf("Commit after Abort: %v", err)
	}
	if readString(t, p) != "old content" {
		t.Error("Commit after Abort replaced the file")
	}

	// A failing writer leaves the old file and no temporary.
	err = Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Write with a failing writer: %v", err)
	}
	if readString(t, p) != "old content" {
		t.Errorf("after a failed Write the target holds %q", readString(t, p))
	}
	noTemps(t, dir)
}

func TestCloseThenCommitAll(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	fa, err := Create(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := Create(b)
	if err != nil {
		t.Fatal(err)
	}
	fa.Write([]byte("A"))
	fb.Write([]byte("B"))
	if err := fa.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !errors.Is(err, fs.ErrNotExist) {
		t.Error("Close renamed the file before Commit")
	}
	if err := CommitAll(fa, fb); err != nil {
		t.Fatal(err)
	}
	if readString(t, a) != "A" || readString(t, b) != "B" {
		t.Error("CommitAll did not write both files")
	}
	noTemps(t, dir)
}

func TestRefusedTargets(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct{ path, want string }{
		{dir, "is a directory"},
		{filepath.Join(dir, "nodir", "x.traj"), "no such file or directory"},
		{sock, "not a regular file"},
		{"", "empty file name"},
	} {
		if err := Check(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%q): %v, want an error with %q", c.path, err, c.want)
		}
		if _, err := Create(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Create(%q): %v, want an error with %q", c.path, err, c.want)
		}
	}
	if err := Check(filepath.Join(dir, "new.txt")); err != nil {
		t.Errorf("Check of a new file: %v", err)
	}
	noTemps(t, dir)
}

func TestReadOnlyFileIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ro.txt")
	os.WriteFile(p, []byte("keep"), 0o444)
	err := WriteFile(p, []byte("new"))
	if os.Geteuid() == 0 {
		// root may write any file, as a plain write would.
		if err != nil || readString(t, p) != "new" {
			t.Errorf("as root: %v, content %q", err, readString(t, p))
		}
		return
	}
	if err == nil || readString(t, p) != "keep" {
		t.Errorf("a read-only file was replaced: %v, content %q", err, readString(t, p))
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	link := filepath.Join(dir, "l")
	os.Symlink("a", link)
	if !SameFile(a, link) {
		t.Error("a new file and a link to it are the same output")
	}
	os.WriteFile(a, nil, 0o644)
	if !SameFile(a, link) || SameFile(a, filepath.Join(dir, "b")) {
		t.Error("SameFile of existing files")
	}
	if SameFile("/dev/null", "/dev/null") {
		t.Error("/dev/null may be written twice")
	}
}
