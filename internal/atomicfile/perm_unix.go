//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

// keepOwner gives the new file f the mode of the file it replaces and,
// where the process may (as root, or to a group it is in), its owner and
// group; a refused chown is not an error.
func keepOwner(f *os.File, old os.FileInfo) error {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
	return f.Chmod(old.Mode().Perm())
}

// writable reports whether the process may write the existing file path.
func writable(path string) error {
	if err := syscall.Access(path, 2 /* W_OK */); err != nil {
		return &os.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}
