package batchsim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/apex-robotics/apex/models"
)

// The Adroit door's qpos layout (models/adroit/adroit_door.xml): the arm's
// slide and three hinges, the hand's 24 joints, the door hinge, the latch.
const (
	adroitQposDoor  = 28
	adroitQposLatch = 29
	adroitDoorOpen  = 1.35 // door hinge angle of success (rad)
)

// adroitFrameRange is the reset distribution of the door frame's position in
// the world (AdroitHandDoor's reset_model): x, y, z uniform in these ranges.
var adroitFrameRange = [3][2]float64{{-0.3, -0.2}, {0.25, 0.35}, {0.252, 0.35}}

// Door is the paper's Door task (docs/design/TASKS.md): Gymnasium-Robotics'
// AdroitHandDoor, sparse variant, on its unmodified model (the Adroit hand
// on its arm, 28 position actuators; models/adroit/). As the environment:
// actions in [−1, 1] scaled to each actuator's control range, the wrist's
// gains 10/−10 and the fingers' 1/−1, frame skip 5 (0.01 s), 200-step
// episodes from qpos = qvel = 0 with the door frame's position drawn per
// episode (task parameters 0–2, Task.BodyPos), the 39-number observation,
// reported reward 10 when the hinge is past 1.35 rad else −0.1, success
// when it is past 1.35 rad at the end. The planning cost is the dense
// variant's reward terms, negated (with the palm-to-handle distance as a
// cost: Gymnasium-Robotics adds +0.1·distance to its dense reward, which
// D4RL/mj_envs, where the environment comes from, subtract), plus a term
// of ours on the latch angle ℓ:
//
//	0.1·‖palm − handle‖ + 0.1·(θ − 1.57)² + 1e-5·Σq̇² − 2·[θ > 0.2] − 8·[θ > 1.0] − 10·[θ > 1.35]
//	+ 0.1·(ℓ − 1.57)².
//
// The environment's terms reward nothing between reaching the handle and
// the door moving, which needs the latch turned past its catch (about
// 1.14 rad); the latch term gives the planner that gradient. Its measured
// effect is in RESULTS.md; DoorDense is the task without it.
//
// The door's candidate contacts with the table are dropped (see
// dropDoorTablePairs): MuJoCo never makes them, batchsim's capsule stand-ins
// for the door's cylinders would.
func Door() (*Task, error) {
	m, err := LoadFS(models.Adroit, "adroit/adroit_door.xml")
	if err != nil {
		return nil, fmt.Errorf("door: %w", err)
	}
	return DoorWithModel(m)
}

// latchTerm is Door's planning-cost term on the latch angle (see Door).
func latchTerm() Term {
	return Term{Kind: TermQposSqErr, I: adroitQposLatch, X: 1.57, W: 0.1}
}

// DoorDense is the Door planned with the environment's dense reward terms
// alone: Door's planning cost without its latch term. Everything else is
// Door's.
func DoorDense() (*Task, error) {
	t, err := Door()
	if err != nil {
		return nil, err
	}
	t.Name = "door-dense"
	t.Cost = slices.DeleteFunc(slices.Clone(t.Cost), func(tm Term) bool { return tm == latchTerm() })
	return t, nil
}

// DoorUnshaped is the Door planned as the APEX paper plans it, "without
// reward shaping" (the iCEM reference code's Door: shaped_reward false):
// DoorDense's planning cost without the palm-to-handle distance, so that
// nothing rewards the hand before the door moves. Everything else is Door's.
func DoorUnshaped() (*Task, error) {
	t, err := DoorDense()
	if err != nil {
		return nil, err
	}
	t.Name = "door-unshaped"
	t.Cost = slices.DeleteFunc(t.Cost, func(tm Term) bool { return tm.Kind == TermSiteDist })
	return t, nil
}

