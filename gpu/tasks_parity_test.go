package gpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// The parity tests of every task (batchsim.NewTask) share one Evaluator on
// the shared test device.
var shared struct {
	once sync.Once
	e    *Evaluator
	err  error
}

// sharedEvaluator returns the package's Evaluator, or skips the test when
// the machine has no WebGPU adapter. It lives until the test binary exits.
func sharedEvaluator(tb testing.TB) *Evaluator {
	tb.Helper()
	d := newTestDevice(tb)
	shared.once.Do(func() { shared.e, shared.err = NewEvaluator(Options{Device: d}) })
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.e
}

func mustTask(tb testing.TB, name string) *batchsim.Task {
	tb.Helper()
	t, err := batchsim.NewTask(name)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// siteID returns the index of site name in m.
func siteID(tb testing.TB, m *batchsim.Model, name string) int {
	tb.Helper()
	for i, n := range m.SiteName {
		if n == name {
			return i
		}
	}
	tb.Fatalf("model %s has no site %q", m.Name, name)
	return -1
}

// taskStates draws n start states (and task parameters) of task that
// exercise its features: Humanoid lying on or pushed into the floor, Door
// with the latch locked or free and the hinge and latch slow (friction as a
// damper) or fast, Fetch from its reset with the gripper at the cube in half
// the states, its fingers anywhere in their range (box pads pressed into the
// cube) or, with open set, open around it.
func taskStates(tb testing.TB, rng *rand.Rand, task *batchsim.Task, n int, open bool) (qpos, qvel, params []float64) {
	m := task.Model
	d := batchsim.NewData(m)
	var g0 batchsim.Vec3
	if task.Name == "fetchpickplace" {
		g0 = d.SiteXpos[siteID(tb, m, "grip")]
	}
	u := func(a float64) float64 { return a * (2*rng.Float64() - 1) }
	for p := 0; p < n; p++ {
		q := append([]float64(nil), m.Qpos0...)
		v := make([]float64, m.Nv)
		par := make([]float64, task.NParam)
		switch task.Name {
		case "humanoidstandup":
			for i := 7; i < m.Nq; i++ {
				q[i] += u(0.4)
			}
			q[2] += u(0.08) // from pushed 8 cm into the floor to lifted 8 cm
			for i := range v {
				v[i] = 0.5 * rng.NormFloat64()
			}
		case "door-hook":
			task.ResetHook(rng, m, q, v, par)
			for i := 0; i < 5; i++ {
				q[i] += u(0.3)
			}
			q[8] = 0.3 * rng.Float64() // door: at the latch's lowered limit or past it
			q[9] = 1.6 * rng.Float64() // latch: locked below 1.2, free above 1.3
			for i := range v {
				v[i] = 0.3 * rng.NormFloat64()
			}
			if rng.IntN(2) == 0 { // slow: the dry-friction rows' linear zone
				v[8] = u(0.008)
				v[9] = u(0.008)
			}
		case "fetchpickplace":
			task.ResetHook(rng, m, q, v, par)
			// The reset puts the cube exactly on the table (distance 0, the
			// margin), where whether the contact is active is a rounding
			// tie; 20 µm into it is where it rests (g/ω² = 10 µm).
			q[7] -= 2e-5
			if rng.IntN(2) == 0 {
				for k := 0; k < 3; k++ {
					q[k] = q[5+k] - g0[k] + u(0.005)
				}
				q[2] += 0.02
			}
			q[3] = 0.05 * rng.Float64()
			q[4] = 0.05 * rng.Float64()
			if open {
				q[3], q[4] = 0.05-u(0.002), 0.05-u(0.002)
			}
			for i := range v {
				v[i] = 0.05 * rng.NormFloat64()
			}
		case "door", "door-dense", "door-unshaped":
			// The frame where the episode's reset puts it, the arm and
			// hand anywhere within 0.2 rad (0.02 m for the arm's slides)
			// of the reset pose; a joint past its range is put up to
			// 0.01 rad into its limit: the tendon and joint limit rows are
			// active in every state. (Not at the limit itself: with three
			// finger joints exactly at their lower limit 0, the Go
			// engine's step itself jumped by 0.04 of relative qvel for a
			// 1e-6 rad change of one of them, so float32 rounding decided
			// the comparison.)
			task.ResetHook(rng, m, q, v, par)
			for j := 0; j < m.Njnt; j++ {
				a := m.JntQposAdr[j]
				q[a] += u(0.2)
				if m.JntType[j] == batchsim.JointSlide {
					q[a] = m.Qpos0[a] + u(0.02)
				}
				if lo, hi := m.JntRange[j][0], m.JntRange[j][1]; m.JntLimited[j] && q[a] < lo {
					q[a] = lo - 0.01*rng.Float64()
				} else if m.JntLimited[j] && q[a] > hi {
					q[a] = hi + 0.01*rng.Float64()
				}
			}
			for i := range v {
				v[i] = 0.2 * rng.NormFloat64()
			}
		default: // the cheetah, from 0.25 m into the floor to 0.05 m above it
			for i := range q {
				q[i] += u(0.1)
			}
			q[1] += -0.1 + u(0.15)
			for i := range v {
				v[i] = 0.5 * rng.NormFloat64()
			}
		}
		batchsim.NormalizeQuats(m, q)
		qpos = append(qpos, q...)
		qvel = append(qvel, v...)
		params = append(params, par...)
	}
	return qpos, qvel, params
}

// stepTol is the relative qvel tolerance of one physics step per task. The
// kernel is float32, and Fetch's states press box pads into a cube lying on
// a box table, all with solref 0.002: ω = 2/τ = 1000/s, so a penetration
// computed from positions near 1 m, which float32 resolves to about 6e-8 m,
// carries a relative force error of 6e-8/pen; for the pad and table contacts
// of tens of µm that is 1e-3 of the contact force, and the step's velocity
// change is dominated by that force (measured worst 3e-4). Elsewhere 1e-4.
var stepTol = map[string]float64{
	"halfcheetah":     gpuTol,
	"humanoidstandup": gpuTol,
	"door-hook":       gpuTol,
	"fetchpickplace":  2e-3,
	// Fetch's values, the other task of stiff small contacts. Measured on
	// lavapipe (lean kernel, 60 states of each): worst 6.0e-6 (door),
	// 5.9e-6 (door-dense), 6.1e-6 (door-unshaped).
	"door":          2e-3,
	"door-dense":    2e-3,
	"door-unshaped": 2e-3,
}

// TestTaskStepParity takes one physics step of every task that the shared
// evaluator runs in a shape other than the lean kernel (TestLeanKernel runs
// the others, after the background compile) from 60 random states and
// controls on the device and with the Go engine and compares qvel after it.
func TestTaskStepParity(t *testing.T) {
	for _, name := range tasksOfShape(t, sharedEvaluator(t), false) {
		t.Run(name, func(t *testing.T) { taskStepParity(t, name) })
	}
}

func taskStepParity(t *testing.T, name string) {
	e := sharedEvaluator(t)
	task := mustTask(t, name)
	one := *task
	one.FrameSkip = 1 // one control step = one physics step
	m := task.Model
	rng := rand.New(rand.NewPCG(11, uint64(len(name))))
	const n = 60
	b := &batchsim.Batch{Task: &one, Problems: n, Samples: 1, Horizon: 1}
	b.Qpos, b.Qvel, b.Params = taskStates(t, rng, task, n, false)
	for p := 0; p < n; p++ {
		for i := 0; i < m.Nu; i++ {
			b.Actions = append(b.Actions, task.ActLow[i]+(task.ActHigh[i]-task.ActLow[i])*rng.Float64())
		}
		b.Record = append(b.Record, p)
	}
	worst, touching, cut := stepParity(t, e, b, stepTol[name])
	// The doors' states exercise limit and tendon rows; the
	// hand rarely touches anything from them.
	if !strings.HasPrefix(name, "door") && touching < n/4 {
		t.Errorf("only %d of %d states in contact: the test does not exercise contacts", touching, n)
	}
	t.Logf("%s: one step in the %v kernel, %d states (%d in contact, %d cut short by the loop limit): worst relative qvel error %.2g (tolerance %.0e)", name, e.kernel, n, touching, cut, worst, stepTol[name])
}

// rolloutHorizon is the horizon of each task's cost parity test: short
// enough that float32 rounding has not been amplified by the contacts into
// a different trajectory (chaotic divergence), long enough to run several
// control steps and, for Fetch (20 physics steps of 8 sub-steps per
// control step), dispatches that end inside a control step. Fetch's stiff
// pad and cube contacts (solref 0.002) diverge fastest: measured worst
// relative errors main/guide 9e-7/2e-7 at 1 step, 1.4e-6/2.6e-5 at 2,
// 9e-5/8e-3 at 3 (a cube knocked over by a closing pad: the guide's policy
// reads its spin), 2e-4/4e-2 at 5.
var rolloutHorizon = map[string]int{
	"halfcheetah":     10,
	"humanoidstandup": 6,
	"door-hook":       10,
	"fetchpickplace":  2,
	"door":            2, // as Fetch
	"door-dense":      2,
	"door-unshaped":   2,
}

// TestEveryTaskHasParitySettings: each task the GPU tests run has a step
// tolerance and a rollout horizon, so that a hardware GPU, which runs
// every task, never compares one against a tolerance of 0.
// Their start states (taskStates) step finitely on the CPU engine.
func TestEveryTaskHasParitySettings(t *testing.T) {
	for _, n := range gpuTasks() {
		if stepTol[n] <= 0 || rolloutHorizon[n] <= 0 {
			t.Errorf("task %s: step tolerance %g, rollout horizon %d: set both", n, stepTol[n], rolloutHorizon[n])
		}
		task := mustTask(t, n)
		m := task.Model
		q, v, par := taskStates(t, rand.New(rand.NewPCG(1, 2)), task, 4, false)
		env := batchsim.NewEnv(task)
		for k := range 4 {
			env.SetState(q[k*m.Nq:(k+1)*m.Nq], v[k*m.Nv:(k+1)*m.Nv])
			copy(env.Params, par[k*task.NParam:(k+1)*task.NParam])
			if _, _, err := env.Act(make([]float64, m.Nu)); err != nil {
				t.Errorf("task %s: state %d of taskStates: %v", n, k, err)
			}
		}
	}
}

// TestTaskRolloutParity compares the cost terms (main, guide with a random
// policy, norm) of short rollouts with the CPU evaluator, for every task
// the shared evaluator runs in a shape other than the lean kernel
// (TestLeanKernel runs the others).
func TestTaskRolloutParity(t *testing.T) {
	for _, name := range tasksOfShape(t, sharedEvaluator(t), false) {
		t.Run(name, func(t *testing.T) { taskRolloutParity(t, name) })
	}
}

func taskRolloutParity(t *testing.T, name string) {
	e := sharedEvaluator(t)
	task := mustTask(t, name)
	m := task.Model
	rng := rand.New(rand.NewPCG(13, uint64(len(name))))
	const problems, samples = 8, 4
	h := rolloutHorizon[name]
	b := &batchsim.Batch{Task: task, Problems: problems, Samples: samples, Horizon: h, Record: []int{0, 9}}
	b.Qpos, b.Qvel, b.Params = taskStates(t, rng, task, problems, true)
	for i := 0; i < problems*samples*h; i++ {
		for a := 0; a < m.Nu; a++ {
			b.Actions = append(b.Actions, task.ActLow[a]+(task.ActHigh[a]-task.ActLow[a])*rng.Float64())
		}
	}
	pn := randomPolicy(rng, task.ObsDim(), m.Nu, 64, 64)
	copy(pn.ActLow, task.ActLow)
	copy(pn.ActHigh, task.ActHigh)
	cpu := batchsim.NewCPU(2)
	for _, ev := range []batchsim.Evaluator{e, cpu} {
		if err := ev.SetPolicy(pn); err != nil {
			t.Fatal(err)
		}
	}
	defer e.SetPolicy(nil)
	// A software adapter may cut a problem's rollout short (ErrLoopLimit:
	// measured, 3 of the humanoid's 8 starts pressed into the floor, over
	// 30 physics steps); the others are compared, and at least half must be.
	rg, cutProblem, ncut := evaluateUncut(t, e, b)
	if ncut > problems/2 {
		t.Errorf("%d of %d problems cut short by %s's loop limit: too few compared", ncut, problems, e.dev.Info.Name)
	}
	var rc batchsim.Result
	if err := cpu.Evaluate(b, &rc); err != nil {
		t.Fatal(err)
	}
	var worst [3]float64
	for s := range rc.Main {
		if cutProblem[s/samples] {
			continue
		}
		for k, pair := range [3][2]float64{{rg.Main[s], rc.Main[s]}, {rg.Guide[s], rc.Guide[s]}, {rg.Norm[s], rc.Norm[s]}} {
			err := relErr(pair[0], pair[1])
			worst[k] = max(worst[k], err)
			if err > rolloutTol(name) || math.IsNaN(err) {
				t.Errorf("sample %d, term %s: gpu %.7g, cpu %.7g (rel. err %.2g)", s, [3]string{"main", "guide", "norm"}[k], pair[0], pair[1], err)
			}
		}
	}
	t.Logf("%s: %d-step rollouts in the %v kernel, %d samples (%d of %d problems cut short by the loop limit): worst relative error main %.2g, guide %.2g, norm %.2g",
		name, h, e.kernel, len(rc.Main), ncut, problems, worst[0], worst[1], worst[2])
}

// TestSplitInsideControlStep runs Fetch with dispatches of 2 physics steps,
// which end inside its 20-step control steps: the costs must equal those of
// the evaluator's own split exactly (on lavapipe one physics step per
// dispatch, the most llvmpipe's loop limit allows for its soft-constraint
// steps; on a GPU 16 control steps), since the arithmetic is the same.
func TestSplitInsideControlStep(t *testing.T) {
	e := sharedEvaluator(t)
	task := mustTask(t, "fetchpickplace")
	rng := rand.New(rand.NewPCG(17, 18))
	const problems, samples, h = 2, 3, 2
	b := &batchsim.Batch{Task: task, Problems: problems, Samples: samples, Horizon: h, Record: []int{4}}
	b.Qpos, b.Qvel, b.Params = taskStates(t, rng, task, problems, true)
	for i := 0; i < problems*samples*h*task.Model.Nu; i++ {
		b.Actions = append(b.Actions, 2*rng.Float64()-1)
	}
	pn := randomPolicy(rng, task.ObsDim(), task.Model.Nu, 16)
	split, err := NewEvaluator(Options{Device: e.dev, StepsPerDispatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer split.Close()
	var res [2]batchsim.Result
	for i, ev := range []*Evaluator{e, split} {
		if err := ev.SetPolicy(pn); err != nil {
			t.Fatal(err)
		}
		if err := ev.Evaluate(b, &res[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.SetPolicy(nil)
	for s := range res[0].Main {
		if res[0].Main[s] != res[1].Main[s] || res[0].Guide[s] != res[1].Guide[s] || res[0].Norm[s] != res[1].Norm[s] {
			t.Errorf("sample %d: whole (%g, %g, %g), split (%g, %g, %g)", s,
				res[0].Main[s], res[0].Guide[s], res[0].Norm[s], res[1].Main[s], res[1].Guide[s], res[1].Norm[s])
		}
	}
	for i := range res[0].States[0] {
		if res[0].States[0][i] != res[1].States[0][i] {
			t.Fatalf("recorded state entry %d: %g vs %g", i, res[0].States[0][i], res[1].States[0][i])
		}
	}
}

// gpuTasks lists the tasks the GPU kernel runs: all of them.
func gpuTasks() []string { return batchsim.TaskNames() }

// tasksOfShape lists the tasks e runs in the lean kernel (lean) or in
// another shape; e must accept every task.
func tasksOfShape(t *testing.T, e *Evaluator, lean bool) []string {
	var names []string
	for _, n := range gpuTasks() {
		task := mustTask(t, n)
		if err := e.CheckTask(task); err != nil {
			t.Fatalf("%s refused on %s: %v", n, e.dev.Info.Name, err)
		}
		if (e.shapeFor(task.Model) == KernelLean) == lean {
			names = append(names, n)
		}
	}
	return names
}

// TestKernelShapePerTask: the automatic shape is the lean kernel on a
// hardware GPU; on a software adapter the specialised one where its step
// fits llvmpipe's loop limit (the cheetah) and the lean one where not (the
// humanoid, the Adroit door), which an evaluator asked for the specialised
// kernel refuses with a message naming the loop limit, before anything
// runs.
func TestKernelShapePerTask(t *testing.T) {
	e := sharedEvaluator(t)
	want := map[string]Kernel{"halfcheetah": KernelSpecialized, "humanoidstandup": KernelLean, "door": KernelLean}
	spec := newTestEvaluator(t, Options{Device: e.dev, Kernel: KernelSpecialized})
	for name, k := range want {
		task := mustTask(t, name)
		if !e.dev.Info.Software {
			k = KernelLean
		}
		if got := e.shapeFor(task.Model); got != k {
			t.Errorf("%s on %s: the %v kernel, want %v", name, e.dev.Info.Name, got, k)
		}
		err := spec.CheckTask(task)
		if !e.dev.Info.Software || k == KernelSpecialized {
			if err != nil {
				t.Errorf("%s in the specialised kernel on %s: %v", name, e.dev.Info.Name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), "loop iterations") {
			t.Errorf("%s in the specialised kernel on a software adapter: error %v, want one naming the loop limit", name, err)
		}
	}
}

// TestGPURefusesUnsupportedTask: the Adroit door is refused with a message
// naming what the kernel lacks, before anything runs, rather than run
// without its moved door frame.
func TestGPURefusesUnsupportedTask(t *testing.T) {
	// The Adroit door's features (a body placed per problem, site
	// distances) pack; a cost term past the kernel's last kind does not.
	door := mustTask(t, "door")
	if _, err := packTask(door); err != nil {
		t.Fatalf("packing the Adroit door: %v", err)
	}
	odd := *cheetahTask(t)
	odd.Cost = append(slices.Clone(odd.Cost), batchsim.Term{Kind: batchsim.TermSiteDist + 1, W: 1})
	if _, err := packTask(&odd); err == nil || !strings.Contains(err.Error(), "cost term kind") {
		t.Fatalf("a cost term past TermSiteDist: error %v, want one naming the term kind", err)
	}
}

// rolloutTol is the relative tolerance of a task's rollout cost terms: the
// single-step tolerance, except for the cheetah, whose 10-step rollouts from
// states pushed into the floor cross many contact and limit transitions
// where the float32 Newton solution and the float64 one part (one step
// agrees to 4e-6, 10 steps to 1.5e-4).
func rolloutTol(task string) float64 {
	if task == "halfcheetah" {
		return 1e-3
	}
	return gpuTol
}
