package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

type wgpuLimits = wgpu.Limits

// gpuTol is the relative tolerance of GPU results against the CPU engine:
// float32 kernel vs float64 reference.
const gpuTol = 1e-4

// cheetahTask loads gym's HalfCheetah from models/, failing when it is missing.
func cheetahTask(tb testing.TB) *batchsim.Task {
	tb.Helper()
	task, err := loadCheetah()
	if err != nil {
		tb.Fatalf("reference model missing or unreadable (see models/README.md): %v", err)
	}
	return task
}

// loadCheetah is cheetahTask without a test (TestMain's child uses it).
func loadCheetah() (*batchsim.Task, error) {
	m, err := batchsim.LoadFile(filepath.Join("..", "models", "half_cheetah.xml"))
	if err != nil {
		return nil, err
	}
	return batchsim.HalfCheetahWithModel(m), nil
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

// costsOf evaluates b on e and returns a copy of the three cost terms.
func costsOf(t *testing.T, e *Evaluator, b *batchsim.Batch) [3][]float64 {
	t.Helper()
	var r batchsim.Result
	if err := e.Evaluate(b, &r); err != nil {
		t.Fatal(err)
	}
	return [3][]float64{append([]float64(nil), r.Main...), append([]float64(nil), r.Guide...), append([]float64(nil), r.Norm...)}
}

// A batch above the device's workgroup and binding limits is split into
// dispatches that respect them, with the costs of one dispatch.
func TestEvaluatorSplitsAtDeviceLimits(t *testing.T) {
	task := cheetahTask(t)
	b := randomBatch(rand.New(rand.NewPCG(8, 1)), task, 3, 100, 3)
	want := costsOf(t, newTestEvaluator(t, Options{}), b)

	small := newTestDevice(t)
	wg := kconst("WORKGROUP_SIZE")
	small.limits.MaxComputeWorkgroupsPerDimension = 2 // 2 workgroups of worlds per dispatch
	e := newTestEvaluator(t, Options{Device: small})
	if n := e.worldsPerDispatch(b.Horizon, task.Model.Nu, 2*task.Model.Nq+task.Model.Nv); n != 2*wg {
		t.Fatalf("%d worlds per dispatch under 2 workgroups of %d", n, wg)
	}
	small.limits.MaxStorageBufferBindingSize = uint64(100 * b.Horizon * task.Model.Nu * 4) // 100 worlds' actions
	if n := e.worldsPerDispatch(b.Horizon, task.Model.Nu, 2*task.Model.Nq+task.Model.Nv); n > 100 {
		t.Fatalf("%d worlds per dispatch, above what the binding size allows", n)
	}
	got := costsOf(t, e, b)
	for k := range got {
		for s := range got[k] {
			if relErr(got[k][s], want[k][s]) > 1e-6 {
				t.Fatalf("term %d sample %d: split %v, whole %v", k, s, got[k][s], want[k][s])
			}
		}
	}
}

// A batch that cannot fit the device's limits is refused with an error
// naming the limit, before anything is submitted, and the device stays
// usable.
func TestEvaluatorRefusesBatchAboveDeviceLimits(t *testing.T) {
	task := cheetahTask(t)
	nu, nqv := task.Model.Nu, task.Model.Nq+task.Model.Nv
	dev := newTestDevice(t)
	e := newTestEvaluator(t, Options{Device: dev})
	rng := rand.New(rand.NewPCG(8, 2))
	ok := randomBatch(rng, task, 1, 8, 2)
	before := costsOf(t, e, ok)
	real := dev.limits

	for _, c := range []struct {
		name  string
		limit func(*wgpuLimits)
		batch *batchsim.Batch
		want  string
	}{
		{"cost readback", func(l *wgpuLimits) { l.MaxBufferSize = 1 << 10 }, randomBatch(rng, task, 1, 100, 2), "maxBufferSize"},
		{"one sample's actions", func(l *wgpuLimits) { l.MaxStorageBufferBindingSize = uint64(10 * nu * 4) }, randomBatch(rng, task, 1, 4, 11), "maxStorageBufferBindingSize"},
		{"start states", func(l *wgpuLimits) { l.MaxStorageBufferBindingSize = uint64(50 * nqv * 4) }, randomBatch(rng, task, 60, 1, 1), "maxStorageBufferBindingSize"},
		{"recorded states", func(l *wgpuLimits) { l.MaxStorageBufferBindingSize = uint64(3 * nqv * 4 * 2) },
			func() *batchsim.Batch { b := randomBatch(rng, task, 1, 4, 2); b.Record = []int{0, 1, 2}; return b }(), "maxStorageBufferBindingSize"},
	} {
		dev.limits = real
		c.limit(&dev.limits)
		up0, _ := dev.BytesMoved()
		var r batchsim.Result
		err := e.Evaluate(c.batch, &r)
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrDeviceLost) {
			t.Errorf("%s: err = %v, want one naming %s", c.name, err, c.want)
		}
		if up, _ := dev.BytesMoved(); up != up0 {
			t.Errorf("%s: %d bytes uploaded before the refusal", c.name, up-up0)
		}
	}
	dev.limits = real
	if after := costsOf(t, e, ok); !slices.Equal(after[0], before[0]) {
		t.Errorf("after the refusals the device evaluates %v, before %v", after[0], before[0])
	}
}

