package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// specialize writes the rollout kernel for one packed task. Each stage of
// rollout.wgsl is a per-element function (one body, joint, dof, contact
// pair, cost term or observation entry) called from a generic driver block,
// between "// DRIVER name" and "// END", whose loops read the model's
// indices from model_i at run time. specialize replaces every driver by the
// same calls unrolled, with the indices as literals, and the lookup tables
// by switches. After inlining (which every WGSL compiler does) the per-world
// state arrays are then indexed by constants only, so the compiler keeps
// them in registers: indexing a private array at run time is done one lane
// at a time on lavapipe and through local memory on hardware GPUs.
func specialize(src string, pk *packed) (string, error) {
	var err error
	var L *softLayout
	if pk.softStatic() {
		L = pk.layout()
	}
	out := driverRE.ReplaceAllStringFunc(src, func(block string) string {
		m := driverRE.FindStringSubmatch(block)
		name, body := m[1], m[2]
		var c code
		if gen, ok := softDrivers[name]; ok {
			if L == nil {
				return body // the generic solver
			}
			gen(&c, pk, L)
		} else if name == "unroll" {
			err = unrollLoops(&c, pk, body)
		} else if gen, ok := drivers[name]; ok {
			gen(&c, pk)
		} else {
			err = fmt.Errorf("gpu: %s has a driver %q that specialize does not know", rolloutShader, name)
		}
		return c.String()
	})
	if err != nil {
		return "", err
	}
	return sizeConstraintArrays(out, pk), nil
}

// driverRE matches a driver block of rollout.wgsl with its name and body.
var driverRE = regexp.MustCompile(`(?s)[ \t]*// DRIVER (\w+)\n(.*?)[ \t]*// END\n`)

// field returns entry k of the integer field in header slot.
func (p *packed) field(slot string, k int) int {
	return int(p.ints[int(p.ints[kconst(slot)])+k])
}

// lit returns entry k of the float field in header slot as a WGSL literal
// of the same float32 value.
func (p *packed) lit(slot string, k int) string {
	return f32lit(p.floats[p.count(slot)+k])
}

// vec returns entry k of a field of n-vectors (H_F_BODY_POS: n = 3) as a
// WGSL vecN<f32> of literals.
func (p *packed) vec(slot string, n, k int) string {
	el := make([]string, n)
	for i := range el {
		el[i] = p.lit(slot, n*k+i)
	}
	return fmt.Sprintf("vec%d<f32>(%s)", n, strings.Join(el, ", "))
}

// mat3 returns entry k of a field of row-major 3×3 matrices as the WGSL
// mat3x3<f32> (columns) of the same matrix, as mm9 reads it.
func (p *packed) mat3(slot string, k int) string {
	el := make([]string, 9)
	for c := 0; c < 3; c++ {
		for r := 0; r < 3; r++ {
			el[3*c+r] = p.lit(slot, 9*k+3*r+c)
		}
	}
	return "mat3x3<f32>(" + strings.Join(el, ", ") + ")"
}

// f32lit writes x as a WGSL float literal that converts to x exactly: the
// float64 of a float32 has an exact shortest decimal form.
func f32lit(x float32) string {
	s := strconv.FormatFloat(float64(x), 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // "n": NaN and Inf have no literal; the parse fails loudly
		s += ".0"
	}
	return s
}

// count returns a header value such as H_NV.
func (p *packed) count(slot string) int { return int(p.ints[kconst(slot)]) }

type code struct{ strings.Builder }

func (c *code) line(format string, args ...any) {
	c.WriteString("\t")
	fmt.Fprintf(&c.Builder, format, args...)
	c.WriteString("\n")
}

// loopRE matches the one-line loops of an "unroll" driver.
var loopRE = regexp.MustCompile(`^\s*for \(var (\w+) = 0u; (\w+) < (\w+); (\w+)\+\+\) \{ (.*) \}\s*$`)

