package icem

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestColoredNoiseMatrix checks that M·z is Sequence's output for the same
// draws z, for white and colored noise, even and odd h.
func TestColoredNoiseMatrix(t *testing.T) {
	for _, h := range []int{1, 8, 9, 30} {
		for _, beta := range []float64{0, 0.25, 2.5} {
			c := NewColoredNoise(beta, h)
			m := c.Matrix()
			rng := rand.New(rand.NewPCG(uint64(h), 3))
			z := make([]float64, h)
			for j := range z {
				z[j] = rng.NormFloat64()
			}
			y := make([]float64, h)
			c.Sequence(y, &listDraws{z: z})
			for tt := 0; tt < h; tt++ {
				var v float64
				for j := 0; j < h; j++ {
					v += m[tt*h+j] * z[j]
				}
				if math.Abs(v-y[tt]) > 1e-12 {
					t.Fatalf("h=%d beta=%v t=%d: M·z = %v, Sequence %v", h, beta, tt, v, y[tt])
				}
			}
		}
	}
}

type listDraws struct {
	z []float64
	n int
}

func (l *listDraws) NormFloat64() float64 { v := l.z[l.n]; l.n++; return v }

// TestSampleNoiseIsPlannersNoise checks that SampleNoise reproduces a
// sample's noise in a Plan call from the problem's key: the build hook sees
// clip(μ + σ·noise) with μ = mid and σ = σ_init at t = 0 of an episode.
func TestSampleNoiseIsPlannersNoise(t *testing.T) {
	task := tinyTask(2)
	ev := &fakeEval{main: func(x0 float64, a []float64) float64 { return a[0] }}
	pl := newPlanner(t, task, ev, Config{Population: 30, Iterations: 1, Beta: 2, Horizon: 8, SigmaInit: 0.01})
	pr := pl.NewProblem(5, 3)
	if pr.Key() != NewBareProblem(task, 5, 3).Key() {
		t.Fatal("a bare problem's key differs from the planner's problem's")
	}
	c := NewColoredNoise(2, 8)
	nu := pl.nu
	nz := make([]float64, 8*nu)
	checked := 0
	pl.hook = func(stage string, i int, p *Problem) {
		if stage != "built" {
			return
		}
		for s := 1; s < 30; s++ {
			SampleNoise(nz, c, nu, p.Key(), p.Calls(), i, s)
			seq := pl.seq(p, s)
			for x, v := range seq {
				want := pl.mid[x%nu] + pl.sigma0[x%nu]*nz[x]
				want = min(max(want, pl.task.ActLow[x%nu]), pl.task.ActHigh[x%nu])
				if math.Abs(v-want) > 1e-12 {
					t.Fatalf("sample %d value %d: planner %v, SampleNoise gives %v", s, x, v, want)
				}
			}
			checked++
		}
	}
	dst := [][]float64{make([]float64, nu)}
	if _, err := pl.Plan(dst, []*Problem{pr}); err != nil {
		t.Fatal(err)
	}
	if checked == 0 || pr.Calls() != 1 || !pr.Started() {
		t.Fatalf("checked %d samples; calls %d, started %v", checked, pr.Calls(), pr.Started())
	}
}
