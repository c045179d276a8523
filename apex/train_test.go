package apex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// loadBatch puts the first n pairs of ds into t's workspace.
func loadBatch(t *Trainer, ds *Dataset, n int) {
	t.ws = newWorkspace(t.p, n)
	t.idx = make([]int, n)
	for i := range t.idx {
		t.idx[i] = i
	}
	t.ws.fill(t.p, ds, t.idx)
}

func TestGradientCheck(t *testing.T) {
	const obsDim, actDim, n = 4, 3, 9
	rng := rand.New(rand.NewPCG(11, 12))
	ds := NewDataset(obsDim, actDim, 1)
	obs, act := randRollout(rng, n, obsDim, actDim)
	ds.Add(Provenance{}, obs, act)
	p := NewPolicy(obsDim, []float64{-1, -0.5, 0}, []float64{1, 1.5, 0.5}, []int{6, 5}, rand.NewPCG(13, 14))
	for i := range p.params { // non-zero biases; weights away from the L1 kink
		p.params[i] = 0.6 * rng.NormFloat64()
	}
	p.SetNormalizer(ds.ObsStats())
	// Penalties far above the defaults so that their gradients count.
	tr := NewTrainer(p, TrainConfig{L1: 1e-3, L2: 1e-2})
	loadBatch(tr, ds, n)
	tr.lossGrad()
	analytic := append([]float64(nil), tr.grad...)

	// Central differences: truncation ~h²·f''' ≈ 1e-12, rounding ~1e-16/h ≈
	// 1e-11, both far below the 1e-6 relative tolerance.
	const h = 1e-5
	var num2, diff2 float64
	for i := range p.params {
		w := p.params[i]
		p.params[i] = w + h
		lp, _ := tr.lossGrad()
		p.params[i] = w - h
		lm, _ := tr.lossGrad()
		p.params[i] = w
		g := (lp - lm) / (2 * h)
		a := analytic[i]
		// Per parameter: relative error, with an absolute floor for
		// gradients that are ~0 (a ReLU unit inactive on the whole batch).
		if math.Abs(a-g) > 1e-6*math.Max(math.Abs(a), math.Abs(g))+1e-10 {
			t.Errorf("parameter %d: analytic %.12g, numeric %.12g", i, a, g)
		}
		num2 += g * g
		diff2 += (a - g) * (a - g)
	}
	if rel := math.Sqrt(diff2 / num2); rel > 1e-6 || num2 == 0 {
		t.Errorf("relative gradient error %g (|g|² = %g), want < 1e-6", rel, num2)
	}
}

func TestBatchedForwardMatchesAct(t *testing.T) {
	const obsDim, actDim, n = 11, 3, 50
	rng := rand.New(rand.NewPCG(15, 16))
	ds := NewDataset(obsDim, actDim, 1)
	obs, act := randRollout(rng, n, obsDim, actDim)
	ds.Add(Provenance{}, obs, act)
	p := testPolicy(17, obsDim, nil)
	tr := NewTrainer(p, TrainConfig{})
	loadBatch(tr, ds, n)
	c := tr.ws.chunks[0]
	c.forward(p, tr.mm)
	y := c.a[len(p.layers)-1]
	got := make([]float64, actDim)
	for r := 0; r < n; r++ {
		o, _ := ds.Pair(r)
		p.Act(o, got)
		for j := range got {
			want := p.actLow[j] + (math.Tanh(y[r*actDim+j])+1)*0.5*(p.actHigh[j]-p.actLow[j])
			// Only the order of summation differs (a blocked dgemm).
			if math.Abs(got[j]-want) > 1e-12 {
				t.Fatalf("pair %d action %d: Act %v, batched %v", r, j, got[j], want)
			}
		}
	}
}

