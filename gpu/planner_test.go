package gpu

import (
	"math"
	"testing"

	"github.com/apex-robotics/apex/icem"
)

func newTestPlanner(tb testing.TB, cfg icem.Config, o Options) *Planner {
	tb.Helper()
	if o.Device == nil {
		o.Device = newTestDevice(tb)
	}
	task := cheetahTask(tb)
	p, err := NewPlanner(task, cfg, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func TestPlannerSmoke(t *testing.T) {
	p := newTestPlanner(t, icem.Config{Population: 40, Iterations: 3, Beta: 0.25}, Options{})
	pr := p.NewProblem(1, 0)
	dst := [][]float64{make([]float64, p.nu)}
	for step := 0; step < 3; step++ {
		st, err := p.Plan(dst, []*icem.Problem{pr})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("step %d: action %v best %v J %v sim %d up %d down %d eval %v elapsed %v", step, dst[0], st.Best, st.BestMain, st.Simulated, st.BytesUp, st.BytesDown, st.EvalTime, st.Elapsed)
		for _, v := range dst[0] {
			if !(math.Abs(v) <= 1) {
				t.Fatalf("action %v", dst[0])
			}
		}
	}
}
