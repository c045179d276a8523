package gpu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// TestMain lets llvmpipe (lavapipe) compile the tests' kernels without
// LLVM's optimisation passes unless GALLIVM_PERF says otherwise: the tests
// check results, not lavapipe's speed, and a kernel then compiles about 5×
// faster (the generic HalfCheetah kernel 289 s -> 56 s on a cold Mesa
// cache). A hardware GPU's driver ignores the variable.
func TestMain(m *testing.M) {
	if _, set := os.LookupEnv("GALLIVM_PERF"); !set {
		os.Setenv("GALLIVM_PERF", "nopt")
	}
	if os.Getenv(warmLeanEnv) == "1" {
		if err := compileLean(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	warm := exec.Command(os.Args[0], "-test.run=^$")
	warm.Env = append(os.Environ(), warmLeanEnv+"=1")
	warm.Stderr = &leanWarm.stderr
	if leanWarm.err = warm.Start(); leanWarm.err == nil {
		go func() { leanWarm.err = warm.Wait(); close(leanWarm.done) }()
	} else {
		close(leanWarm.done)
	}
	code := m.Run()
	<-leanWarm.done
	os.Exit(code)
}

// The lean kernel (on a software adapter one source for every task:
// kernelSource) is compiled by a child process (this test binary with
// warmLeanEnv set) from the start of the tests: lavapipe takes about 6
// minutes over it on one core (against under a minute for the
// generic kernel it is rewritten from) while the other tests leave the second core
// mostly idle; in this process wgpu would make the other tests' pipelines
// wait for it. The tests that run the lean kernel wait for the child
// (waitLean) and then find the kernel in Mesa's on-disk shader cache.
const warmLeanEnv = "APEX_GPU_TEST_COMPILE_LEAN"

var leanWarm = struct {
	done   chan struct{}
	err    error
	stderr bytes.Buffer
}{done: make(chan struct{})}

// compileLean runs the lean kernel once (the cheetah, one world, one step) on
// a software adapter: lavapipe compiles a kernel at its first dispatch. A
// GPU's driver compiles it in seconds; without an adapter there is nothing
// to do.
func compileLean() error {
	if os.Getenv("XDG_RUNTIME_DIR") == "" { // as newTestDevice
		dir, err := os.MkdirTemp("", "gpu-test-xdg")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		os.Setenv("XDG_RUNTIME_DIR", dir)
	}
	task, err := loadCheetah()
	if err != nil {
		return err
	}
	m := task.Model
	d, err := NewDevice()
	if errors.Is(err, ErrNoAdapter) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if !d.Info.Software {
		return nil
	}
	e, err := NewEvaluator(Options{Device: d, Kernel: KernelLean})
	if err != nil {
		return err
	}
	defer e.Close()
	b := &batchsim.Batch{Task: task, Problems: 1, Samples: 1, Horizon: 1,
		Qpos: m.Qpos0, Qvel: make([]float64, m.Nv), Actions: make([]float64, m.Nu)}
	var r batchsim.Result
	return e.Evaluate(b, &r)
}

// waitLean waits for the background compile of the lean kernel; a test
// that runs the lean kernel calls it first.
func waitLean(tb testing.TB) {
	tb.Helper()
	<-leanWarm.done
	if leanWarm.err != nil {
		tb.Fatalf("compiling the lean kernel in a child process: %v\n%s", leanWarm.err, leanWarm.stderr.String())
	}
}

// testDevice is the device the package's tests share, so that tests
// running one kernel compile it once (its kernel cache): on lavapipe every
// kernel costs 15 s to minutes. It lives until the test binary exits.
var testDevice struct {
	once sync.Once
	d    *Device
	err  error
}

// newTestDevice returns the shared test device, or skips the test when the
// machine has no WebGPU adapter. Tests may lower its limits: they are put
// back when the test ends, and a device error the test left fails it.
func newTestDevice(tb testing.TB) *Device {
	tb.Helper()
	testDevice.once.Do(func() {
		if os.Getenv("XDG_RUNTIME_DIR") == "" {
			dir, err := os.MkdirTemp("", "gpu-test-xdg")
			if err != nil {
				testDevice.err = err
				return
			}
			os.Setenv("XDG_RUNTIME_DIR", dir)
		}
		testDevice.d, testDevice.err = NewDevice()
	})
	if errors.Is(testDevice.err, ErrNoAdapter) {
		tb.Skipf("no WebGPU adapter: %v", testDevice.err)
	}
	if testDevice.err != nil {
		tb.Fatal(testDevice.err)
	}
	d := testDevice.d
	limits := d.limits
	tb.Cleanup(func() {
		d.limits = limits
		if err := d.Err(); err != nil {
			tb.Errorf("the shared test device reports an error: %v", err)
		}
	})
	return d
}

// newOwnTestDevice opens a device of the test's own, closed when it ends.
func newOwnTestDevice(tb testing.TB) *Device {
	tb.Helper()
	newTestDevice(tb) // skips without an adapter
	d, err := NewDevice()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func TestAvailable(t *testing.T) {
	d := newTestDevice(t)
	inf, err := Available()
	if err != nil && !errors.Is(err, ErrSoftwareOnly) {
		t.Fatalf("Available: %v", err)
	}
	if inf.Name != d.Info.Name || inf.Backend != d.Info.Backend {
		t.Errorf("Available reports %v, NewDevice got %v", inf, d.Info)
	}
	if (err == nil) == inf.Software {
		t.Errorf("Available: software=%v but err=%v", inf.Software, err)
	}
	if d.Limits().MaxStorageBuffersPerShaderStage < 8 {
		t.Errorf("device grants %d storage buffers per stage, want >= 8", d.Limits().MaxStorageBuffersPerShaderStage)
	}
	t.Logf("adapter: %v; maxStorageBufferBindingSize %d, maxComputeWorkgroupsPerDimension %d",
		d.Info, d.Limits().MaxStorageBufferBindingSize, d.Limits().MaxComputeWorkgroupsPerDimension)
}

func TestDeviceErrors(t *testing.T) {
	d := newOwnTestDevice(t) // its errors stay off the shared device
	if _, err := d.CreateShaderModule("bad", "fn main( {"); err == nil {
		t.Error("invalid WGSL compiled without error")
	}
	// MapRead may only be combined with CopyDst: a validation error that our
	// own error scope (not go-webgpu's) must catch.
	_, err := d.CreateBuffer("bad usage", 64, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_Storage)
	if err == nil || !strings.Contains(err.Error(), "bad usage") {
		t.Errorf("invalid buffer usage: err = %v, want a validation error naming the buffer", err)
	}
	if _, err := d.CreateBuffer("huge", d.Limits().MaxBufferSize+1, wgpu.BufferUsage_Storage); err == nil {
		t.Error("buffer above maxBufferSize created without error")
	}
	// The device still works after the errors above.
	b, err := d.CreateBuffer("ok", 16, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	// Copying past the end of a buffer is a validation error of the encoder.
	err = d.Encode("bad copy", func(enc *wgpu.CommandEncoder) error {
		return enc.CopyBufferToBuffer(b, 0, b, 8, 64)
	})
	if err == nil {
		t.Error("out-of-range copy encoded without error")
	}
	if err := d.Err(); err != nil {
		t.Errorf("uncaptured error left after captured ones: %v", err)
	}
	got := make([]byte, 16)
	if err := d.Read(b, 0, got); err != nil {
		t.Errorf("read after errors: %v", err)
	}
}
