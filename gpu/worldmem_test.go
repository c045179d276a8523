package gpu

import (
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// wgslLayout follows WGSL's storage layout rules: vec3 aligned and strided
// to 16 bytes, a struct rounded up to its largest alignment, array lengths
// from constants.
func TestWGSLLayout(t *testing.T) {
	src := `const N: u32 = 5u;
alias V6 = array<f32, 6>;
struct Rigid {
	m: f32,
	h: vec3<f32>,
	io0: vec3<f32>, // xx, xy, xz
	io1: vec3<f32>,
}
struct Mixed {
	a: f32,
	b: array<vec3<f32>, N>,
	c: V6,
	d: mat3x3<f32>,
	e: u32,
}
`
	l := newLayout(src)
	for _, c := range []struct {
		typ  string
		want uint64
	}{
		{"f32", 4}, {"vec3<f32>", 12}, {"array<vec3<f32>, 4>", 64}, {"V6", 24},
		{"array<V6, 2>", 48}, {"Rigid", 64}, {"array<Rigid, 3>", 192},
		// a 0, b 16..96, c 96..120, d 128..176, e 176..180, rounded to 16
		{"Mixed", 192},
		{"array<array<f32, 64>, N>", 1280},
	} {
		got, err := l.sizeOf(c.typ)
		if err != nil || got != c.want {
			t.Errorf("size of %s = %d (%v), want %d", c.typ, got, err, c.want)
		}
	}
	if _, err := l.sizeOf("array<f32, M>"); err == nil || !strings.Contains(err.Error(), `"M"`) {
		t.Errorf("unknown length: %v", err)
	}
}

// indexWorldMem rewrites uses, nested ones included, and nothing else.
func TestIndexWorldMem(t *testing.T) {
	src := "a[i] = b[a[j]][2] + ab[k] + x.a[0];\n"
	got, err := indexWorldMem(src, worldMemUse([]string{"a", "b"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "world_mem[wgi].a[i][wli] = world_mem[wgi].b[world_mem[wgi].a[j][wli]][wli][2] + ab[k] + x.a[0];\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if _, err := indexWorldMem("a[b[1]", worldMemUse([]string{"a"})); err == nil {
		t.Fatal("an unclosed index was accepted")
	}
	// A local that shadows a moved array is refused, not rewritten.
	for _, local := range []string{"fn f() { let qacc = 1.0; }", "fn f(x: f32, qacc: f32) {}"} {
		src := "var<private> qacc: array<f32, 4>;\n" + local + "\n"
		if _, _, err := worldMemory(src); err == nil || !strings.Contains(err.Error(), "qacc") {
			t.Errorf("%s: err = %v, want one naming qacc", local, err)
		}
	}
}

// The lean kernel of every task passes the device's WGSL validation. (Its
// world_mem size is checked where it runs: WebGPU refuses a binding smaller
// than one WorldMem, and a too small size would corrupt the parity tests'
// second workgroup.)
func TestLeanKernelsValidate(t *testing.T) {
	d := newTestDevice(t)
	var shared string
	for _, name := range batchsim.TaskNames() {
		task, err := batchsim.NewTask(name)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := packTask(task)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, size, err := kernelSource(pk, KernelLean, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if size == 0 || size%4 != 0 {
			t.Fatalf("%s: world_mem of %d bytes per workgroup", name, size)
		}
		m, err := d.CreateShaderModule(name, src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m.Release()
		// A software adapter's lean kernel is one source for every task
		// (compiled once by llvmpipe), with the kernel's maxima.
		soft, softSize, err := kernelSource(pk, KernelLean, true)
		if err != nil {
			t.Fatalf("%s, software: %v", name, err)
		}
		if shared == "" {
			shared = soft
			if m, err = d.CreateShaderModule(name, soft); err != nil {
				t.Fatalf("%s, software: %v", name, err)
			}
			m.Release()
		} else if soft != shared {
			t.Errorf("%s: a software adapter's lean kernel differs from the first task's", name)
		}
		if softSize < size {
			t.Errorf("%s: world_mem of %d bytes per workgroup at the kernel's maxima, below the %d sized to the model", name, softSize, size)
		}
		t.Logf("%s: world_mem %d KiB per workgroup of %d worlds (software adapter: %d KiB)", name, size/1024, kconst("WORKGROUP_SIZE"), softSize/1024)
	}
}

// TestLeanKernel runs the lean kernel: the cheetah's one physics step
// against the Go engine from states near the floor (world_mem left dirty by
// another batch first), the planner's policy and sample rollouts (its
// world_mem bound in both rollout bind groups), and the step and rollout
// parity of the tasks the shared evaluator runs in it (on lavapipe the
// humanoid and the Adroit doors, on a GPU every task). It is the package's
// last test file, so that lavapipe's long compile of the kernel (one source
// for every task there), begun in the background by TestMain, has
// overlapped the other tests.
func TestLeanKernel(t *testing.T) {
	waitLean(t)
	t.Run("step parity", func(t *testing.T) { cheetahStepParity(t, Options{Kernel: KernelLean}) })
	t.Run("planner policy worlds", func(t *testing.T) { plannerPolicyWorlds(t, KernelLean) })
	lean := tasksOfShape(t, sharedEvaluator(t), true)
	if len(lean) == 0 {
		t.Fatal("the shared evaluator runs no task in the lean kernel")
	}
	for _, name := range lean {
		t.Run(name+" step parity", func(t *testing.T) { taskStepParity(t, name) })
		t.Run(name+" rollout parity", func(t *testing.T) { taskRolloutParity(t, name) })
	}
}
