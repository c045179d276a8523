package gpu

import (
	"fmt"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
)

// The soft constraints written out for one model (rollout.wgsl's drivers
// contact, soft_reset, soft_rows, soft_solve and soft_funcs). llvmpipe runs
// both sides of every branch and keeps a private array in memory, read and
// written one lane at a time, as soon as anything indexes it at run time;
// the generic solver (make_rows, newton, finish_soft) indexes its rows,
// their sparse column lists, M and the Newton Hessian at run time, and took
// about 90 % of a cheetah step on lavapipe. Here every row the model can
// have gets a fixed slot (dry friction per dof, two per limited joint and
// tendon, and per contact slot of each pair its pyramid), with the dofs of
// its Jacobian known when the kernel is written; a row that is not active
// has a zero Jacobian, aref and D, so that it adds exact zeros and the sums
// are those of the generic solver, in its order. The Newton Hessian and its
// Cholesky factor are computed over their structural non-zeros only (M's
// tree pattern, each row's dofs, the factor's fill), the products with M
// over M's.

// Models above these sizes keep the generic solver in the specialised
// kernel: the written-out one grows with rows × dofs² (the humanoid: 284
// rows of up to 23 dofs), and so would its compile time.
const (
	softStaticMaxRows = 128
	softStaticMaxDofs = 16
)

// maxContactsOfKind is the most contacts one pair of kind (PAIR_*) makes,
// as batchsim's pairKind.
var maxContactsOfKind = [...]int{1, 2, 8, 1, 1, 1, 1, 2, 8}

// softStaticModel reports whether the specialised kernel writes out m's
// soft constraints (the same decision as packed.softStatic, for chunk.go).
func softStaticModel(m *batchsim.Model) bool {
	rows, _ := batchsim.MaxConstraintRows(m)
	return rows <= softStaticMaxRows && m.Nv <= softStaticMaxDofs
}

func (p *packed) softStatic() bool {
	if p.efcRows > softStaticMaxRows || p.count("H_NV") > softStaticMaxDofs {
		return false
	}
	n := 0
	for pi := 0; pi < p.count("H_NPAIR"); pi++ {
		k := p.field("H_PAIR", 3*pi+2)
		if k < 0 || k >= len(maxContactsOfKind) {
			return false
		}
		n += maxContactsOfKind[k]
	}
	return n == p.efcCon
}

// srow is one row slot: its Jacobian's dofs (in the generic row's order),
// whether it is dry friction (bound: its friction loss).
type srow struct {
	dofs  []int
	fric  bool
	bound string
}

// softLayout is the model's row slots and the contact slots of each pair.
type softLayout struct {
	nv     int
	rows   []srow
	slot0  []int // first contact slot of each pair
	mset   []bool
	lset   []bool // structural non-zeros of the Newton Hessian's factor (lower)
	mlset  []bool // of M's factor (M + h·damping)
	parent []int
}

func (p *packed) chainDofs(n1, n2 int) (dofs []int, side []int) {
	for n1 != n2 {
		if n1 > n2 {
			dofs, side = append(dofs, n1), append(side, 1)
			n1 = p.field("H_DOF_PARENT", n1)
		} else {
			dofs, side = append(dofs, n2), append(side, 2)
			n2 = p.field("H_DOF_PARENT", n2)
		}
	}
	return dofs, side
}

// softPairs calls f for each pair that can make rows: its index, its
// first contact slot, its number of slots, and its chain.
func (p *packed) softPairs(f func(pi, s0, ns int, dofs, side []int)) {
	s0 := 0
	for pi := 0; pi < p.count("H_NPAIR"); pi++ {
		ns := maxContactsOfKind[p.field("H_PAIR", 3*pi+2)]
		g1, g2 := p.field("H_PAIR", 3*pi), p.field("H_PAIR", 3*pi+1)
		b1, b2 := p.field("H_GEOM_BODY", g1), p.field("H_GEOM_BODY", g2)
		dofs, side := p.chainDofs(p.field("H_BODY_NODE", b1), p.field("H_BODY_NODE", b2))
		if p.floats[p.count("H_F_PAIR")+kconst("PAIR_F")*pi+1] != 0 && len(dofs) > 0 {
			f(pi, s0, ns, dofs, side)
		}
		s0 += ns
	}
}

