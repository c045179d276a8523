package batchsim

import (
	"runtime"
	"slices"
	"testing"
)

// TestPinThread: a pinned thread runs on the one CPU asked for, and gets its
// CPUs back when unpinned.
func TestPinThread(t *testing.T) {
	before := allowedCPUs()
	if len(before) == 0 {
		t.Fatal("allowedCPUs read no CPU")
	}
	want := before[len(before)-1]
	done := make(chan struct{})
	go func() {
		defer close(done)
		// locked once more than pinThread locks, to stay on the thread
		// after unpin
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		unpin := pinThread(want)
		if got := allowedCPUs(); !slices.Equal(got, []int{want}) {
			t.Errorf("pinned to CPU %d, the thread may run on %v", want, got)
		}
		unpin()
		if got := allowedCPUs(); !slices.Equal(got, before) {
			t.Errorf("unpinned, the thread may run on %v, was %v", got, before)
		}
	}()
	<-done
}

// TestCPUPinsOnlyWhenItOwnsEveryCPU: workers are pinned when there is one
// per allowed CPU, never with fewer (other processes keep their CPUs) or
// more.
func TestCPUPinsOnlyWhenItOwnsEveryCPU(t *testing.T) {
	n := len(allowedCPUs())
	for _, w := range []int{1, n - 1, n, n + 1} {
		if w < 1 {
			continue
		}
		c := NewCPU(w)
		if pinned, want := c.pin != nil, w == n && n > 1; pinned != want {
			t.Errorf("%d workers on %d CPUs: pinned %v, want %v", w, n, pinned, want)
		}
	}
}
