package batchsim

import (
	"os"
	"testing"
)

const cheetahPath = "../../shared/mjcf/half_cheetah.xml"

// loadCheetah loads the gym HalfCheetah model, skipping when the shared
// reference models are absent.
func loadCheetah(tb testing.TB) *Model {
	tb.Helper()
	if _, err := os.Stat(cheetahPath); err != nil {
		tb.Skipf("reference model %s absent: %v", cheetahPath, err)
	}
	m, err := LoadFile(cheetahPath)
	if err != nil {
		tb.Fatalf("LoadFile: %v", err)
	}
	return m
}

// BenchmarkStep measures single-core physics steps per second on the
// HalfCheetah (MuJoCo 2.2.2 Euler: about 156k steps/s per core on the same
// kind of machine, `mujoco-testspeed half_cheetah.xml`).
func BenchmarkStep(b *testing.B) {
	m := loadCheetah(b)
	d := NewData(m)
	for i := range d.Ctrl {
		d.Ctrl[i] = 0.5 * float64(i%3-1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1000 == 0 {
			// keep the cheetah in a busy state with contacts rather than
			// letting it settle
			ResetData(m, d)
			for k := range d.Ctrl {
				d.Ctrl[k] = 0.5 * float64((i/1000+k)%3-1)
			}
		}
		if err := Step(m, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}
