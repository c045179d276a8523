// Package par runs independent pieces of work on a few goroutines. Each
// goroutine takes the next index when it is free, so uneven pieces balance;
// the caller keeps results independent of which goroutine ran which index.
package par

import (
	"sync"
	"sync/atomic"
)

// For calls fn(g, k) for every k in [0, n) on min(workers, n) goroutines,
// g in [0, that number) naming the goroutine (for per-goroutine scratch).
// With one goroutine it runs in the caller, in order.
func For(workers, n int, fn func(g, k int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for k := range n {
			fn(0, k)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				fn(g, k)
			}
		}()
	}
	wg.Wait()
}
