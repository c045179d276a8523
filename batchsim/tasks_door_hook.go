package batchsim

import (
	"fmt"
	"math/rand/v2"
)

// DoorHook's qpos layout (models/door_hook.xml): arm slide and hinges, hook,
// frame slides, door hinge, latch.
const (
	hookQposFrame = 5 // frame x, y, z offsets (3)
	hookQposDoor  = 8
	hookQposLatch = 9
)

// DoorHook is the stand-in Door task "door-hook" (docs/design/TASKS.md), a
// 5-actuator arm with a hook in place of the Adroit hand, on
// models/door_hook.xml: 5
// actions in [−1, 1] mapped to the servos' control ranges, control step
// 0.01 s (0.002 × 5), 200-step episodes, the door frame sampled per episode,
// DAPG's observation adapted to the small hand, the sparse planning cost
//
//	0.1·(θ − 1.57)² + 1e-5·Σq̇² − 2·[θ > 0.2] − 8·[θ > 1.0] − 10·[θ > 1.35],
//
// reported reward = −cost and success at θ ≥ 1.35 at the end.
func DoorHook() (*Task, error) {
	m, err := embeddedModel("door_hook.xml")
	if err != nil {
		return nil, err
	}
	if m.Nq != 10 || m.Nv != 10 || m.Nu != 5 {
		return nil, fmt.Errorf("door-hook: model has nq %d, nv %d, nu %d; want 10, 10, 5", m.Nq, m.Nv, m.Nu)
	}
	site := func(name string) int {
		for i, n := range m.SiteName {
			if n == name {
				return i
			}
		}
		return -1
	}
	palm, handle := site("palm"), site("handle")
	if palm < 0 || handle < 0 {
		return nil, fmt.Errorf("door-hook: model needs sites palm and handle")
	}
	t := &Task{
		Name: "door-hook", Model: m,
		FrameSkip: 5, EpisodeLen: 200, Beta: 2.5,
		Obs: []ObsSegment{
			{Kind: ObsQpos, From: 0, To: 5},                             // arm and hook
			{Kind: ObsQpos, From: hookQposLatch, To: hookQposLatch + 1}, // latch angle
			{Kind: ObsQpos, From: hookQposDoor, To: hookQposDoor + 1},   // door angle
			{Kind: ObsSitePos, From: palm},
			{Kind: ObsSitePos, From: handle},
			{Kind: ObsSiteRel, From: palm, To: handle},
			{Kind: ObsQposSign, From: hookQposDoor, X: 1.0}, // door open flag
		},
		Cost: []Term{
			{Kind: TermQposSqErr, I: hookQposDoor, X: 1.57, W: 0.1},
			{Kind: TermQvelSq, W: 1e-5},
			{Kind: TermQposAbove, I: hookQposDoor, X: 0.2, W: -2},
			{Kind: TermQposAbove, I: hookQposDoor, X: 1.0, W: -8},
			{Kind: TermQposAbove, I: hookQposDoor, X: 1.35, W: -10},
		},
		Success: []Term{{Kind: TermQposAbove, I: hookQposDoor, X: 1.35, W: 1}},
		ResetHook: func(rng *rand.Rand, m *Model, qpos, qvel, params []float64) {
			// frame at x ~ U[−.3, −.2], y ~ U[.25, .35], z ~ U[.252, .35]
			// about the body's position (−0.25, 0.3, 0.301)
			qpos[hookQposFrame] = 0.05 * (2*rng.Float64() - 1)
			qpos[hookQposFrame+1] = 0.05 * (2*rng.Float64() - 1)
			qpos[hookQposFrame+2] = 0.049 * (2*rng.Float64() - 1)
		},
	}
	for _, c := range t.Cost {
		t.Reward = append(t.Reward, Term{Kind: c.Kind, I: c.I, X: c.X, W: -c.W})
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