func (p *packed) efcPair(pi, k int) float32 {
	return p.floats[p.count("H_F_EFC_PAIR")+kconst("EFC_PAIR_F")*pi+k]
}

func (p *packed) layout() *softLayout {
	nv := p.count("H_NV")
	L := &softLayout{nv: nv, mset: make([]bool, nv*nv)}
	for i := 0; i < nv; i++ {
		L.parent = append(L.parent, p.field("H_DOF_PARENT", i))
		L.mset[i*nv+i] = true
		for j := L.parent[i]; j >= 0; j = p.field("H_DOF_PARENT", j) {
			L.mset[i*nv+j], L.mset[j*nv+i] = true, true
		}
	}
	o := p.count("H_F_EFC_DOF")
	for i := 0; i < nv; i++ {
		if fl := p.floats[o+kconst("EFC_DOF_F")*i]; fl > 0 {
			L.rows = append(L.rows, srow{dofs: []int{i}, fric: true, bound: lp(fl)})
		}
	}
	p.limitJoints(func(j, qa, da int) {
		L.rows = append(L.rows, srow{dofs: []int{da}}, srow{dofs: []int{da}})
	})
	p.limitTendons(func(t int, dofs []int) {
		L.rows = append(L.rows, srow{dofs: dofs}, srow{dofs: dofs})
	})
	p.softPairs(func(pi, s0, ns int, dofs, side []int) {
		nr := batchsim.PyramidRows(int(p.efcPair(pi, 0)))
		for s := 0; s < ns*nr; s++ {
			L.rows = append(L.rows, srow{dofs: dofs})
		}
	})
	h := append([]bool(nil), L.mset...)
	for _, r := range L.rows {
		for _, a := range r.dofs {
			for _, b := range r.dofs {
				h[a*nv+b] = true
			}
		}
	}
	L.lset = symbolicCholesky(h, nv)
	L.mlset = symbolicCholesky(L.mset, nv)
	return L
}

// symbolicCholesky returns the lower non-zeros of the Cholesky factor of a
// symmetric matrix with non-zeros set (n×n, row-major).
func symbolicCholesky(set []bool, n int) []bool {
	l := make([]bool, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			l[i*n+j] = set[i*n+j]
		}
	}
	for j := 0; j < n; j++ {
		for i := j + 1; i < n; i++ {
			for k := 0; k < j; k++ {
				if l[i*n+k] && l[j*n+k] {
					l[i*n+j] = true
				}
			}
		}
	}
	return l
}

// lp is f32lit, in parentheses when negative (so that "-" + it is no "--").
func lp(x float32) string {
	s := f32lit(x)
	if strings.HasPrefix(s, "-") {
		return "(" + s + ")"
	}
	return s
}

func (p *packed) lp(slot string, k int) string { return lp(p.floats[p.count(slot)+k]) }

// limitJoints calls f for each limited hinge or slide (make_rows' order).
func (p *packed) limitJoints(f func(j, qa, da int)) {
	for j := 0; j < p.count("H_NJNT"); j++ {
		t := p.field("H_JNT_TYPE", j)
		if p.field("H_JNT_LIMITED", j) == 0 || (t != jntHinge && t != jntSlide) {
			continue
		}
		f(j, p.field("H_JNT_QPOSADR", j), p.field("H_JNT_DOFADR", j))
	}
}

// limitTendons calls f for each limited tendon with its distinct dofs.
func (p *packed) limitTendons(f func(t int, dofs []int)) {
	o := p.count("H_F_EFC_TEN")
	for t := 0; t < p.count("H_NTENDON"); t++ {
		if p.floats[o+kconst("EFC_TEN_F")*t] == 0 {
			continue
		}
		var dofs []int
		seen := map[int]bool{}
		w0, nw := p.field("H_TENDON", 2*t), p.field("H_TENDON", 2*t+1)
		for w := w0; w < w0+nw; w++ {
			d := p.field("H_JNT_DOFADR", p.field("H_WRAP_JNT", w))
			if !seen[d] {
				seen[d] = true
				dofs = append(dofs, d)
			}
		}
		f(t, dofs)
	}
}

