package openblas

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// OpenBLAS agrees with gonum's pure-Go Dgemm in every transpose combination,
// with strides wider than the matrices.
func TestDgemmMatchesGonum(t *testing.T) {
	name, err := Load()
	if err != nil {
		t.Fatalf("OpenBLAS is a dependency of make deps (libopenblas0): %v", err)
	}
	t.Logf("loaded %s", name)
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = rng.NormFloat64()
		}
		return s
	}
	const m, n, k, pad = 37, 23, 129, 3
	for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
		for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			ar, ac := m, k
			if tA == blas.Trans {
				ar, ac = k, m
			}
			br, bc := k, n
			if tB == blas.Trans {
				br, bc = n, k
			}
			a, b := fill(ar*(ac+pad)), fill(br*(bc+pad))
			c0 := fill(m * (n + pad))
			want, got := append([]float64(nil), c0...), append([]float64(nil), c0...)
			gonum.Implementation{}.Dgemm(tA, tB, m, n, k, 0.7, a, ac+pad, b, bc+pad, 0.3, want, n+pad)
			Impl{}.Dgemm(tA, tB, m, n, k, 0.7, a, ac+pad, b, bc+pad, 0.3, got, n+pad)
			for i := range want {
				if d := math.Abs(got[i] - want[i]); d > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("tA=%c tB=%c: c[%d] = %v, gonum %v", tA, tB, i, got[i], want[i])
				}
			}
		}
	}
}
