package gpu

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
)

// packed is a model and task flattened into the kernel's two model buffers:
// ints (model_i) and floats (model_f). model_i starts with a header of
// H_SIZE slots (names H_* in rollout.wgsl) that hold counts and the offset
// of each field, in model_i for integer fields and in model_f for H_F_*.
type packed struct {
	ints   []int32
	floats []float32
	nsite  int // sites, for the kernel's site table (specialize.go)
	// the most constraint rows and contacts one step of the model can
	// have, for sizing the specialised kernel's arrays (constraint_pack.go)
	efcRows, efcCon int
}

func newPacked() *packed {
	return &packed{ints: make([]int32, kconst("H_SIZE"))}
}

func (p *packed) set(slot string, v int) { p.ints[kconst(slot)] = int32(v) }

// addInts records the offset of an integer field in its slot and appends it.
func (p *packed) addInts(slot string, vals ...int) {
	p.set(slot, len(p.ints))
	for _, v := range vals {
		p.ints = append(p.ints, int32(v))
	}
}

// addFloats records the offset of a float field in its slot and appends it.
func (p *packed) addFloats(slot string, vals ...float64) {
	p.set(slot, len(p.floats))
	for _, v := range vals {
		p.floats = append(p.floats, float32(v))
	}
}

// checkLimits rejects a model or task above the kernel's private arrays,
// naming the limit.
func checkLimits(t *batchsim.Task) error {
	m := t.Model
	if err := checkTaskFeatures(t); err != nil {
		return err
	}
	if t.FrameSkip < 1 {
		return fmt.Errorf("gpu: task %s has frame skip %d, want at least 1", t.Name, t.FrameSkip)
	}
	for _, c := range []struct {
		what     string
		n, limit int
		name     string
	}{
		{"bodies", m.Nbody, kconst("MAX_BODIES"), "batchsim.MaxBodies"},
		{"dofs", m.Nv, kconst("MAX_DOFS"), "batchsim.MaxDofs"},
		{"qpos entries", m.Nq, kconst("MAX_QPOS"), "batchsim.MaxQpos"},
		{"actuators", m.Nu, kconst("MAX_ACTUATORS"), "batchsim.MaxActuators"},
		{"contact pairs", m.Npair, kconst("MAX_CONTACT_PAIRS"), "batchsim.MaxContactPairs"},
		{"observation entries", t.ObsDim(), kconst("MAX_WIDTH"), "the kernel's MAX_WIDTH"},
	} {
		if c.n > c.limit {
			return fmt.Errorf("gpu: task %s (model %s) has %d %s, above the kernel's limit %s = %d",
				t.Name, m.Name, c.n, c.what, c.name, c.limit)
		}
	}
	return nil
}

