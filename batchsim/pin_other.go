//go:build !linux

package batchsim

// Without Linux's sched_setaffinity the workers are not pinned (pin_linux.go).

func allowedCPUs() []int { return nil }

func pinThread(cpu int) (unpin func()) { return func() {} }