// linearData returns rollouts of the linear policy a = A·o with o uniform in
// [−1, 1]^obsDim; A's rows have Σ|A_ij| ≤ 0.45, so |a| < 0.5 stays well
// inside the bounds ±1 where tanh is far from saturation.
func linearData(A [][]float64, rollouts, T int, window int, rng *rand.Rand) *Dataset {
	obsDim, actDim := len(A[0]), len(A)
	ds := NewDataset(obsDim, actDim, window)
	for k := 0; k < rollouts; k++ {
		obs := make([]float64, T*obsDim)
		act := make([]float64, T*actDim)
		for s := 0; s < T; s++ {
			o := obs[s*obsDim : (s+1)*obsDim]
			for i := range o {
				o[i] = 2*rng.Float64() - 1
			}
			for j := range A {
				var v float64
				for i, aij := range A[j] {
					v += aij * o[i]
				}
				act[s*actDim+j] = v
			}
		}
		ds.Add(Provenance{Source: SourceExpert, Iteration: k}, obs, act)
	}
	return ds
}

func TestTrainFitsLinearPolicy(t *testing.T) {
	const obsDim, actDim = 5, 2
	rng := rand.New(rand.NewPCG(21, 22))
	A := make([][]float64, actDim)
	for j := range A {
		A[j] = make([]float64, obsDim)
		var s float64
		for i := range A[j] {
			A[j][i] = rng.NormFloat64()
			s += math.Abs(A[j][i])
		}
		for i := range A[j] {
			A[j][i] *= 0.45 / s
		}
	}
	// 20000 pairs: with a few thousand the net overfits (training MSE
	// 4e-5, held-out 1e-3), which would test the data, not the trainer.
	train := linearData(A, 50, 400, 50, rng)
	heldOut := linearData(A, 5, 400, 50, rng)
	var targetVar float64 // the MSE of always answering 0
	for i := 0; i < heldOut.Len(); i++ {
		_, a := heldOut.Pair(i)
		for _, v := range a {
			targetVar += v * v
		}
	}
	targetVar /= float64(heldOut.Len() * actDim)

	low, high := []float64{-1, -1}, []float64{1, 1}
	// A smaller net and batch than the paper's keep the test fast; the
	// optimiser, loss and penalties are the paper's.
	p := NewPolicy(obsDim, low, high, []int{64, 64}, rand.NewPCG(23, 24))
	tr := NewTrainer(p, TrainConfig{BatchSize: 256})
	const steps = 4000 // the held-out MSE is 5e-4 after 3000 steps, 1e-3 after 2000
	var st TrainStats
	var err error
	for done := 0; done < steps; done += 500 {
		if st, err = tr.Train(train, 500, rng); err != nil {
			t.Fatal(err)
		}
	}
	mse := p.MSE(heldOut)
	t.Logf("after %d steps: held-out MSE %.3g (target variance %.3g), last minibatch loss %.3g", tr.Steps(), mse, targetVar, st.Loss)
	if mse >= 1e-3 {
		t.Errorf("held-out MSE %g, want < 1e-3", mse)
	}
	if mse > targetVar/50 {
		t.Errorf("held-out MSE %g is not far below the target variance %g", mse, targetVar)
	}
	if tr.Steps() != steps || st.Steps != 500 || st.BatchSize != 256 {
		t.Errorf("steps %d (want %d), stats %+v", tr.Steps(), steps, st)
	}
}

