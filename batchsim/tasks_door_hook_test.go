package batchsim

import (
	"math"
	"testing"
)

// hookPull applies a 20 N·m opening torque to the door hinge for 1 s with
// the latch set to latch and the arm drawn back, and returns the door angle.
func hookPull(t *testing.T, m *Model, latch float64) float64 {
	t.Helper()
	d := NewData(m)
	d.Ctrl[0] = -0.3 // arm back, out of the door's way
	d.Qpos[hookQposLatch] = latch
	d.QfrcApplied[hookQposDoor] = 20
	step(t, m, d, 500)
	return d.Qpos[hookQposDoor]
}

// TestDoorHookLatchLocks: with the latch below 1.2 rad a 20 N·m pull moves the
// door at most 0.05 rad; with the latch at 1.4 rad the same pull opens it
// past 1.35 rad; without the lock the pull opens it at any latch angle.
func TestDoorHookLatchLocks(t *testing.T) {
	task, err := DoorHook()
	if err != nil {
		t.Fatal(err)
	}
	m := task.Model
	for _, l := range []float64{0, 0.6, 1.15} {
		if th := hookPull(t, m, l); th > 0.05 {
			t.Errorf("latch %.2f rad: locked door opened to %.4f rad, want ≤ 0.05", l, th)
		}
	}
	if th := hookPull(t, m, 1.4); th < 1.35 {
		t.Errorf("latch 1.4 rad: door opened to %.4f rad, want > 1.35", th)
	}
	free := *m
	free.JntLockJnt = nil
	if th := hookPull(t, &free, 0.6); th < 1.35 {
		t.Errorf("without the lock: door opened to %.4f rad, want > 1.35", th)
	}
}

// TestDoorHookLatchStays: left at 0.6 rad, the latch holds against gravity's
// 0.62 N·m by its 5 N·m friction (it moves < 0.01 rad in 2 s); without the
// friction it falls.
func TestDoorHookLatchStays(t *testing.T) {
	task, err := DoorHook()
	if err != nil {
		t.Fatal(err)
	}
	run := func(m *Model) float64 {
		d := NewData(m)
		d.Qpos[hookQposLatch] = 0.6
		step(t, m, d, 1000)
		return d.Qpos[hookQposLatch] - 0.6
	}
	m := task.Model
	if dl := run(m); math.Abs(dl) > 0.01 {
		t.Errorf("latch moved %.4f rad in 2 s, want < 0.01", dl)
	}
	slick := *m
	slick.DofFrictionloss = nil
	if dl := run(&slick); dl < 0.3 {
		t.Errorf("frictionless latch fell only %.4f rad in 2 s", dl)
	}
	// the torque gravity exerts on the horizontal latch: 0.62 N·m
	d := NewData(m)
	lb := 0
	for b, n := range m.BodyName {
		if n == "latch" {
			lb = b
		}
	}
	r := sub3(&d.Xipos[lb], &d.Xpos[lb])
	if tq := m.BodyMass[lb] * 9.81 * math.Hypot(r[0], r[2]); math.Abs(tq-0.62) > 0.01 {
		t.Errorf("gravity torque on the horizontal latch %.3f N·m, want 0.62", tq)
	}
}

// TestDoorHookSuccessAndObs: the door counts as open above 1.35 rad, its open
// flag switches at 1.0 rad, and the reported reward is minus the cost.
func TestDoorHookSuccessAndObs(t *testing.T) {
	task, err := DoorHook()
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(task)
	obs := make([]float64, task.ObsDim())
	for _, c := range []struct {
		th         float64
		flag       float64
		solved     bool
		costApprox float64
	}{{0, -1, false, 0.1 * 1.57 * 1.57}, {1.1, 1, false, 0.1*0.47*0.47 - 10}, {1.4, 1, true, 0.1*0.17*0.17 - 20}} {
		env.Data.Qpos[hookQposDoor] = c.th
		env.Data.Qpos[hookQposLatch] = 1.5
		Forward(task.Model, env.Data)
		env.Observe(obs)
		if obs[len(obs)-1] != c.flag || env.Solved() != c.solved || obs[6] != c.th {
			t.Errorf("θ %.2f: flag %v, solved %v, obs θ %v", c.th, obs[len(obs)-1], env.Solved(), obs[6])
		}
		a := make([]float64, task.Model.Nu)
		r := task.StepValue(task.Reward, env.Data.Qpos, env.Data, a)
		cst := task.StepValue(task.Cost, env.Data.Qpos, env.Data, a)
		if r != -cst || math.Abs(cst-c.costApprox) > 1e-9 {
			t.Errorf("θ %.2f: reward %.6g, cost %.6g, want cost %.6g", c.th, r, cst, c.costApprox)
		}
	}
}