// The lean kernel's world_mem for one workgroup must fit one binding: a
// device whose maxStorageBufferBindingSize is smaller refuses the task,
// naming the limit, before compiling or uploading anything.
func TestLeanKernelRefusesSmallBinding(t *testing.T) {
	dev := newTestDevice(t)
	e := newTestEvaluator(t, Options{Device: dev, Kernel: KernelLean})
	real := dev.limits
	defer func() { dev.limits = real }()
	dev.limits.MaxStorageBufferBindingSize = 1 << 20 // the cheetah needs 2.1 MiB per workgroup
	up0, _ := dev.BytesMoved()
	var r batchsim.Result
	err := e.Evaluate(randomBatch(rand.New(rand.NewPCG(8, 4)), cheetahTask(t), 1, 4, 2), &r)
	if err == nil || !strings.Contains(err.Error(), "maxStorageBufferBindingSize") || !strings.Contains(err.Error(), "world_mem") {
		t.Fatalf("err = %v, want one naming world_mem and maxStorageBufferBindingSize", err)
	}
	if up, _ := dev.BytesMoved(); up != up0 {
		t.Errorf("%d bytes uploaded before the refusal", up-up0)
	}
}

// NaN, infinite and float32-overflowing actions are refused, naming the
// action, also in a later dispatch chunk; the evaluator keeps working.
func TestEvaluatorRejectsNonFiniteActions(t *testing.T) {
	task := cheetahTask(t)
	e := newTestEvaluator(t, Options{MaxWorldsPerDispatch: 5})
	b := randomBatch(rand.New(rand.NewPCG(8, 3)), task, 2, 6, 2)
	want := costsOf(t, e, b)
	per := b.Horizon * task.Model.Nu
	for _, bad := range []float64{math.NaN(), math.Inf(-1), 1e39} {
		i := 7*per + 3 // sample 7: the second chunk
		old := b.Actions[i]
		b.Actions[i] = bad
		var r batchsim.Result
		err := e.Evaluate(b, &r)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("action %d ", i)) {
			t.Errorf("action %v: err = %v, want one naming action %d", bad, err, i)
		}
		b.Actions[i] = old
	}
	if got := costsOf(t, e, b); !slices.Equal(got[0], want[0]) {
		t.Errorf("after the refusals: %v, want %v", got[0], want[0])
	}
}

// checkBatch refuses the malformed batches batchsim.Batch.Validate refuses
// (the GPU evaluator checks sizes itself and scans the actions while
// packing them).
func TestCheckBatchAgreesWithValidate(t *testing.T) {
	task := cheetahTask(t)
	mk := func(f func(b *batchsim.Batch)) *batchsim.Batch {
		b := randomBatch(rand.New(rand.NewPCG(8, 4)), task, 2, 3, 2)
		f(b)
		return b
	}
	for name, b := range map[string]*batchsim.Batch{
		"valid":         mk(func(*batchsim.Batch) {}),
		"no task":       mk(func(b *batchsim.Batch) { b.Task = nil }),
		"zero samples":  mk(func(b *batchsim.Batch) { b.Samples = 0 }),
		"short qpos":    mk(func(b *batchsim.Batch) { b.Qpos = b.Qpos[1:] }),
		"short qvel":    mk(func(b *batchsim.Batch) { b.Qvel = b.Qvel[1:] }),
		"long actions":  mk(func(b *batchsim.Batch) { b.Actions = append(b.Actions, 0) }),
		"params":        mk(func(b *batchsim.Batch) { b.Params = []float64{1} }),
		"record range":  mk(func(b *batchsim.Batch) { b.Record = []int{6} }),
		"negative rec.": mk(func(b *batchsim.Batch) { b.Record = []int{-1} }),
	} {
		if got, want := checkBatch(b) == nil, b.Validate() == nil; got != want {
			t.Errorf("%s: checkBatch accepts %v, Validate accepts %v", name, got, want)
		}
	}
}

// packActions converts like float32(x) on any number of workers, and an
// Evaluate call reuses its buffers: it allocates far less than the actions
// it packs.
func TestPackActionsAndReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 5))
	src := make([]float64, 3*packBlock+17)
	for i := range src {
		src[i] = rng.NormFloat64() * 10
	}
	ref := make([]byte, 4*len(src))
	if err := packActions(ref, src, 0, 1); err != nil {
		t.Fatal(err)
	}
	for i, v := range src {
		if getF32(ref, i) != float32(v) {
			t.Fatalf("value %d: packed %v, want %v", i, getF32(ref, i), float32(v))
		}
	}
	got := make([]byte, len(ref))
	if err := packActions(got, src, 0, 4); err != nil || !slices.Equal(got, ref) {
		t.Fatalf("4 workers pack differently from 1 (err %v)", err)
	}

	task := cheetahTask(t)
	e := newTestEvaluator(t, Options{})
	b := randomBatch(rng, task, 1, 2048, 2)
	var r batchsim.Result
	if err := e.Evaluate(b, &r); err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const calls = 3
	for range calls {
		if err := e.Evaluate(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&m1)
	packed := 4 * len(b.Actions)
	if per := int(m1.TotalAlloc-m0.TotalAlloc) / calls; per > packed/10 {
		t.Errorf("an Evaluate call allocates %d bytes; its packed actions are %d", per, packed)
	}
	if e.HostTime() <= 0 {
		t.Errorf("host time %v after %d calls", e.HostTime(), calls+1)
	}
}

// TestKernelNames: each shape's String is the name --kernel takes for it.
func TestKernelNames(t *testing.T) {
	for name, k := range Kernels {
		if k.String() != name {
			t.Errorf("Kernels[%q].String() = %q", name, k.String())
		}
	}
	if len(Kernels) != int(KernelLean)+1 {
		t.Errorf("Kernels names %d shapes, want %d", len(Kernels), int(KernelLean)+1)
	}
}
