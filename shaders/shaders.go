// Package shaders holds apex's WGSL compute kernels, embedded so that the
// gpu package (and anything else) can compile them at run time.
//
// Binding convention (after mujoco_warp's kernel analyzer): the bindings of
// group 0 come in three runs, in binding order: Model bindings (read-only,
// no suffix), then Data inputs (read-only, suffix "_in"), then Data outputs
// (read_write, suffix "_out"). TestBindingConvention enforces it.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.wgsl
var files embed.FS

// Names lists the embedded shader files, sorted.
func Names() []string {
	ents, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("shaders: " + err.Error()) // embedded FS: cannot fail
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Source returns the WGSL text of the named file, e.g. "rollout.wgsl".
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("shaders: %w", err)
	}
	return string(b), nil
}

// MustSource is Source for names known at compile time; it panics on an
// unknown name (a programmer error).
func MustSource(name string) string {
	s, err := Source(name)
	if err != nil {
		panic(err)
	}
	return s
}
