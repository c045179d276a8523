package batchsim

import (
	"math"
	"testing"
)

// humanoidRun runs Humanoid Standup from its lying start for n control
// steps of the constant action a and returns the torso heights and the
// mean reported reward.
func humanoidRun(t *testing.T, task *Task, a []float64, n int) (zmax, zend, reward float64) {
	t.Helper()
	env := NewEnv(task)
	for i := 0; i < n; i++ {
		r, _, err := env.Act(a)
		if err != nil {
			t.Fatal(err)
		}
		reward += r / float64(n)
		zmax = max(zmax, env.Data.Qpos[2])
	}
	return zmax, env.Data.Qpos[2], reward
}

// TestHumanoidLyingStaysDown: with zero actions the humanoid stays on its
// back (torso below 0.15 m for 2 s), gym's reward is ≈ 30 per step, and the
// floor carries its weight (42.1 kg) through the contact wrenches.
func TestHumanoidLyingStaysDown(t *testing.T) {
	task, err := HumanoidStandup()
	if err != nil {
		t.Fatal(err)
	}
	m := task.Model
	zmax, zend, r := humanoidRun(t, task, make([]float64, m.Nu), 133)
	if zmax > 0.15 || zend < 0.05 {
		t.Errorf("lying still: torso height max %.3f, end %.3f m; want it to stay in (0.05, 0.15)", zmax, zend)
	}
	if r < 25 || r > 40 {
		t.Errorf("lying reward %.2f per step, want ≈ 30", r)
	}
	env := NewEnv(task)
	for i := 0; i < 133; i++ {
		if _, _, err := env.Act(make([]float64, m.Nu)); err != nil {
			t.Fatal(err)
		}
	}
	fz, mass := 0.0, 0.0
	for b := 1; b < m.Nbody; b++ {
		fz += env.Data.CfrcExt[b][5]
		mass += m.BodyMass[b]
	}
	if w := mass * 9.81; math.Abs(mass-42.1) > 0.2 || math.Abs(fz-w)/w > 0.05 {
		t.Errorf("mass %.2f kg (want 42.1), contact force %.1f N vs weight %.1f N", mass, fz, w)
	}
}

// TestHumanoidSitUpRaisesTorso: a scripted sit-up (abdomen and both hips
// flexed at full action) raises the torso above 0.3 m within 1.5 s, and the
// reward follows it.
func TestHumanoidSitUpRaisesTorso(t *testing.T) {
	task, err := HumanoidStandup()
	if err != nil {
		t.Fatal(err)
	}
	m := task.Model
	a := make([]float64, m.Nu)
	for i, n := range m.ActName {
		if n == "abdomen_y" || n == "right_hip_y" || n == "left_hip_y" {
			a[i] = -0.4
		}
	}
	_, zend, r := humanoidRun(t, task, a, 100)
	if zend < 0.3 {
		t.Errorf("sit-up: torso at %.3f m after 1.5 s, want > 0.3", zend)
	}
	if r < 60 {
		t.Errorf("sit-up: mean reward %.1f per step, want above lying's ≈ 30", r)
	}
}
