package batchsim

// HumanoidStandup is Humanoid Standup (docs/design/TASKS.md): gym's
// humanoidstandup.xml (embedded unchanged as models/humanoid_standup.xml),
// lying on its back, frame skip 5 (dt 0.015 s), 500-step episodes (the APEX
// paper's horizon), reset U(±0.01) on qpos and qvel, iCEM's planning cost
// −z + 0.1·Σa² and gym's reward
//
//	z/timestep − 0.1·Σa² − min(0.5e-6·Σ‖cfrc_ext‖², 10) + 1
//
// (gym's HumanoidStandupEnv.step; ≈ 35 per step lying, ≈ 400 standing).
func HumanoidStandup() (*Task, error) {
	m, err := embeddedModel("humanoid_standup.xml")
	if err != nil {
		return nil, err
	}
	return HumanoidStandupWithModel(m), nil
}

// HumanoidStandupWithModel is the Humanoid Standup task on a given model
// (e.g. gym's file read from disk, for cross-checks).
func HumanoidStandupWithModel(m *Model) *Task {
	fill := func(v float64) []float64 {
		s := make([]float64, m.Nu)
		for i := range s {
			s[i] = v
		}
		return s
	}
	return &Task{
		Name: "humanoidstandup", Model: m,
		FrameSkip: 5, EpisodeLen: 500, Beta: 2.0,
		ActLow: fill(-0.4), ActHigh: fill(0.4), CtrlOffset: fill(0), CtrlScale: fill(1),
		// qpos[2:] (22) and qvel (23): gym's first two blocks.
		Obs: []ObsSegment{{Kind: ObsQpos, From: 2, To: m.Nq}, {Kind: ObsQvel, To: m.Nv}},
		Cost: []Term{
			{Kind: TermQpos, I: 2, W: -1},
			{Kind: TermActionSq, W: 0.1},
		},
		Reward: []Term{
			{Kind: TermQpos, I: 2, W: 1 / m.Opt.Timestep},
			{Kind: TermActionSq, W: -0.1},
			// −min(0.5e-6·s, 10) = −0.5e-6·min(s, 2e7)
			{Kind: TermContactSq, X: 2e7, W: -0.5e-6},
			{Kind: TermConst, W: 1},
		},
		ResetQposUniform: 0.01,
		ResetQvelUniform: 0.01,
	}
}
