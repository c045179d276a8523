package batchsim

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

// ConstraintParams are the per-model numbers of the soft constraints
// (constraint.go) that another backend needs to build the same rows: the
// K, B gains and clamped solimp of every limit, friction and contact pair,
// and the inverse weights at qpos0 behind their regularisers.
type ConstraintParams struct {
	// Per joint (njnt): K, B of the limit at the model's timestep, the dof's
	// inverse weight, the margin and the clamped solimp.
	JntK, JntB, JntInvW, JntMargin []float64
	JntSolimp                      [][5]float64
	// Per dof (nv): the dry-friction bound, B and D = 1/R (constant: its
	// impedance is dmin at zero violation).
	DofFric, DofFricB, DofFricD []float64
	// Per tendon (ntendon): limited, range, margin, K, B, inverse weight, solimp.
	TenLimited            []bool
	TenRange              [][2]float64
	TenMargin, TenK, TenB []float64
	TenInvW               []float64
	TenSolimp             [][5]float64
	// Per pair (npair), geoms ordered as PairKind orders them: condim,
	// friction (at least MuJoCo's minimum), torsional friction, margin, K,
	// B, the translational inverse weight of the two bodies, solimp.
	PairCondim                      []int
	PairMu, PairTorsion, PairMargin []float64
	PairK, PairB, PairTran          []float64
	PairSolimp                      [][5]float64
}

// SoftConstraintParams returns m's ConstraintParams. It costs one NewData.
func SoftConstraintParams(m *Model) ConstraintParams {
	d := NewData(m)
	e := &d.efc
	h := m.Opt.Timestep
	var c ConstraintParams
	for j := 0; j < m.Njnt; j++ {
		sp := solimpAt(m.JntSolimp, j)
		k, b := refGains(m.JntSolref[j], sp[1], h)
		margin := 0.0
		if j < len(m.JntMargin) {
			margin = m.JntMargin[j]
		}
		c.JntK = append(c.JntK, k)
		c.JntB = append(c.JntB, b)
		c.JntInvW = append(c.JntInvW, e.dofInvW[m.JntDofAdr[j]])
		c.JntMargin = append(c.JntMargin, margin)
		c.JntSolimp = append(c.JntSolimp, sp)
	}
	for i := 0; i < m.Nv; i++ {
		fl := 0.0
		if i < len(m.DofFrictionloss) {
			fl = m.DofFrictionloss[i]
		}
		sp := solimpAt(m.DofSolimpFriction, i)
		ref := DefaultSolref
		if i < len(m.DofSolrefFriction) {
			ref = m.DofSolrefFriction[i]
		}
		_, b := refGains(ref, sp[1], h)
		imp := impedance(&sp, 0, 0)
		c.DofFric = append(c.DofFric, fl)
		c.DofFricB = append(c.DofFricB, b)
		c.DofFricD = append(c.DofFricD, 1/max(minVal, (1-imp)/imp*e.dofInvW[i]))
	}
	for t := 0; t < m.Ntendon; t++ {
		lim := t < len(m.TendonLimited) && m.TendonLimited[t]
		var rng [2]float64
		margin := 0.0
		ref := DefaultSolref
		if lim {
			rng = m.TendonRange[t]
			if t < len(m.TendonMargin) {
				margin = m.TendonMargin[t]
			}
			if t < len(m.TendonSolrefLim) {
				ref = m.TendonSolrefLim[t]
			}
		}
		sp := solimpAt(m.TendonSolimpLim, t)
		k, b := refGains(ref, sp[1], h)
		c.TenLimited = append(c.TenLimited, lim)
		c.TenRange = append(c.TenRange, rng)
		c.TenMargin = append(c.TenMargin, margin)
		c.TenK = append(c.TenK, k)
		c.TenB = append(c.TenB, b)
		c.TenInvW = append(c.TenInvW, e.tenInvW[t])
		c.TenSolimp = append(c.TenSolimp, sp)
	}
	for i := range d.pairs {
		p := &d.pairs[i]
		k, b := refGains(p.solref, p.solimp[1], h)
		c.PairCondim = append(c.PairCondim, p.condim)
		c.PairMu = append(c.PairMu, max(minMu, p.mu))
		c.PairTorsion = append(c.PairTorsion, max(minMu, p.torsion))
		c.PairMargin = append(c.PairMargin, p.margin)
		c.PairK = append(c.PairK, k)
		c.PairB = append(c.PairB, b)
		c.PairTran = append(c.PairTran, e.bodyInvW[m.GeomBodyID[p.g1]][0]+e.bodyInvW[m.GeomBodyID[p.g2]][0])
		c.PairSolimp = append(c.PairSolimp, p.solimp)
	}
	return c
}

// MaxConstraintRows returns the most constraint rows and contacts one step
// of m can have, for sizing another backend's arrays.
func MaxConstraintRows(m *Model) (rows, contacts int) {
	d := NewData(m)
	return len(d.efc.nnz), len(d.con)
}
