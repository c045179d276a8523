package batchsim

// JointLimitInertia returns, for each joint of m, the effective inertia of
// its dof at Qpos0 that scales the joint-limit gains (see fwdActuation and
// setStep), so that another backend (package gpu) can apply the same limit
// penalty. Like PairContactMass it costs one NewData.
func JointLimitInertia(m *Model) []float64 {
	d := NewData(m)
	return append([]float64(nil), d.jntIeff...)
}