func TestTrainerResumeIdentical(t *testing.T) {
	const obsDim, actDim = 6, 3
	rng := rand.New(rand.NewPCG(31, 32))
	ds := NewDataset(obsDim, actDim, 10)
	for k := 0; k < 10; k++ {
		obs, act := randRollout(rng, 30, obsDim, actDim)
		ds.Add(Provenance{Iteration: k}, obs, act)
	}
	newTrainer := func() *Trainer {
		p := NewPolicy(obsDim, []float64{-1, -1, -1}, []float64{1, 1, 1}, []int{16, 16}, rand.NewPCG(33, 34))
		return NewTrainer(p, TrainConfig{BatchSize: 64})
	}
	// Straight through: two calls of 50 steps.
	pcgA := rand.NewPCG(35, 36)
	a := newTrainer()
	if _, err := a.Train(ds, 50, rand.New(pcgA)); err != nil {
		t.Fatal(err)
	}
	stA, err := a.Train(ds, 50, rand.New(pcgA))
	if err != nil {
		t.Fatal(err)
	}

	// Killed after the first call: trainer and rng state saved and restored.
	pcgB := rand.NewPCG(35, 36)
	b := newTrainer()
	if _, err := b.Train(ds, 50, rand.New(pcgB)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trainer.gob")
	if err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	rngState, err := pcgB.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadTrainer(path)
	if err != nil {
		t.Fatal(err)
	}
	pcgC := new(rand.PCG)
	if err := pcgC.UnmarshalBinary(rngState); err != nil {
		t.Fatal(err)
	}
	stC, err := c.Train(ds, 50, rand.New(pcgC))
	if err != nil {
		t.Fatal(err)
	}

	if stA != stC {
		t.Errorf("stats straight %+v, resumed %+v", stA, stC)
	}
	if !equalBits(a.p.params, c.p.params) || !equalBits(a.m, c.m) || !equalBits(a.v, c.v) || a.step != c.step {
		t.Error("resumed training differs from uninterrupted training")
	}
	if a.Config() != c.Config() {
		t.Errorf("config %+v, loaded %+v", a.Config(), c.Config())
	}
	// Leftover state: the same trainer trained again on the same rng state
	// must move on (Adam's step count and moments), not repeat itself.
	before := append([]float64(nil), a.p.params...)
	if _, err := a.Train(ds, 1, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if equalBits(before, a.p.params) {
		t.Error("a training step did not change the weights")
	}
}

func TestTrainSmallDatasetAndErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ds := NewDataset(3, 1, 5)
	obs, act := randRollout(rng, 10, 3, 1)
	ds.Add(Provenance{}, obs, act)
	p := NewPolicy(3, []float64{-1}, []float64{1}, []int{8}, rand.NewPCG(43, 44))
	tr := NewTrainer(p, TrainConfig{})
	if c := tr.Config(); c.LR != 5e-4 || c.Beta1 != 0.9 || c.Beta2 != 0.999 || c.Eps != 1e-8 || c.BatchSize != 1024 || c.L1 != 1e-6 || c.L2 != 1e-5 {
		t.Errorf("defaults %+v", c)
	}
	first, err := tr.Train(ds, 200, rng)
	if err != nil {
		t.Fatal(err)
	}
	if first.BatchSize != 10 {
		t.Errorf("batch size %d on 10 pairs, want 10 (the whole data set)", first.BatchSize)
	}
	mean, _ := p.Normalizer()
	wantMean, _ := ds.ObsStats()
	if !equalBits(mean, wantMean) {
		t.Errorf("normaliser mean %v, data set mean %v", mean, wantMean)
	}
	second, err := tr.Train(ds, 200, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Full-batch Adam on a fixed batch: the loss falls.
	if !(second.Loss < first.Loss && first.Loss < first.MeanLoss) {
		t.Errorf("loss did not fall: first call last %g mean %g, second call last %g", first.Loss, first.MeanLoss, second.Loss)
	}
	if second.Loss < second.MSE {
		t.Errorf("total loss %g below its MSE part %g", second.Loss, second.MSE)
	}

	if _, err := tr.Train(NewDataset(3, 1, 5), 1, rng); err == nil {
		t.Error("Train on an empty data set: no error")
	}
	if _, err := tr.Train(NewDataset(4, 1, 5), 1, rng); err == nil {
		t.Error("Train on pairs of the wrong size: no error")
	}
}

// BenchmarkTrain measures Adam steps at the paper's setting (3×128 hidden,
// batch 1024) for HalfCheetah-sized pairs (17 → 6) and Humanoid-sized ones
// (45 → 17), per matrix-product backend and worker count.
func BenchmarkTrain(b *testing.B) {
	for _, c := range []struct {
		name           string
		obsDim, actDim int
	}{{"cheetah", 17, 6}, {"humanoid", 45, 17}} {
		for _, backend := range []string{BLASOpenBLAS, BLASGo} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", c.name, backend, workers), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 2))
					ds := NewDataset(c.obsDim, c.actDim, 50)
					for k := 0; k < 50; k++ {
						obs, act := randRollout(rng, 100, c.obsDim, c.actDim)
						ds.Add(Provenance{Iteration: k}, obs, act)
					}
					low, high := make([]float64, c.actDim), make([]float64, c.actDim)
					for i := range low {
						low[i], high[i] = -1, 1
					}
					tr := NewTrainer(NewPolicy(c.obsDim, low, high, nil, rand.NewPCG(3, 4)), TrainConfig{})
					if err := tr.SetCompute(workers, backend); err != nil {
						b.Fatal(err)
					}
					if _, err := tr.Train(ds, 1, rng); err != nil { // allocate the workspace
						b.Fatal(err)
					}
					b.ResetTimer()
					if _, err := tr.Train(ds, b.N, rng); err != nil {
						b.Fatal(err)
					}
					sps := float64(b.N) / b.Elapsed().Seconds()
					b.ReportMetric(sps, "steps/s")
					b.ReportMetric(1000/sps, "s/1000steps")
				})
			}
		}
	}
}

