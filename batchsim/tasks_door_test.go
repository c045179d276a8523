package batchsim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apex-robotics/apex/models"
)

func mustDoor(t *testing.T) *Task {
	t.Helper()
	task, err := Door()
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestDoorTask: the task is AdroitHandDoor's: actions in
// [−1, 1] onto each control range, the environment's gains, frame skip 5 at
// 0.002 s, 200 steps, and 39 observations laid out as the environment's.
func TestDoorTask(t *testing.T) {
	task := mustDoor(t)
	m := task.Model
	if task.ControlDt() != 0.01 || task.EpisodeLen != 200 || task.NParam != 3 {
		t.Fatalf("control step %g, episode %d, nparam %d", task.ControlDt(), task.EpisodeLen, task.NParam)
	}
	for a := range m.Nu {
		r := m.ActCtrlRange[a]
		if task.ActLow[a] != -1 || task.ActHigh[a] != 1 || math.Abs(task.CtrlOffset[a]-task.CtrlScale[a]-r[0]) > 1e-15 || math.Abs(task.CtrlOffset[a]+task.CtrlScale[a]-r[1]) > 1e-15 {
			t.Errorf("actuator %s: [-1, 1] maps to [%g, %g], range %v", m.ActName[a], task.CtrlOffset[a]-task.CtrlScale[a], task.CtrlOffset[a]+task.CtrlScale[a], r)
		}
		k := map[bool]float64{true: 10, false: 1}[a == 4 || a == 5] // A_WRJ1, A_WRJ0
		if a < 4 {
			k = 500 // the arm keeps the file's
		}
		want := Vec3{0, -k, 0}
		if a < 4 {
			want = Vec3{0, -200, 0}
		}
		if m.ActGainPrm[a] != k || m.ActBiasPrm[a] != want {
			t.Errorf("actuator %s: gain %g bias %v, want %g %v", m.ActName[a], m.ActGainPrm[a], m.ActBiasPrm[a], k, want)
		}
	}
	// The observation of a state whose qpos[i] = i/100.
	env := NewEnv(task)
	env.Reset(rand.New(rand.NewPCG(1, 2)))
	for i := range env.Data.Qpos {
		env.Data.Qpos[i] = float64(i) / 100
	}
	obs := make([]float64, task.ObsDim())
	env.Observe(obs)
	if len(obs) != 39 {
		t.Fatalf("%d observations, want 39", len(obs))
	}
	for i := 0; i < 27; i++ {
		if obs[i] != float64(i+1)/100 {
			t.Errorf("obs[%d] = %g, want qpos[%d]", i, obs[i], i+1)
		}
	}
	if obs[27] != 0.29 || obs[28] != 0.28 || obs[38] != -1 {
		t.Errorf("latch %g, door %g, open flag %g; want 0.29, 0.28, -1", obs[27], obs[28], obs[38])
	}
	grasp, handle := slices.Index(m.SiteName, "S_grasp"), slices.Index(m.SiteName, "S_handle")
	d := env.Data
	for k := range 3 {
		if obs[29+k] != d.SiteXpos[grasp][k] || obs[32+k] != d.SiteXpos[handle][k] || obs[35+k] != obs[29+k]-obs[32+k] {
			t.Errorf("palm %v, handle %v, palm − handle %v; sites %v %v", obs[29:32], obs[32:35], obs[35:38], d.SiteXpos[grasp], d.SiteXpos[handle])
		}
	}
}

// TestDoorReset: episodes start at qpos = qvel = 0 with the door frame drawn
// from the environment's ranges; the frame's position moves the door in
// the observation, and the CPU evaluator rolls each problem out with its own
// frame (the same costs as an Env with those parameters).
func TestDoorReset(t *testing.T) {
	task := mustDoor(t)
	m := task.Model
	frame := slices.Index(m.BodyName, "frame")
	handle := slices.Index(m.SiteName, "S_handle")
	rng := rand.New(rand.NewPCG(7, 8))
	env := NewEnv(task)
	d0 := NewData(m) // the frame where the model file puts it
	var lo, hi [3]float64
	for k := range 3 {
		lo[k], hi[k] = math.Inf(1), math.Inf(-1)
	}
	for range 300 {
		env.Reset(rng)
		for _, x := range append(slices.Clone(env.Data.Qpos), env.Data.Qvel...) {
			if x != 0 {
				t.Fatalf("reset state %v %v, want zeros", env.Data.Qpos, env.Data.Qvel)
			}
		}
		for k, x := range env.Params {
			lo[k], hi[k] = min(lo[k], x), max(hi[k], x)
		}
		// the handle moves with the frame
		p := Vec3(env.Params)
		off := sub3(&p, &m.BodyPos[frame])
		moved := sub3(&env.Data.SiteXpos[handle], &d0.SiteXpos[handle])
		if e := sub3(&moved, &off); math.Sqrt(dot3(&e, &e)) > 1e-12 {
			t.Fatalf("frame moved by %v, handle by %v", off, moved)
		}
	}
	for k, r := range adroitFrameRange {
		if lo[k] < r[0] || hi[k] > r[1] || hi[k]-lo[k] < 0.9*(r[1]-r[0]) {
			t.Errorf("frame coordinate %d drawn in [%g, %g], want to fill %v", k, lo[k], hi[k], r)
		}
	}
	// Two problems with different frames, the same actions: the evaluator's
	// costs are those of Envs with the problems' parameters.
	const h = 4
	params := []float64{-0.3, 0.25, 0.252, -0.2, 0.35, 0.35}
	acts := make([]float64, 2*h*m.Nu)
	for i := range acts {
		acts[i] = 2*rng.Float64() - 1
	}
	copy(acts[h*m.Nu:], acts[:h*m.Nu])
	b := &Batch{Task: task, Problems: 2, Samples: 1, Horizon: h, Qpos: make([]float64, 2*m.Nq), Qvel: make([]float64, 2*m.Nv), Params: params, Actions: acts}
	var r Result
	if err := NewCPU(2).Evaluate(b, &r); err != nil {
		t.Fatal(err)
	}
	for p := range 2 {
		e := NewEnv(task)
		copy(e.Params, params[3*p:])
		e.SetState(make([]float64, m.Nq), make([]float64, m.Nv))
		c := 0.0
		for s := range h {
			_, cs, err := e.Act(acts[(p*h+s)*m.Nu : (p*h+s+1)*m.Nu])
			if err != nil {
				t.Fatal(err)
			}
			c += cs
		}
		if math.Abs(c-r.Main[p]) > 1e-12*math.Abs(c) {
			t.Errorf("problem %d: evaluator cost %.15g, Env %.15g", p, r.Main[p], c)
		}
	}
	if r.Main[0] == r.Main[1] {
		t.Errorf("both frames give cost %g: the frame does not reach the rollouts", r.Main[0])
	}
}

// TestDoorRewardAndSuccess: the sparse reward is 10 past 1.35 rad and −0.1
// before; success is the hinge past 1.35 rad; the planning cost is the
// dense reward's terms with the palm-to-handle distance as a cost, plus the
// latch term (door-dense drops it, door-unshaped the distance too).
func TestDoorRewardAndSuccess(t *testing.T) {
	task := mustDoor(t)
	env := NewEnv(task)
	env.Reset(rand.New(rand.NewPCG(3, 4)))
	d := env.Data
	grasp, handle := slices.Index(task.Model.SiteName, "S_grasp"), slices.Index(task.Model.SiteName, "S_handle")
	a := make([]float64, task.Model.Nu)
	var variants [3]*Task // door, door-dense, door-unshaped
	for i, build := range []func() (*Task, error){Door, DoorDense, DoorUnshaped} {
		var err error
		if variants[i], err = build(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		th     float64
		reward float64
		solved bool
		bonus  float64
	}{{0, -0.1, false, 0}, {0.5, -0.1, false, -2}, {1.2, -0.1, false, -10}, {1.4, 10, true, -20}} {
		d.Qpos[adroitQposDoor] = c.th
		d.Qpos[adroitQposLatch] = 0.3
		d.Qvel[3] = 2
		Forward(env.Model(), d)
		r := task.StepValueParams(task.Reward, d.Qpos, d, a, env.Params)
		dv := sub3(&d.SiteXpos[grasp], &d.SiteXpos[handle])
		dist := 0.1 * math.Sqrt(dot3(&dv, &dv))
		dense := dist + 0.1*(c.th-1.57)*(c.th-1.57) + 1e-5*4 + c.bonus
		latch := 0.1 * (0.3 - 1.57) * (0.3 - 1.57)
		if r != c.reward || env.Solved() != c.solved {
			t.Errorf("θ %.2f: reward %g solved %v; want %g %v", c.th, r, env.Solved(), c.reward, c.solved)
		}
		// door's cost, and its variants without the latch term (door-dense)
		// and without the palm-to-handle distance too (door-unshaped).
		for i, want := range []float64{dense + latch, dense, dense - dist} {
			vt := variants[i]
			if cost := vt.StepValueParams(vt.Cost, d.Qpos, d, a, env.Params); math.Abs(cost-want) > 1e-12 {
				t.Errorf("%s, θ %.2f: cost %.12g, want %.12g", vt.Name, c.th, cost, want)
			}
		}
	}
}

// TestDoorLatch: with the hand drawn back, a 10 N·m opening push on the
// hinge leaves the door shut while the latch is down and opens it past
// 1.35 rad within 1 s once the latch is past its catch (MuJoCo does the
// same: TestMuJoCoAdroitLatch), with the door frame where the file puts it
// and at the corners of the reset range, the lowest (z = 0.252) included:
// there the door's side cylinders, capsules in batchsim, would reach into
// the table without dropDoorTablePairs and hold the door shut.
func TestDoorLatch(t *testing.T) {
	task := mustDoor(t)
	frame := slices.Index(task.Model.BodyName, "frame")
	fp := task.Model.BodyPos[frame]
	var scratch Model
	push := func(params []float64, latch float64) float64 {
		m := task.ModelFor(params, &scratch)
		d := NewData(m)
		task.SetCtrl(d, append([]float64{-1}, make([]float64, m.Nu-1)...)) // ARTz back
		d.Qpos[adroitQposLatch] = latch
		d.QfrcApplied[adroitQposDoor] = 10
		step(t, m, d, 500)
		return d.Qpos[adroitQposDoor]
	}
	r := adroitFrameRange
	for _, p := range [][]float64{
		{fp[0], fp[1], fp[2]},
		{r[0][0], r[1][0], r[2][0]}, {r[0][1], r[1][1], r[2][0]},
		{r[0][0], r[1][1], r[2][1]}, {r[0][1], r[1][0], r[2][1]},
	} {
		for _, l := range []float64{0, 0.5, 0.9} {
			if th := push(p, l); th > 0.05 {
				t.Errorf("frame %.3f, latch %.2f rad: the door opened to %.4f rad, want < 0.05", p, l, th)
			}
		}
		if th := push(p, 1.4); th < 1.35 {
			t.Errorf("frame %.3f, latch 1.4 rad: the door opened to %.4f rad, want > 1.35", p, th)
		}
	}
}

// TestDoorTablePairs: the task drops exactly the file's candidate contact
// pairs between the door's geoms and the table's, and keeps every other
// pair with its parameters.
func TestDoorTablePairs(t *testing.T) {
	raw, err := LoadFS(models.Adroit, "adroit/adroit_door.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := mustDoor(t).Model
	door, table := slices.Index(m.BodyName, "door"), slices.Index(m.BodyName, "table")
	type pairKey struct{ g1, g2 int }
	kept := map[pairKey]int{}
	for p := range m.Npair {
		kept[pairKey{m.PairGeom1[p], m.PairGeom2[p]}] = p
	}
	dropped := 0
	for p := range raw.Npair {
		g1, g2 := raw.PairGeom1[p], raw.PairGeom2[p]
		b1, b2 := raw.GeomBodyID[g1], raw.GeomBodyID[g2]
		q, ok := kept[pairKey{g1, g2}]
		if b1 == door && b2 == table || b1 == table && b2 == door {
			dropped++
			if ok {
				t.Errorf("pair %s–%s (door–table) kept", geomLabel(raw, g1), geomLabel(raw, g2))
			}
			continue
		}
		if !ok {
			t.Errorf("pair %s–%s dropped", geomLabel(raw, g1), geomLabel(raw, g2))
			continue
		}
		if m.PairFriction[q] != raw.PairFriction[p] || m.PairSolref[q] != raw.PairSolref[p] || m.PairMargin[q] != raw.PairMargin[p] ||
			(raw.PairCondim != nil && m.PairCondim[q] != raw.PairCondim[p]) || (raw.PairSolimp != nil && m.PairSolimp[q] != raw.PairSolimp[p]) ||
			(raw.PairTorsion != nil && m.PairTorsion[q] != raw.PairTorsion[p]) {
			t.Errorf("pair %s–%s: parameters changed", geomLabel(raw, g1), geomLabel(raw, g2))
		}
	}
	// The door's box and its two cylinders against the table's box.
	if dropped != 3 || m.Npair != raw.Npair-dropped {
		t.Errorf("dropped %d pairs (npair %d → %d), want the door's 3 geoms against the table", dropped, raw.Npair, m.Npair)
	}
}

// TestPickKeepsOptionalArraysAligned: pick keeps the chosen pairs' entries
// and, for an optional per-pair array shorter than the pairs, only those it
// has, still aligned with the kept pairs; nil stays nil.
func TestPickKeepsOptionalArraysAligned(t *testing.T) {
	keep := []int{0, 2, 3}
	if got := pick([]int{10, 11, 12, 13}, keep); !slices.Equal(got, []int{10, 12, 13}) {
		t.Errorf("full array: %v", got)
	}
	if got := pick([]int{10, 11, 12}, keep); !slices.Equal(got, []int{10, 12}) {
		t.Errorf("array of the first 3 of 4 pairs: %v, want [10 12]", got)
	}
	if got := pick([]int(nil), keep); got != nil {
		t.Errorf("nil array: %v", got)
	}
}
