package gpu

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// gpuTol is the relative tolerance of GPU results against the CPU engine:
// float32 kernel vs float64 reference.
const gpuTol = 1e-4

// cheetahTask loads gym's HalfCheetah from models/, failing when it is missing.
func cheetahTask(tb testing.TB) *batchsim.Task {
	tb.Helper()
	path := filepath.Join("..", "models", "half_cheetah.xml")
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("reference model %s missing (see models/README.md): %v", path, err)
	}
	m, err := batchsim.LoadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return batchsim.HalfCheetahWithModel(m)
}

// randomPolicy is a PolicyNet with random weights of the given hidden widths.
func randomPolicy(rng *rand.Rand, nobs, nact int, hidden ...int) *batchsim.PolicyNet {
	p := &batchsim.PolicyNet{}
	for i := 0; i < nobs; i++ {
		p.ObsMean = append(p.ObsMean, rng.NormFloat64()*0.1)
		p.ObsStd = append(p.ObsStd, 0.5+rng.Float64())
	}
	for i := 0; i < nact; i++ {
		p.ActLow = append(p.ActLow, -1)
		p.ActHigh = append(p.ActHigh, 1)
	}
	in := nobs
	for _, out := range append(hidden, nact) {
		d := batchsim.Dense{In: in, Out: out, W: make([]float64, in*out), B: make([]float64, out)}
		for i := range d.W {
			d.W[i] = rng.NormFloat64() / math.Sqrt(float64(in))
		}
		for i := range d.B {
			d.B[i] = 0.1 * rng.NormFloat64()
		}
		p.Layers = append(p.Layers, d)
		in = out
	}
	return p
}

// randomBatch draws start states near the default pose and uniform actions.
func randomBatch(rng *rand.Rand, t *batchsim.Task, problems, samples, horizon int) *batchsim.Batch {
	m := t.Model
	b := &batchsim.Batch{Task: t, Problems: problems, Samples: samples, Horizon: horizon}
	for p := 0; p < problems; p++ {
		for i := 0; i < m.Nq; i++ {
			b.Qpos = append(b.Qpos, m.Qpos0[i]+0.1*(2*rng.Float64()-1))
		}
		for i := 0; i < m.Nv; i++ {
			b.Qvel = append(b.Qvel, 0.5*rng.NormFloat64())
		}
	}
	b.Actions = make([]float64, problems*samples*horizon*m.Nu)
	for i := range b.Actions {
		b.Actions[i] = 2*rng.Float64() - 1
	}
	return b
}

func newTestEvaluator(tb testing.TB, o Options) *Evaluator {
	tb.Helper()
	if o.Device == nil {
		o.Device = newTestDevice(tb)
	}
	e, err := NewEvaluator(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / max(math.Abs(want), 1)
}

// TestGuideFirstStep checks the device's policy network and action norm
// against PolicyNet.Act: with a horizon of one the guidance cost reads only
// the start state, so it needs no physics.
func TestGuideFirstStep(t *testing.T) {
	task := cheetahTask(t)
	rng := rand.New(rand.NewPCG(1, 2))
	e := newTestEvaluator(t, Options{})
	pn := randomPolicy(rng, task.ObsDim(), task.Model.Nu, 64, 64)
	if err := e.SetPolicy(pn); err != nil {
		t.Fatal(err)
	}
	b := randomBatch(rng, task, 5, 7, 1)
	var r batchsim.Result
	if err := e.Evaluate(b, &r); err != nil {
		t.Fatal(err)
	}
	env := batchsim.NewEnv(task)
	obs := make([]float64, task.ObsDim())
	pi := make([]float64, task.Model.Nu)
	buf := [2][]float64{make([]float64, pn.MaxWidth()), make([]float64, pn.MaxWidth())}
	nq, nv, nu := task.Model.Nq, task.Model.Nv, task.Model.Nu
	worst := 0.0
	for s := 0; s < b.Problems*b.Samples; s++ {
		p := s / b.Samples
		env.SetState(b.Qpos[p*nq:(p+1)*nq], b.Qvel[p*nv:(p+1)*nv])
		env.Observe(obs)
		pn.Act(obs, pi, &buf)
		a := b.Actions[s*nu : (s+1)*nu]
		guide, norm := 0.0, 0.0
		for i := range a {
			guide += (a[i] - pi[i]) * (a[i] - pi[i])
			norm += a[i] * a[i]
		}
		worst = max(worst, relErr(r.Guide[s], guide))
		if e := relErr(r.Guide[s], guide); e > gpuTol {
			t.Errorf("sample %d: guide %.7g, CPU %.7g (rel. err %.2g)", s, r.Guide[s], guide, e)
		}
		if e := relErr(r.Norm[s], norm); e > gpuTol {
			t.Errorf("sample %d: norm %.7g, CPU %.7g (rel. err %.2g)", s, r.Norm[s], norm, e)
		}
	}
	t.Logf("guide: worst relative error %.2g over %d samples", worst, b.Problems*b.Samples)

	// Without a policy the guidance cost is 0.
	if err := e.SetPolicy(nil); err != nil {
		t.Fatal(err)
	}
	up0, down0 := e.BytesMoved()
	if err := e.Evaluate(b, &r); err != nil {
		t.Fatal(err)
	}
	// The call moved at least the actions up (float32) and the three cost
	// terms down, and the meter counted it.
	n := b.Problems * b.Samples
	if up, down := e.BytesMoved(); up-up0 < int64(4*len(b.Actions)) || down-down0 < int64(4*3*n) {
		t.Errorf("one call moved %d B up, %d B down; want ≥ %d and ≥ %d", up-up0, down-down0, 4*len(b.Actions), 4*3*n)
	}
	for s, g := range r.Guide {
		if g != 0 {
			t.Fatalf("sample %d: guide %g without a policy, want 0", s, g)
		}
	}
}

func TestRejectsOversizedPolicy(t *testing.T) {
	task := cheetahTask(t)
	e := newTestEvaluator(t, Options{})
	pn := randomPolicy(rand.New(rand.NewPCG(3, 4)), task.ObsDim(), task.Model.Nu, kconst("MAX_WIDTH")+1)
	if err := e.SetPolicy(pn); err == nil {
		t.Error("policy wider than MAX_WIDTH accepted")
	}
}

func TestKernelLimitsMatchBatchsim(t *testing.T) {
	for name, want := range map[string]int{
		"MAX_BODIES":        batchsim.MaxBodies,
		"MAX_DOFS":          batchsim.MaxDofs,
		"MAX_QPOS":          batchsim.MaxQpos,
		"MAX_ACTUATORS":     batchsim.MaxActuators,
		"MAX_CONTACT_PAIRS": batchsim.MaxContactPairs,
	} {
		if got := kconst(name); got != want {
			t.Errorf("rollout.wgsl %s = %d, batchsim says %d", name, got, want)
		}
	}
}

func TestRejectsModelAboveLimits(t *testing.T) {
	task := cheetahTask(t)
	big := *task.Model
	big.Nbody = batchsim.MaxBodies + 1
	bt := *task
	bt.Model = &big
	_, err := packTask(&bt)
	if err == nil || !containsAll(err.Error(), "MaxBodies", "33") {
		t.Errorf("model with %d bodies: err = %v, want one naming batchsim.MaxBodies", big.Nbody, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
