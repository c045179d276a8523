package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzControls feeds the --ctrl-file reader (openControls, controlReader)
// arbitrary CSV files for models of 1..24 actuators and runs of 1..16
// steps, and checks that it never panics; that an error names the file;
// and that a file it accepts up front (a regular file is checked to the
// last step before the run) then yields every step's row, each finite, and
// the same rows as the streaming reader used for pipes. Its seed corpus
// runs in plain go test; make fuzz runs it for a bounded time.
func FuzzControls(f *testing.F) {
	for _, s := range []struct {
		csv       string
		nu, steps uint8
	}{
		{"0.5,-0.5\n1,1\n", 2, 2},
		{"# comment\n0.1, 0.2 ,0.3\n\n1e-3,2E2,-0\n", 3, 2},
		{"1\n2\n3\n", 1, 5},
		{"1abc\n", 1, 1},
		{"1.5.5\n", 1, 1},
		{"\"1 2\"\n", 1, 1},
		{"1e300\n1e309\n", 1, 2},
		{"NaN\n", 1, 1},
		{"inf,-inf\n", 2, 1},
		{"\"unterminated\n", 1, 1},
		{"1,2\n3\n", 2, 2},
		{"", 6, 1},
		{"\r\n1\r\n", 1, 1},
	} {
		f.Add([]byte(s.csv), s.nu, s.steps)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, nu8, steps8 uint8) {
		nu, steps := 1+int(nu8)%24, 1+int(steps8)%16
		p := filepath.Join(dir, "ctrl.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := openControls(p, nu, steps)
		if err != nil {
			if c != nil {
				t.Fatalf("openControls returned a reader with error %v", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer c.Close()
		g, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		stream := newControlReader(p, g, nu) // as for a pipe: no check up front
		defer stream.Close()
		a, b := make([]float64, nu), make([]float64, nu)
		for s := 0; s < steps; s++ {
			if err := c.next(a, s, steps); err != nil {
				t.Fatalf("step %d of %d: checked up front, yet: %v", s, steps, err)
			}
			if err := stream.next(b, s, steps); err != nil {
				t.Fatalf("step %d of %d: the checked reader read a row the streaming one refuses: %v", s, steps, err)
			}
			for i := range a {
				if math.IsNaN(a[i]) || math.IsInf(a[i], 0) {
					t.Fatalf("step %d: control %d = %g is not finite", s, i, a[i])
				}
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("step %d: control %d = %g checked, %g streamed", s, i, a[i], b[i])
				}
			}
		}
	})
}
