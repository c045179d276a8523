//go:build mujoco

package batchsim_test

import (
	"math"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// TestMuJoCoContactStep: the soft-constraint step agrees with MuJoCo 2.2.2's
// while in contact and at joint limits. MuJoCo runs the gym models under
// random controls (amplitude 1, held for a control step); before every
// physics step batchsim is given MuJoCo's state and both take one step. The
// velocities after the step, as accelerations (Δq̇/h), must agree to 1e-6
// relative to their scale: the rows, their softness and the Newton solution
// are MuJoCo's (MuJoCo runs its Newton solver to convergence: the file's
// solver settings only decide how far MuJoCo gets). At least half of the steps must have active constraints, so
// that the check cannot pass by checking contact-free steps.
func TestMuJoCoContactStep(t *testing.T) {
	for _, c := range []struct {
		file      string
		nstep     int
		frameSkip int
	}{
		{"half_cheetah.xml", 1000, 5},
		{"humanoidstandup.xml", 1000, 5},
		{"humanoid_dmc.xml", 1000, 5},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := loadPair(t, mjcfPath(t, c.file))
			p.mj.UseExactSolver() // humanoidstandup.xml asks for 50 PGS sweeps
			p.setState(p.m.Qpos0, make([]float64, p.m.Nv))
			u := randomCtrl(11, c.nstep/c.frameSkip+1, p.m.Nu, 1)
			h := p.m.Opt.Timestep
			constrained, worst, worstStep := 0, 0.0, -1
			for i := 0; i < c.nstep; i++ {
				ctrl := u[i/c.frameSkip]
				p.mj.SetCtrl(ctrl)
				copy(p.d.Ctrl, ctrl)
				p.setState(p.mj.Qpos(), p.mj.Qvel())
				v0 := p.mj.Qvel()
				if err := p.mj.Step(); err != nil {
					t.Fatal(err)
				}
				if err := batchsim.Step(p.m, p.d); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if p.mj.Nefc() > 0 {
					constrained++
				}
				mv := p.mj.Qvel()
				scale := 1.0
				for k := range mv {
					scale = math.Max(scale, math.Abs(mv[k]-v0[k])/h)
				}
				for k := range mv {
					if e := math.Abs(p.d.Qvel[k]-mv[k]) / h / scale; e > worst {
						worst, worstStep = e, i
					}
				}
			}
			t.Logf("%s: %d of %d steps constrained; worst relative acceleration difference %.3g (step %d)", c.file, constrained, c.nstep, worst, worstStep)
			if constrained < c.nstep/2 {
				t.Errorf("only %d of %d steps had constraints", constrained, c.nstep)
			}
			if worst > 1e-6 {
				t.Errorf("acceleration differs from MuJoCo's by %.3g of its scale at step %d, want <= 1e-6", worst, worstStep)
			}
		})
	}
}
