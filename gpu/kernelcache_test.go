package gpu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestKernelCache checks the cache's rules on stand-in kernels: one build
// per key however many hold it or ask at once, failed builds not kept, the
// least recently given back idle kernel released beyond maxIdleKernels,
// and everything released when the device closes.
func TestKernelCache(t *testing.T) {
	d := &Device{}
	var builds, releases atomic.Int32
	live := map[string]bool{}
	var mu sync.Mutex
	build := func(key string) func() (string, func(), error) {
		return func() (string, func(), error) {
			builds.Add(1)
			mu.Lock()
			live[key] = true
			mu.Unlock()
			return "kernel " + key, func() {
				releases.Add(1)
				mu.Lock()
				delete(live, key)
				mu.Unlock()
			}, nil
		}
	}

	// Eight callers at once, one build.
	var wg sync.WaitGroup
	dones := make([]func(), 8)
	for i := range dones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, done, err := cachedKernel(d, "a", build("a"))
			if err != nil || v != "kernel a" {
				t.Errorf("caller %d: %q, %v", i, v, err)
			}
			dones[i] = done
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("8 callers of one key: %d builds, want 1", n)
	}
	for _, done := range dones {
		done()
		done() // twice: a second give-back of one hold is ignored
	}
	if held, idle := d.kernels.counts(); held != 0 || idle != 1 || releases.Load() != 0 {
		t.Fatalf("after every give-back: %d held, %d idle, %d released; want 0, 1, 0", held, idle, releases.Load())
	}

	// A failed build is returned and not kept.
	fail := errors.New("bad source")
	if _, _, err := cachedKernel(d, "bad", func() (string, func(), error) { return "", nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("failed build: %v", err)
	}
	if _, done, err := cachedKernel(d, "bad", build("bad")); err != nil {
		t.Fatalf("the key after a failed build: %v", err)
	} else {
		done()
	}

	// Idle kernels beyond maxIdleKernels go, least recently given back first.
	for i := range maxIdleKernels + 2 {
		key := fmt.Sprint("k", i)
		_, done, err := cachedKernel(d, key, build(key))
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
	if held, idle := d.kernels.counts(); held != 0 || idle != maxIdleKernels {
		t.Fatalf("%d held, %d idle; want 0, %d", held, idle, maxIdleKernels)
	}
	for _, gone := range []string{"a", "bad", "k0", "k1"} {
		if live[gone] {
			t.Errorf("kernel %s still compiled after %d newer idle ones", gone, maxIdleKernels)
		}
	}
	b0 := builds.Load()
	_, held, _ := cachedKernel(d, "k5", build("k5")) // idle: reused
	if builds.Load() != b0 {
		t.Error("an idle kernel was built again")
	}

	// Close releases everything, held or idle; a later give-back is a no-op.
	d.kernels.close()
	held()
	if len(live) != 0 || releases.Load() != builds.Load() {
		t.Errorf("after close: %v still compiled, %d built, %d released", live, builds.Load(), releases.Load())
	}
}

// TestEvaluatorsShareKernels: two evaluators of one task on one device run
// one compiled kernel, kept while either holds it.
func TestEvaluatorsShareKernels(t *testing.T) {
	task := cheetahTask(t)
	dev := newTestDevice(t)
	var ev [2]*Evaluator
	for i := range ev {
		ev[i] = newTestEvaluator(t, Options{Device: dev})
		if err := ev[i].setTask(task); err != nil {
			t.Fatal(err)
		}
	}
	if ev[0].pipeline != ev[1].pipeline || ev[0].kernelKey != ev[1].kernelKey {
		t.Fatal("two evaluators of one task compiled two kernels")
	}
	key := ev[0].kernelKey
	r0 := dev.kernels.refs(key) - 2 // other tests' evaluators may hold it too
	if r0 < 0 {
		t.Fatalf("the kernel has %d holders, want at least the 2 evaluators", r0+2)
	}
	ev[0].Close()
	if r := dev.kernels.refs(key); r != r0+1 {
		t.Fatalf("after one evaluator closed: %d holders, want %d", r, r0+1)
	}
	ev[1].Close()
	if r := dev.kernels.refs(key); r != r0 {
		t.Fatalf("after both closed: %d holders, want %d", r, r0)
	}
	if held, idle := dev.kernels.counts(); r0 == 0 && idle == 0 {
		t.Fatalf("the kernel nobody holds was released at once (%d held, %d idle)", held, idle)
	}
}