// DoorWithModel is the Door task on a given Adroit door model (e.g. the
// repository's file loaded from disk, for cross-checks); it changes m's
// contact pairs and gains as the task needs, so a Data made from m before
// the call must be made again.
func DoorWithModel(m *Model) (*Task, error) {
	if m.Nq != 30 || m.Nv != 30 || m.Nu != 28 {
		return nil, fmt.Errorf("door: model has nq %d, nv %d, nu %d; want 30, 30, 28", m.Nq, m.Nv, m.Nu)
	}
	find := func(names []string, what, name string) (int, error) {
		for i, n := range names {
			if n == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("door: model has no %s %q", what, name)
	}
	var ids [8]int
	var err error
	for k, c := range []struct {
		names      []string
		what, name string
	}{
		{m.SiteName, "site", "S_grasp"}, {m.SiteName, "site", "S_handle"}, {m.BodyName, "body", "frame"},
		{m.ActName, "actuator", "A_WRJ1"}, {m.ActName, "actuator", "A_WRJ0"},
		{m.ActName, "actuator", "A_FFJ3"}, {m.ActName, "actuator", "A_THJ0"},
		{m.JntName, "joint", "door_hinge"},
	} {
		if ids[k], err = find(c.names, c.what, c.name); err != nil {
			return nil, err
		}
	}
	grasp, handle, frame := ids[0], ids[1], ids[2]
	if m.JntQposAdr[ids[7]] != adroitQposDoor || m.JntName[m.Njnt-1] != "latch" || m.JntQposAdr[m.Njnt-1] != adroitQposLatch {
		return nil, fmt.Errorf("door: the door hinge and the latch are not qpos %d and %d", adroitQposDoor, adroitQposLatch)
	}
	if err := dropDoorTablePairs(m); err != nil {
		return nil, err
	}
	// The environment's actuator sensitivity: gain k and bias −k·q for the
	// wrist (k = 10) and the fingers (k = 1); the arm keeps the file's.
	for _, g := range []struct {
		from, to int
		k        float64
	}{{ids[3], ids[4], 10}, {ids[5], ids[6], 1}} {
		for a := g.from; a <= g.to; a++ {
			m.ActGainPrm[a] = g.k
			m.ActBiasPrm[a] = Vec3{0, -g.k, 0}
		}
	}
	th := adroitQposDoor
	t := &Task{
		Name: "door", Model: m,
		FrameSkip: 5, EpisodeLen: 200, Beta: 2.5, NParam: 3,
		Obs: []ObsSegment{
			{Kind: ObsQpos, From: 1, To: m.Nq - 2},                          // qpos[1:-2]: arm hinges and hand
			{Kind: ObsQpos, From: adroitQposLatch, To: adroitQposLatch + 1}, // latch angle
			{Kind: ObsQpos, From: th, To: th + 1},                           // door angle
			{Kind: ObsSitePos, From: grasp},                                 // palm
			{Kind: ObsSitePos, From: handle},                                // handle
			{Kind: ObsSiteRel, From: grasp, To: handle},                     // palm − handle
			{Kind: ObsQposSign, From: th, X: 1.0},                           // door open flag
		},
		Cost: []Term{
			{Kind: TermSiteDist, I: grasp, J: handle, W: 0.1},
			{Kind: TermQposSqErr, I: th, X: 1.57, W: 0.1},
			{Kind: TermQvelSq, W: 1e-5},
			{Kind: TermQposAbove, I: th, X: 0.2, W: -2},
			{Kind: TermQposAbove, I: th, X: 1.0, W: -8},
			{Kind: TermQposAbove, I: th, X: adroitDoorOpen, W: -10},
			latchTerm(),
		},
		Reward: []Term{
			{Kind: TermConst, W: -0.1},
			{Kind: TermQposAbove, I: th, X: adroitDoorOpen, W: 10.1},
		},
		Success: []Term{{Kind: TermQposAbove, I: th, X: adroitDoorOpen, W: 1}},
		BodyPos: []BodyParam{{Body: frame, Param: 0}},
		ResetHook: func(rng *rand.Rand, m *Model, qpos, qvel, params []float64) {
			copy(qpos, m.Qpos0)
			clear(qvel)
			for k, r := range adroitFrameRange {
				params[k] = r[0] + (r[1]-r[0])*rng.Float64()
			}
		},
	}
	for a := 0; a < m.Nu; a++ {
		r := m.ActCtrlRange[a]
		t.ActLow = append(t.ActLow, -1)
		t.ActHigh = append(t.ActHigh, 1)
		t.CtrlOffset = append(t.CtrlOffset, (r[0]+r[1])/2)
		t.CtrlScale = append(t.CtrlScale, (r[1]-r[0])/2)
	}
	return t, nil
}

// dropDoorTablePairs removes from m the candidate contact pairs between a
// geom of the door body and a geom of the table body.
//
// MuJoCo never makes these contacts on this task: the door turns about a
// vertical hinge, so its geoms keep their height, and their lowest points
// (the panel box's bottom face and the flat ends of its two side cylinders,
// 0.25 m below the door's centre) lie at frame z − 0.25 ≥ 0.002 m over the
// reset range (frame z ∈ [0.252, 0.35]), above the table top (z = 0) by
// more than the geoms' margin (0.0005 m). batchsim collides a cylinder as a
// capsule whose caps reach a radius (0.05 m) past the flat ends: for a frame
// below z = 0.30 the caps reach into the table, and the contact's normal
// force and friction (μ = 1) hold the door shut even with the latch turned
// (before this, 4 of seeds 1–10 had the frame there and no planner could
// open the door: RESULTS.md). Without the pairs, batchsim's door meets the
// table as MuJoCo's does: never.
func dropDoorTablePairs(m *Model) error {
	door, table := slices.Index(m.BodyName, "door"), slices.Index(m.BodyName, "table")
	if door < 0 || table < 0 {
		return fmt.Errorf("door: model has no body \"door\" or \"table\"")
	}
	between := func(p int) bool {
		b1, b2 := m.GeomBodyID[m.PairGeom1[p]], m.GeomBodyID[m.PairGeom2[p]]
		return b1 == door && b2 == table || b1 == table && b2 == door
	}
	keep := make([]int, 0, m.Npair)
	for p := range m.Npair {
		if !between(p) {
			keep = append(keep, p)
		}
	}
	if len(keep) == m.Npair {
		return nil
	}
	m.PairGeom1 = pick(m.PairGeom1, keep)
	m.PairGeom2 = pick(m.PairGeom2, keep)
	m.PairFriction = pick(m.PairFriction, keep)
	m.PairSolref = pick(m.PairSolref, keep)
	m.PairMargin = pick(m.PairMargin, keep)
	m.PairSolimp = pick(m.PairSolimp, keep)
	m.PairCondim = pick(m.PairCondim, keep)
	m.PairTorsion = pick(m.PairTorsion, keep)
	m.Npair = len(keep)
	return nil
}

// pick returns s's elements at the ascending indices keep, in a new slice.
// An optional per-pair array may be shorter than the pairs (the rest take
// defaults): its kept entries stay a prefix of the same pairs.
func pick[T any](s []T, keep []int) []T {
	if s == nil {
		return nil
	}
	out := make([]T, 0, len(keep))
	for _, k := range keep {
		if k < len(s) {
			out = append(out, s[k])
		}
	}
	return out
}
