package gpu

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"gonum.org/v1/gonum/stat"
)

// Contact-rich rollouts are chaotic, so float32 and float64 drift apart
// sample by sample; what the planner needs is that both backends rank the
// samples alike. Issue 3's bar: the cheetah on the floor, 256 colored-noise
// sequences of 30 control steps, median relative cost difference below 1e-2
// and Spearman rank correlation above 0.99.
func TestContactRichRolloutsRankAlike(t *testing.T) {
	e := sharedEvaluator(t)
	task := cheetahTask(t)
	m := task.Model
	// Start from the cheetah standing on the floor.
	env := batchsim.NewEnv(task)
	env.Reset(rand.New(rand.NewPCG(3, 4)))
	zero := make([]float64, m.Nu)
	for range 40 {
		if _, _, err := env.Act(zero); err != nil {
			t.Fatal(err)
		}
	}
	const n, h = 256, 30
	b := &batchsim.Batch{Task: task, Problems: 1, Samples: n, Horizon: h,
		Qpos: append([]float64(nil), env.Data.Qpos...), Qvel: append([]float64(nil), env.Data.Qvel...),
		Actions: make([]float64, n*h*m.Nu)}
	icem.NewColoredNoise(task.Beta, h).Sample(b.Actions, n, m.Nu, rand.New(rand.NewPCG(5, 6)))
	for i := range b.Actions {
		b.Actions[i] = math.Max(-1, math.Min(1, 0.5*b.Actions[i]))
	}
	var gpuRes, cpuRes batchsim.Result
	if err := e.Evaluate(b, &gpuRes); err != nil {
		t.Fatal(err)
	}
	if err := batchsim.NewCPU(0).Evaluate(b, &cpuRes); err != nil {
		t.Fatal(err)
	}
	diffs := make([]float64, n)
	for i := range diffs {
		diffs[i] = math.Abs(gpuRes.Main[i]-cpuRes.Main[i]) / math.Max(1, math.Abs(cpuRes.Main[i]))
	}
	sort.Float64s(diffs)
	median := diffs[n/2]
	rho := stat.Correlation(ranks(gpuRes.Main), ranks(cpuRes.Main), nil)
	t.Logf("contact-rich rollouts: median relative cost difference %.3g (max %.3g), Spearman %.5f", median, diffs[n-1], rho)
	if median > 1e-2 {
		t.Errorf("median relative cost difference %.3g, want < 1e-2", median)
	}
	if rho < 0.99 {
		t.Errorf("Spearman rank correlation %.4f, want > 0.99", rho)
	}
}

// ranks returns the rank of each value (0 for the smallest).
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for k, i := range idx {
		r[i] = float64(k)
	}
	return r
}
