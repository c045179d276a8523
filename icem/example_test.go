package icem_test

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// quadratic is an Evaluator whose main cost is Σ_t (a_t − 0.3)², without
// any dynamics: enough to watch the optimiser work.
type quadratic struct{}

func (quadratic) Evaluate(b *batchsim.Batch, r *batchsim.Result) error {
	r.Resize(b)
	for s := range b.Problems * b.Samples {
		a := b.Actions[s*b.Horizon : (s+1)*b.Horizon] // nu = 1
		r.Main[s], r.Guide[s], r.Norm[s] = 0, 0, 0
		for _, x := range a {
			r.Main[s] += (x - 0.3) * (x - 0.3)
			r.Norm[s] += x * x
		}
	}
	return nil
}
func (quadratic) SetPolicy(*batchsim.PolicyNet) error { return nil }
func (quadratic) Name() string                        { return "quadratic" }
func (quadratic) Close() error                        { return nil }

// ExamplePlanner_Plan plans one step of a 1-D problem with a quadratic cost
// whose optimum is the action 0.3 at every step.
func ExamplePlanner_Plan() {
	task := &batchsim.Task{
		Name:    "1-D",
		Model:   &batchsim.Model{Nq: 1, Nv: 1, Nu: 1},
		ActLow:  []float64{-1},
		ActHigh: []float64{1},
	}
	cfg := icem.Config{Horizon: 3, Population: 60, Elites: 20, Gamma: 1, Iterations: 20}
	pl, err := icem.New(task, quadratic{}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	pr := pl.NewProblem(1, 0) // seed 1, problem 0
	a := [][]float64{make([]float64, 1)}
	st, err := pl.Plan(a, []*icem.Problem{pr})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("action %.2f, predicted cost below 1e-4: %v, %d samples simulated\n",
		a[0][0], st.BestMain[0] < 1e-4, st.Simulated)
	// Output: action 0.30, predicted cost below 1e-4: true, 1206 samples simulated
}
