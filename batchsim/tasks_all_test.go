package batchsim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTasksShapes: every registered task builds, has the observation size
// of TASKS.md, resets to a finite state that the CPU evaluator rolls out
// with the task's parameters, and its Env reports the same planning cost as
// the evaluator for the same actions.
func TestTasksShapes(t *testing.T) {
	want := map[string]struct{ obs, nu, np int }{
		"halfcheetah": {17, 6, 0}, "humanoidstandup": {45, 17, 0}, "fetchpickplace": {28, 4, 3}, "door-hook": {17, 5, 0}, "door": {39, 28, 3}, "door-unshaped": {39, 28, 3}, "door-dense": {39, 28, 3},
	}
	if len(TaskNames()) != len(want) {
		t.Errorf("tasks %v, want %d", TaskNames(), len(want))
	}
	for _, name := range TaskNames() {
		task, err := NewTask(name)
		if err != nil {
			t.Fatal(err)
		}
		w := want[name]
		if task.ObsDim() != w.obs || task.Model.Nu != w.nu || task.NParam != w.np {
			t.Errorf("%s: obs %d, nu %d, nparam %d; want %v", name, task.ObsDim(), task.Model.Nu, task.NParam, w)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		env := NewEnv(task)
		env.Reset(rng)
		const h = 5
		nu := task.Model.Nu
		acts := make([]float64, 2*h*nu)
		for i := range acts {
			lo, hi := task.ActLow[i%nu], task.ActHigh[i%nu]
			acts[i] = lo + (hi-lo)*rng.Float64()
		}
		b := &Batch{Task: task, Problems: 1, Samples: 2, Horizon: h,
			Qpos: append([]float64(nil), env.Data.Qpos...), Qvel: append([]float64(nil), env.Data.Qvel...),
			Params: append([]float64(nil), env.Params...), Actions: acts}
		var r Result
		if err := NewCPU(1).Evaluate(b, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cost := 0.0
		obs := make([]float64, task.ObsDim())
		for s := 0; s < h; s++ {
			_, c, err := env.Act(acts[s*nu : (s+1)*nu])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cost += c
			env.Observe(obs)
			for i, x := range obs {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("%s: observation %d is %v", name, i, x)
				}
			}
		}
		if math.Abs(cost-r.Main[0]) > 1e-9*(1+math.Abs(cost)) {
			t.Errorf("%s: Env cost %.12g, evaluator %.12g", name, cost, r.Main[0])
		}
	}
}

// TestFetchResetAndSuccess: Fetch's reset puts the cube on the table at
// least 0.1 m from the gripper and the goal within the ranges of gym; the
// task counts a cube within 0.05 m of the goal as solved and one 0.06 m
// away as not; its observation holds the goal and cube − grip.
func TestFetchResetAndSuccess(t *testing.T) {
	task, err := FetchPickPlace()
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(task)
	rng := rand.New(rand.NewPCG(5, 6))
	g0 := Vec3{1.3419, 0.7491, 0.5347}
	lifted := 0
	for i := 0; i < 200; i++ {
		env.Reset(rng)
		q, p := env.Data.Qpos, env.Params
		if dxy := math.Hypot(q[5]-g0[0], q[6]-g0[1]); dxy < 0.1 || math.Abs(q[5]-g0[0]) > 0.15 || math.Abs(q[6]-g0[1]) > 0.15 || q[7] != 0.425 {
			t.Fatalf("cube at %v", q[5:8])
		}
		if math.Abs(p[0]-g0[0]) > 0.15 || math.Abs(p[1]-g0[1]) > 0.15 || p[2] < 0.425 || p[2] > 0.875 {
			t.Fatalf("goal %v", p)
		}
		if p[2] > 0.425 {
			lifted++
		}
	}
	if lifted < 70 || lifted > 130 {
		t.Errorf("%d of 200 goals in the air, want about half", lifted)
	}
	d := env.Data
	copy(d.Qpos[5:8], env.Params)
	d.Qpos[5] += 0.049
	if !env.Solved() {
		t.Error("cube 0.049 m from the goal: not solved")
	}
	d.Qpos[5] += 0.011
	if env.Solved() {
		t.Error("cube 0.06 m from the goal: solved")
	}
	obs := make([]float64, task.ObsDim())
	env.Observe(obs)
	for k := 0; k < 3; k++ {
		if obs[25+k] != env.Params[k] {
			t.Errorf("goal observation %v, want %v", obs[25:28], env.Params)
		}
		if g := obs[6+k] - (obs[3+k] - obs[k]); math.Abs(g) > 1e-12 {
			t.Errorf("cube − grip %v inconsistent with grip %v and cube %v", obs[6:9], obs[0:3], obs[3:6])
		}
	}
}