// packTask flattens t and its model.
func packTask(t *batchsim.Task) (*packed, error) {
	if err := checkLimits(t); err != nil {
		return nil, err
	}
	m := t.Model
	p := newPacked()
	p.set("H_NQ", m.Nq)
	p.set("H_NV", m.Nv)
	p.set("H_NU", m.Nu)
	p.set("H_NBODY", m.Nbody)
	p.set("H_NJNT", m.Njnt)
	p.set("H_NGEOM", m.Ngeom)
	p.set("H_NPAIR", m.Npair)
	p.set("H_FRAME_SKIP", t.FrameSkip)
	p.set("H_NTERM", len(t.Cost))
	p.set("H_NOBS_SEG", len(t.Obs))
	p.set("H_NOBS", t.ObsDim())
	p.set("H_NPARAM", t.NParam)
	p.nsite = m.Nsite
	bodyParam := make([]int, m.Nbody)
	for b := range bodyParam {
		bodyParam[b] = -1
	}
	for _, bp := range t.BodyPos {
		bodyParam[bp.Body] = bp.Param
	}
	p.addInts("H_BODY_PARAM", bodyParam...)

	kinds := make([]int, len(t.Cost))
	idx := make([]int, len(t.Cost))
	jdx := make([]int, len(t.Cost))
	xs := make([]float64, len(t.Cost))
	ws := make([]float64, len(t.Cost))
	for k, tm := range t.Cost {
		kinds[k], idx[k], jdx[k], xs[k], ws[k] = int(tm.Kind), tm.I, tm.J, tm.X, tm.W
	}
	p.addInts("H_TERM_KIND", kinds...)
	p.addInts("H_TERM_I", idx...)
	p.addInts("H_TERM_J", jdx...)
	var seg []int
	var segX []float64
	sites := 0
	for _, s := range t.Obs {
		seg = append(seg, int(s.Kind), s.From, s.To)
		segX = append(segX, s.X)
		if s.Kind == batchsim.ObsSitePos || s.Kind == batchsim.ObsSiteRel {
			sites = 1
		}
	}
	p.addInts("H_OBS_SEG", seg...)
	p.set("H_OBS_SITES", sites)
	rel := make([]int, m.Nu)
	for a, r := range t.CtrlRelative {
		if r {
			rel[a] = 1
		}
	}
	p.addInts("H_CTRL_REL", rel...)

	g := m.Opt.Gravity
	p.addFloats("H_F_OPT", m.Opt.Timestep, g[0], g[1], g[2], t.ControlDt())
	p.addFloats("H_F_TERM_X", xs...)
	p.addFloats("H_F_OBS_X", segX...)
	p.addFloats("H_F_TERM_W", ws...)
	p.addFloats("H_F_CTRL_OFS", t.CtrlOffset...)
	p.addFloats("H_F_CTRL_SCL", t.CtrlScale...)

	packPhysics(p, m)
	if len(p.floats) == 0 {
		p.floats = append(p.floats, 0) // a binding may not be empty
	}
	return p, nil
}

// packPolicy flattens a policy network for the kernel's policy buffer (see
// rollout.wgsl): a header of bit-cast u32 counts and offsets, then the
// normaliser, the action bounds and each layer's weights and biases.
func packPolicy(pn *batchsim.PolicyNet) ([]float32, error) {
	maxW := kconst("MAX_WIDTH")
	if w := pn.MaxWidth(); w > maxW {
		return nil, fmt.Errorf("gpu: policy layer of width %d above the kernel's MAX_WIDTH = %d", w, maxW)
	}
	if len(pn.Layers) == 0 {
		return nil, fmt.Errorf("gpu: policy has no layers")
	}
	if len(pn.ObsStd) != len(pn.ObsMean) || pn.Layers[0].In != len(pn.ObsMean) ||
		pn.Layers[len(pn.Layers)-1].Out != len(pn.ActLow) || len(pn.ActHigh) != len(pn.ActLow) {
		return nil, fmt.Errorf("gpu: policy shapes disagree: %d obs mean, %d obs std, first layer in %d, last layer out %d, %d/%d action bounds",
			len(pn.ObsMean), len(pn.ObsStd), pn.Layers[0].In, pn.Layers[len(pn.Layers)-1].Out, len(pn.ActLow), len(pn.ActHigh))
	}
	base := kconst("P_LAYERS")
	buf := make([]float32, base+4*len(pn.Layers))
	u := func(k, v int) { buf[k] = f32bits(uint32(v)) }
	app := func(vals []float64) int {
		off := len(buf)
		for _, v := range vals {
			buf = append(buf, float32(v))
		}
		return off
	}
	u(kconst("P_NLAYERS"), len(pn.Layers))
	u(kconst("P_NOBS"), len(pn.ObsMean))
	u(kconst("P_OBS_MEAN"), app(pn.ObsMean))
	u(kconst("P_OBS_STD"), app(pn.ObsStd))
	u(kconst("P_ACT_LO"), app(pn.ActLow))
	u(kconst("P_ACT_HI"), app(pn.ActHigh))
	for l, d := range pn.Layers {
		if l > 0 && d.In != pn.Layers[l-1].Out || len(d.W) != d.In*d.Out || len(d.B) != d.Out {
			return nil, fmt.Errorf("gpu: policy layer %d: %d×%d with %d weights and %d biases does not chain", l, d.Out, d.In, len(d.W), len(d.B))
		}
		k := base + 4*l
		u(k, d.In)
		u(k+1, d.Out)
		u(k+2, app(d.W))
		u(k+3, app(d.B))
	}
	return buf, nil
}
