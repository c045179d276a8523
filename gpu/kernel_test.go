package gpu

import (
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// KernelSource gives the generic kernel and, per task, a specialised one
// without driver loops left.
func TestKernelSource(t *testing.T) {
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := KernelSource(task, true)
	if err != nil || !strings.Contains(gen, "// DRIVER") {
		t.Fatalf("generic kernel: %v (has drivers: %v)", err, strings.Contains(gen, "// DRIVER"))
	}
	spec, err := KernelSource(task, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(spec, "// DRIVER") || spec == gen || !strings.Contains(spec, "@compute") {
		t.Fatal("the specialised kernel still has driver loops, or is the generic one")
	}
}
