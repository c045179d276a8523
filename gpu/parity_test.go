package gpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// TestStepParity takes one physics step from 100 random states and controls
// of HalfCheetah near the floor (contacts and joint limits active in many of
// them) on the device and with the Go engine, and compares qvel after it,
// with the kernel specialised to the model and the generic one (the lean
// one: TestLeanKernel).
func TestStepParity(t *testing.T) {
	for _, k := range []Kernel{KernelSpecialized, KernelGeneric} {
		t.Run(k.String(), func(t *testing.T) { cheetahStepParity(t, Options{Kernel: k}) })
	}
}

func cheetahStepParity(t *testing.T, o Options) {
	task := cheetahTask(t)
	one := *task
	one.FrameSkip = 1 // one control step = one physics step
	m := task.Model
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 100
	b := &batchsim.Batch{Task: &one, Problems: n, Samples: 1, Horizon: 1}
	for p := 0; p < n; p++ {
		for i := 0; i < m.Nq; i++ {
			x := m.Qpos0[i] + 0.6*(2*rng.Float64()-1)
			if i == 1 { // rootz: from 0.25 m into the floor to 0.05 m above it
				x = m.Qpos0[i] - 0.25 + 0.3*rng.Float64()
			}
			b.Qpos = append(b.Qpos, x)
		}
		for i := 0; i < m.Nv; i++ {
			b.Qvel = append(b.Qvel, rng.NormFloat64())
		}
		for i := 0; i < m.Nu; i++ {
			b.Actions = append(b.Actions, 2*rng.Float64()-1)
		}
		b.Record = append(b.Record, p)
	}
	e := newTestEvaluator(t, o)
	// First the states in reverse order, so that each world starts from
	// what another world left: the lean kernel's world_mem persists between
	// dispatches, and a read before a write would show below.
	rev := *b
	rev.Qpos, rev.Qvel, rev.Actions = reverseRows(b.Qpos, m.Nq), reverseRows(b.Qvel, m.Nv), reverseRows(b.Actions, m.Nu)
	var r batchsim.Result
	if err := e.Evaluate(&rev, &r); err != nil {
		t.Fatal(err)
	}
	worst, touching, _ := stepParity(t, e, b, gpuTol)
	if touching < n/4 {
		t.Errorf("only %d of %d states touch the floor: the test does not exercise contacts", touching, n)
	}
	t.Logf("one step, %d states (%d in contact): worst relative qvel error %.2g", n, touching, worst)
}

// reverseRows returns x's rows of n values in reverse order.
func reverseRows(x []float64, n int) []float64 {
	out := make([]float64, 0, len(x))
	for i := len(x) - n; i >= 0; i -= n {
		out = append(out, x[i:i+n]...)
	}
	return out
}

// stepParity evaluates b (one physics step per problem, every problem
// recorded) on e and with the Go engine, reports each state whose relative
// qvel error exceeds tol, and returns the worst error and how many states
// were in contact. A state whose step a software adapter's loop limit cut
// short (ErrLoopLimit: the device reports it instead of a result) is left
// out and counted in cut; more than a quarter of them cut fails the test,
// as does any on a hardware GPU.
func stepParity(t *testing.T, e *Evaluator, b *batchsim.Batch, tol float64) (worst float64, touching, cut int) {
	t.Helper()
	r, cutState, cut := evaluateUncut(t, e, b)
	if cut > b.Problems/4 {
		t.Errorf("%d of %d states cut short by %s's loop limit: too few compared", cut, b.Problems, e.dev.Info.Name)
	}
	d := batchsim.NewData(b.Task.Model)
	var scratch batchsim.Model
	for p := 0; p < b.Problems; p++ {
		// The problem's own model: the Adroit door's frame is placed per
		// problem (Task.BodyPos), as the kernel places it.
		m := b.Task.ModelFor(b.Params[p*b.Task.NParam:(p+1)*b.Task.NParam], &scratch)
		batchsim.ResetData(m, d)
		copy(d.Qpos, b.Qpos[p*m.Nq:(p+1)*m.Nq])
		copy(d.Qvel, b.Qvel[p*m.Nv:(p+1)*m.Nv])
		b.Task.SetCtrl(d, b.Actions[p*m.Nu:(p+1)*m.Nu])
		if err := batchsim.Step(m, d); err != nil {
			t.Fatal(err)
		}
		for _, w := range d.CfrcExt {
			if w != ([6]float64{}) {
				touching++
				break
			}
		}
		if cutState[p] {
			continue
		}
		got := r.States[p][(m.Nq+m.Nv)+m.Nq:]
		diff, ref := 0.0, 0.0
		for i, v := range d.Qvel {
			diff += (got[i] - v) * (got[i] - v)
			ref += v * v
		}
		err := math.Sqrt(diff) / max(math.Sqrt(ref), 1)
		worst = max(worst, err)
		if err > tol {
			t.Errorf("state %d: ‖Δqvel‖/‖qvel‖ = %.2g after one step, want < %.0e\n gpu %.6g\n cpu %.6g", p, err, tol, got, d.Qvel)
		}
	}
	return worst, touching, cut
}

