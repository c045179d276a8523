package batchsim

// JointLimitInertia returns, for each joint of m, the effective inertia of
// its dof at Qpos0 that scales the joint-limit gains (see fwdActuation and
// setStep), so that another backend (package gpu) can apply the same limit
// penalty. Like PairMasses it costs one NewData.
func JointLimitInertia(m *Model) []float64 {
	d := NewData(m)
	return append([]float64(nil), d.jntIeff...)
}

// SolGains maps a solref (time constant, damping ratio) at step h to the
// per-unit-mass stiffness ω², damping γ and implicit damping γ' that the
// penalty contacts and limits use (contact.go), for other backends.
func SolGains(ref [2]float64, h float64) (w2, gam, gamImpl float64) { return solGains(ref, h) }

// PairKind is the contact routine, 0–8 in contact.go's order (9: none), of
// a pair of geoms of types t1, t2 after ordering them by rank, and whether
// they were swapped to get there.
func PairKind(t1, t2 GeomType) (kind int, swapped bool) {
	r1, r2 := geomRank(t1), geomRank(t2)
	if r1 > r2 {
		r1, r2, swapped = r2, r1, true
	}
	kind, _, _ = pairKind(r1, r2)
	return kind, swapped
}

// PairMasses returns, for each candidate pair of m, the per-point effective
// masses of contact.go's force law, mp for the normal force and mpt for the
// friction damping (they differ only for box–box pairs), so that another
// backend can apply the same contact gains. It costs one NewData.
func PairMasses(m *Model) (mp, mpt []float64) {
	d := NewData(m)
	mp, mpt = make([]float64, m.Npair), make([]float64, m.Npair)
	for i := range mp {
		mp[i], mpt[i] = d.pairs[i].mp, d.pairs[i].mpt
	}
	return mp, mpt
}
