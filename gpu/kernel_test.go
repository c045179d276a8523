package gpu

import (
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// KernelSource gives the generic kernel, per task a specialised one without
// driver loops left, and the lean one with its arrays in world_mem.
func TestKernelSource(t *testing.T) {
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := KernelSource(task, KernelGeneric)
	if err != nil || !strings.Contains(gen, "// DRIVER") {
		t.Fatalf("generic kernel: %v (has drivers: %v)", err, strings.Contains(gen, "// DRIVER"))
	}
	spec, err := KernelSource(task, KernelSpecialized)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(spec, "// DRIVER") || spec == gen || !strings.Contains(spec, "@compute") {
		t.Fatal("the specialised kernel still has driver loops, or is the generic one")
	}
	lean, err := KernelSource(task, KernelLean)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lean, "var<storage, read_write> world_mem: array<WorldMem>") || !strings.Contains(lean, "world_mem[wgi].efc_j[") {
		t.Fatal("the lean kernel does not keep the constraint rows in world_mem")
	}
	for _, m := range privateArrayRE.FindAllStringSubmatch(lean, -1) {
		if !strings.Contains(m[2], "bool") {
			t.Errorf("the lean kernel keeps %s private", m[1])
		}
	}
}
