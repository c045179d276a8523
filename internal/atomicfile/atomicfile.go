// Package atomicfile writes output files so that neither a crash nor an
// interrupt ever leaves a partial file or loses the old one, and so that
// writing to a device, a pipe or through a symbolic link does what the
// user meant.
//
// The rules, for the target named by a path:
//
//   - Symbolic links are followed: the file the link points to is the one
//     written (and replaced), in its own directory; the link stays a link.
//   - A regular file (or a file that does not exist yet) is written through
//     a temporary file ".NAME.tmpNNN" in the target's directory, which is
//     renamed over the target only by Commit. Until then the old file is
//     untouched; Abort, or a failed Commit, removes the temporary file.
//   - A new file gets the permissions 0666 filtered by the process's umask
//     (as os.Create gives); a replaced file keeps its mode and, where the
//     process may set them, its owner and group.
//   - A character or block device or a named pipe (/dev/null, /dev/tty, a
//     FIFO) and the file-descriptor paths /dev/stdout, /dev/stderr,
//     /dev/fd/N and /proc/self/fd/N are written directly, never replaced
//     or truncated.
//   - A directory, a socket or any other kind of file is refused.
//
// The command line's "-" for standard output is the caller's business
// (Direct wraps an io.Writer in a File).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxLinks bounds the symbolic links followed (Linux's own limit is 40).
const maxLinks = 40

// File is an output being written: a temporary file next to its target,
// or the target itself when that is a device or a pipe. It is an
// io.Writer; Commit finishes it and Abort drops it.
type File struct {
	path   string   // as given, for messages
	target string   // the file Commit replaces (symbolic links resolved)
	tmp    string   // the temporary file; "" when written directly
	f      *os.File // open file; nil when closed or for Direct
	w      io.Writer
	keep   *os.FileInfo // the replaced file's information, to keep its mode
	closed bool         // f has been synced and closed (Close)
	done   bool         // committed or aborted
	err    error        // first write error
}

// kind is what a path names after its symbolic links are followed.
type kind int

const (
	kindNew     kind = iota // nothing exists there yet
	kindRegular             // a regular file, replaced by a rename
	kindDirect              // a device, pipe or file descriptor, written directly
)

// isFDPath reports whether path names one of the process's file
// descriptors (its "symbolic links" point to pipes and sockets that have no
// path, so they are opened, not resolved).
func isFDPath(path string) bool {
	p := filepath.Clean(path)
	switch p {
	case "/dev/stdout", "/dev/stderr":
		return true
	}
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"} {
		if n, ok := strings.CutPrefix(p, dir); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return true
			}
		}
	}
	if n, ok := strings.CutPrefix(p, "/proc/"); ok {
		// /proc/PID/fd/N
		parts := strings.Split(n, "/")
		if len(parts) == 3 && parts[1] == "fd" {
			if _, err := strconv.Atoi(parts[0]); err == nil {
				if _, err := strconv.Atoi(parts[2]); err == nil {
					return true
				}
			}
		}
	}
	return false
}

// resolve follows the symbolic links of path and says what is at the end.
func resolve(path string) (target string, k kind, info os.FileInfo, err error) {
	if path == "" {
		return "", 0, nil, errors.New("empty file name")
	}
	p := path
	for range maxLinks {
		if isFDPath(p) {
			st, err := os.Stat(p)
			if err != nil {
				return "", 0, nil, err
			}
			if st.IsDir() {
				return "", 0, nil, fmt.Errorf("%s is a directory", p)
			}
			return p, kindDirect, st, nil
		}
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, kindNew, nil, nil
		}
		if err != nil {
			return "", 0, nil, err
		}
		m := st.Mode()
		switch {
		case m&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return "", 0, nil, err
			}
			if !filepath.IsAbs(link) {
				link = filepath.Join(filepath.Dir(p), link)
			}
			p = link
			continue
		case m.IsRegular():
			return p, kindRegular, st, nil
		case m.IsDir():
			return "", 0, nil, fmt.Errorf("is a directory")
		case m&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
			return p, kindDirect, st, nil
		default:
			return "", 0, nil, fmt.Errorf("%s is not a regular file, a device or a pipe (%v)", p, m.Type())
		}
	}
	return "", 0, nil, fmt.Errorf("more than %d levels of symbolic links", maxLinks)
}

// createTemp creates a new temporary file next to target with the mode
// 0666 less the umask (os.CreateTemp would make it 0600).
func createTemp(target string) (*os.File, error) {
	dir, base := filepath.Dir(target), filepath.Base(target)
	var err error
	for range 1000 {
		name := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		var f *os.File
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// Name the folder, not the temporary file the user never asked for.
		return nil, fmt.Errorf("cannot create a file in folder %s: %w", dir, pe.Err)
	}
	return nil, err
}

