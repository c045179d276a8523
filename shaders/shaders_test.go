package shaders_test

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/gpu"
	"github.com/apex-robotics/apex/shaders"
)

func TestShadersCompile(t *testing.T) {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	}
	d, err := gpu.NewDevice()
	if errors.Is(err, gpu.ErrNoAdapter) {
		t.Skipf("no WebGPU adapter: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	names := shaders.Names()
	if len(names) == 0 {
		t.Fatal("no embedded shaders")
	}
	for _, name := range names {
		src := shaders.MustSource(name)
		m, err := d.CreateShaderModule(name, src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// Pipeline creation checks what module creation does not: the
		// resource limits of the stage (storage buffers per stage, ...).
		entries := entryRE.FindAllStringSubmatch(src, -1)
		if len(entries) == 0 {
			t.Errorf("%s: no @compute entry point found", name)
		}
		for _, e := range entries {
			p, err := d.CreateComputePipeline(name+":"+e[1], m, e[1])
			if err != nil {
				t.Errorf("%s: entry %s: %v", name, e[1], err)
				continue
			}
			p.Release()
		}
		m.Release()
	}
}

var entryRE = regexp.MustCompile(`@compute\s*@workgroup_size\([^)]*\)(?:\s*//[^\n]*)?\s*fn\s+(\w+)`)

var bindingRE = regexp.MustCompile(`@group\((\d+)\)\s*@binding\((\d+)\)\s*var(<[^>]*>)?\s+(\w+)\s*:`)

type binding struct {
	group, index int
	space, name  string
}

func parseBindings(src string) []binding {
	var bs []binding
	for _, m := range bindingRE.FindAllStringSubmatch(src, -1) {
		g, _ := strconv.Atoi(m[1])
		i, _ := strconv.Atoi(m[2])
		bs = append(bs, binding{g, i, strings.ReplaceAll(m[3], " ", ""), m[4]})
	}
	return bs
}

// checkConvention enforces the mujoco_warp order: Model bindings (read-only,
// no suffix), then Data in (read-only, "_in"), then Data out (read_write,
// "_out"), with consecutive binding numbers from 0 in each group.
func checkConvention(bs []binding) []string {
	var errs []string
	stage := map[int]int{} // group -> 0 model, 1 in, 2 out
	next := map[int]int{}  // group -> expected binding
	for _, b := range bs {
		if b.index != next[b.group] {
			errs = append(errs, b.name+": binding "+strconv.Itoa(b.index)+", want "+strconv.Itoa(next[b.group]))
		}
		next[b.group] = b.index + 1
		kind := 0
		switch {
		case strings.HasSuffix(b.name, "_out"):
			kind = 2
		case strings.HasSuffix(b.name, "_in"):
			kind = 1
		}
		if kind < stage[b.group] {
			errs = append(errs, b.name+": out of order (Model, then _in, then _out)")
		}
		stage[b.group] = kind
		writable := strings.Contains(b.space, "read_write")
		if writable != (kind == 2) {
			errs = append(errs, b.name+": read_write exactly when named _out, got "+b.space)
		}
	}
	return errs
}

func TestBindingConvention(t *testing.T) {
	for _, name := range shaders.Names() {
		bs := parseBindings(shaders.MustSource(name))
		if len(bs) == 0 {
			t.Errorf("%s: no bindings found", name)
		}
		for _, e := range checkConvention(bs) {
			t.Errorf("%s: %s", name, e)
		}
	}
	// The checker itself must reject a violation.
	bad := parseBindings(`@group(0) @binding(0) var<storage, read_write> x_out: array<f32>;
@group(0) @binding(1) var<storage, read> y_in: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;`)
	if errs := checkConvention(bad); len(errs) < 3 {
		t.Errorf("checker accepted a bad layout: %v", errs)
	}
}