// Training a policy on expert pairs: the normaliser comes from the data set
// and each Train call takes the given number of Adam steps.
func ExampleTrainer_Train() {
	ds := NewDataset(1, 1, 10)
	obs := make([]float64, 64)
	act := make([]float64, 64)
	for i := range obs {
		obs[i] = float64(i)
		act[i] = 0.25 * math.Sin(float64(i)/10) // the expert's actions
	}
	ds.Add(Provenance{Source: SourceExpert}, obs, act)

	p := NewPolicy(1, []float64{-1}, []float64{1}, []int{32, 32}, rand.NewPCG(1, 2))
	before := p.MSE(ds)
	tr := NewTrainer(p, TrainConfig{}) // the paper's settings
	st, err := tr.Train(ds, 500, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("batch:", st.BatchSize, "steps:", tr.Steps())
	fmt.Println("error fell tenfold:", p.MSE(ds) < before/10)
	// Output:
	// batch: 64 steps: 500
	// error fell tenfold: true
}

// Training gives bit-for-bit the same policy and Adam state on 1 and 2
// workers (and on more workers than chunks), on each backend.
func TestTrainSameOnAnyWorkerCount(t *testing.T) {
	const obsDim, actDim = 17, 3
	for _, backend := range []string{BLASOpenBLAS, BLASGo} {
		var ref *Trainer
		for _, workers := range []int{1, 2, 7} {
			rng := rand.New(rand.NewPCG(21, 22))
			ds := NewDataset(obsDim, actDim, 10)
			for k := 0; k < 10; k++ {
				obs, act := randRollout(rng, 150, obsDim, actDim)
				ds.Add(Provenance{Iteration: k}, obs, act)
			}
			tr := NewTrainer(testPolicy(23, obsDim, nil), TrainConfig{BatchSize: 700}) // 3 chunks, the last short
			if err := tr.SetCompute(workers, backend); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Train(ds, 20, rand.New(rand.NewPCG(24, 25))); err != nil {
				t.Fatal(err)
			}
			if ref == nil {
				ref = tr
				continue
			}
			for i := range tr.p.params {
				if tr.p.params[i] != ref.p.params[i] || tr.m[i] != ref.m[i] || tr.v[i] != ref.v[i] {
					t.Fatalf("%s: %d workers: parameter %d = %v (m %v, v %v), 1 worker %v (m %v, v %v)", backend, workers, i,
						tr.p.params[i], tr.m[i], tr.v[i], ref.p.params[i], ref.m[i], ref.v[i])
				}
			}
		}
	}
}