// softDrivers write the drivers of the written-out soft constraints; for
// a model above softStatic's sizes each keeps its generic body.
var softDrivers = map[string]func(*code, *packed, *softLayout){
	"contact":    softContact,
	"soft_reset": softReset,
	"soft_rows":  func(c *code, p *packed, L *softLayout) { c.line("sp_rows();") },
	"soft_solve": func(c *code, p *packed, L *softLayout) {
		c.line("if (!sp_newton()) { return false; }")
		c.line("if (!sp_finish(h)) { return false; }")
	},
	"soft_funcs": softFuncs,
}

// softContact stores a contact of pair pi in the pair's next slot.
func softContact(c *code, p *packed, L *softLayout) {
	c.line("switch pi {")
	s0 := 0
	for pi := 0; pi < p.count("H_NPAIR"); pi++ {
		ns := maxContactsOfKind[p.field("H_PAIR", 3*pi+2)]
		g1, g2 := p.field("H_PAIR", 3*pi), p.field("H_PAIR", 3*pi+1)
		b1, b2 := p.field("H_GEOM_BODY", g1), p.field("H_GEOM_BODY", g2)
		n1, n2 := p.field("H_BODY_NODE", b1), p.field("H_BODY_NODE", b2)
		c.line("\tcase %du: {", pi)
		c.line("\t\tlet k = con_cnt[%du];", pi)
		c.line("\t\tcon_cnt[%du] = k + 1u;", pi)
		for k := 0; k < ns; k++ {
			pre := "} else if"
			if k == 0 {
				pre = "if"
			}
			c.line("\t\t%s (k == %du) { con_set(%du, %du, %du, %t, %t, %du, %du, pos, n, dist);", pre, k, s0+k, b1, b2, n1 >= 0, n2 >= 0,
				p.field("H_BODY_ROOT", b1), p.field("H_BODY_ROOT", b2))
		}
		c.line("\t\t} else { soft_overflow = true; }")
		c.line("\t}")
		s0 += ns
	}
	c.line("\tdefault: {}")
	c.line("}")
}

func softReset(c *code, p *packed, L *softLayout) {
	for s := 0; s < p.efcCon; s++ {
		c.line("con_on[%du] = false;", s)
	}
	for pi := 0; pi < p.count("H_NPAIR"); pi++ {
		c.line("con_cnt[%du] = 0u;", pi)
	}
}

// jv is row r's Jacobian entry for dof d.
func (L *softLayout) jv(r, d int) string { return fmt.Sprintf("efc_j[%du]", r*L.nv+d) }

func (L *softLayout) m(i, j int) string { return fmt.Sprintf("mmat[%du]", i*L.nv+j) }
func (L *softLayout) h(i, j int) string { return fmt.Sprintf("hmat[%du]", i*L.nv+j) }

// deriv writes row r's s'(x) and zone for the expression x into locals
// named f and z (the suffix sfx).
func (L *softLayout) deriv(c *code, ind string, r int, x, sfx string) {
	row := L.rows[r]
	if !row.fric {
		c.line("%slet xn%s = (%s) < 0.0;", ind, sfx, x)
		c.line("%slet f%s = select(0.0, efc_d[%du] * (%s), xn%s);", ind, sfx, r, x, sfx)
		c.line("%slet z%s = select(1, 0, xn%s);", ind, sfx, sfx)
		return
	}
	c.line("%slet dx%s = efc_d[%du] * (%s);", ind, sfx, r, x)
	c.line("%slet f%s = clamp(dx%s, -%s, %s);", ind, sfx, sfx, row.bound, row.bound)
	c.line("%slet z%s = select(select(0, -1, dx%s < -%s), 1, dx%s > %s);", ind, sfx, sfx, row.bound, sfx, row.bound)
}