// evaluateUncut evaluates b on e. Where e is a software adapter and the
// batch was cut short (ErrLoopLimit), it evaluates each problem alone
// instead: a cut problem's costs are NaN and its recorded states nil, cut
// says which problems were and ncut how many.
func evaluateUncut(t *testing.T, e *Evaluator, b *batchsim.Batch) (r batchsim.Result, cut []bool, ncut int) {
	t.Helper()
	cut = make([]bool, b.Problems)
	err := e.Evaluate(b, &r)
	if err == nil {
		return r, cut, 0
	}
	if !errors.Is(err, ErrLoopLimit) || !e.dev.Info.Software {
		t.Fatal(err)
	}
	r = batchsim.Result{}
	m, S := b.Task.Model, b.Samples
	for p := range b.Problems {
		one := *b
		one.Problems, one.Record = 1, nil
		one.Qpos, one.Qvel = b.Qpos[p*m.Nq:(p+1)*m.Nq], b.Qvel[p*m.Nv:(p+1)*m.Nv]
		one.Params = b.Params[p*b.Task.NParam : (p+1)*b.Task.NParam]
		one.Actions = b.Actions[p*S*b.Horizon*m.Nu : (p+1)*S*b.Horizon*m.Nu]
		for _, s := range b.Record {
			if s/S == p {
				one.Record = append(one.Record, s%S)
			}
		}
		var r1 batchsim.Result
		err := e.Evaluate(&one, &r1)
		if err != nil && !errors.Is(err, ErrLoopLimit) {
			t.Fatal(err)
		}
		if cut[p] = err != nil; cut[p] {
			ncut++
			nan := math.NaN()
			r1.Main, r1.Guide, r1.Norm = slices.Repeat([]float64{nan}, S), slices.Repeat([]float64{nan}, S), slices.Repeat([]float64{nan}, S)
			r1.States = make([][]float64, len(one.Record))
		}
		r.Main, r.Guide, r.Norm = append(r.Main, r1.Main...), append(r.Guide, r1.Guide...), append(r.Norm, r1.Norm...)
		r.States = append(r.States, r1.States...)
	}
	return r, cut, ncut
}

// airBatch starts the cheetah high enough to stay clear of the floor for
// horizon control steps (20 m: a 5 m drop would touch it after about 1 s,
// and 30 steps last 1.5 s).
func airBatch(rng *rand.Rand, t *batchsim.Task, problems, samples, horizon int) *batchsim.Batch {
	b := randomBatch(rng, t, problems, samples, horizon)
	for p := 0; p < problems; p++ {
		b.Qpos[p*t.Model.Nq+1] += 20
	}
	return b
}

// TestRolloutParity compares every cost term of contact-free 30-step
// rollouts, guidance included, with the CPU evaluator.
func TestRolloutParity(t *testing.T) {
	task := cheetahTask(t)
	rng := rand.New(rand.NewPCG(7, 8))
	pn := randomPolicy(rng, task.ObsDim(), task.Model.Nu, 32, 32)
	b := airBatch(rng, task, 3, 6, 30)
	b.Record = []int{0, 17}

	e := newTestEvaluator(t, Options{})
	cpu := batchsim.NewCPU(2)
	for _, ev := range []batchsim.Evaluator{e, cpu} {
		if err := ev.SetPolicy(pn); err != nil {
			t.Fatal(err)
		}
	}
	var rg, rc batchsim.Result
	if err := e.Evaluate(b, &rg); err != nil {
		t.Fatal(err)
	}
	if err := cpu.Evaluate(b, &rc); err != nil {
		t.Fatal(err)
	}
	var worst [4]float64
	for s := range rc.Main {
		for k, pair := range [3][2]float64{{rg.Main[s], rc.Main[s]}, {rg.Guide[s], rc.Guide[s]}, {rg.Norm[s], rc.Norm[s]}} {
			e := relErr(pair[0], pair[1])
			worst[k] = max(worst[k], e)
			if e > gpuTol {
				t.Errorf("sample %d, term %s: gpu %.7g, cpu %.7g (rel. err %.2g)", s, [3]string{"main", "guide", "norm"}[k], pair[0], pair[1], e)
			}
		}
	}
	for k := range b.Record {
		for i, v := range rc.States[k] {
			worst[3] = max(worst[3], relErr(rg.States[k][i], v))
		}
	}
	if worst[3] > 1e-3 {
		t.Errorf("recorded states: worst relative error %.2g, want < 1e-3", worst[3])
	}
	t.Logf("30-step rollouts in the air, %d samples: worst relative error main %.2g, guide %.2g, norm %.2g; recorded states %.2g",
		len(rc.Main), worst[0], worst[1], worst[2], worst[3])
}

