package batchsim

import (
	"testing"
)

// loadCheetah loads the gym HalfCheetah model from models/, failing when it
// is missing.
func loadCheetah(tb testing.TB) *Model {
	tb.Helper()
	m, err := LoadFile(refModel(tb, "half_cheetah.xml"))
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
			m, err := LoadFile(refModel(b, name+".xml"))
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