func softFuncs(c *code, p *packed, L *softLayout) {
	nv := L.nv
	c.line("var<private> con_cnt: array<u32, %d>;", max(p.count("H_NPAIR"), 1))
	softRowsFunc(c, p, L)

	// Newton.
	c.line("fn sp_newton() -> bool {")
	for i := 0; i < nv; i++ {
		c.line("\tsq[%du] = sa0[%du];", i, i)
	}
	for r := range L.rows {
		c.line("\t{")
		c.line("\t\tlet x = %s - efc_aref[%du];", L.dot(r, "sq"), r)
		c.line("\t\tefc_x[%du] = x;", r)
		L.deriv(c, "\t\t", r, "x", "")
		c.line("\t\tefc_zone[%du] = z;", r)
		c.line("\t}")
	}
	c.line("\tfor (var it = 0u; it < 30u; it++) {")
	for i := 0; i < nv; i++ {
		c.line("\t\tstmp[%du] = sq[%du] - sa0[%du];", i, i, i)
	}
	for i := 0; i < nv; i++ {
		c.line("\t\tsmr[%du] = %s;", i, L.mulM(i, "stmp"))
		c.line("\t\tsg[%du] = smr[%du];", i, i)
	}
	for i := 0; i < nv; i++ {
		for j := 0; j <= i; j++ {
			switch {
			case L.mset[i*nv+j]:
				c.line("\t\t%s = %s;", L.h(i, j), L.m(i, j))
			case L.lset[i*nv+j]:
				c.line("\t\t%s = 0.0;", L.h(i, j))
			}
		}
	}
	for r, row := range L.rows {
		c.line("\t\t{")
		L.deriv(c, "\t\t\t", r, fmt.Sprintf("efc_x[%du]", r), "")
		for _, d := range row.dofs {
			c.line("\t\t\tsg[%du] += f * %s;", d, L.jv(r, d))
		}
		c.line("\t\t\tlet w = select(0.0, efc_d[%du], z == 0);", r)
		for _, a := range row.dofs {
			c.line("\t\t\t{")
			c.line("\t\t\t\tlet v = w * %s;", L.jv(r, a))
			for _, b := range row.dofs {
				if a >= b {
					c.line("\t\t\t\t%s += v * %s;", L.h(a, b), L.jv(r, b))
				}
			}
			c.line("\t\t\t}")
		}
		c.line("\t\t}")
	}
	L.cholesky(c, "\t\t", L.lset)
	for i := 0; i < nv; i++ {
		c.line("\t\tsdir[%du] = -sg[%du];", i, i)
	}
	L.solve(c, "\t\t", L.lset)
	c.line("\t\tvar same = true;")
	for r := range L.rows {
		c.line("\t\t{")
		c.line("\t\t\tlet jd = %s;", L.dot(r, "sdir"))
		c.line("\t\t\tefc_jd[%du] = jd;", r)
		L.deriv(c, "\t\t\t", r, fmt.Sprintf("efc_x[%du] + jd", r), "")
		c.line("\t\t\tsame = same && z == efc_zone[%du];", r)
		c.line("\t\t}")
	}
	c.line("\t\tvar alpha = 1.0;")
	c.line("\t\tif (!same) { alpha = sp_line_search(); }")
	c.line("\t\tvar small = true;")
	for i := 0; i < nv; i++ {
		c.line("\t\tsq[%du] += alpha * sdir[%du];", i, i)
		c.line("\t\tsmall = small && !(abs(alpha * sdir[%du]) > 1e-6 * (1.0 + abs(sq[%du])));", i, i)
	}
	for r := range L.rows {
		c.line("\t\t{")
		c.line("\t\t\tlet x = efc_x[%du] + alpha * efc_jd[%du];", r, r)
		c.line("\t\t\tefc_x[%du] = x;", r)
		L.deriv(c, "\t\t\t", r, "x", "")
		c.line("\t\t\tefc_zone[%du] = z;", r)
		c.line("\t\t}")
	}
	c.line("\t\tif (same || small) { break; }")
	c.line("\t}")
	c.line("\treturn true;")
	c.line("}")

	// Line search (efcRows.lineSearch, as line_search).
	c.line("fn sp_line_search() -> f32 {")
	c.line("\tvar dmd = 0.0;")
	c.line("\tvar dmr = 0.0;")
	for i := 0; i < nv; i++ {
		c.line("\tdmd += sdir[%du] * (%s);", i, L.mulM(i, "sdir"))
		c.line("\tdmr += sdir[%du] * smr[%du];", i, i)
	}
	c.line("\tvar d0 = dmr;")
	for r := range L.rows {
		c.line("\t{")
		L.deriv(c, "\t\t", r, fmt.Sprintf("efc_x[%du]", r), "")
		c.line("\t\td0 += f * efc_jd[%du];", r)
		c.line("\t}")
	}
	c.line("\tlet scale = abs(d0) + 1e-30;")
	c.line("\tvar lo = 0.0;")
	c.line("\tvar hi = 3.0e38;")
	c.line("\tvar al = 1.0;")
	c.line("\tfor (var k = 0u; k < 50u; k++) {")
	c.line("\t\tvar d1 = al * dmd + dmr;")
	c.line("\t\tvar d2 = dmd;")
	for r := range L.rows {
		c.line("\t\t{")
		c.line("\t\t\tlet jd = efc_jd[%du];", r)
		L.deriv(c, "\t\t\t", r, fmt.Sprintf("efc_x[%du] + al * jd", r), "")
		c.line("\t\t\td1 += f * jd;")
		c.line("\t\t\td2 += select(0.0, efc_d[%du] * jd * jd, z == 0);", r)
		c.line("\t\t}")
	}
	c.line("\t\tif (abs(d1) <= 1e-6 * scale) { break; }")
	c.line("\t\tif (d1 < 0.0) { lo = al; } else { hi = al; }")
	c.line("\t\tvar next = al - d1 / d2;")
	c.line("\t\tif (!(next > lo && next < hi)) {")
	c.line("\t\t\tif (hi >= 3.0e38) { next = 2.0 * al; } else { next = 0.5 * (lo + hi); }")
	c.line("\t\t}")
	c.line("\t\tal = next;")
	c.line("\t}")
	c.line("\treturn al;")
	c.line("}")

	// finish_soft: implicit damping, then the contact wrenches.
	c.line("fn sp_finish(h: f32) -> bool {")
	damped := false
	for i := 0; i < nv; i++ {
		damped = damped || p.floats[p.count("H_F_DOF_DAMP")+i] > 0
	}
	if damped {
		for i := 0; i < nv; i++ {
			c.line("\tstmp[%du] = sq[%du];", i, i)
		}
		for i := 0; i < nv; i++ {
			c.line("\tsdir[%du] = %s;", i, L.mulM(i, "stmp"))
		}
		for i := 0; i < nv; i++ {
			for j := 0; j <= i; j++ {
				switch {
				case i == j:
					c.line("\t%s = %s + h * %s;", L.h(i, i), L.m(i, i), p.lp("H_F_DOF_DAMP", i))
				case L.mset[i*nv+j]:
					c.line("\t%s = %s;", L.h(i, j), L.m(i, j))
				case L.mlset[i*nv+j]:
					c.line("\t%s = 0.0;", L.h(i, j))
				}
			}
		}
		L.cholesky(c, "\t", L.mlset)
		L.solve(c, "\t", L.mlset)
		for i := 0; i < nv; i++ {
			c.line("\tsq[%du] = sdir[%du];", i, i)
		}
	}
	r := len(L.rows) - p.contactRows()
	p.softPairs(func(pi, s0, ns int, dofs, side []int) {
		nr := batchsim.PyramidRows(int(p.efcPair(pi, 0)))
		g1, g2 := p.field("H_PAIR", 3*pi), p.field("H_PAIR", 3*pi+1)
		b1, b2 := p.field("H_GEOM_BODY", g1), p.field("H_GEOM_BODY", g2)
		n1, n2 := p.field("H_BODY_NODE", b1), p.field("H_BODY_NODE", b2)
		mu := lp(p.efcPair(pi, 1))
		for s := s0; s < s0+ns; s++ {
			c.line("\tif (con_on[%du]) {", s)
			c.line("\t\tlet n = con_n[%du];", s)
			for k := 0; k < nr; k++ {
				c.line("\t\tvar f%d = 0.0;", k)
				c.line("\t\t{")
				L.deriv(c, "\t\t\t", r+k, fmt.Sprintf("efc_x[%du]", r+k), "")
				c.line("\t\t\tf%d = -f;", k)
				c.line("\t\t}")
			}
			c.line("\t\tvar tq = vec3<f32>(0.0);")
			if nr == 1 {
				c.line("\t\tlet fc = n * f0;")
			} else {
				c.line("\t\tlet t1 = contact_t1(n, con_hint[%du]);", s)
				c.line("\t\tlet t2 = cross(n, t1);")
				c.line("\t\tvar fc = (n + t1 * %s) * f0 + (n - t1 * %s) * f1 + (n + t2 * %s) * f2 + (n - t2 * %s) * f3;", mu, mu, mu, mu)
				if nr == 6 {
					c.line("\t\tfc = fc + n * (f4 + f5);")
					c.line("\t\ttq = n * (%s * (f4 - f5));", lp(p.efcPair(pi, 2)))
				}
			}
			c.line("\t\tadd_wrench(%du, %d, con_d2[%du], fc, tq, 1.0);", b2, n2, s)
			c.line("\t\tadd_wrench(%du, %d, con_d1[%du], fc, tq, -1.0);", b1, n1, s)
			c.line("\t}")
			r += nr
		}
	})
	c.line("\treturn true;")
	c.line("}")
}

