package gpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// benchRollout evaluates a HalfCheetah batch of worlds × 30 control steps
// (a guided iCEMπ call: 3-layer 128-wide policy) and reports rollouts/s and
// physics steps/s.
func benchRollout(b *testing.B, ev batchsim.Evaluator, worlds int) {
	task := cheetahTask(b)
	rng := rand.New(rand.NewPCG(11, 12))
	if err := ev.SetPolicy(randomPolicy(rng, task.ObsDim(), task.Model.Nu, 128, 128, 128)); err != nil {
		b.Fatal(err)
	}
	const problems, horizon = 4, 30
	batch := randomBatch(rng, task, problems, worlds/problems, horizon)
	var r batchsim.Result
	if err := ev.Evaluate(batch, &r); err != nil { // warm-up: buffers, pipeline
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ev.Evaluate(batch, &r); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(worlds*b.N)/sec, "rollouts/s")
	b.ReportMetric(float64(worlds*horizon*task.FrameSkip*b.N)/sec, "steps/s")
}

func BenchmarkRollout(b *testing.B) {
	for _, n := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("worlds=%d", n), func(b *testing.B) {
			benchRollout(b, newTestEvaluator(b, Options{}), n)
		})
	}
}

// BenchmarkRolloutCPU is the same work on batchsim's CPU evaluator, for
// comparison on the same machine.
func BenchmarkRolloutCPU(b *testing.B) {
	for _, n := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("worlds=%d", n), func(b *testing.B) {
			benchRollout(b, batchsim.NewCPU(0), n)
		})
	}
}
