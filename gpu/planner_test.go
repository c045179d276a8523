package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/rajveermalviya/go-webgpu/wgpu"
	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
)

func newTestPlanner(tb testing.TB, task *batchsim.Task, cfg icem.Config, o Options) *Planner {
	tb.Helper()
	if o.Device == nil {
		o.Device = newTestDevice(tb)
	}
	p, err := NewPlanner(task, cfg, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// wideCheetah is HalfCheetah with action bounds ±100, so that clipping
// never acts on unit-variance noise (σ_init 0.01 of half the range is 1).
func wideCheetah(tb testing.TB) *batchsim.Task {
	t := *cheetahTask(tb)
	t.ActLow, t.ActHigh = nil, nil
	for range t.Model.Nu {
		t.ActLow = append(t.ActLow, -100)
		t.ActHigh = append(t.ActHigh, 100)
	}
	return &t
}

// readFloats copies the first n float32 of buf (a CopySrc buffer) to the
// host, after all submitted work.
func readFloats(tb testing.TB, d *Device, buf *wgpu.Buffer, n int) []float64 {
	tb.Helper()
	rb, err := d.CreateBuffer("test readback", uint64(4*n), wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst)
	if err != nil {
		tb.Fatal(err)
	}
	defer rb.Release()
	if err := d.Encode("test copy", func(enc *wgpu.CommandEncoder) error {
		return enc.CopyBufferToBuffer(buf, 0, rb, 0, uint64(4*n))
	}); err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 4*n)
	if err := d.Read(rb, 0, b); err != nil {
		tb.Fatal(err)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(getF32(b, i))
	}
	return out
}

// encode submits the given stages of one planning step: "begin", then
// "sample", "rank" of iteration i (without the rollouts: tests write the
// costs themselves).
func encodeStages(tb testing.TB, p *Planner, np int, stages ...func(enc *wgpu.CommandEncoder) error) {
	tb.Helper()
	if err := p.dev.Encode("test stages", func(enc *wgpu.CommandEncoder) error {
		for _, f := range stages {
			if err := f(enc); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
}

// TestPlannerNoiseMatchesCPU: the device's noise of every sample is the
// CPU planner's (icem.SampleNoise from the same key and counter) up to
// float32 rounding, but for a rare draw whose ziggurat test falls the other
// way in float32; and it has the CPU's distribution: per-step variance
// (icem.ColoredNoise.Variance) and periodogram slope −β, as
// icem/noise_test.go checks for the CPU.
func TestPlannerNoiseMatchesCPU(t *testing.T) {
	const (
		h, n    = 64, 512
		tolVar  = 0.03 // relative, as TestColoredNoiseVariance
		tolStep = 0.1
		tolSlop = 0.15
	)
	task := wideCheetah(t)
	nu := task.Model.Nu
	hd := h * nu
	dev := newTestDevice(t)
	for _, beta := range []float64{0, 0.25, 2, 2.5} {
		p := newTestPlanner(t, task, icem.Config{Horizon: h, Population: n, Iterations: 2, Beta: beta, SigmaInit: 0.01}, Options{Device: dev})
		pr := p.NewProblem(uint64(10*beta)+1, 2)
		if err := p.prepare([]*icem.Problem{pr}); err != nil {
			t.Fatal(err)
		}
		encodeStages(t, p, 1, func(enc *wgpu.CommandEncoder) error { return p.encodeBegin(enc, 1) },
			func(enc *wgpu.CommandEncoder) error { return p.encodeSample(enc, 1, 0) })
		got := readFloats(t, dev, p.bufs[pbActs], n*hd)

		c := icem.NewColoredNoise(beta, h)
		want := make([]float64, hd)
		same := 0
		for s := 0; s < n; s++ {
			icem.SampleNoise(want, c, nu, pr.Key(), pr.Calls(), 0, s)
			worst := 0.0
			for x, w := range want {
				worst = max(worst, math.Abs(got[s*hd+x]-w))
			}
			if worst < 1e-4 {
				same++
			}
		}
		if same < n*99/100 {
			t.Errorf("beta=%v: %d of %d samples equal the CPU's noise (within 1e-4), want at least 99%%", beta, same, n)
		}

		v := c.Variance()
		mean, vv := stat.PopMeanVariance(got, nil)
		if math.Abs(vv/v-1) > tolVar || math.Abs(mean) > 0.05*math.Sqrt(v) {
			t.Errorf("beta=%v: mean %.4f variance %.4f, want 0 and %.4f (±%v rel.)", beta, mean, vv, v, tolVar)
		}
		for _, tt := range []int{0, h / 2, h - 1} {
			var s2 float64
			for s := 0; s < n; s++ {
				for j := range nu {
					x := got[s*hd+tt*nu+j]
					s2 += x * x
				}
			}
			if g := s2 / float64(n*nu); math.Abs(g/v-1) > tolStep {
				t.Errorf("beta=%v step %d: variance %.4f, want %.4f ± 10%%", beta, tt, g, v)
			}
		}
		fft := fourier.NewFFT(h)
		coef := make([]complex128, h/2+1)
		psd := make([]float64, h/2+1)
		y := make([]float64, h)
		for s := 0; s < n; s++ {
			for j := range nu {
				for tt := range h {
					y[tt] = got[s*hd+tt*nu+j]
				}
				fft.Coefficients(coef, y)
				for k, x := range coef {
					psd[k] += real(x)*real(x) + imag(x)*imag(x)
				}
			}
		}
		var lf, lp []float64
		for k := 1; k <= h/2; k++ {
			lf = append(lf, math.Log(float64(k)/h))
			lp = append(lp, math.Log(psd[k]))
		}
		_, slope := stat.LinearRegression(lf, lp, nil, false)
		if math.Abs(slope+beta) > tolSlop {
			t.Errorf("beta=%v: periodogram slope %.3f, want %.3f ± %v", beta, slope, -beta, tolSlop)
		}
		t.Logf("beta=%v: %d/%d samples equal the CPU's; variance %.4f (want %.4f), slope %.3f", beta, same, n, vv, v, slope)
	}
}

// rankCase is what the host expects of one plan_rank call for one problem.
type rankCase struct {
	pop      [][]float64 // the population's action sequences (n)
	j, g, nn []float64   // their costs
}

// TestPlannerRankMatchesCPU runs plan_sample and plan_rank on costs
// written by the test (no rollouts) for three problems and two CEM
// iterations, then the first iteration of the next step, and checks each
// against the CPU planner's rules computed here in float64: the elites are
// icem.Lowest of f (ties by index, NaN and ±Inf last), λ is Eq. 4 over the
// preliminary elites, μ and σ are the momentum update (ddof 0), the best
// sample and its costs; iteration 1 keeps the best ⌊ξK⌋ elites of
// iteration 0 with their costs, its sample 0 is μ, μ is shifted after the
// last iteration, and the next step starts with the kept elites shifted
// one step, their new last action fresh noise.
func TestPlannerRankMatchesCPU(t *testing.T) {
	for _, mode := range []uint32{0, 1} {
		name := map[uint32]string{0: "lambda=0", 1: "adaptive"}[mode]
		t.Run(name, func(t *testing.T) { testRank(t, mode) })
	}
}

func testRank(t *testing.T, mode uint32) {
	const np, h = 3, 8
	task := cheetahTask(t)
	nu := task.Model.Nu
	hd := h * nu
	cfg := icem.Config{Horizon: h, Population: 150, Iterations: 2, Beta: 0.25}
	p := newTestPlanner(t, task, cfg, Options{})
	p.lambdaMode = mode
	d := p.Config()
	K := d.Elites
	probs := make([]*icem.Problem, np)
	for k := range probs {
		probs[k] = p.NewProblem(4, k)
	}
	if err := p.prepare(probs); err != nil {
		t.Fatal(err)
	}
	// The costs come from the test: a world buffer it can write to.
	ev := p.ev
	wb, err := p.dev.CreateBuffer("test world_out", ev.sizes[bWorld], usageOf(bWorld)|wgpu.BufferUsage_CopyDst)
	if err != nil {
		t.Fatal(err)
	}
	ev.bufs[bWorld].Release()
	ev.bufs[bWorld] = wb
	p.bufs[pbCost] = wb
	if err := p.bindGroups(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, uint64(mode)))
	sigma0 := d.SigmaInit // half the range is 1
	mean := make([][]float64, np)
	std := make([][]float64, np)
	for k := range mean {
		mean[k] = make([]float64, hd) // the middle of [−1, 1]
		std[k] = make([]float64, hd)
		for x := range std[k] {
			std[k][x] = sigma0
		}
	}
	prevElites := make([][][]float64, np) // per problem: K sequences
	prevCost := make([][][3]float64, np)
	var bestF, bestJ [np]float64
	var bestSeq [np][]float64
	var bad [np]float64
	stride := p.slotStride()
	cur := 0
	for i := range p.pops {
		nsim := p.nsimOf(i)
		kept := p.pops[i] - nsim
		stages := []func(*wgpu.CommandEncoder) error{}
		if i == 0 {
			stages = append(stages, func(enc *wgpu.CommandEncoder) error { return p.encodeBegin(enc, np) })
		}
		stages = append(stages, func(enc *wgpu.CommandEncoder) error { return p.encodeSample(enc, np, i) })
		encodeStages(t, p, np, stages...)
		acts := readFloats(t, p.dev, p.bufs[pbActs], np*nsim*hd)
		// Costs with ties (few distinct J), NaN and ±Inf.
		costs := make([]float32, 4*np*nsim)
		for w := 0; w < np*nsim; w++ {
			j := float32(rng.IntN(40)) - 20
			switch rng.IntN(30) {
			case 0:
				j = float32(math.NaN())
			case 1:
				j = float32(math.Inf(1))
			case 2:
				j = float32(math.Inf(-1))
			}
			costs[4*w], costs[4*w+1], costs[4*w+2] = j, float32(rng.Float64()*5), float32(rng.Float64()*50)
		}
		if err := p.dev.WriteBuffer(p.ev.bufs[bWorld], 0, f32bytes(costs)); err != nil {
			t.Fatal(err)
		}
		encodeStages(t, p, np, func(enc *wgpu.CommandEncoder) error { return p.encodeRank(enc, np, i) })
		for k := range np {
			bad[k] += countBad(costs, k, nsim)
		}
		mem := readFloats(t, p.dev, p.bufs[pbMem], np*stride)
		res := readFloats(t, p.dev, p.bufs[pbRes], np*p.resStride())
		last := i == len(p.pops)-1
		for k := range np {
			n := p.pops[i]
			pop := make([][]float64, n)
			c := make([][3]float64, n)
			for s := range nsim {
				pop[s] = acts[(k*nsim+s)*hd : (k*nsim+s+1)*hd]
				w := k*nsim + s
				c[s] = [3]float64{float64(costs[4*w]), float64(costs[4*w+1]), float64(costs[4*w+2])}
			}
			for e := range kept {
				pop[nsim+e], c[nsim+e] = prevElites[k][e], prevCost[k][e]
			}
			if last && !sameSeq(pop[0], mean[k]) {
				t.Errorf("iteration %d problem %d: sample 0 is not μ", i, k)
			}
			// λ (Eq. 4) over the K lowest J.
			lam := [2]float64{}
			if mode == 1 {
				jj := col(c, 0)
				pre := icem.Lowest(make([]int, K), jj)
				l := icem.AdaptiveLambda(pre, jj, col(c, 1), col(c, 2), d.CGuide, d.CNorm)
				lam = [2]float64{l.Guide, l.Norm}
			}
			rb := k * p.resStride()
			gl := [2]float64{res[rb+nu+4+2*i], res[rb+nu+5+2*i]}
			for a := range lam {
				if math.Abs(gl[a]-lam[a]) > 1e-4*max(math.Abs(lam[a]), 1e-3) {
					t.Errorf("iteration %d problem %d: λ %d = %v, Eq. 4 gives %v", i, k, a, gl[a], lam[a])
				}
			}
			// f in float32 with the device's λ, as the kernel computes it.
			f := make([]float64, n)
			for s := range f {
				v := float32(c[s][0])
				if gl[0] != 0 || gl[1] != 0 {
					v = float32(c[s][0]) + float32(gl[0])*float32(c[s][1]) + float32(gl[1])*float32(c[s][2])
				}
				f[s] = float64(v)
				if math.IsNaN(f[s]) || math.IsInf(f[s], 0) {
					f[s] = math.Inf(1)
				}
			}
			order := icem.Lowest(make([]int, K), f)
			base := k * stride
			nxt := 1 - cur
			el := base + 3*hd + nxt*K*hd
			ec := base + 3*hd + 2*K*hd + nxt*K*4
			elites := make([][]float64, K)
			cst := make([][3]float64, K)
			for e, s := range order {
				elites[e] = mem[el+e*hd : el+(e+1)*hd]
				if !sameSeq(elites[e], pop[s]) {
					t.Fatalf("iteration %d problem %d: elite %d is not sample %d (the CPU's choice)", i, k, e, s)
				}
				cst[e] = [3]float64{mem[ec+4*e], mem[ec+4*e+1], mem[ec+4*e+2]}
				if !sameCost(cst[e], c[s]) {
					t.Errorf("iteration %d problem %d: elite %d costs %v, want %v", i, k, e, cst[e], c[s])
				}
			}
			if i == 0 || f[order[0]] < bestF[k] {
				bestF[k], bestJ[k], bestSeq[k] = f[order[0]], c[order[0]][0], pop[order[0]]
			}
			sc := base + 3*hd + 2*K*hd + 8*K
			if mem[sc] != bestF[k] || !sameCost([3]float64{mem[sc+1]}, [3]float64{bestJ[k]}) || !sameSeq(mem[base+2*hd:base+3*hd], bestSeq[k]) {
				t.Errorf("iteration %d problem %d: best f %v J %v, want %v %v (or another sequence)", i, k, mem[sc], mem[sc+1], bestF[k], bestJ[k])
			}
			// μ, σ: the momentum update of the CPU planner, then the shift.
			a := d.Alpha
			newMean := make([]float64, hd)
			for x := range hd {
				var m, v float64
				for e := range K {
					m += elites[e][x]
				}
				m /= float64(K)
				for e := range K {
					v += (elites[e][x] - m) * (elites[e][x] - m)
				}
				newMean[x] = (1-a)*m + a*mean[k][x]
				std[k][x] = (1-a)*math.Sqrt(v/float64(K)) + a*std[k][x]
			}
			if last {
				copy(newMean, newMean[nu:])
			}
			mean[k] = newMean
			for x := range hd {
				if math.Abs(mem[base+x]-mean[k][x]) > 1e-5 || math.Abs(mem[base+hd+x]-std[k][x]) > 1e-5 {
					t.Fatalf("iteration %d problem %d: μ[%d], σ[%d] = %v, %v, want %v, %v", i, k, x, x, mem[base+x], mem[base+hd+x], mean[k][x], std[k][x])
				}
			}
			mean[k] = mem[base : base+hd] // continue from the device's float32 values
			std[k] = mem[base+hd : base+2*hd]
			prevElites[k], prevCost[k] = elites, cst
			if last {
				if got := res[rb : rb+nu]; !sameSeq(got, bestSeq[k][:nu]) || res[rb+nu] != bestF[k] || res[rb+nu+2] != bad[k] {
					t.Errorf("problem %d: results %v, want action %v, best f %v", k, res[rb:rb+nu+3], bestSeq[k][:nu], bestF[k])
				}
			}
		}
		cur = 1 - cur
	}

	// The next step's first iteration: the shifted elites.
	for _, pr := range probs {
		pr.MarkPlanned()
	}
	if err := p.prepare(probs); err != nil {
		t.Fatal(err)
	}
	encodeStages(t, p, np, func(enc *wgpu.CommandEncoder) error { return p.encodeBegin(enc, np) },
		func(enc *wgpu.CommandEncoder) error { return p.encodeSample(enc, np, 0) })
	nsim := p.nsimOf(0)
	acts := readFloats(t, p.dev, p.bufs[pbActs], np*nsim*hd)
	c := icem.NewColoredNoise(d.Beta, h)
	nz := make([]float64, hd)
	for k := range np {
		fresh := nsim - p.reuse
		for e := range p.reuse {
			s := fresh + e
			seq := acts[(k*nsim+s)*hd : (k*nsim+s+1)*hd]
			if !sameSeq(seq[:hd-nu], prevElites[k][e][nu:]) {
				t.Fatalf("problem %d: sample %d is not elite %d shifted", k, s, e)
			}
			icem.SampleNoise(nz, c, nu, probs[k].Key(), 1, 0, s)
			for j := range nu {
				x := hd - nu + j
				want := min(max(mean[k][x]+sigma0*nz[x], -1), 1)
				if math.Abs(seq[x]-want) > 1e-5 {
					t.Errorf("problem %d: shifted elite %d's last action %d = %v, want %v", k, e, j, seq[x], want)
				}
			}
		}
	}
}

func maxAbsDiff(a, b []float64) float64 {
	d := math.Inf(1)
	if len(a) == len(b) {
		d = 0
		for i := range a {
			d = max(d, math.Abs(a[i]-b[i]))
		}
	}
	return d
}

func sameSeq(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if float32(a[i]) != float32(b[i]) {
			return false
		}
	}
	return true
}

func sameCost(a, b [3]float64) bool {
	for i := range a {
		if !(a[i] == b[i] || math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func col(c [][3]float64, i int) []float64 {
	out := make([]float64, len(c))
	for s := range c {
		out[s] = c[s][i]
	}
	return out
}

// countBad counts problem k's simulated samples with a non-finite cost.
func countBad(costs []float32, k, nsim int) float64 {
	n := 0
	for s := range nsim {
		w := k*nsim + s
		for _, v := range costs[4*w : 4*w+3] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				n++
				break
			}
		}
	}
	return float64(n)
}

// TestPlannerRefuses: settings beyond the kernels' limits are refused
// with a message naming the limit.
func TestPlannerRefuses(t *testing.T) {
	task := cheetahTask(t)
	dev := newTestDevice(t)
	for _, c := range []struct {
		cfg  icem.Config
		want string
	}{
		{icem.Config{Horizon: 300, Population: 40}, "MAX_H"},
		{icem.Config{Horizon: 200, Population: 40}, "MAX_HD"},
		{icem.Config{Elites: 20, Population: 40}, "MAX_K"},
	} {
		if _, err := NewPlanner(task, c.cfg, Options{Device: dev}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	if dev.Info.Software {
		if _, err := NewPlanner(task, icem.Config{Horizon: 120, Population: 40, Beta: 1}, Options{Device: dev}); err == nil || !strings.Contains(err.Error(), "loop iterations") {
			t.Errorf("horizon 120 on %s: %v, want the loop limit named", dev.Info.Name, err)
		}
	}
}

// TestPlannerMaxProblems: MaxProblems is the call size the device's limits
// allow: a call of that many problems is planned, one more is refused with
// the limit named (here one dispatch's worlds, made small).
func TestPlannerMaxProblems(t *testing.T) {
	task := cheetahTask(t)
	p := newTestPlanner(t, task, icem.Config{Horizon: 4, Population: 8, Iterations: 1, Elites: 2}, Options{})
	if n := p.MaxProblems(); n < 1000 {
		t.Errorf("MaxProblems %d on %s at 8 samples of 4 steps: want thousands", n, p.dev.Info.Name)
	}
	p.ev.maxWorld = 5*8 + 3
	if n := p.MaxProblems(); n != 5 {
		t.Fatalf("MaxProblems %d with 43 worlds per dispatch and 8 samples, want 5", n)
	}
	env := batchsim.NewEnv(task)
	env.Reset(rand.New(rand.NewPCG(1, 2)))
	plan := func(n int) error {
		probs, dst := make([]*icem.Problem, n), make([][]float64, n)
		for k := range probs {
			probs[k] = p.NewProblem(1, k)
			probs[k].SetState(env.Data.Qpos, env.Data.Qvel, env.Params)
			dst[k] = make([]float64, task.Model.Nu)
		}
		defer p.Forget(probs...)
		_, err := p.Plan(dst, probs)
		return err
	}
	if err := plan(5); err != nil {
		t.Fatalf("5 problems: %v", err)
	}
	if err := plan(6); err == nil || !strings.Contains(err.Error(), "one dispatch can hold") {
		t.Fatalf("6 problems: %v, want the dispatch limit named", err)
	}
}

// netPolicy is an icem.Policy over a PolicyNet.
type netPolicy struct{ net *batchsim.PolicyNet }

func (n netPolicy) Act(obs, dst []float64) {
	w := 256
	buf := [2][]float64{make([]float64, w), make([]float64, w)}
	n.net.Act(obs, dst, &buf)
}
func (n netPolicy) Net() *batchsim.PolicyNet { return n.net }

// TestPlannerPolicy: with a policy, its rollout from each start state is
// made on the device by closed-loop policy worlds, and is
// icem.RolloutPolicy's up to float32 physics; μ starts from it at an
// episode's start and takes its last action after the shift; the rollout
// is a sample of each iteration (the last fresh one); the rollouts
// accumulate the guidance cost and λ is adaptive.
func TestPlannerPolicy(t *testing.T) {
	const np, h = 2, 8
	task := cheetahTask(t)
	nu := task.Model.Nu
	hd := h * nu
	p := newTestPlanner(t, task, icem.Config{Horizon: h, Population: 40, Iterations: 2, Beta: 0.25}, Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	pol := netPolicy{randomPolicy(rng, task.ObsDim(), nu, 16)}
	if err := p.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	probs := make([]*icem.Problem, np)
	env := batchsim.NewEnv(task)
	for k := range probs {
		probs[k] = p.NewProblem(9, k)
		env.Reset(rand.New(rand.NewPCG(uint64(k), 1)))
		probs[k].SetState(env.Data.Qpos, env.Data.Qvel, env.Params)
	}
	pi := make([][]float64, np)
	for k := range pi {
		pi[k] = make([]float64, hd)
		if !icem.RolloutPolicy(env, pol, probs[k], pi[k]) {
			t.Fatal("policy rollout diverged")
		}
	}
	if err := p.prepare(probs); err != nil {
		t.Fatal(err)
	}
	if !p.piDevice {
		t.Fatal("the policy's rollouts are not made on the device")
	}
	nsim := p.nsimOf(0)
	encodeStages(t, p, np, func(enc *wgpu.CommandEncoder) error { return p.encodePolicy(enc, np) },
		func(enc *wgpu.CommandEncoder) error { return p.encodeBegin(enc, np) },
		func(enc *wgpu.CommandEncoder) error { return p.encodeSample(enc, np, 0) },
		func(enc *wgpu.CommandEncoder) error { return p.encodeRollout(enc, np, 0) })
	mem := readFloats(t, p.dev, p.bufs[pbMem], np*p.slotStride())
	acts := readFloats(t, p.dev, p.bufs[pbActs], np*nsim*hd)
	costs := readFloats(t, p.dev, p.ev.bufs[bWorld], 4*np*nsim)
	dpi := readFloats(t, p.dev, p.bufs[pbPi], np*(hd+1))
	for k := range np {
		if d := maxAbsDiff(dpi[k*hd:(k+1)*hd], pi[k]); !(d < 1e-3) {
			t.Errorf("problem %d: the device's policy rollout differs from icem.RolloutPolicy's by %g (actions in [-1, 1])", k, d)
		}
		if f := dpi[np*hd+k]; f != 0 {
			t.Errorf("problem %d: the device's policy rollout reports a failure (%v)", k, f)
		}
		pi[k] = dpi[k*hd : (k+1)*hd] // the device's, exactly, from here on
	}
	for k := range np {
		base := p.slots[probs[k]] * p.slotStride()
		if !sameSeq(mem[base:base+hd], pi[k]) {
			t.Errorf("problem %d: μ at the episode's start is not the policy's rollout", k)
		}
		s := nsim - 1
		if !sameSeq(acts[(k*nsim+s)*hd:(k*nsim+s+1)*hd], pi[k]) {
			t.Errorf("problem %d: sample %d is not the policy's rollout", k, s)
		}
		// Every sample but the policy's own has a guidance cost; the
		// policy's sample retraces its closed-loop world, where π's
		// actions are exactly the sample's: its cost is 0.
		guided := 0
		for s := range nsim - 1 {
			if costs[4*(k*nsim+s)+1] > 0 {
				guided++
			}
		}
		if guided != nsim-1 {
			t.Errorf("problem %d: %d of %d samples have a guidance cost", k, guided, nsim-1)
		}
		if g := costs[4*(k*nsim+nsim-1)+1]; g != 0 {
			t.Errorf("problem %d: the policy's sample has guidance cost %g, want 0 (it replays the policy world)", k, g)
		}
	}

	// A whole step: λ adaptive and positive; then the next step's μ.
	dst := [][]float64{make([]float64, nu), make([]float64, nu)}
	for _, pr := range probs {
		pr.Reset()
	}
	st, err := p.Plan(dst, probs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.pops {
		for k := range np {
			if l := st.LambdaOf(i, k); !(l.Guide > 0) || !(l.Norm > 0) {
				t.Errorf("iteration %d problem %d: λ %+v, want both adaptive and positive", i, k, l)
			}
		}
	}
	if st.PolicyFailures != 0 {
		t.Errorf("%d policy rollouts failed, want none", st.PolicyFailures)
	}
	shifted := readFloats(t, p.dev, p.bufs[pbMem], np*p.slotStride())
	if err := p.prepare(probs); err != nil {
		t.Fatal(err)
	}
	encodeStages(t, p, np, func(enc *wgpu.CommandEncoder) error { return p.encodePolicy(enc, np) },
		func(enc *wgpu.CommandEncoder) error { return p.encodeBegin(enc, np) })
	mem = readFloats(t, p.dev, p.bufs[pbMem], np*p.slotStride())
	dpi = readFloats(t, p.dev, p.bufs[pbPi], np*hd)
	for k := range np {
		pi[k] = dpi[k*hd : (k+1)*hd]
	}
	for k := range np {
		base := p.slots[probs[k]] * p.slotStride()
		want := append(append([]float64(nil), shifted[base:base+hd-nu]...), pi[k][hd-nu:]...)
		if !sameSeq(mem[base:base+hd], want) {
			t.Errorf("problem %d: μ after the shift is not the shifted mean with the policy's last action", k)
		}
	}
}

// TestPlannerPolicyWorlds: the device's policy rollouts over a whole
// horizon (h = 30, split into many dispatches on lavapipe, some inside a
// control step) are icem.RolloutPolicy's up to float32 physics; a policy
// whose actions are not finite gives the middle of the bounds throughout
// and counts as a failure, as on the host; and a policy the kernel does not
// run as it is (bounds other than the task's) has its rollouts made on the
// host, exactly icem.RolloutPolicy's. (The lean kernel: TestLeanKernel.)
func TestPlannerPolicyWorlds(t *testing.T) { plannerPolicyWorlds(t, KernelSpecialized) }

func plannerPolicyWorlds(t *testing.T, kernel Kernel) {
	const np, h = 3, 30
	task := cheetahTask(t)
	nu := task.Model.Nu
	hd := h * nu
	dev := newTestDevice(t)
	cfg := icem.Config{Horizon: h, Population: 16, Iterations: 1, Elites: 4, Beta: 0.25}
	rng := rand.New(rand.NewPCG(5, 6))
	env := batchsim.NewEnv(task)
	probs := make([]*icem.Problem, np)
	hostRollouts := func(pol icem.Policy) ([][]float64, []bool) {
		pi, ok := make([][]float64, np), make([]bool, np)
		for k := range pi {
			pi[k] = make([]float64, hd)
			ok[k] = icem.RolloutPolicy(env, pol, probs[k], pi[k])
		}
		return pi, ok
	}
	// deviceRollouts runs one planning step and returns the policy
	// rollouts μ started from (each problem's first step).
	deviceRollouts := func(p *Planner, pol icem.Policy) ([][]float64, icem.Stats) {
		t.Helper()
		if err := p.SetPolicy(pol); err != nil {
			t.Fatal(err)
		}
		for k := range probs {
			probs[k] = p.NewProblem(11, k)
			env.Reset(rand.New(rand.NewPCG(uint64(k), 7)))
			probs[k].SetState(env.Data.Qpos, env.Data.Qvel, env.Params)
		}
		if err := p.prepare(probs); err != nil {
			t.Fatal(err)
		}
		encodeStages(t, p, np, func(enc *wgpu.CommandEncoder) error {
			if p.piDevice {
				if err := p.encodePolicy(enc, np); err != nil {
					return err
				}
			}
			return p.encodeBegin(enc, np)
		})
		mem := readFloats(t, p.dev, p.bufs[pbMem], p.capSlots*p.slotStride())
		out := make([][]float64, np)
		for k, pr := range probs {
			b := p.slots[pr] * p.slotStride()
			out[k] = mem[b : b+hd]
		}
		dst := make([][]float64, np)
		for k := range dst {
			dst[k] = make([]float64, nu)
		}
		for _, pr := range probs {
			p.Forget(pr)
		}
		st, err := p.Plan(dst, probs)
		if err != nil {
			t.Fatal(err)
		}
		return out, st
	}

	p := newTestPlanner(t, task, cfg, Options{Device: dev, Kernel: kernel})
	good := netPolicy{randomPolicy(rng, task.ObsDim(), nu, 16)}
	dpi, st := deviceRollouts(p, good)
	if !p.piDevice {
		t.Fatal("the policy's rollouts are not made on the device")
	}
	hpi, hok := hostRollouts(good)
	for k := range np {
		if !hok[k] {
			t.Fatalf("problem %d: the host's policy rollout failed", k)
		}
		// The first action is the network's in float32; then float32
		// physics through contacts drifts from float64 (measured: 1e-5
		// after 10 steps, up to 0.03 after 30 on actions in [-1, 1]). A
		// step out of place would differ by tenths from the start.
		if d := maxAbsDiff(dpi[k][:nu], hpi[k][:nu]); !(d < 1e-6) {
			t.Errorf("problem %d: the device's first policy action differs from icem.RolloutPolicy's by %g", k, d)
		}
		if d := maxAbsDiff(dpi[k][:10*nu], hpi[k][:10*nu]); !(d < 1e-3) {
			t.Errorf("problem %d: the device's policy rollout over 10 steps differs from icem.RolloutPolicy's by %g", k, d)
		}
		if d := maxAbsDiff(dpi[k], hpi[k]); !(d < 0.1) {
			t.Errorf("problem %d: the device's policy rollout over %d steps differs from icem.RolloutPolicy's by %g", k, h, d)
		}
	}
	if st.PolicyFailures != 0 {
		t.Errorf("%d policy rollouts failed, want 0", st.PolicyFailures)
	}

	// A NaN weight of the first layer: it must survive the ReLU.
	bad := netPolicy{randomPolicy(rng, task.ObsDim(), nu, 16)}
	bad.net.Layers[0].W[0] = math.NaN()
	dpi, st = deviceRollouts(p, bad)
	hpi, hok = hostRollouts(bad)
	for k := range np {
		if hok[k] {
			t.Fatalf("problem %d: the host's rollout of a NaN policy succeeded", k)
		}
		if !sameSeq(dpi[k], hpi[k]) {
			t.Errorf("problem %d: the device's rollout of a NaN policy is not the host's (the bounds' middle): %v", k, dpi[k][:nu])
		}
	}
	if st.PolicyFailures != np {
		t.Errorf("%d policy rollouts of a NaN policy failed, want %d", st.PolicyFailures, np)
	}

	narrow := netPolicy{randomPolicy(rng, task.ObsDim(), nu, 16)}
	for j := range nu {
		narrow.net.ActLow[j], narrow.net.ActHigh[j] = -0.5, 0.25
	}
	dpi, _ = deviceRollouts(p, narrow)
	if p.piDevice {
		t.Fatal("a policy with bounds other than the task's runs on the device")
	}
	hpi, _ = hostRollouts(narrow)
	for k := range np {
		if !sameSeq(dpi[k], hpi[k]) {
			t.Errorf("problem %d: μ is not the host's policy rollout", k)
		}
	}
}

// TestPlannerClosedLoop runs HalfCheetah under the device planner and the
// host planner (CPU rollouts), three seeds each at budget 100 for 25 steps, the three
// episodes of each planned together (P = 3), and asks for returns alike:
// the device's mean within the spread of the two (one pooled std plus 20 %
// of the CPU's mean: float32 physics and the rare differing noise draw
// change every trajectory). The device planner runs twice more from
// the same seeds (5 steps) and must repeat itself exactly (no leftover state, no race). It
// also checks that the upload per step does not depend on N.
func TestPlannerClosedLoop(t *testing.T) {
	const seeds, steps = 3, 25
	task := cheetahTask(t)
	cfg, err := icem.Default(task.Beta, 100)
	if err != nil {
		t.Fatal(err)
	}
	dev := newTestDevice(t)
	p := newTestPlanner(t, task, cfg, Options{Device: dev})
	cpu, err := icem.New(task, batchsim.NewCPU(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	dRet, dUp := lockstep(t, p, task, seeds, steps)
	cRet, _ := lockstep(t, cpu, task, seeds, steps)
	r1, _ := lockstep(t, p, task, seeds, 5)
	r2, _ := lockstep(t, p, task, seeds, 5)
	for k := range r1 {
		if r1[k] != r2[k] {
			t.Errorf("seed %d: the device planner's return %v, then %v from the same seed", k, r1[k], r2[k])
		}
	}
	dm, ds := stat.PopMeanStdDev(dRet, nil)
	cm, cs := stat.PopMeanStdDev(cRet, nil)
	t.Logf("returns over %d steps: device %v (%.1f ± %.1f), host %v (%.1f ± %.1f); upload %v B per step", steps, dRet, dm, ds, cRet, cm, cs, dUp)
	if tol := math.Hypot(ds, cs) + 0.2*math.Abs(cm); math.Abs(dm-cm) > tol {
		t.Errorf("device mean return %.1f, host %.1f: differ by more than %.1f", dm, cm, tol)
	}
	if cm <= 0 {
		t.Errorf("the host planner's mean return %.1f: the cheetah does not run forward", cm)
	}

	// Upload per step: the same at N = 40 and N = 123.
	big, err := icem.Default(task.Beta, 300)
	if err != nil {
		t.Fatal(err)
	}
	p2 := newTestPlanner(t, task, big, Options{Device: dev})
	_, up2 := lockstep(t, p2, task, seeds, 2)
	if up2 != dUp {
		t.Errorf("upload per step %v B at N = %d, %v B at N = %d: want it independent of N", dUp, cfg.Population, up2, big.Population)
	}
}

// lockstep runs seeds episodes of steps steps with pl, one Plan call for
// all of them per step, and returns their returns and the bytes uploaded
// in the last step.
func lockstep(t *testing.T, pl icem.StepPlanner, task *batchsim.Task, seeds, steps int) ([]float64, int64) {
	t.Helper()
	envs := make([]*batchsim.Env, seeds)
	probs := make([]*icem.Problem, seeds)
	dst := make([][]float64, seeds)
	for k := range envs {
		envs[k] = batchsim.NewEnv(task)
		envs[k].Reset(rand.New(rand.NewPCG(uint64(k)+1, 0x5EED)))
		probs[k] = pl.NewProblem(uint64(k)+1, 0)
		dst[k] = make([]float64, task.Model.Nu)
	}
	ret := make([]float64, seeds)
	var up int64
	for range steps {
		for k, e := range envs {
			probs[k].SetState(e.Data.Qpos, e.Data.Qvel, e.Params)
		}
		st, err := pl.Plan(dst, probs)
		if err != nil {
			t.Fatal(err)
		}
		up = st.BytesUp
		for k, e := range envs {
			r, _, err := e.Act(dst[k])
			if err != nil {
				t.Fatal(err)
			}
			ret[k] += r
		}
	}
	return ret, up
}

// TestPlannerForget: a forgotten problem's slot goes to the next new
// problem, and a problem new to the planner starts afresh even if it was
// planned before (its memory is not on the device). Sequences reads back
// a problem's executed sequence and elites.
func TestPlannerForget(t *testing.T) {
	task := cheetahTask(t)
	p := newTestPlanner(t, task, icem.Config{Horizon: 4, Population: 20, Iterations: 1}, Options{})
	a, b, c := p.NewProblem(1, 0), p.NewProblem(1, 1), p.NewProblem(1, 2)
	if err := p.prepare([]*icem.Problem{a, b}); err != nil {
		t.Fatal(err)
	}
	a.MarkPlanned()
	p.Forget(a)
	if err := p.prepare([]*icem.Problem{c, a}); err != nil {
		t.Fatal(err)
	}
	if p.slots[c] != 0 || p.slots[a] != 2 || p.capSlots < 3 {
		t.Errorf("slots %v (a %p, b %p, c %p), capacity %d: want c in a's old slot 0, a in a new one", p.slots, a, b, c, p.capSlots)
	}
	// The words uploaded for this call: a (second) is not started.
	if pw := pconst("PROB_WORDS"); binary.LittleEndian.Uint32(p.probBytes[4*(pw+4):]) != 0 {
		t.Errorf("a forgotten problem planned again is marked started")
	}

	// Sequences: the executed sequence and the K final elites of a Plan.
	dst := [][]float64{make([]float64, task.Model.Nu)}
	if _, err := p.Plan(dst, []*icem.Problem{b}); err != nil {
		t.Fatal(err)
	}
	best, elites, err := p.Sequences(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(best) != 4*task.Model.Nu || len(elites) != p.cfg.Elites || !sameSeq(best[:task.Model.Nu], dst[0]) {
		t.Fatalf("Sequences: best %v (executed %v), %d elites", best, dst[0], len(elites))
	}
	for _, e := range elites {
		for _, v := range e {
			if !(math.Abs(v) <= 1) {
				t.Fatalf("elite %v outside the action bounds", e)
			}
		}
	}
}
