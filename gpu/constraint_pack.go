package gpu

import (
	"fmt"
	"regexp"

	"github.com/apex-robotics/apex/batchsim"
)

// packConstraints appends the soft-constraint records the kernel's
// make_rows reads (rollout.wgsl, EFC_*_F): per dof the dry friction, per
// joint the limit softness, per tendon its limit, per pair its contact
// softness, all computed once per model by batchsim (SoftConstraintParams)
// so that both backends build the same rows.
func packConstraints(p *packed, m *batchsim.Model) {
	c := batchsim.SoftConstraintParams(m)
	var dof, jnt, ten, pair []float64
	for i := 0; i < m.Nv; i++ {
		dof = append(dof, c.DofFric[i], c.DofFricB[i], c.DofFricD[i])
	}
	for j := 0; j < m.Njnt; j++ {
		jnt = append(jnt, c.JntK[j], c.JntB[j], c.JntInvW[j], c.JntMargin[j])
		jnt = append(jnt, c.JntSolimp[j][:]...)
	}
	for t := 0; t < m.Ntendon; t++ {
		lim := 0.0
		if c.TenLimited[t] {
			lim = 1
		}
		ten = append(ten, lim, c.TenRange[t][0], c.TenRange[t][1], c.TenK[t], c.TenB[t], c.TenInvW[t], c.TenMargin[t])
		ten = append(ten, c.TenSolimp[t][:]...)
	}
	for i := 0; i < m.Npair; i++ {
		pair = append(pair, float64(c.PairCondim[i]), c.PairMu[i], c.PairTorsion[i], c.PairMargin[i], c.PairK[i], c.PairB[i], c.PairTran[i])
		pair = append(pair, c.PairSolimp[i][:]...)
	}
	p.efcRows, p.efcCon = batchsim.MaxConstraintRows(m)
	p.set("H_NTENDON", m.Ntendon)
	p.addFloats("H_F_EFC_DOF", dof...)
	p.addFloats("H_F_EFC_JNT", jnt...)
	p.addFloats("H_F_EFC_TEN", ten...)
	p.addFloats("H_F_EFC_PAIR", pair...)
}

// checkTaskFeatures refuses a task that uses what the kernel does not have
// yet, rather than running it differently from the CPU: cost terms past the
// kernel's last term kind (TermSiteDist).
func checkTaskFeatures(t *batchsim.Task) error {
	for _, tm := range t.Cost {
		if int(tm.Kind) > int(batchsim.TermSiteDist) {
			return fmt.Errorf("gpu: task %s uses cost term kind %d, which the GPU kernel does not support yet; use --backend cpu", t.Name, tm.Kind)
		}
	}
	return nil
}

// sizeConstraintArrays rewrites the soft-constraint array sizes of the
// specialised kernel for its model: rows of nv entries, an nv×nv mass
// matrix, and no more rows or contacts than the model can have (within the
// generic kernel's MAX_EFC and MAX_CON, which stay the runtime limits).
func sizeConstraintArrays(src string, p *packed) string {
	nv := max(p.count("H_NV"), 1)
	rows := max(min(p.efcRows, kconst("MAX_EFC")), 1)
	con := max(min(p.efcCon, kconst("MAX_CON")), 1)
	for _, c := range []struct {
		name string
		v    int
	}{
		{"MAX_EFC", rows}, {"MAX_CON", con}, {"EFC_STRIDE", nv},
		{"EFC_J_SIZE", rows * nv}, {"M_SIZE", nv * nv},
	} {
		re := regexp.MustCompile(`(?m)^const ` + c.name + `: u32 = \d+u;`)
		src = re.ReplaceAllString(src, fmt.Sprintf("const %s: u32 = %du;", c.name, c.v))
	}
	return src
}
