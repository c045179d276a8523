package batchsim

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Fetch's qpos layout (models/fetch_pickplace.xml).
const (
	fetchQposCube  = 5 // cube position (3) then quaternion (4)
	fetchQvelCube  = 5 // cube linear (3) then angular (3) velocity
	fetchTableZ    = 0.4
	fetchCubeHalf  = 0.025
	fetchGoalRange = 0.15
)

// FetchPickPlace is Fetch Pick&Place (docs/design/TASKS.md) with the
// kinematic Cartesian gripper of models/fetch_pickplace.xml: 4 actions in
// [−1, 1] (gripper x, y, z and the fingers), control step 0.04 s (0.002 × 20),
// 50-step episodes, a goal per episode (NParam = 3), the 28-dim observation
// of gym-robotics, planning cost ‖goal − cube‖, reported reward
// −[‖goal − cube‖ > 0.05] and success at ‖goal − cube‖ ≤ 0.05.
func FetchPickPlace() (*Task, error) {
	m, err := embeddedModel("fetch_pickplace.xml")
	if err != nil {
		return nil, err
	}
	site := func(name string) (int, error) {
		for i, n := range m.SiteName {
			if n == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("fetch: model has no site %q", name)
	}
	grip, err := site("grip")
	if err != nil {
		return nil, err
	}
	cube, err := site("object0")
	if err != nil {
		return nil, err
	}
	if m.Nu != 4 || m.Nq != 12 || m.Nv != 11 {
		return nil, fmt.Errorf("fetch: model has nq %d, nv %d, nu %d; want 12, 11, 4", m.Nq, m.Nv, m.Nu)
	}
	// start of the grip site, the centre of gym's reset ranges
	d := NewData(m)
	g0 := d.SiteXpos[grip]
	dist := Term{Kind: TermQposDistAbove, I: fetchQposCube, J: 0, X: 0.05, W: -1}
	return &Task{
		Name: "fetchpickplace", Model: m,
		FrameSkip: 20, EpisodeLen: 50, Beta: 3.0, NParam: 3,
		ActLow: []float64{-1, -1, -1, -1}, ActHigh: []float64{1, 1, 1, 1},
		CtrlOffset:   []float64{0, 0, 0, 0},
		CtrlScale:    []float64{0.05, 0.05, 0.05, 2},
		CtrlRelative: []bool{true, true, true, true},
		Obs: []ObsSegment{
			{Kind: ObsSitePos, From: grip},                                  // grip pos
			{Kind: ObsQpos, From: fetchQposCube, To: fetchQposCube + 3},     // cube pos
			{Kind: ObsSiteRel, From: cube, To: grip},                        // cube − grip
			{Kind: ObsQpos, From: 3, To: 5},                                 // finger q
			{Kind: ObsQuatEuler, From: fetchQposCube + 3},                   // cube Euler angles
			{Kind: ObsQvelRel, From: fetchQvelCube, To: 0},                  // cube velocity − grip velocity
			{Kind: ObsQvel, From: fetchQvelCube + 3, To: fetchQvelCube + 6}, // cube angular velocity
			{Kind: ObsQvel, From: 0, To: 3},                                 // grip velocity
			{Kind: ObsQvel, From: 3, To: 5},                                 // finger q̇
			{Kind: ObsParam, From: 0, To: 3},                                // goal
		},
		Cost:    []Term{{Kind: TermQposDist, I: fetchQposCube, J: 0, W: 1}},
		Reward:  []Term{dist},
		Success: []Term{{Kind: TermConst, W: 1}, dist},
		ResetHook: func(rng *rand.Rand, m *Model, qpos, qvel, params []float64) {
			fetchReset(rng, g0, qpos, qvel, params)
		},
	}, nil
}

// fetchReset is gym-robotics' FetchPickAndPlace reset: the gripper at its
// start, the cube resting on the table at the gripper's xy + U(±0.15), at
// least 0.1 m from it, and the goal at the gripper + U(±0.15) at the cube's
// resting height, lifted by U(0, 0.45) with probability 0.5.
func fetchReset(rng *rand.Rand, g0 Vec3, qpos, qvel, params []float64) {
	clear(qpos[:fetchQposCube])
	clear(qvel)
	u := func() float64 { return fetchGoalRange * (2*rng.Float64() - 1) }
	var dx, dy float64
	for {
		dx, dy = u(), u()
		if math.Hypot(dx, dy) >= 0.1 {
			break
		}
	}
	c := qpos[fetchQposCube : fetchQposCube+7]
	copy(c, []float64{g0[0] + dx, g0[1] + dy, fetchTableZ + fetchCubeHalf, 1, 0, 0, 0})
	params[0] = g0[0] + u()
	params[1] = g0[1] + u()
	params[2] = fetchTableZ + fetchCubeHalf
	if rng.Float64() < 0.5 {
		params[2] += 0.45 * rng.Float64()
	}
}
