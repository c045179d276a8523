package gpu

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/shaders"
)

// Every driver of the kernel is replaced for every task, and the generated
// code follows the model: no generic driver loop is left.
func TestSpecializeEveryTask(t *testing.T) {
	src := shaders.MustSource(rolloutShader)
	if n := strings.Count(src, "// DRIVER "); n < 15 {
		t.Fatalf("%s has %d driver blocks, expected the kernel's 15 or more", rolloutShader, n)
	}
	for _, name := range gpuTasks() {
		task, err := batchsim.NewTask(name)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := packTask(task)
		if err != nil {
			t.Fatal(err)
		}
		out, err := specialize(src, pk)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(out, "// DRIVER") || strings.Contains(out, "// END") {
			t.Errorf("%s: a driver block is left in the specialised kernel", name)
		}
		m := task.Model
		// The backward ABA pass visits every dof once, last first.
		last := strings.Index(out, "aba_back("+itoa(m.Nv-1)+"u, ")
		first := strings.Index(out, "aba_back(0u, -1, ")
		if last < 0 || first < 0 || last > first {
			t.Errorf("%s: backward pass from dof %d to dof 0 not found in order", name, m.Nv-1)
		}
		if got := strings.Count(out, "\tbody_end("); got != m.Nbody-1 {
			t.Errorf("%s: %d body_end calls, want one per moving body (%d)", name, got, m.Nbody-1)
		}
		if got := strings.Count(out, "\tdof_passive("); got != m.Nv {
			t.Errorf("%s: %d dof_passive calls, want one per dof (%d)", name, got, m.Nv)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSpecializeRejectsUnknownDrivers(t *testing.T) {
	pk, err := packTask(cheetahTask(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"fn f() {\n\t// DRIVER nosuch\n\tx();\n\t// END\n}\n",
		"fn f() {\n\t// DRIVER unroll\n\tfor (var i = 0u; i < nrows; i++) { x(i); }\n\t// END\n}\n",
		"fn f() {\n\t// DRIVER unroll\n\tfor (var i = 1u; i < nv; i++) { x(i); }\n\t// END\n}\n",
	} {
		if _, err := specialize(src, pk); err == nil {
			t.Errorf("specialize accepted %q", src)
		}
	}
	out, err := specialize("fn f() {\n\t// DRIVER unroll\n\tfor (var i = 0u; i < nu; i++) { s += act[i] * xi[i]; }\n\t// END\n}\n", pk)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "s += act[5u] * xi[5u];") || strings.Contains(out, "act[6u]") {
		t.Errorf("unrolled over the cheetah's 6 actuators as:\n%s", out)
	}
}
