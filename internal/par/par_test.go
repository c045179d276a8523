package par

import (
	"sync/atomic"
	"testing"
)

// Every index runs exactly once, on a goroutine number below the count.
func TestForRunsEachIndexOnce(t *testing.T) {
	for _, c := range []struct{ workers, n int }{{1, 5}, {3, 100}, {8, 3}, {4, 0}} {
		hits := make([]atomic.Int32, c.n)
		var bad atomic.Bool
		For(c.workers, c.n, func(g, k int) {
			if g < 0 || g >= max(1, min(c.workers, c.n)) {
				bad.Store(true)
			}
			hits[k].Add(1)
		})
		for k := range hits {
			if h := hits[k].Load(); h != 1 {
				t.Fatalf("workers %d, n %d: index %d ran %d times", c.workers, c.n, k, h)
			}
		}
		if bad.Load() {
			t.Fatalf("workers %d, n %d: goroutine number out of range", c.workers, c.n)
		}
	}
}