// unrollLoops writes each loop of body, "for (var i = 0u; i < n; i++) { S }"
// with n one of nq, nv, nu, nbody, as S once per i with i a literal; for
// n = nqb, once per qpos_before entry that the kernel reads.
func unrollLoops(c *code, p *packed, body string) error {
	counts := map[string][]int{"nq": upTo(p.count("H_NQ")), "nv": upTo(p.count("H_NV")), "nu": upTo(p.count("H_NU")),
		"nbody": upTo(p.count("H_NBODY")), "nqb": p.qposBeforeRead()}
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		m := loopRE.FindStringSubmatch(l)
		if m == nil || m[2] != m[1] || m[4] != m[1] {
			return fmt.Errorf("gpu: %s: unroll driver line %q is not a one-line loop from 0", rolloutShader, strings.TrimSpace(l))
		}
		idx, ok := counts[m[3]]
		if !ok {
			return fmt.Errorf("gpu: %s: unroll driver loops to %q, not nq, nv, nu, nbody or nqb", rolloutShader, m[3])
		}
		v := regexp.MustCompile(`\b` + m[1] + `\b`)
		for _, i := range idx {
			c.line("%s", v.ReplaceAllString(m[5], strconv.Itoa(i)+"u"))
		}
	}
	return nil
}

func upTo(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i
	}
	return v
}

// qposBeforeRead lists the qpos entries whose value at the start of the
// control step (qpos_before) the kernel reads: qpos-delta terms and the
// joints and tendon wraps of relative controls, ascending.
func (p *packed) qposBeforeRead() []int {
	used := make([]bool, p.count("H_NQ"))
	for k := 0; k < p.count("H_NTERM"); k++ {
		if p.field("H_TERM_KIND", k) == termQposDelta {
			used[p.field("H_TERM_I", k)] = true
		}
	}
	for a := 0; a < p.count("H_NU"); a++ {
		if p.field("H_CTRL_REL", a) == 0 {
			continue
		}
		j := p.field("H_ACT_TRN", a)
		if p.field("H_ACT_TRNTYPE", a) == trnTendon {
			w0, nw := p.field("H_TENDON", 2*j), p.field("H_TENDON", 2*j+1)
			for w := w0; w < w0+nw; w++ {
				used[p.field("H_JNT_QPOSADR", p.field("H_WRAP_JNT", w))] = true
			}
		} else {
			used[p.field("H_JNT_QPOSADR", j)] = true
		}
	}
	var idx []int
	for i, u := range used {
		if u {
			idx = append(idx, i)
		}
	}
	return idx
}

// table writes a switch on v returning entry k of vals for v == k.
func table(c *code, v string, vals []int, typ string) {
	c.line("switch %s {", v)
	for k, x := range vals {
		if typ == "u32" {
			c.line("\tcase %du: { return %du; }", k, x)
		} else {
			c.line("\tcase %du: { return %d; }", k, x)
		}
	}
	if typ == "u32" {
		c.line("\tdefault: { return 0u; }")
	} else {
		c.line("\tdefault: { return -1; }")
	}
	c.line("}")
}

func (p *packed) fieldN(slot string, n int) []int {
	v := make([]int, n)
	for k := range v {
		v[k] = p.field(slot, k)
	}
	return v
}

