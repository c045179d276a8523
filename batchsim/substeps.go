package batchsim

import "math"

// Penalty contacts and limits are explicit forces, stable only while a step
// resolves their time constant: the gym cheetah (timestep 0.01, solref
// 0.02) taken in whole steps gains energy at impacts whose effective mass is
// well below the one its gains were set for (the planner found and exploited
// it: random controls threw the torso 3 m high where MuJoCo's stays below
// 0.2 m). SubstepsPerTau sub-steps per contact time constant make those
// impacts match MuJoCo's (zz bounce study: 4 sub-steps, within a few cm).
const SubstepsPerTau = 8

// autoSubsteps is the number of sub-steps a physics step takes while a
// contact or a joint limit is active: ⌈SubstepsPerTau·timestep/τ_min⌉ over
// the candidate pairs and limited joints, at least 1. Steps without an
// active contact or limit are taken whole, so that contact-free motion is
// exactly MuJoCo's Euler step.
func autoSubsteps(m *Model) int {
	tau := math.Inf(1)
	for p := 0; p < m.Npair; p++ {
		if t := m.PairSolref[p][0]; t > 0 {
			tau = min(tau, t)
		}
	}
	for j := 0; j < m.Njnt; j++ {
		if t := m.JntSolref[j][0]; m.JntLimited[j] && t > 0 {
			tau = min(tau, t)
		}
	}
	if math.IsInf(tau, 1) {
		return 1
	}
	return max(1, int(math.Ceil(SubstepsPerTau*m.Opt.Timestep/tau-1e-9)))
}

// limitActive reports whether a limited hinge or slide joint is beyond its
// range, where the limit penalty acts.
func limitActive(m *Model, qpos []float64) bool {
	for j := 0; j < m.Njnt; j++ {
		if !m.JntLimited[j] || m.JntType[j] == JointFree {
			continue
		}
		q := qpos[m.JntQposAdr[j]]
		if q < m.JntRange[j][0] || q > m.JntRange[j][1] {
			return true
		}
	}
	return false
}
