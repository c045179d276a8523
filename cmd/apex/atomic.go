package main

import (
	"fmt"
	"io"

	"github.com/apex-robotics/apex/internal/atomicfile"
)

// Output files of the commands go through internal/atomicfile: a temporary
// file beside the target, renamed over it only once the whole job has
// succeeded (symbolic links followed; devices and pipes such as /dev/null
// and /dev/stdout written directly). "-" is the command's standard output.

// stdoutName is what "-" means in an output flag.
const stdoutName = "-"

// createOutput starts writing the output of flag --name at path; nothing
// is replaced before Commit, and Abort (deferred) removes the temporary
// file on every other way out, an interrupt included.
func createOutput(name, path string, stdout io.Writer) (*atomicfile.File, error) {
	if path == stdoutName {
		return atomicfile.Direct(stdout, "standard output"), nil
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	return f, nil
}

// checkOutput reports, before any work, whether --name's path can be
// written: its folder exists and takes a new file, it is not a folder, and
// an existing file that is not regular is a device or pipe.
func checkOutput(name, path string) error {
	if path == stdoutName {
		return nil
	}
	if err := atomicfile.Check(path); err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	return nil
}

// sameOutput reports a usage error when two output flags name one file.
func sameOutput(nameA, a, nameB, b string) error {
	if a == "" || b == "" {
		return nil
	}
	if (a == stdoutName && b == stdoutName) || atomicfile.SameFile(a, b) {
		return usagef("--%s and --%s name the same file %s", nameA, nameB, b)
	}
	return nil
}