// drivers write the unrolled form of each named driver of rollout.wgsl; each
// follows the generic loop it replaces.
var drivers = map[string]func(*code, *packed){
	// The model's sizes as literals, so that the loops bounded by them
	// (the soft constraints' among them) have constant trip counts. The
	// frame skip stays in the header: it is the task's, not the model's,
	// so that tasks sharing a model (a one-physics-step copy in the parity
	// tests) share one compiled kernel; it only bounds the step loop.
	"counts": func(c *code, p *packed) {
		for _, v := range []struct{ name, slot string }{{"nq", "H_NQ"}, {"nv", "H_NV"}, {"nu", "H_NU"}, {"nbody", "H_NBODY"}} {
			c.line("let %s = %du;", v.name, p.count(v.slot))
		}
		c.line("let skip = hdr(H_FRAME_SKIP);")
	},
	"step_counts": func(c *code, p *packed) {
		c.line("let njnt = %du;", p.count("H_NJNT"))
		c.line("let npair = %du;", p.count("H_NPAIR"))
		c.line("let h = %s;", p.lit("H_F_OPT", 0))
	},
	"body_node":  func(c *code, p *packed) { table(c, "b", p.fieldN("H_BODY_NODE", p.count("H_NBODY")), "i32") },
	"body_root":  func(c *code, p *packed) { table(c, "b", p.fieldN("H_BODY_ROOT", p.count("H_NBODY")), "u32") },
	"site_body":  func(c *code, p *packed) { table(c, "s", p.fieldN("H_SITE_BODY", p.nsite), "u32") },
	"dof_parent": func(c *code, p *packed) { table(c, "i", p.fieldN("H_DOF_PARENT", p.count("H_NV")), "i32") },
	"body_poses": func(c *code, p *packed) {
		for b := 1; b < p.count("H_NBODY"); b++ {
			jadr, jnum := p.field("H_BODY_JNTADR", b), p.field("H_BODY_JNTNUM", b)
			if jnum > 0 && p.field("H_JNT_TYPE", jadr) == jntFree {
				c.line("body_begin_free(%du, %du, %du);", b, jadr, p.field("H_JNT_QPOSADR", jadr))
				jadr++
				jnum--
			} else {
				pos := p.vec("H_F_BODY_POS", 3, b)
				if k := p.field("H_BODY_PARAM", b); k >= 0 {
					pos = fmt.Sprintf("param_pos(%du)", k) // placed per problem
				}
				c.line("body_begin(%du, %du, %s, %s);", b, p.field("H_BODY_PARENT", b), pos, p.vec("H_F_BODY_QUAT", 4, b))
			}
			for j := jadr; j < jadr+jnum; j++ {
				qa := p.field("H_JNT_QPOSADR", j)
				c.line("body_joint(%du, %du, %d, %s, %s, %s);", j, qa, p.field("H_JNT_TYPE", j),
					p.vec("H_F_JNT_POS", 3, j), p.vec("H_F_JNT_AXIS", 3, j), p.lit("H_F_QPOS0", qa))
			}
			c.line("body_end(%du, %s);", b, p.vec("H_F_BODY_IPOS", 3, b))
		}
	},
	"com_pos": func(c *code, p *packed) {
		for j := 0; j < p.count("H_NJNT"); j++ {
			b := p.field("H_JNT_BODY", j)
			c.line("joint_axes(%du, %d, %du, %du, %du);", j, p.field("H_JNT_TYPE", j), b, p.field("H_BODY_ROOT", b), p.field("H_JNT_DOFADR", j))
		}
	},
	"com_vel": func(c *code, p *packed) {
		for i := 0; i < p.count("H_NV"); i++ {
			c.line("dof_vel(%du, %d, %d, %du);", i, p.field("H_DOF_PARENT", i), p.field("H_DOF_KIND", i), max(p.field("H_DOF_FREEBASE", i), 0))
		}
	},
	"contacts": func(c *code, p *packed) {
		// One collide_K per pair, of its kind only; pairs of two static
		// bodies are left out.
		for pi := 0; pi < p.count("H_NPAIR"); pi++ {
			if p.floats[p.count("H_F_PAIR")+kconst("PAIR_F")*pi+1] == 0 {
				continue
			}
			g1, g2, kind := p.field("H_PAIR", 3*pi), p.field("H_PAIR", 3*pi+1), p.field("H_PAIR", 3*pi+2)
			b1, b2 := p.field("H_GEOM_BODY", g1), p.field("H_GEOM_BODY", g2)
			pf := make([]string, kconst("PAIR_F"))
			for k := range pf {
				pf[k] = p.lit("H_F_PAIR", kconst("PAIR_F")*pi+k)
			}
			c.line("{ let g = pair_geoms(%du, %du, %du, %du, %du, %d, %d, %du, %du, %t, %s, %s, %s, %s, %s, %s, PairF(%s)); if (g.ok) { collide_%d(%du, g); } }",
				pi, g1, g2, b1, b2, p.field("H_BODY_NODE", b1), p.field("H_BODY_NODE", b2), p.field("H_BODY_ROOT", b1), p.field("H_BODY_ROOT", b2), kind > pairPlaneBox,
				p.vec("H_F_GEOM_POS", 3, g1), p.mat3("H_F_GEOM_MAT", g1), p.vec("H_F_GEOM_SIZE", 3, g1),
				p.vec("H_F_GEOM_POS", 3, g2), p.mat3("H_F_GEOM_MAT", g2), p.vec("H_F_GEOM_SIZE", 3, g2),
				strings.Join(pf, ", "), kind, pi)
		}
	},
	"actuation": func(c *code, p *packed) {
		for i := 0; i < p.count("H_NV"); i++ {
			c.line("dof_passive(%du, h);", i)
		}
		for j := 0; j < p.count("H_NJNT"); j++ {
			t := p.field("H_JNT_TYPE", j)
			if t != jntHinge && t != jntSlide {
				continue
			}
			lj, gate := p.field("H_JNT_LOCKJNT", j), 0
			if lj >= 0 {
				gate = p.field("H_JNT_QPOSADR", lj)
			}
			c.line("joint_passive(%du, %du, %du, %t, %t, %du, h);", j, p.field("H_JNT_QPOSADR", j), p.field("H_JNT_DOFADR", j),
				p.field("H_JNT_LIMITED", j) != 0, lj >= 0, gate)
		}
		for a := 0; a < p.count("H_NU"); a++ {
			j := p.field("H_ACT_TRN", a)
			if p.field("H_ACT_TRNTYPE", a) == trnTendon {
				w0, nw := p.field("H_TENDON", 2*j), p.field("H_TENDON", 2*j+1)
				c.line("tendon_l = 0.0;")
				c.line("tendon_v = 0.0;")
				for w := w0; w < w0+nw; w++ {
					jw := p.field("H_WRAP_JNT", w)
					c.line("tendon_add(%du, %du, %du);", w, p.field("H_JNT_QPOSADR", jw), p.field("H_JNT_DOFADR", jw))
				}
				c.line("{")
				c.line("\tlet f = actuator_force(%du, tendon_l, tendon_v);", a)
				for w := w0; w < w0+nw; w++ {
					c.line("\ttendon_apply(%du, %du, f);", w, p.field("H_JNT_DOFADR", p.field("H_WRAP_JNT", w)))
				}
				c.line("}")
				continue
			}
			da := p.field("H_JNT_DOFADR", j)
			c.line("qfrc[%du] += actuator_force(%du, qpos[%du], qvel[%du]);", da, a, p.field("H_JNT_QPOSADR", j), da)
		}
	},
	"set_ctrl": func(c *code, p *packed) {
		for a := 0; a < p.count("H_NU"); a++ {
			c.line("ctrl[%du] = ctrl_of(%du);", a, a)
			if p.field("H_CTRL_REL", a) == 0 {
				continue
			}
			j := p.field("H_ACT_TRN", a)
			if p.field("H_ACT_TRNTYPE", a) == trnTendon {
				w0, nw := p.field("H_TENDON", 2*j), p.field("H_TENDON", 2*j+1)
				for w := w0; w < w0+nw; w++ {
					c.line("ctrl_add(%du, %du, %du);", a, w, p.field("H_JNT_QPOSADR", p.field("H_WRAP_JNT", w)))
				}
			} else {
				c.line("ctrl[%du] += qpos_before[%du];", a, p.field("H_JNT_QPOSADR", j))
			}
		}
	},
	"acceleration": func(c *code, p *packed) {
		nv, nbody := p.count("H_NV"), p.count("H_NBODY")
		for i := 0; i < nv; i++ {
			c.line("rbi[%du] = Rigid();", i)
			c.line("ia[%du] = S21();", i)
		}
		for b := 1; b < nbody; b++ {
			if n := p.field("H_BODY_NODE", b); n >= 0 {
				c.line("aba_body(%du, %du, %du, %s, %s);", b, n, p.field("H_BODY_ROOT", b), p.lit("H_F_BODY_MASS", b), p.mat3("H_F_BODY_ROTI", b))
			}
		}
		for i := 0; i < nv; i++ {
			c.line("aba_bias(%du);", i)
		}
		for i := nv - 1; i >= 0; i-- {
			c.line("aba_back(%du, %d, %s);", i, p.field("H_DOF_PARENT", i), p.lit("H_F_DOF_ARM", i))
		}
		g := fmt.Sprintf("vec3<f32>(%s, %s, %s)", p.lit("H_F_OPT", 1), p.lit("H_F_OPT", 2), p.lit("H_F_OPT", 3))
		for i := 0; i < nv; i++ {
			c.line("aba_fwd(%du, %d, %s);", i, p.field("H_DOF_PARENT", i), g)
		}
	},
	"integrate": func(c *code, p *packed) {
		for i := 0; i < p.count("H_NV"); i++ {
			c.line("qvel[%du] += h * qacc[%du];", i, i)
		}
		for j := 0; j < p.count("H_NJNT"); j++ {
			qa, da := p.field("H_JNT_QPOSADR", j), p.field("H_JNT_DOFADR", j)
			if p.field("H_JNT_TYPE", j) == jntFree {
				c.line("integrate_free(%du, %du, h);", qa, da)
			} else {
				c.line("qpos[%du] += h * qvel[%du];", qa, da)
			}
		}
	},
	// The soft constraints' rows of dry friction (dofs with a friction
	// loss), joint limits (limited hinges and slides) and tendon limits
	// (limited tendons), as make_rows' generic drivers choose them.
	"dry_rows": func(c *code, p *packed) {
		o := p.count("H_F_EFC_DOF")
		for i := 0; i < p.count("H_NV"); i++ {
			k := o + kconst("EFC_DOF_F")*i
			if !(p.floats[k] > 0) {
				continue
			}
			c.line("dry_row(%du, %s, %s, %s);", i, f32lit(p.floats[k]), f32lit(p.floats[k+1]), f32lit(p.floats[k+2]))
		}
	},
	"limit_rows": func(c *code, p *packed) {
		for j := 0; j < p.count("H_NJNT"); j++ {
			t := p.field("H_JNT_TYPE", j)
			if p.field("H_JNT_LIMITED", j) == 0 || (t != jntHinge && t != jntSlide) {
				continue
			}
			lj, gate := p.field("H_JNT_LOCKJNT", j), 0
			if lj >= 0 {
				gate = p.field("H_JNT_QPOSADR", lj)
			}
			c.line("joint_limit_rows(%du, %du, %du, %t, %du);", j, p.field("H_JNT_QPOSADR", j), p.field("H_JNT_DOFADR", j), lj >= 0, gate)
		}
	},
	"tendon_rows": func(c *code, p *packed) {
		o := p.count("H_F_EFC_TEN")
		for t := 0; t < p.count("H_NTENDON"); t++ {
			if p.floats[o+kconst("EFC_TEN_F")*t] == 0 {
				continue
			}
			w0, nw := p.field("H_TENDON", 2*t), p.field("H_TENDON", 2*t+1)
			c.line("tendon_l = 0.0;")
			c.line("tendon_v = 0.0;")
			for w := w0; w < w0+nw; w++ {
				jw := p.field("H_WRAP_JNT", w)
				c.line("tendon_add(%du, %du, %du);", w, p.field("H_JNT_QPOSADR", jw), p.field("H_JNT_DOFADR", jw))
			}
			c.line("tendon_limit_rows(%du);", t)
		}
	},
	// crba for the model's tree: the composite inertias summed from the
	// leaves, then per dof its diagonal entry and one per ancestor; the
	// entries of dofs on different branches are zero.
	"crba": func(c *code, p *packed) {
		nv := p.count("H_NV")
		for i := 0; i < nv; i++ {
			c.line("crb[%du] = rbi[%du];", i, i)
		}
		for i := nv - 1; i >= 0; i-- {
			if q := p.field("H_DOF_PARENT", i); q >= 0 {
				c.line("crb[%du] = add_rigid(crb[%du], crb[%du]);", q, q, i)
			}
		}
		set := make([]bool, nv*nv)
		for i := 0; i < nv; i++ {
			set[i*nv+i] = true
			for j := p.field("H_DOF_PARENT", i); j >= 0; j = p.field("H_DOF_PARENT", j) {
				set[i*nv+j], set[j*nv+i] = true, true
			}
		}
		for k, ok := range set {
			if !ok {
				c.line("mmat[%du] = 0.0;", k)
			}
		}
		for i := 0; i < nv; i++ {
			c.line("{")
			c.line("	let f = crba_diag(%du, %du, %s);", i, nv, p.lit("H_F_DOF_ARM", i))
			for j := p.field("H_DOF_PARENT", i); j >= 0; j = p.field("H_DOF_PARENT", j) {
				c.line("	crba_off(%du, %du, %du, f);", i, j, nv)
			}
			c.line("}")
		}
	},
	"damped": func(c *code, p *packed) {
		damped := false
		for i := 0; i < p.count("H_NV"); i++ {
			damped = damped || p.floats[p.count("H_F_DOF_DAMP")+i] > 0
		}
		c.line("damped = %t;", damped)
	},
	"limit_active": func(c *code, p *packed) {
		for j := 0; j < p.count("H_NJNT"); j++ {
			if p.field("H_JNT_LIMITED", j) == 0 || p.field("H_JNT_TYPE", j) == jntFree {
				continue
			}
			c.line("on = on || beyond_range(%du, %du);", j, p.field("H_JNT_QPOSADR", j))
		}
	},
	"step_value": func(c *code, p *packed) {
		for k := 0; k < p.count("H_NTERM"); k++ {
			c.line("v += term_value(%du, %d, %du, %du, nu, nv, nbody);", k, p.field("H_TERM_KIND", k),
				max(p.field("H_TERM_I", k), 0), max(p.field("H_TERM_J", k), 0))
		}
	},
	"observe": func(c *code, p *packed) {
		k := 0
		for s := 0; s < p.count("H_NOBS_SEG"); s++ {
			kind, i0, i1 := p.field("H_OBS_SEG", 3*s), p.field("H_OBS_SEG", 3*s+1), p.field("H_OBS_SEG", 3*s+2)
			if kind == 0 || kind == 1 || kind == 6 {
				for i := i0; i < i1; i++ {
					c.line("obs_entry(%du, %d, %du);", k, kind, i)
					k++
				}
				continue
			}
			c.line("obs_vec(%du, %du, %d, %du, %du);", k, s, kind, i0, i1)
			if kind == 7 {
				k++
			} else {
				k += 3
			}
		}
	},
}

// Kinds as rollout.wgsl numbers them (JNT_*, TRN_TENDON).
const (
	jntFree   = 0
	jntSlide  = 2
	jntHinge  = 3
	trnTendon = 3

	pairPlaneBox = 2

	termQposDelta = 4 // TERM_QPOS_DELTA
)
