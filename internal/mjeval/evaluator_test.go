//go:build mujoco

package mjeval

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// startBatch returns a batch of P problems of task, each a start state
// drawn by the task's own reset (batchsim.Env.Reset, as apex plan draws
// episodes: frame positions included), with N random action sequences of
// horizon h in [−1, 1] and samples 0 and P·N−1 recorded.
func startBatch(t *testing.T, task *batchsim.Task, P, N, h int, seed uint64) *batchsim.Batch {
	t.Helper()
	b := &batchsim.Batch{Task: task, Problems: P, Samples: N, Horizon: h, Record: []int{0, P*N - 1}}
	env := batchsim.NewEnv(task)
	for p := range P {
		env.Reset(rand.New(rand.NewPCG(seed+uint64(p), 0x5EED)))
		b.Qpos = append(b.Qpos, env.Data.Qpos...)
		b.Qvel = append(b.Qvel, env.Data.Qvel...)
		b.Params = append(b.Params, env.Params...)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	b.Actions = make([]float64, P*N*h*task.Model.Nu)
	for i := range b.Actions {
		b.Actions[i] = 2*rng.Float64() - 1
	}
	return b
}

// evalBoth evaluates b on batchsim's CPU evaluator and on MuJoCo.
func evalBoth(t *testing.T, b *batchsim.Batch, opt EvaluatorOptions) (cpu, mj *batchsim.Result) {
	t.Helper()
	cpu, mj = new(batchsim.Result), new(batchsim.Result)
	if err := batchsim.NewCPU(1).Evaluate(b, cpu); err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(opt)
	defer ev.Close()
	if err := ev.Evaluate(b, mj); err != nil {
		t.Fatal(err)
	}
	return cpu, mj
}

// compare checks that MuJoCo's main costs are within tol of the CPU
// evaluator's, the recorded states within stateTol (relative to their size
// where above 1; not compared if stateTol < 0), the action norms equal and
// the guidance 0; it returns the largest cost difference.
func compare(t *testing.T, what string, cpu, mj *batchsim.Result, tol, stateTol float64) float64 {
	t.Helper()
	worst := 0.0
	for s := range cpu.Main {
		e := math.Abs(cpu.Main[s] - mj.Main[s])
		if !(e <= tol) { // NaN fails
			t.Errorf("%s: sample %d: main cost %.12g on MuJoCo, %.12g on the CPU evaluator (|Δ| %.3g > %.3g)", what, s, mj.Main[s], cpu.Main[s], e, tol)
		}
		worst = math.Max(worst, e)
		if mj.Norm[s] != cpu.Norm[s] || mj.Guide[s] != 0 {
			t.Errorf("%s: sample %d: norm %g guide %g, want %g and 0", what, s, mj.Norm[s], mj.Guide[s], cpu.Norm[s])
		}
	}
	for k := range cpu.States {
		if stateTol < 0 {
			break
		}
		if len(mj.States[k]) != len(cpu.States[k]) {
			t.Fatalf("%s: recorded state %d has %d numbers, want %d", what, k, len(mj.States[k]), len(cpu.States[k]))
		}
		for i, x := range cpu.States[k] {
			if e := math.Abs(mj.States[k][i] - x); !(e <= stateTol*math.Max(1, math.Abs(x))) {
				t.Errorf("%s: recorded state %d, entry %d: %.12g on MuJoCo, %.12g on the CPU evaluator", what, k, i, mj.States[k][i], x)
				break
			}
		}
	}
	t.Logf("%s: largest |ΔJ| %.3g (tolerance %.3g)", what, worst, tol)
	return worst
}

// TestEvaluatorHalfCheetah: the cheetah from its reset distribution lands
// on the floor at once (batchsim makes contact rows within the first three
// control steps of every start checked below), so these rollouts cross
// contact. batchsim's step agrees with MuJoCo 2.2.2's to rounding there
// (the same soft-constraint problem; MuJoCo's Newton solver on the file's
// settings, tolerance 1e-8, ends at batchsim's solution to rounding on
// this model), and the difference grows through the contacts' sensitivity:
// measured 2026-12-03, |ΔJ| 4e-15 at h = 3, 3e-14 at h = 5, 2e-12 at
// h = 10, 5e-7 at h = 30 (costs of order 1–100). The bounds leave a
// margin of about 100× over those: 1e-9 at h = 5 and 1e-4 at the planning
// horizon 30.
func TestMjevalEvaluatorHalfCheetah(t *testing.T) {
	task, err := batchsim.HalfCheetah()
	if err != nil {
		t.Fatal(err)
	}
	// Each start touches the floor within its first three control steps
	// (zero controls).
	env := batchsim.NewEnv(task)
	for p := range 3 {
		env.Reset(rand.New(rand.NewPCG(1+uint64(p), 0x5EED)))
		task.SetCtrl(env.Data, make([]float64, task.Model.Nu))
		rows := 0
		for range 3 * task.FrameSkip {
			if err := batchsim.Step(task.Model, env.Data); err != nil {
				t.Fatal(err)
			}
			r, _ := env.Data.ConstraintStats()
			rows += r
		}
		if rows == 0 {
			t.Fatalf("start %d: no contact in the first three control steps; the test would not cross contact", p)
		}
	}
	for _, c := range []struct {
		h   int
		tol float64
	}{{1, 1e-12}, {3, 1e-10}, {5, 1e-9}, {30, 1e-4}} {
		b := startBatch(t, task, 3, 8, c.h, 1)
		cpu, mj := evalBoth(t, b, EvaluatorOptions{Workers: 1})
		compare(t, "halfcheetah h="+strconv.Itoa(c.h), cpu, mj, c.tol, c.tol)
	}
}

// TestEvaluatorDoor: the Adroit door from its reset (the frame drawn per
// problem: task parameters written into MuJoCo's body_pos) at horizons
// 1–3. With Exact (Newton to convergence, no no-slip: what batchsim
// solves) the costs agree to rounding (measured |ΔJ| ≤ 4.4e-16; bound
// 1e-12), for door and door-dense. With the file's settings (20 solver
// iterations, 20 no-slip sweeps, which batchsim lacks) they differ by what
// those change in the hand's contacts and limits: for door-dense's terms
// measured 2.9e-6, 1.4e-5 and 3.5e-5 at h = 1, 2, 3 (costs 0.3–0.9); bound
// 1e-4, i.e. 1 mm of the palm-to-handle distance (weight 0.1) over the
// horizon. Their states are not compared: the no-slip sweeps hold the latch
// (dry friction 5 N·m at its lower limit), which moves at 0.1 rad/s after
// one control step under batchsim's (and MuJoCo's, without no-slip) soft
// dry friction; door's latch term reads that angle, so door's costs under
// the file's settings differ by more (measured 2.3e-4 at h = 1, 1.9e-3 at
// h = 3) and are compared only with Exact.
func TestMjevalEvaluatorDoor(t *testing.T) {
	for _, build := range []func() (*batchsim.Task, error){batchsim.Door, batchsim.DoorDense} {
		task, err := build()
		if err != nil {
			t.Fatal(err)
		}
		for h := 1; h <= 3; h++ {
			b := startBatch(t, task, 3, 6, h, 1)
			if slices.Equal(b.Params[0:3], b.Params[3:6]) {
				t.Fatal("two problems drew the same frame position")
			}
			name := task.Name + " h=" + strconv.Itoa(h)
			cpu, mj := evalBoth(t, b, EvaluatorOptions{Workers: 1, Exact: true})
			compare(t, name+" exact", cpu, mj, 1e-12, 1e-12)
			// The same actions from other frame positions cost differently
			// (the handle moves with the frame): the parameters reach MuJoCo.
			if h == 1 && cpu.Main[0] == cpu.Main[b.Samples] {
				t.Errorf("%s: problems 0 and 1 cost the same (%g) from different frame positions", name, cpu.Main[0])
			}
			if task.Name == "door-dense" {
				_, mjFile := evalBoth(t, b, EvaluatorOptions{Workers: 1})
				compare(t, name+" file settings", cpu, mjFile, 1e-4, -1)
			}
		}
	}
}

// TestEvaluatorHumanoidExact: Humanoid Standup, lying on the floor in
// contact, on MuJoCo with Exact (Euler and Newton to convergence, as
// batchsim; the file asks for RK4 and PGS) agrees with the CPU evaluator to
// rounding at horizons 1–3 (measured |ΔJ| ≤ 2.2e-16, states 2e-13).
func TestMjevalEvaluatorHumanoidExact(t *testing.T) {
	task, err := batchsim.HumanoidStandup()
	if err != nil {
		t.Fatal(err)
	}
	for h := 1; h <= 3; h++ {
		cpu, mj := evalBoth(t, startBatch(t, task, 2, 4, h, 1), EvaluatorOptions{Workers: 1, Exact: true})
		compare(t, "humanoidstandup exact h="+strconv.Itoa(h), cpu, mj, 1e-12, 1e-11)
	}
}

// TestEvaluatorGainOverride: a task whose actuator gains and biases differ
// from its file's (as the door's environment sets its own) runs on MuJoCo
// with the task's: the cheetah with doubled gains and a position bias
// (MuJoCo's motors have none: the evaluator makes them affine) agrees with
// the CPU evaluator as the unmodified cheetah does, and differs from it.
func TestMjevalEvaluatorGainOverride(t *testing.T) {
	task, err := batchsim.HalfCheetah()
	if err != nil {
		t.Fatal(err)
	}
	m := *task.Model
	m.ActGainPrm = slices.Clone(m.ActGainPrm)
	m.ActBiasPrm = slices.Clone(m.ActBiasPrm)
	for a := range m.Nu {
		m.ActGainPrm[a] *= 2
		m.ActBiasPrm[a] = batchsim.Vec3{0.1, -0.01, -0.001}
	}
	mod := *task
	mod.Model = &m
	b := startBatch(t, &mod, 2, 6, 5, 3)
	cpu, mj := evalBoth(t, b, EvaluatorOptions{Workers: 1})
	compare(t, "halfcheetah, gains overridden", cpu, mj, 1e-9, 1e-9)
	b.Task = task
	orig, _ := evalBoth(t, b, EvaluatorOptions{Workers: 1})
	if d := math.Abs(orig.Main[0] - cpu.Main[0]); d < 1e-3 {
		t.Errorf("the override changed the cost by %g only; the test checks nothing", d)
	}
}

// TestEvaluatorWorkers: samples are independent, so the results do not
// depend on the number of workers (bit for bit), and an evaluator reused
// across calls and tasks gives what a fresh one gives.
func TestMjevalEvaluatorWorkers(t *testing.T) {
	task, err := batchsim.HalfCheetah()
	if err != nil {
		t.Fatal(err)
	}
	b := startBatch(t, task, 3, 7, 4, 5)
	one, many := new(batchsim.Result), new(batchsim.Result)
	ev1 := NewEvaluator(EvaluatorOptions{Workers: 1})
	defer ev1.Close()
	ev3 := NewEvaluator(EvaluatorOptions{Workers: 3})
	defer ev3.Close()
	door, err := batchsim.Door()
	if err != nil {
		t.Fatal(err)
	}
	if err := ev3.Evaluate(startBatch(t, door, 1, 2, 1, 1), many); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct {
		e *Evaluator
		r *batchsim.Result
	}{{ev1, one}, {ev3, many}} {
		if err := ev.e.Evaluate(b, ev.r); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(one.Main, many.Main) || !slices.Equal(one.Norm, many.Norm) {
		t.Errorf("1 worker: %v\n3 workers: %v", one.Main, many.Main)
	}
	for k := range one.States {
		if !slices.Equal(one.States[k], many.States[k]) {
			t.Errorf("recorded state %d differs between 1 and 3 workers", k)
		}
	}
	if !strings.Contains(ev3.Name(), "mujoco 2.2") || !strings.Contains(ev3.Name(), "3 workers") {
		t.Errorf("name %q", ev3.Name())
	}
}

// TestEvaluatorRefuses: a policy, a task without a reference model file, a
// cost on contact wrenches and an unknown models/ folder are errors that
// say what is missing.
func TestMjevalEvaluatorRefuses(t *testing.T) {
	ev := NewEvaluator(EvaluatorOptions{Workers: 1})
	defer ev.Close()
	if err := ev.SetPolicy(&batchsim.PolicyNet{}); err == nil || !strings.Contains(err.Error(), "without a policy") {
		t.Errorf("SetPolicy: %v", err)
	}
	if err := ev.SetPolicy(nil); err != nil {
		t.Errorf("SetPolicy(nil): %v", err)
	}
	for _, c := range []struct{ task, want string }{
		{"fetchpickplace", `task "fetchpickplace" has no reference model file`},
		{"door-hook", `task "door-hook" has no reference model file`},
		{"humanoidstandup", "contact wrenches"},
	} {
		task, err := batchsim.NewTask(c.task)
		if err != nil {
			t.Fatal(err)
		}
		if c.task == "humanoidstandup" {
			// Its planning cost has no contact term; its reward's term
			// as a cost.
			task.Cost = append(slices.Clone(task.Cost), batchsim.Term{Kind: batchsim.TermContactSq, X: 2e7, W: 0.5e-6})
		}
		var r batchsim.Result
		if err := ev.Evaluate(startBatch(t, task, 1, 1, 1, 1), &r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.task, err, c.want)
		}
	}
	if _, err := ModelFile("door", t.TempDir()); err == nil || !strings.Contains(err.Error(), "adroit_door.xml") {
		t.Errorf("ModelFile in an empty folder: %v", err)
	}
	if p, err := ModelFile("door", ""); err != nil || !strings.HasSuffix(p, "models/adroit/adroit_door.xml") {
		t.Errorf("ModelFile(door): %q, %v", p, err)
	}
}
