package batchsim

import (
	"math"
	"testing"
)

// graspResult is what a scripted grasp measured.
type graspResult struct {
	lift     float64 // cube height gain at the end of the lift, m
	slip     float64 // change of the cube's height relative to the grip during the 1 s hold, m
	holdLift float64 // cube height gain at the end of the hold, m
}

// scriptedGrasp runs open, move over the cube, descend, close, lift by
// 12 cm, hold for 1 s, on Fetch with the cube at (x, y) on the table.
func scriptedGrasp(t *testing.T, task *Task, x, y float64) graspResult {
	t.Helper()
	env := NewEnv(task)
	d := env.Data
	d.Qpos[fetchQposCube], d.Qpos[fetchQposCube+1] = x, y
	Forward(task.Model, d)
	grip := func() Vec3 { Forward(task.Model, d); return d.SiteXpos[0] }
	a := make([]float64, 4)
	// steer the grip site toward target with a saturated P action
	steer := func(target Vec3, fingers float64, steps int) {
		for i := 0; i < steps; i++ {
			g := grip()
			for k := 0; k < 3; k++ {
				a[k] = math.Max(-1, math.Min(1, 20*(target[k]-g[k])))
			}
			a[3] = fingers
			if _, _, err := env.Act(a); err != nil {
				t.Fatal(err)
			}
		}
	}
	z0 := d.Qpos[fetchQposCube+2]
	g := grip()
	steer(Vec3{x, y, g[2]}, 1, 15)  // open, move above the cube
	steer(Vec3{x, y, 0.44}, 1, 15)  // descend: pads' bottom 1.5 mm above the table
	steer(Vec3{x, y, 0.44}, -1, 10) // close
	steer(Vec3{x, y, 0.56}, -1, 20) // lift
	var r graspResult
	r.lift = d.Qpos[fetchQposCube+2] - z0
	rel0 := d.Qpos[fetchQposCube+2] - grip()[2]
	steer(Vec3{x, y, 0.56}, -1, 25) // hold 1 s
	r.slip = math.Abs(d.Qpos[fetchQposCube+2] - grip()[2] - rel0)
	r.holdLift = d.Qpos[fetchQposCube+2] - z0
	return r
}

// TestFetchGraspHolds: a scripted grasp (open, descend, close, lift) lifts
// the cube at least 10 cm and holds it for 1 s while it slips less than
// 1 cm in the pads; with the pads' and the cube's friction set to 0 the same
// script leaves the cube on the table, so friction alone holds it.
func TestFetchGraspHolds(t *testing.T) {
	task, err := FetchPickPlace()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]float64{{1.3419, 0.7491}, {1.25, 0.85}} {
		r := scriptedGrasp(t, task, p[0], p[1])
		t.Logf("cube at %v: lift %.4f m, slip over 1 s %.3g m, height after hold %.4f m", p, r.lift, r.slip, r.holdLift)
		if r.lift < 0.1 || r.holdLift < 0.1 {
			t.Errorf("cube at %v: lifted %.3f m, %.3f m after the hold, want ≥ 0.1", p, r.lift, r.holdLift)
		}
		if r.slip > 0.01 {
			t.Errorf("cube at %v: slipped %.4f m in 1 s, want ≤ 0.01", p, r.slip)
		}
	}
	slick, _ := FetchPickPlace()
	m := *slick.Model
	m.GeomFriction = make([]float64, len(m.GeomFriction))
	m.PairFriction = make([]float64, len(m.PairFriction))
	slick.Model = &m
	if r := scriptedGrasp(t, slick, 1.3419, 0.7491); r.lift > 0.02 {
		t.Errorf("frictionless pads lifted the cube %.3f m", r.lift)
	}
}