// Create starts writing the output path: it checks the target (see the
// package comment) and opens a temporary file beside it, or the device or
// pipe itself. The old file stays as it is until Commit.
func Create(path string) (*File, error) {
	target, k, info, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	out := &File{path: path, target: target}
	if k == kindDirect {
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		out.f, out.w = f, f
		return out, nil
	}
	if k == kindRegular {
		// A file the process may not write is not replaced behind the
		// user's back (as root everything is writable).
		if err := writable(target); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		out.keep = &info
	}
	f, err := createTemp(target)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	out.f, out.w, out.tmp = f, f, f.Name()
	return out, nil
}

// Direct returns a File that writes to w as it is (e.g. standard output
// for the command line's "-"); name is for messages. Commit and Abort do
// not close w.
func Direct(w io.Writer, name string) *File {
	return &File{path: name, target: name, w: w}
}

// Name returns the path the File was created with.
func (f *File) Name() string { return f.path }

// Target returns the file that Commit writes (symbolic links followed).
func (f *File) Target() string { return f.target }

// Write writes to the temporary file (or the device).
func (f *File) Write(p []byte) (int, error) {
	if f.done || f.closed {
		return 0, fmt.Errorf("write %s: %w", f.path, fs.ErrClosed)
	}
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// Close finishes writing without replacing the target yet: the temporary
// file gets the replaced file's mode, is synced and closed, and waits for
// Commit (which a batch of outputs calls once all are written) or Abort.
func (f *File) Close() error {
	if f.done {
		return fmt.Errorf("write %s: %w", f.path, fs.ErrClosed)
	}
	if f.closed {
		return nil
	}
	f.closed = true
	if f.f == nil {
		return f.err
	}
	if f.tmp == "" { // a device or pipe
		err := f.f.Close()
		f.f = nil
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		return f.err
	}
	err := f.err
	if err == nil && f.keep != nil {
		err = keepOwner(f.f, *f.keep)
	}
	if err == nil {
		if err = f.f.Sync(); err != nil {
			err = fmt.Errorf("sync: %w", err)
		}
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Commit finishes the output: it closes the File (see Close) and renames
// the temporary file over the target, then syncs the directory. On an
// error the temporary file is removed and the old target is untouched.
// A committed or aborted File commits again without effect.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	if err := f.Close(); err != nil {
		f.Abort()
		return err
	}
	if f.tmp == "" {
		f.done = true
		return nil
	}
	if err := os.Rename(f.tmp, f.target); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.done = true
	// The rename is durable only once the directory is synced; some file
	// systems refuse to sync a directory, which costs durability, not
	// correctness, so that error is ignored.
	if d, err := os.Open(filepath.Dir(f.target)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort drops the output: the temporary file is closed and removed and
// the target left as it was. What was written to a device or pipe stays
// written. Abort after Commit does nothing, so `defer f.Abort()` is the
// way to clean up on every error path.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// Write writes the output path with write, atomically: Create, write,
// Commit, and Abort on any error.
func Write(path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteFile writes data to path atomically (see Write).
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CommitAll commits files in order; after the first error it aborts the
// rest and returns that error.
func CommitAll(files ...*File) error {
	var first error
	for _, f := range files {
		if f == nil {
			continue
		}
		if first != nil {
			f.Abort()
			continue
		}
		first = f.Commit()
	}
	return first
}

// AbortAll aborts every file (nil entries are skipped).
func AbortAll(files ...*File) {
	for _, f := range files {
		if f != nil {
			f.Abort()
		}
	}
}

// Check reports, before any work is done, whether path can be written: a
// target that is a directory or not a regular file, device or pipe is
// refused, a device or pipe must be writable, and the directory of a
// regular or new file must exist and take a new file (which is tried).
func Check(path string) error {
	target, k, _, err := resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if k != kindNew {
		if err := writable(target); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if k == kindDirect {
		return nil
	}
	f, err := createTemp(target)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// SameFile reports whether paths a and b name the same regular (or new)
// file once their symbolic links are followed, so that one command does
// not write one file twice. Devices and pipes are never the same file:
// writing /dev/null twice is fine.
func SameFile(a, b string) bool {
	ta, ka, ia, err1 := resolve(a)
	tb, kb, ib, err2 := resolve(b)
	if err1 != nil || err2 != nil || ka == kindDirect || kb == kindDirect {
		return false
	}
	if ka == kindRegular && kb == kindRegular {
		return os.SameFile(ia, ib)
	}
	pa, err1 := filepath.Abs(ta)
	pb, err2 := filepath.Abs(tb)
	return err1 == nil && err2 == nil && pa == pb
}
