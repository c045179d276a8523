//go:build cgo

// Package openblas calls OpenBLAS's matrix product, loaded at run time with
// dlopen, so that the program builds and runs without it (callers fall back
// to gonum's pure-Go BLAS when Load fails). Only what the policy's training
// needs is bound: the row-major cblas_dgemm, single-threaded (callers
// parallelise themselves, so that results do not depend on the thread count).
package openblas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double*, int,
                         const double*, int, double, double*, int);
typedef void (*set_threads_fn)(int);

static void *lib;
static dgemm_fn dgemm;

static const char *apex_openblas_load(const char *name) {
	lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) return dlerror();
	dgemm = (dgemm_fn)dlsym(lib, "cblas_dgemm");
	if (!dgemm) return "no cblas_dgemm";
	set_threads_fn st = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
	if (!st) return "no openblas_set_num_threads";
	st(1);
	return 0;
}

static void apex_dgemm(int ta, int tb, int m, int n, int k, double alpha,
		const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc) {
	// 101: CblasRowMajor; 111/112: CblasNoTrans/CblasTrans.
	dgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
)

// Names are the shared objects Load tries, in order (Debian's
// libopenblas0 provides the first).
var Names = []string{"libopenblas.so.0", "libopenblas.so"}

var (
	once    sync.Once
	loadErr error
	loaded  string
)

// Load loads OpenBLAS once and returns the name of the library loaded, or
// why it could not be loaded.
func Load() (string, error) {
	once.Do(func() {
		var errs []error
		for _, n := range Names {
			cn := C.CString(n)
			msg := C.apex_openblas_load(cn)
			C.free(unsafe.Pointer(cn))
			if msg == nil {
				loaded = n
				return
			}
			errs = append(errs, fmt.Errorf("%s: %s", n, C.GoString(msg)))
		}
		loadErr = fmt.Errorf("openblas: %w", errors.Join(errs...))
	})
	return loaded, loadErr
}

// Impl is OpenBLAS's Dgemm with the signature of gonum's
// blas.Float64Level3.Dgemm (row-major). Use it only after Load succeeded.
type Impl struct{}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C, row-major, on the calling
// thread.
func (Impl) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int,
	b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkLen := func(name string, s []float64, rows, cols, ld int) {
		if rows > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("openblas: Dgemm: %s of length %d for %d×%d with stride %d", name, len(s), rows, cols, ld))
		}
	}
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	checkLen("c", c, m, n, ldc)
	var pa, pb *C.double
	if k > 0 {
		checkLen("a", a, ar, ac, lda)
		checkLen("b", b, br, bc, ldb)
		pa, pb = (*C.double)(&a[0]), (*C.double)(&b[0])
	}
	C.apex_dgemm(C.int(btoi(tA != blas.NoTrans)), C.int(btoi(tB != blas.NoTrans)), C.int(m), C.int(n), C.int(k),
		C.double(alpha), pa, C.int(lda), pb, C.int(ldb), C.double(beta), (*C.double)(&c[0]), C.int(ldc))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
