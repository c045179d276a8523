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

// BenchmarkStep measures single-core physics steps per second under random
// controls that keep the robot moving and in contact: the gym HalfCheetah
// (MuJoCo 2.2.2's Euler step runs about 156k steps/s per core there,
// `mujoco-testspeed half_cheetah.xml 50000 1 0.01`) and Humanoid Standup.
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"half_cheetah", "humanoidstandup"} {
		b.Run("model="+name, func(b *testing.B) {
			path := "../../shared/mjcf/" + name + ".xml"
			if _, err := os.Stat(path); err != nil {
				b.Skipf("reference model %s absent: %v", path, err)
			}
			m, err := LoadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			benchStep(b, m)
		})
	}
}

func benchStep(b *testing.B, m *Model) {
	d := NewData(m)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1000 == 0 {
			// restart every 1000 steps with new controls so that the robot
			// keeps moving and touching the floor instead of settling
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