// contactRows is the number of contact row slots.
func (p *packed) contactRows() int {
	n := 0
	p.softPairs(func(pi, s0, ns int, dofs, side []int) { n += ns * batchsim.PyramidRows(int(p.efcPair(pi, 0))) })
	return n
}

// dot is row r's Jacobian times vector v (sq, sdir) over its dofs.
func (L *softLayout) dot(r int, v string) string {
	var t []string
	for _, d := range L.rows[r].dofs {
		t = append(t, fmt.Sprintf("%s * %s[%du]", L.jv(r, d), v, d))
	}
	return "(" + strings.Join(t, " + ") + ")"
}

// mulM is (M·v)[i] over M's non-zeros in row i, in column order.
func (L *softLayout) mulM(i int, v string) string {
	var t []string
	for k := 0; k < L.nv; k++ {
		if L.mset[i*L.nv+k] {
			t = append(t, fmt.Sprintf("%s * %s[%du]", L.m(i, k), v, k))
		}
	}
	return strings.Join(t, " + ")
}

// cholesky factors hmat in place over the lower non-zeros set (cholesky).
func (L *softLayout) cholesky(c *code, ind string, set []bool) {
	n := L.nv
	for j := 0; j < n; j++ {
		c.line("%s{", ind)
		c.line("%s\tvar dd = %s;", ind, L.h(j, j))
		for k := 0; k < j; k++ {
			if set[j*n+k] {
				c.line("%s\tdd -= %s * %s;", ind, L.h(j, k), L.h(j, k))
			}
		}
		c.line("%s\tif (!(dd > 0.0)) { return false; }", ind)
		c.line("%s\tdd = sqrt(dd);", ind)
		c.line("%s\t%s = dd;", ind, L.h(j, j))
		c.line("%s\tlet inv = 1.0 / dd;", ind)
		for i := j + 1; i < n; i++ {
			if !set[i*n+j] {
				continue
			}
			var t []string
			for k := 0; k < j; k++ {
				if set[i*n+k] && set[j*n+k] {
					t = append(t, fmt.Sprintf(" - %s * %s", L.h(i, k), L.h(j, k)))
				}
			}
			c.line("%s\t%s = (%s%s) * inv;", ind, L.h(i, j), L.h(i, j), strings.Join(t, ""))
		}
		c.line("%s}", ind)
	}
}