// TestSplitDispatch forces tiny dispatches: the results must equal those of
// one dispatch exactly, since each world's arithmetic is the same.
func TestSplitDispatch(t *testing.T) {
	task := cheetahTask(t)
	rng := rand.New(rand.NewPCG(9, 10))
	b := randomBatch(rng, task, 3, 5, 4)
	b.Record = []int{1, 7, 14}
	pn := randomPolicy(rng, task.ObsDim(), task.Model.Nu, 16)
	dev := newTestDevice(t)
	var res [2]batchsim.Result
	for i, maxW := range []int{0, 4} {
		e := newTestEvaluator(t, Options{Device: dev, MaxWorldsPerDispatch: maxW})
		if err := e.SetPolicy(pn); err != nil {
			t.Fatal(err)
		}
		// Twice on the same Evaluator: leftover state would show.
		for k := 0; k < 2; k++ {
			if err := e.Evaluate(b, &res[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for s := range res[0].Main {
		if res[0].Main[s] != res[1].Main[s] || res[0].Guide[s] != res[1].Guide[s] || res[0].Norm[s] != res[1].Norm[s] {
			t.Errorf("sample %d: one dispatch (%g, %g, %g), split (%g, %g, %g)", s,
				res[0].Main[s], res[0].Guide[s], res[0].Norm[s], res[1].Main[s], res[1].Guide[s], res[1].Norm[s])
		}
	}
	for k := range b.Record {
		for i := range res[0].States[k] {
			if res[0].States[k][i] != res[1].States[k][i] {
				t.Fatalf("record %d entry %d: %g vs %g", k, i, res[0].States[k][i], res[1].States[k][i])
			}
		}
	}
}

// TestCutDispatchIsAnError: on lavapipe, whose llvmpipe stops an
// invocation's loops after 65535 iterations, a rollout in one dispatch of
// more physics steps than that is cut short (the kernel's loop over the
// dispatch's physics steps alone runs one iteration per step), and
// Evaluate says so instead of returning its costs; the same batch split as
// chunk.go splits it runs. (The kernel that writes the cheetah's soft
// constraints out runs a whole 150-step rollout, and 5000 steps, in one
// dispatch without reaching the limit, so a short horizon no longer
// provokes the cut.)
func TestCutDispatchIsAnError(t *testing.T) {
	task := cheetahTask(t)
	rng := rand.New(rand.NewPCG(21, 22))
	horizon := softwareLoopLimit/task.FrameSkip + 1
	b := randomBatch(rng, task, 2, 4, horizon)
	dev := newTestDevice(t)
	if !dev.Info.Software {
		t.Logf("%s has no loop limit: checking that a whole-horizon dispatch runs", dev.Info.Name)
	}
	whole := newTestEvaluator(t, Options{Device: dev, StepsPerDispatch: horizon * task.FrameSkip})
	var r batchsim.Result
	err := whole.Evaluate(b, &r)
	switch {
	case dev.Info.Software && (err == nil || !strings.Contains(err.Error(), "cut rollout")):
		t.Fatalf("one dispatch of %d physics steps on %s: %v, want the cut rollout named", horizon*task.FrameSkip, dev.Info.Name, err)
	case !dev.Info.Software && err != nil:
		t.Fatal(err)
	}
	split := newTestEvaluator(t, Options{Device: dev})
	if err := split.Evaluate(b, &r); err != nil {
		t.Fatalf("the batch split by chunk.go: %v", err)
	}
}
