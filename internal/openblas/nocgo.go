//go:build !cgo

package openblas

import (
	"errors"

	"gonum.org/v1/gonum/blas"
)

// Names are the shared objects Load would try with cgo.
var Names = []string{"libopenblas.so.0", "libopenblas.so"}

// Load fails: without cgo OpenBLAS cannot be loaded.
func Load() (string, error) { return "", errors.New("openblas: built without cgo") }

// Impl is unusable without cgo (Load always fails).
type Impl struct{}

// Dgemm panics: Load never succeeds without cgo.
func (Impl) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int,
	b []float64, ldb int, beta float64, c []float64, ldc int) {
	panic("openblas: built without cgo")
}