// solve solves L·Lᵀ·x = b in place in sdir (chol_solve).
func (L *softLayout) solve(c *code, ind string, set []bool) {
	n := L.nv
	for i := 0; i < n; i++ {
		var t []string
		for k := 0; k < i; k++ {
			if set[i*n+k] {
				t = append(t, fmt.Sprintf(" - %s * sdir[%du]", L.h(i, k), k))
			}
		}
		c.line("%ssdir[%du] = (sdir[%du]%s) / %s;", ind, i, i, strings.Join(t, ""), L.h(i, i))
	}
	for i := n - 1; i >= 0; i-- {
		var t []string
		for k := i + 1; k < n; k++ {
			if set[k*n+i] {
				t = append(t, fmt.Sprintf(" - %s * sdir[%du]", L.h(k, i), k))
			}
		}
		c.line("%ssdir[%du] = (sdir[%du]%s) / %s;", ind, i, i, strings.Join(t, ""), L.h(i, i))
	}
}

// softRowsFunc writes sp_rows, make_rows for the row slots.
func softRowsFunc(c *code, p *packed, L *softLayout) {
	nv := L.nv
	c.line("fn sp_rows() {")
	c.line("\tnefc = 0u;")
	r := 0
	o := p.count("H_F_EFC_DOF")
	for i := 0; i < nv; i++ {
		k := o + kconst("EFC_DOF_F")*i
		if !(p.floats[k] > 0) {
			continue
		}
		c.line("\t%s = 1.0;", L.jv(r, i))
		c.line("\tefc_aref[%du] = -%s * qvel[%du];", r, lp(p.floats[k+1]), i)
		c.line("\tefc_d[%du] = %s;", r, lp(p.floats[k+2]))
		c.line("\tnefc += 1u;")
		r++
	}
	// A limit side: dist, J entries (dof, value), vel, softness at model_f[o].
	side := func(dist string, js [][2]string, vel string, o int) {
		f := func(k int) string { return lp(p.floats[o+k]) }
		c.line("\t\t{")
		c.line("\t\t\tlet dist = %s;", dist)
		c.line("\t\t\tlet on = dist < %s;", f(3))
		c.line("\t\t\tlet imp = impedance_c(%s, %s, %s, %s, %s, dist, %s);", f(4), f(5), f(6), f(7), f(8), f(3))
		for _, j := range js {
			c.line("\t\t\t%s = select(0.0, %s, on);", j[0], j[1])
		}
		c.line("\t\t\tefc_aref[%du] = select(0.0, -%s * (%s) - %s * imp * (dist - %s), on);", r, f(1), vel, f(0), f(3))
		c.line("\t\t\tefc_d[%du] = select(0.0, 1.0 / max(1e-15, (1.0 - imp) / imp * %s), on);", r, f(2))
		c.line("\t\t\tnefc += select(0u, 1u, on);")
		c.line("\t\t}")
		r++
	}
	p.limitJoints(func(j, qa, da int) {
		c.line("\t{")
		c.line("\t\tlet q = qpos[%du];", qa)
		c.line("\t\tvar hi = %s;", p.lp("H_F_JNT_RANGE", 2*j+1))
		if lj := p.field("H_JNT_LOCKJNT", j); lj >= 0 {
			lk := func(k int) string { return p.lp("H_F_JNT_LOCK", 4*j+k) }
			c.line("\t\tif (q < %s) {", lk(1))
			c.line("\t\t\tlet tl = clamp((qpos[%du] - %s) / (%s - %s), 0.0, 1.0);", p.field("H_JNT_QPOSADR", lj), lk(2), lk(3), lk(2))
			c.line("\t\t\thi = %s + tl * (hi - %s);", lk(0), lk(0))
			c.line("\t\t}")
		}
		oj := p.count("H_F_EFC_JNT") + kconst("EFC_JNT_F")*j
		side(fmt.Sprintf("q - %s", p.lp("H_F_JNT_RANGE", 2*j)), [][2]string{{L.jv(r, da), "1.0"}}, fmt.Sprintf("qvel[%du]", da), oj)
		side("hi - q", [][2]string{{L.jv(r, da), "-1.0"}}, fmt.Sprintf("-qvel[%du]", da), oj)
		c.line("\t}")
	})
	p.limitTendons(func(t int, dofs []int) {
		ot := p.count("H_F_EFC_TEN") + kconst("EFC_TEN_F")*t
		w0, nw := p.field("H_TENDON", 2*t), p.field("H_TENDON", 2*t+1)
		c.line("\t{")
		c.line("\t\ttendon_l = 0.0;")
		c.line("\t\ttendon_v = 0.0;")
		for w := w0; w < w0+nw; w++ {
			jw := p.field("H_WRAP_JNT", w)
			c.line("\t\ttendon_add(%du, %du, %du);", w, p.field("H_JNT_QPOSADR", jw), p.field("H_JNT_DOFADR", jw))
		}
		c.line("\t\tlet l = tendon_l;")
		c.line("\t\tlet v = tendon_v;")
		for s, sgn := range []float32{-1, 1} {
			var js [][2]string
			for _, d := range dofs {
				var t []string
				for w := w0; w < w0+nw; w++ {
					if p.field("H_JNT_DOFADR", p.field("H_WRAP_JNT", w)) == d {
						t = append(t, lp(-sgn*p.floats[p.count("H_F_WRAP_COEF")+w]))
					}
				}
				js = append(js, [2]string{L.jv(r, d), strings.Join(t, " + ")})
			}
			dist := fmt.Sprintf("l - %s", lp(p.floats[ot+1]))
			vel := "v"
			if s == 1 {
				dist = fmt.Sprintf("%s - l", lp(p.floats[ot+2]))
				vel = "-v"
			}
			side(dist, js, vel, ot+3)
		}
		c.line("\t}")
	})
	p.softPairs(func(pi, s0, ns int, dofs, sides []int) {
		nr := batchsim.PyramidRows(int(p.efcPair(pi, 0)))
		f := func(k int) string { return lp(p.efcPair(pi, k)) }
		mu := f(1)
		for s := s0; s < s0+ns; s++ {
			c.line("\t{")
			c.line("\t\tlet on = con_on[%du];", s)
			c.line("\t\tlet n = con_n[%du];", s)
			c.line("\t\tlet r1 = con_r1[%du];", s)
			c.line("\t\tlet r2 = con_r2[%du];", s)
			c.line("\t\tlet dist = con_dist[%du];", s)
			c.line("\t\tlet imp = impedance_c(%s, %s, %s, %s, %s, dist, %s);", f(7), f(8), f(9), f(10), f(11), f(3))
			c.line("\t\tlet off = -%s * imp * (dist - %s);", f(4), f(3))
			for k, d := range dofs {
				rr, sg := "r2", ""
				if sides[k] == 1 {
					rr, sg = "r1", "-"
				}
				c.line("\t\tlet w%d = vec3<f32>(cdof[%du][0], cdof[%du][1], cdof[%du][2]);", k, d, d, d)
				c.line("\t\tlet jt%d = %s(vec3<f32>(cdof[%du][3], cdof[%du][4], cdof[%du][5]) + cross(w%d, %s));", k, sg, d, d, d, k, rr)
				if nr == 6 {
					c.line("\t\tlet jr%d = %sw%d;", k, sg, k)
				}
			}
			// one row: u·jt (+ tors·n·jr)
			row := func(u, tors, aref0, dexpr string) {
				var vel []string
				c.line("\t\t{")
				for k, d := range dofs {
					e := fmt.Sprintf("dot(%s, jt%d)", u, k)
					if tors != "" {
						e += fmt.Sprintf(" + %s * dot(n, jr%d)", tors, k)
					}
					c.line("\t\t\tlet v%d = %s;", k, e)
					c.line("\t\t\t%s = select(0.0, v%d, on);", L.jv(r, d), k)
					vel = append(vel, fmt.Sprintf("v%d * qvel[%du]", k, d))
				}
				c.line("\t\t\tefc_aref[%du] = select(0.0, -%s * (%s) + off, on);", r, f(5), strings.Join(vel, " + "))
				c.line("\t\t\tefc_d[%du] = select(0.0, %s, on);", r, dexpr)
				c.line("\t\t}")
				r++
			}
			if nr == 1 {
				row("n", "", "", fmt.Sprintf("1.0 / max(1e-15, (1.0 - imp) / imp * %s)", f(6)))
				c.line("\t\tnefc += select(0u, 1u, on);")
				c.line("\t}")
				continue
			}
			c.line("\t\tlet dpy = 1.0 / (2.0 * %s * %s * max(1e-15, (1.0 - imp) / imp * (%s + %s * %s * %s)));", mu, mu, f(6), mu, mu, f(6))
			c.line("\t\tlet t1 = contact_t1(n, con_hint[%du]);", s)
			c.line("\t\tlet t2 = cross(n, t1);")
			row(fmt.Sprintf("n + t1 * %s", mu), "", "", "dpy")
			row(fmt.Sprintf("n + t1 * -%s", mu), "", "", "dpy")
			row(fmt.Sprintf("n + t2 * %s", mu), "", "", "dpy")
			row(fmt.Sprintf("n + t2 * -%s", mu), "", "", "dpy")
			if nr == 6 {
				row("n", f(2), "", "dpy")
				row("n", "-"+f(2), "", "dpy")
			}
			c.line("\t\tnefc += select(0u, %du, on);", nr)
			c.line("\t}")
		}
	})
	c.line("}")
	if r != len(L.rows) {
		panic(fmt.Sprintf("gpu: soft rows written %d, laid out %d", r, len(L.rows)))
	}
}
