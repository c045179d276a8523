package batchsim

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Worker threads pinned to CPUs. A planner calls Evaluate a few times per
// control step with a few dozen rollouts each and works on the host in
// between, so the workers' threads sleep and wake every few milliseconds;
// Linux often wakes a thread on its waker's CPU, and until it rebalances
// the two workers share one CPU while the other idles (16–20 % of a 2-CPU
// machine idle in a budget-100 HalfCheetah plan, BENCHMARKS.md). A worker
// that moves its own thread to its own CPU for the call does not wait for
// the rebalance.

// allowedCPUs returns the CPUs the calling thread may run on, nil when
// they cannot be read.
func allowedCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// pinThread locks the calling goroutine to its thread and the thread to
// cpu. The returned function gives the thread its CPUs back and unlocks it;
// if they cannot be given back the goroutine stays locked, so that Go ends
// the thread with it instead of reusing a pinned thread.
func pinThread(cpu int) (unpin func()) {
	runtime.LockOSThread()
	var old, set unix.CPUSet
	set.Set(cpu)
	if unix.SchedGetaffinity(0, &old) != nil || unix.SchedSetaffinity(0, &set) != nil {
		runtime.UnlockOSThread()
		return func() {}
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
	}
}
