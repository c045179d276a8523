package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/apex-robotics/apex/internal/par"
	"github.com/apex-robotics/apex/shaders"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Planner is the iCEM / iCEMπ planner on the device (issue 14): one
// planning step for P problems, all its CEM iterations, is one command
// submission. The
// noise (Philox-4x32-10 keyed like icem's per-sample streams, the same
// ziggurat, the colored-noise filter as an h×h matrix), μ + σ⊙noise,
// clipping, the rollouts and costs, λ, the top-K elites, elite reuse, the
// mean sample, the momentum update and the best sample all run in WGSL
// (shaders/planner.wgsl around shaders/rollout.wgsl); μ, σ and the elites
// stay on the device between steps. With a policy (SetPolicy), its own
// h-step rollout from each start state, for iCEMπ's warm start and policy
// sample, runs first in the same submission as closed-loop worlds of the
// rollout kernel (one per problem; the policy acts on their states). The
// host uploads start states, a few words per problem and the policy's
// weights, and reads back the executed actions, the predicted costs, λ,
// the non-finite count and the policy rollouts' failures: bytes
// independent of N.
//
// It implements icem.StepPlanner with icem's semantics
// (docs/design/PLANNER.md, "The planner on the device" says what is equal
// and what only statistically so). Its problems are icem.NewBareProblem
// values (NewProblem); each keeps a slot of device memory for as long as
// the Planner lives or until Forget. With a policy (SetPolicy) the guidance cost is the
// rollout kernel's and λ adaptive (or fixed) on the device. A policy the
// kernel cannot run (no network, or bounds other than the task's) has its
// rollouts made on the host, as the host planner makes them, and
// uploaded. Not safe for concurrent use.
type Planner struct {
	ev     *Evaluator // the rollout kernel, its model and start-state buffers
	dev    *Device
	ownDev bool
	task   *batchsim.Task
	cfg    icem.Config // defaults applied
	pops   []int
	reuse  int
	h, nu  int
	hd     int
	white  bool
	// lambdaMode is cfg's λ rule as plan_rank takes it: 0 while no policy
	// is set (λ = 0, f = J, as icem.Planner), 1 adaptive, 2 fixed. Tests
	// set it to check Eq. 4 on known costs.
	lambdaMode uint32

	*plannerKernel        // held in the device's kernel cache
	doneKernel     func() // gives it back

	bufs  [pnBinding]*wgpu.Buffer
	sizes [pnBinding]uint64
	// cfgTable holds one Cfg per CEM iteration, dimsTable the rollout's
	// Dims per iteration and horizon chunk: copied into the uniforms
	// between the passes of the one submission.
	cfgTable, dimsTable, readRes *wgpu.Buffer
	cfgSize, dimsSize, readSize  uint64
	tablesFor                    int // P the tables were written for (0: none)
	nchunk                       int // rollout dispatches per iteration

	group     *wgpu.BindGroup
	groupKey  [pnBinding]*wgpu.Buffer
	rgroup    *wgpu.BindGroup // the rollout's, with acts_out as its actions_in
	rgroupKey [nBinding]*wgpu.Buffer
	// pgroup is the policy worlds' rollout group: pi_in as their
	// states_out, where they write the policy's actions.
	pgroup    *wgpu.BindGroup
	pgroupKey [nBinding]*wgpu.Buffer
	npchunk   int // closed-loop dispatches of the policy worlds

	slots    map[*icem.Problem]int
	free     []int // slots given back by Forget
	fresh    map[*icem.Problem]bool
	capSlots int // slots mem_out holds

	// iCEMπ: the policy; piDevice when its rollouts run as closed-loop
	// worlds on the device, else per problem its h-step rollout made on
	// the host each step (icem.RolloutPolicy, as the host planner makes
	// it) with one scratch Env per worker.
	policy   icem.Policy
	piDevice bool
	piRoll   []float64 // (P × hd)
	piOK     []bool    // (P)
	piEnvs   []*batchsim.Env
	workers  int

	probBytes, startBytes, resBytes, piBytes []byte
	scratch                                  []float32
}

var (
	_ icem.StepPlanner = (*Planner)(nil)
	_ icem.Forgetter   = (*Planner)(nil)
	_ icem.Sequencer   = (*Planner)(nil)
)

// Bindings of planner.wgsl, in order.
const (
	pbTables = iota
	pbCfg
	pbProb
	pbPi
	pbCost
	pbActs
	pbMem
	pbRes
	pnBinding
)

var plannerBindingNames = [pnBinding]string{"tables", "cfg_in", "prob_in", "pi_in", "cost_in", "acts_out", "mem_out", "res_out"}

const (
	plannerShader = "planner.wgsl"
	cfgWords      = 32 // struct Cfg
	cfgBytes      = 4 * cfgWords
)

// pconst returns a u32 constant of planner.wgsl (the host reads the
// kernel's limits from its source, as kconst does for the rollout).
func pconst(name string) int { return shaderConst(plannerShader, name) }

// NewPlanner returns a device planner for task with the settings cfg
// (icem.Config; Workers is ignored). o chooses the device as for
// NewEvaluator (MaxWorldsPerDispatch must be 0: the planner's worlds run
// in one dispatch per horizon chunk). Settings the kernels cannot hold are
// refused here, naming the limit, before anything is allocated on the
// device.
func NewPlanner(task *batchsim.Task, cfg icem.Config, o Options) (*Planner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if task == nil || task.Model == nil {
		return nil, fmt.Errorf("gpu: new planner: nil task or model")
	}
	d := cfg.WithDefaults()
	nu := task.Model.Nu
	if nu < 1 || len(task.ActLow) != nu || len(task.ActHigh) != nu {
		return nil, fmt.Errorf("gpu: planner: task %q: %d actuators with %d/%d action bounds", task.Name, nu, len(task.ActLow), len(task.ActHigh))
	}
	for i := range nu {
		lo, hi := task.ActLow[i], task.ActHigh[i]
		if !(hi >= lo) || math.IsInf(hi-lo, 0) || math.Abs(lo) > math.MaxFloat32 || math.Abs(hi) > math.MaxFloat32 {
			return nil, fmt.Errorf("gpu: planner: task %q: action %d bounds [%v, %v]", task.Name, i, lo, hi)
		}
	}
	p := &Planner{task: task, cfg: d, h: d.Horizon, nu: nu, hd: d.Horizon * nu, workers: o.Workers,
		pops: d.Populations(), reuse: int(math.Floor(d.Xi * float64(d.Elites))),
		white: d.Beta == 0 || d.Horizon == 1, slots: map[*icem.Problem]int{}, fresh: map[*icem.Problem]bool{}}
	if p.workers <= 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxWorldsPerDispatch != 0 {
		return nil, fmt.Errorf("gpu: planner: MaxWorldsPerDispatch must be 0 (the planner runs all its worlds in one dispatch per horizon chunk)")
	}
	if err := p.checkConfig(); err != nil {
		return nil, err
	}
	dev := o.Device
	if dev == nil {
		var err error
		if dev, err = NewDevice(); err != nil {
			return nil, err
		}
		p.ownDev = true
	}
	p.dev = dev
	if err := p.init(o); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// checkConfig refuses settings beyond the kernels' fixed sizes.
func (p *Planner) checkConfig() error {
	d := p.cfg
	for _, c := range []struct {
		what       string
		have, most int
		name       string
	}{
		{"horizon", p.h, pconst("MAX_H"), "MAX_H"},
		{"horizon × nu (one action sequence)", p.hd, pconst("MAX_HD"), "MAX_HD"},
		{"elites K", d.Elites, pconst("MAX_K"), "MAX_K"},
	} {
		if c.have > c.most {
			return fmt.Errorf("gpu: planner: %s %d above the device planner's limit %s = %d (%s); use the host planner",
				c.what, c.have, c.name, c.most, plannerShader)
		}
	}
	return nil
}

// init compiles the kernels and uploads the tables.
func (p *Planner) init(o Options) error {
	ev, err := NewEvaluator(Options{Device: p.dev, StepsPerDispatch: o.StepsPerDispatch, Kernel: o.Kernel, Workers: o.Workers})
	if err != nil {
		return err
	}
	p.ev = ev
	if err := ev.setTask(p.task); err != nil {
		return err
	}
	if p.dev.Info.Software {
		// plan_sample's loops per invocation: the draws (about 1.05
		// iterations each) and the filter (h per value).
		loops := p.nu*p.h*(p.h+2) + 2*p.hd + 64
		if p.white {
			loops = 2*p.hd + 64
		}
		if loops > loopBudget {
			return fmt.Errorf("gpu: planner: one sample's noise takes about %d loop iterations (nu %d × horizon %d²), above the %d a software adapter (%s) runs per invocation; use the host planner or a shorter horizon",
				loops, p.nu, p.h, loopBudget, p.dev.Info.Name)
		}
	}
	if p.plannerKernel, p.doneKernel, err = cachedKernel(p.dev, plannerShader, p.dev.plannerKernel); err != nil {
		return err
	}
	tab := p.tables()
	if err := p.ensure(pbTables, uint64(4*len(tab))); err != nil {
		return err
	}
	if err := p.dev.WriteBuffer(p.bufs[pbTables], 0, f32bytes(tab)); err != nil {
		return err
	}
	return p.ensure(pbCfg, cfgBytes)
}

// plannerKernel is the planner's three entry points over one explicit
// bind group layout (an "auto" layout would hold only the bindings each
// one uses).
type plannerKernel struct {
	module                 *wgpu.ShaderModule
	bgl                    *wgpu.BindGroupLayout
	layout                 *wgpu.PipelineLayout
	pBegin, pSample, pRank *wgpu.ComputePipeline
}

// plannerKernel compiles shaders/planner.wgsl.
func (d *Device) plannerKernel() (*plannerKernel, func(), error) {
	k := &plannerKernel{}
	release := func() {
		for _, pl := range []*wgpu.ComputePipeline{k.pBegin, k.pSample, k.pRank} {
			if pl != nil {
				pl.Release()
			}
		}
		if k.layout != nil {
			k.layout.Release()
		}
		if k.bgl != nil {
			k.bgl.Release()
		}
		if k.module != nil {
			k.module.Release()
		}
	}
	fail := func(err error) (*plannerKernel, func(), error) { release(); return nil, nil, err }
	var err error
	if k.module, err = d.CreateShaderModule(plannerShader, shaders.MustSource(plannerShader)); err != nil {
		return fail(err)
	}
	entries := make([]wgpu.BindGroupLayoutEntry, pnBinding)
	for i := range entries {
		typ := wgpu.BufferBindingType_Storage
		switch {
		case i == pbCfg:
			typ = wgpu.BufferBindingType_Uniform
		case i < pbActs:
			typ = wgpu.BufferBindingType_ReadOnlyStorage
		}
		entries[i] = wgpu.BindGroupLayoutEntry{Binding: uint32(i), Visibility: wgpu.ShaderStage_Compute, Buffer: wgpu.BufferBindingLayout{Type: typ}}
	}
	if k.bgl, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "planner", Entries: entries}); err != nil {
		return fail(fmt.Errorf("gpu: planner bind group layout: %w", err))
	}
	if k.layout, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "planner", BindGroupLayouts: []*wgpu.BindGroupLayout{k.bgl}}); err != nil {
		return fail(fmt.Errorf("gpu: planner pipeline layout: %w", err))
	}
	for _, e := range []struct {
		pipe **wgpu.ComputePipeline
		name string
	}{{&k.pBegin, "plan_begin"}, {&k.pSample, "plan_sample"}, {&k.pRank, "plan_rank"}} {
		pl, err := d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{Label: e.name, Layout: k.layout,
			Compute: wgpu.ProgrammableStageDescriptor{Module: k.module, EntryPoint: e.name}})
		if err != nil {
			return fail(fmt.Errorf("gpu: create compute pipeline %q: %w", e.name, err))
		}
		*e.pipe = pl
	}
	return k, release, nil
}

// tables is the Model binding: the filter matrix, the ziggurat's tables,
// the action bounds, σ_init and the middle of the range.
func (p *Planner) tables() []float32 {
	var out []float32
	for _, v := range icem.NewColoredNoise(p.cfg.Beta, p.h).Matrix() {
		out = append(out, float32(v))
	}
	zk, zw, zf := icem.ZigguratTables()
	for _, k := range zk {
		out = append(out, math.Float32frombits(k))
	}
	for _, v := range zw {
		out = append(out, float32(v))
	}
	for _, v := range zf {
		out = append(out, float32(v))
	}
	lo, hi := p.task.ActLow, p.task.ActHigh
	out = appendF32(out, lo)
	out = appendF32(out, hi)
	for i := range p.nu {
		out = append(out, float32(p.cfg.SigmaInit*(hi[i]-lo[i])/2))
	}
	for i := range p.nu {
		out = append(out, float32((lo[i]+hi[i])/2))
	}
	return out
}

// Name describes the planner and its device.
func (p *Planner) Name() string {
	return "device planner (WGSL float32 on " + p.dev.Info.String() + ")"
}

// Config returns the settings, defaults applied.
func (p *Planner) Config() icem.Config { return p.cfg }

// Task returns the planner's task.
func (p *Planner) Task() *batchsim.Task { return p.task }

// SetPolicy implements icem.StepPlanner: the policy π of iCEMπ (nil:
// plain iCEM). Its network goes to the rollout kernel for the guidance cost
// (a policy whose Net is nil has none, as on the host); its h-step
// rollout for the warm start and the policy sample is made each step by P
// closed-loop worlds on the device, or, for a policy the kernel cannot run
// as the host does (kernelRunsPolicy), on the host and uploaded (h × nu
// floats per problem, independent of N). Call it again whenever π's
// weights change.
func (p *Planner) SetPolicy(pi icem.Policy) error {
	var net *batchsim.PolicyNet
	if pi != nil {
		net = pi.Net()
	}
	if err := p.ev.SetPolicy(net); err != nil {
		return fmt.Errorf("gpu: planner: set policy: %w", err)
	}
	p.policy = pi
	p.piDevice = net != nil && kernelRunsPolicy(p.task, net)
	p.lambdaMode = 0
	if pi != nil {
		p.lambdaMode = 1
		if p.cfg.Lambda == icem.LambdaFixed {
			p.lambdaMode = 2
		}
	}
	p.tablesFor = 0 // the settings and the rollouts' dims change
	return nil
}

// kernelRunsPolicy reports whether the rollout kernel's policy worlds make
// the rollout icem.RolloutPolicy makes: the network squashes into the
// task's action bounds, so the host's clipping changes nothing.
func kernelRunsPolicy(t *batchsim.Task, net *batchsim.PolicyNet) bool {
	if len(net.ActLow) != len(t.ActLow) || len(net.ActHigh) != len(t.ActHigh) {
		return false
	}
	for j := range t.ActLow {
		if net.ActLow[j] != t.ActLow[j] || net.ActHigh[j] != t.ActHigh[j] {
			return false
		}
	}
	return true
}

// hasPi reports whether the problems get a policy rollout this step.
func (p *Planner) hasPi() bool {
	return p.policy != nil && (!p.cfg.NoWarmStart || !p.cfg.NoPolicySample)
}

// piWorlds reports whether this step's policy rollouts are closed-loop
// worlds on the device.
func (p *Planner) piWorlds() bool { return p.hasPi() && p.piDevice }

// rolloutPolicies makes each problem's policy rollout on the host workers.
func (p *Planner) rolloutPolicies(problems []*icem.Problem) {
	np := len(problems)
	p.piRoll = resizeF64(p.piRoll, np*p.hd)
	if cap(p.piOK) < np {
		p.piOK = make([]bool, np)
	}
	p.piOK = p.piOK[:np]
	for len(p.piEnvs) < p.workers {
		p.piEnvs = append(p.piEnvs, batchsim.NewEnv(p.task))
	}
	par.For(p.workers, np, func(g, k int) {
		p.piOK[k] = icem.RolloutPolicy(p.piEnvs[g], p.policy, problems[k], p.piRoll[k*p.hd:(k+1)*p.hd])
	})
}

func resizeF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// NewProblem returns problem index of a run with the given seed
// (icem.NewBareProblem): the same noise keys as the host planner's.
func (p *Planner) NewProblem(seed uint64, index int) *icem.Problem {
	return icem.NewBareProblem(p.task, seed, index)
}

// Forget gives the device memory of problems back for reuse by others:
// call it when they will not be planned again (a finished episode). A
// forgotten problem planned again starts its episode afresh.
func (p *Planner) Forget(problems ...*icem.Problem) {
	for _, pr := range problems {
		if slot, ok := p.slots[pr]; ok {
			delete(p.slots, pr)
			p.free = append(p.free, slot)
		}
	}
}

// Close releases the kernels, buffers and the device if the planner opened
// it.
func (p *Planner) Close() error {
	if p.group != nil {
		p.group.Release()
	}
	if p.rgroup != nil {
		p.rgroup.Release()
	}
	if p.pgroup != nil {
		p.pgroup.Release()
	}
	if p.doneKernel != nil {
		p.doneKernel()
		p.plannerKernel, p.doneKernel = nil, nil
	}
	for _, b := range []*wgpu.Buffer{p.cfgTable, p.dimsTable, p.readRes} {
		if b != nil {
			b.Release()
		}
	}
	for i, b := range p.bufs {
		if b != nil && i != pbCost { // cost_in is the evaluator's
			b.Release()
		}
	}
	*p = Planner{ev: p.ev, dev: p.dev, ownDev: p.ownDev}
	if p.ev != nil {
		p.ev.Close()
		p.ev = nil
	}
	if p.ownDev && p.dev != nil {
		err := p.dev.Close()
		p.dev = nil
		return err
	}
	return nil
}

func plannerUsage(i int) wgpu.BufferUsage {
	switch i {
	case pbCfg:
		return wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst
	case pbTables, pbProb:
		return wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopyDst
	}
	return wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopySrc | wgpu.BufferUsage_CopyDst
}

// ensure makes binding i's buffer (not cost_in, the evaluator's) hold at
// least size bytes.
func (p *Planner) ensure(i int, size uint64) error {
	size = max(align4(size), 16)
	if p.bufs[i] != nil && p.sizes[i] >= size {
		return nil
	}
	if p.bufs[i] != nil {
		p.bufs[i].Release()
		p.bufs[i] = nil
		size = align4(max(size, p.sizes[i]+p.sizes[i]/2)) // amortise growth
	}
	b, err := p.dev.CreateBuffer(plannerBindingNames[i], size, plannerUsage(i))
	if err != nil {
		return err
	}
	p.bufs[i], p.sizes[i] = b, size
	return nil
}

// ensureAux makes one of the host-written tables or the readback.
func (p *Planner) ensureAux(b **wgpu.Buffer, have *uint64, label string, size uint64, usage wgpu.BufferUsage) error {
	size = max(align4(size), 16)
	if *b != nil && *have >= size {
		return nil
	}
	if *b != nil {
		(*b).Release()
		*b = nil
	}
	nb, err := p.dev.CreateBuffer(label, size, usage)
	if err != nil {
		return err
	}
	*b, *have = nb, size
	return nil
}

// slotStride is the floats of one problem's device memory (planner.wgsl).
func (p *Planner) slotStride() int { return 3*p.hd + 2*p.cfg.Elites*p.hd + 8*p.cfg.Elites + 8 }

// resStride is the floats of one problem's results.
func (p *Planner) resStride() int { return p.nu + 4 + 2*len(p.pops) }

// growMem makes mem_out hold n slots, keeping the memory of those it held.
func (p *Planner) growMem(n int) error {
	if n <= p.capSlots && p.bufs[pbMem] != nil {
		return nil
	}
	n = max(n, min(2*p.capSlots, p.maxSlots()))
	size := uint64(n*p.slotStride()) * 4
	if lim := p.dev.Limits().MaxStorageBufferBindingSize; size > lim {
		return fmt.Errorf("gpu: planner: %d problems' memory needs %d bytes, above the device's maxStorageBufferBindingSize = %d; plan fewer problems", n, size, lim)
	}
	nb, err := p.dev.CreateBuffer("mem_out", size, plannerUsage(pbMem))
	if err != nil {
		return err
	}
	if old := p.bufs[pbMem]; old != nil {
		err := p.dev.Encode("planner memory", func(enc *wgpu.CommandEncoder) error {
			return enc.CopyBufferToBuffer(old, 0, nb, 0, p.sizes[pbMem])
		})
		if err != nil {
			nb.Release()
			return err
		}
		if err := p.dev.WaitIdle(); err != nil {
			nb.Release()
			return err
		}
		old.Release()
	}
	p.bufs[pbMem], p.sizes[pbMem], p.capSlots = nb, size, n
	return nil
}

// maxSlots is the most problems' memory one binding holds.
func (p *Planner) maxSlots() int {
	return int(p.dev.Limits().MaxStorageBufferBindingSize / uint64(4*p.slotStride()))
}

// MaxProblems is the most problems one Plan call takes on this device:
// their first iteration's samples within one rollout dispatch, their
// sequences within the workgroup count, their memory within one binding
// (checkFits' limits). Callers with more split them (apex's relabelling
// does); Plan refuses them, naming the limit.
func (p *Planner) MaxProblems() int {
	m := p.task.Model
	wg := int(p.dev.Limits().MaxComputeWorkgroupsPerDimension)
	n := p.ev.worldsPerDispatch(p.h, p.nu, 2*m.Nq+m.Nv) / p.pops[0]
	return min(n, wg, wg*64/p.hd, p.maxSlots())
}

// checkFits refuses a call the device cannot run, naming the limit.
func (p *Planner) checkFits(np int) error {
	m := p.task.Model
	lim := p.dev.Limits()
	worlds := np * p.pops[0]
	if most := p.ev.worldsPerDispatch(p.h, p.nu, 2*m.Nq+m.Nv); worlds > most {
		return fmt.Errorf("gpu: planner: %d problems × %d samples = %d worlds, above the %d one dispatch can hold (the device's maxStorageBufferBindingSize = %d and maxComputeWorkgroupsPerDimension = %d); plan fewer problems per call",
			np, p.pops[0], worlds, most, lim.MaxStorageBufferBindingSize, lim.MaxComputeWorkgroupsPerDimension)
	}
	if wg := uint64(np*p.hd+63) / 64; np > int(lim.MaxComputeWorkgroupsPerDimension) || wg > uint64(lim.MaxComputeWorkgroupsPerDimension) {
		return fmt.Errorf("gpu: planner: %d problems need more workgroups than the device's maxComputeWorkgroupsPerDimension = %d; plan fewer problems per call", np, lim.MaxComputeWorkgroupsPerDimension)
	}
	if p.dev.Info.Software {
		// plan_rank: each invocation scans N/64 samples, keeping K.
		k := p.cfg.Elites
		if loops := (p.pops[0]/64+1)*(k+2) + 64*k + k*p.hd/64*2 + 2*p.hd/64*k + 64; loops > loopBudget {
			return fmt.Errorf("gpu: planner: ranking %d samples takes about %d loop iterations per invocation, above the %d a software adapter runs; use the host planner", p.pops[0], loops, loopBudget)
		}
	}
	return nil
}

// prepare sizes the buffers for np problems, assigns slots and uploads the
// per-call data (problem words, start states) and, when np changed, the
// tables of per-iteration settings.
func (p *Planner) prepare(problems []*icem.Problem) error {
	np := len(problems)
	m, t := p.task.Model, p.task
	if err := p.checkFits(np); err != nil {
		return err
	}
	clear(p.fresh)
	most := 0
	for _, pr := range problems {
		if _, ok := p.slots[pr]; !ok {
			slot := len(p.slots)
			if n := len(p.free); n > 0 {
				slot, p.free = p.free[n-1], p.free[:n-1]
			}
			p.slots[pr] = slot
			// A problem new to this planner has no memory on the device
			// yet, even if another planner has planned it.
			p.fresh[pr] = true
		}
		most = max(most, p.slots[pr]+1)
	}
	if err := p.growMem(most); err != nil {
		return err
	}
	nmax := p.pops[0]
	ev := p.ev
	if err := ev.ensure(bWorld, uint64(np*nmax*(4+2*m.Nq+m.Nv))*4); err != nil {
		return err
	}
	if err := ev.ensureWorldMem(np * nmax); err != nil {
		return err
	}
	for _, i := range []int{bPolicy, bRecord, bStates} {
		if err := ev.ensure(i, 16); err != nil {
			return err
		}
	}
	if err := ev.ensure(bDims, dimsSize); err != nil {
		return err
	}
	if err := p.ensure(pbActs, uint64(np*nmax*p.hd)*4); err != nil {
		return err
	}
	rs := uint64(np*p.resStride()) * 4
	if err := p.ensure(pbRes, rs); err != nil {
		return err
	}
	if err := p.ensure(pbProb, uint64(np*pconst("PROB_WORDS"))*4); err != nil {
		return err
	}
	if err := p.ensureAux(&p.readRes, &p.readSize, "planner readback", rs+uint64(np)*4, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst); err != nil {
		return err
	}
	// Per call: the problems' words and start states.
	pw := pconst("PROB_WORDS")
	p.probBytes = resizeBytes(p.probBytes, 4*np*pw)
	clear(p.probBytes)
	for k, pr := range problems {
		key := pr.Key()
		started, hasPi := uint32(0), uint32(0)
		if pr.Started() && !p.fresh[pr] {
			started = 1
		}
		if p.hasPi() {
			hasPi = 1
		}
		for i, v := range []uint32{uint32(p.slots[pr]), key[0], key[1], pr.Calls(), started, hasPi} {
			binary.LittleEndian.PutUint32(p.probBytes[4*(k*pw+i):], v)
		}
	}
	if err := p.dev.WriteBuffer(p.bufs[pbProb], 0, p.probBytes); err != nil {
		return err
	}
	p.scratch = p.scratch[:0]
	for _, pr := range problems {
		if len(pr.Qpos) != m.Nq || len(pr.Qvel) != m.Nv || len(pr.Params) != t.NParam {
			panic("gpu: planner: problem made for another task")
		}
		for _, s := range [][]float64{pr.Qpos, pr.Qvel, pr.Params} {
			for _, v := range s {
				if !(math.Abs(v) <= math.MaxFloat32) {
					return fmt.Errorf("gpu: planner: start state value %v is not a finite float32", v)
				}
			}
			p.scratch = appendF32(p.scratch, s)
		}
	}
	p.startBytes = putF32(p.startBytes, p.scratch)
	if err := ev.upload(bStart, p.startBytes); err != nil {
		return err
	}
	if p.tablesFor != np {
		if err := p.writeTables(np); err != nil {
			return err
		}
	}
	if p.piWorlds() {
		// The policy worlds write the actions and a failure flag per
		// problem.
		if err := p.ensure(pbPi, uint64(np*(p.hd+1))*4); err != nil {
			return err
		}
	} else if p.hasPi() {
		p.rolloutPolicies(problems)
		p.scratch = appendF32(p.scratch[:0], p.piRoll)
		p.piBytes = putF32(p.piBytes, p.scratch)
		if err := p.ensure(pbPi, uint64(len(p.piBytes))); err != nil {
			return err
		}
		if err := p.dev.WriteBuffer(p.bufs[pbPi], 0, p.piBytes); err != nil {
			return err
		}
	} else if err := p.ensure(pbPi, 16); err != nil {
		return err
	}
	p.bufs[pbCost] = ev.bufs[bWorld]
	return p.bindGroups()
}

// bindGroups (re)makes the two bind groups when a buffer changed.
func (p *Planner) bindGroups() error {
	if p.group == nil || p.groupKey != p.bufs {
		if p.group != nil {
			p.group.Release()
			p.group = nil
		}
		var entries []wgpu.BindGroupEntry
		for i, b := range p.bufs {
			if b == nil {
				panic("gpu: planner: binding " + plannerBindingNames[i] + " not made")
			}
			entries = append(entries, wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b, Size: wgpu.WholeSize})
		}
		g, err := p.dev.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: "planner", Layout: p.bgl, Entries: entries})
		if err != nil {
			return fmt.Errorf("gpu: create bind group %q: %w", "planner", err)
		}
		p.group, p.groupKey = g, p.bufs
	}
	rb := p.ev.bufs
	rb[bActions] = p.bufs[pbActs]
	if p.rgroup == nil || p.rgroupKey != rb {
		if p.rgroup != nil {
			p.rgroup.Release()
			p.rgroup = nil
		}
		for i, b := range rb {
			if b == nil && (i != bWorldMem || p.ev.memGroup > 0) {
				panic("gpu: planner: rollout binding " + bindingNames[i] + " not made")
			}
		}
		g, err := p.dev.CreateBindGroup("planner rollout", p.ev.pipeline, rb[:])
		if err != nil {
			return err
		}
		p.rgroup, p.rgroupKey = g, rb
	}
	if !p.piWorlds() {
		return nil
	}
	rb[bStates] = p.bufs[pbPi]
	if p.pgroup == nil || p.pgroupKey != rb {
		if p.pgroup != nil {
			p.pgroup.Release()
			p.pgroup = nil
		}
		g, err := p.dev.CreateBindGroup("planner policy rollout", p.ev.pipeline, rb[:])
		if err != nil {
			return err
		}
		p.pgroup, p.pgroupKey = g, rb
	}
	return nil
}

// iterCfg returns the Cfg words of CEM iteration i for np problems.
func (p *Planner) iterCfg(np, i int) [cfgWords]uint32 {
	d := p.cfg
	n := p.pops[i]
	kept := 0
	if i > 0 && !d.NoKeepElites {
		kept = p.reuse
	}
	last := i == len(p.pops)-1
	b2u := func(b bool) uint32 {
		if b {
			return 1
		}
		return 0
	}
	f := math.Float32bits
	return [cfgWords]uint32{
		uint32(np), uint32(p.h), uint32(p.nu), uint32(p.hd),
		uint32(d.Elites), uint32(p.reuse), uint32(i), uint32(n),
		uint32(n - kept), uint32(kept), b2u(last), b2u(last && !d.NoMean),
		b2u(!d.NoShiftElites), b2u(p.white), p.lambdaMode, uint32(p.slotStride()),
		uint32(p.resStride()), b2u(!d.NoWarmStart), b2u(!d.NoPolicySample), 0,
		f(float32(d.Alpha)), f(float32(d.CGuide)), f(float32(d.CNorm)), f(float32(d.FixedGuide)),
		f(float32(d.FixedNorm)),
	}
}

// writeTables uploads the per-iteration Cfg and rollout Dims for np
// problems: they depend on np and the settings only, so steps with the
// same np upload nothing here.
func (p *Planner) writeTables(np int) error {
	steps := p.ev.stepsPerDispatch(p.task)
	nphys := p.h * p.task.FrameSkip
	p.nchunk = (nphys + steps - 1) / steps
	hasNet := uint32(0) // the rollouts accumulate the guidance cost
	if p.ev.policy != nil {
		hasNet = 1
	}
	var cfgB, dimsB []byte
	for i, n := range p.pops {
		for _, w := range p.iterCfg(np, i) {
			cfgB = binary.LittleEndian.AppendUint32(cfgB, w)
		}
		nsim := n
		if i > 0 && !p.cfg.NoKeepElites {
			nsim = n - p.reuse
		}
		for k0 := 0; k0 < nphys; k0 += steps {
			k1 := min(k0+steps, nphys)
			for _, w := range [dimsSize / 4]uint32{uint32(np), uint32(nsim), uint32(p.h), 0, uint32(np * nsim), 0, hasNet, uint32(k0), uint32(k1), 0, probeLoops, 0} {
				dimsB = binary.LittleEndian.AppendUint32(dimsB, w)
			}
		}
	}
	// Then the policy worlds' closed-loop dispatches: world p is problem p;
	// they simulate the first h − 1 control steps and stop at the last
	// action (physics step (h−1)·skip, not simulated).
	p.npchunk = 0
	for k0, end := 0, (p.h-1)*p.task.FrameSkip+1; k0 < end; k0 += steps {
		for _, w := range [dimsSize / 4]uint32{uint32(np), 1, uint32(p.h), 0, uint32(np), 0, hasNet, uint32(k0), uint32(min(k0+steps, end)), 1, probeLoops, 0} {
			dimsB = binary.LittleEndian.AppendUint32(dimsB, w)
		}
		p.npchunk++
	}
	usage := wgpu.BufferUsage_CopySrc | wgpu.BufferUsage_CopyDst
	if err := p.ensureAux(&p.cfgTable, &p.cfgSize, "planner cfg table", uint64(len(cfgB)), usage); err != nil {
		return err
	}
	if err := p.ensureAux(&p.dimsTable, &p.dimsSize, "planner dims table", uint64(len(dimsB)), usage); err != nil {
		return err
	}
	if err := p.dev.WriteBuffer(p.cfgTable, 0, cfgB); err != nil {
		return err
	}
	if err := p.dev.WriteBuffer(p.dimsTable, 0, dimsB); err != nil {
		return err
	}
	p.tablesFor = np
	return nil
}

// nsimOf is the simulated samples of iteration i.
func (p *Planner) nsimOf(i int) int {
	if i > 0 && !p.cfg.NoKeepElites {
		return p.pops[i] - p.reuse
	}
	return p.pops[i]
}

// encodePolicy records the policy worlds' closed-loop dispatches, which
// write each problem's policy rollout to pi_in.
func (p *Planner) encodePolicy(enc *wgpu.CommandEncoder, np int) error {
	wg := kconst("WORKGROUP_SIZE")
	first := len(p.pops) * p.nchunk
	for c := range p.npchunk {
		if err := enc.CopyBufferToBuffer(p.dimsTable, uint64((first+c)*dimsSize), p.ev.bufs[bDims], 0, dimsSize); err != nil {
			return err
		}
		if err := Dispatch(enc, "policy rollout", p.ev.pipeline, p.pgroup, uint32((np+wg-1)/wg)); err != nil {
			return err
		}
	}
	return nil
}

// encodeBegin records plan_begin.
func (p *Planner) encodeBegin(enc *wgpu.CommandEncoder, np int) error {
	if err := enc.CopyBufferToBuffer(p.cfgTable, 0, p.bufs[pbCfg], 0, cfgBytes); err != nil {
		return err
	}
	return Dispatch(enc, "plan_begin", p.pBegin, p.group, uint32((np*p.hd+63)/64))
}

// encodeSample records iteration i's plan_sample.
func (p *Planner) encodeSample(enc *wgpu.CommandEncoder, np, i int) error {
	if err := enc.CopyBufferToBuffer(p.cfgTable, uint64(i*cfgBytes), p.bufs[pbCfg], 0, cfgBytes); err != nil {
		return err
	}
	return Dispatch(enc, "plan_sample", p.pSample, p.group, uint32((np*p.nsimOf(i)+63)/64))
}

// encodeRollout records iteration i's rollout dispatches.
func (p *Planner) encodeRollout(enc *wgpu.CommandEncoder, np, i int) error {
	wg := kconst("WORKGROUP_SIZE")
	for c := 0; c < p.nchunk; c++ {
		if err := enc.CopyBufferToBuffer(p.dimsTable, uint64((i*p.nchunk+c)*dimsSize), p.ev.bufs[bDims], 0, dimsSize); err != nil {
			return err
		}
		if err := Dispatch(enc, "rollout", p.ev.pipeline, p.rgroup, uint32((np*p.nsimOf(i)+wg-1)/wg)); err != nil {
			return err
		}
	}
	return nil
}

// encodeRank records iteration i's plan_rank, and after the last the copy
// of the results to the readback.
func (p *Planner) encodeRank(enc *wgpu.CommandEncoder, np, i int) error {
	if err := enc.CopyBufferToBuffer(p.cfgTable, uint64(i*cfgBytes), p.bufs[pbCfg], 0, cfgBytes); err != nil {
		return err
	}
	if err := Dispatch(enc, "plan_rank", p.pRank, p.group, uint32(np)); err != nil {
		return err
	}
	if i < len(p.pops)-1 {
		return nil
	}
	rs := uint64(np*p.resStride()) * 4
	if err := enc.CopyBufferToBuffer(p.bufs[pbRes], 0, p.readRes, 0, rs); err != nil {
		return err
	}
	if p.piWorlds() {
		// The policy worlds' failure flags, after the results.
		return enc.CopyBufferToBuffer(p.bufs[pbPi], uint64(np*p.hd)*4, p.readRes, rs, uint64(np)*4)
	}
	return nil
}

// Plan implements icem.StepPlanner: one planning step of every problem, in
// one submission. An error leaves the problems' device memory unspecified
// (Reset them). In the Stats, EvalTime is the time spent waiting for the
// device (the step's GPU work: the policy's rollouts, noise, rollouts,
// ranking) and EvalHostTime is 0, so HostTime is everything else (slots,
// uploads, encoding, the readback, and policy rollouts made on the host).
func (p *Planner) Plan(dst [][]float64, problems []*icem.Problem) (icem.Stats, error) {
	start := time.Now()
	np := len(problems)
	if len(dst) != np {
		panic(fmt.Sprintf("gpu: planner: %d destinations for %d problems", len(dst), np))
	}
	for k := range problems {
		if len(dst[k]) != p.nu {
			panic(fmt.Sprintf("gpu: planner: destination %d of length %d, want %d", k, len(dst[k]), p.nu))
		}
	}
	st := icem.Stats{Problems: np, Populations: append([]int(nil), p.pops...), Lambda: make([]icem.Lambda, len(p.pops)*np),
		Best: make([]float64, np), BestMain: make([]float64, np)}
	if np == 0 {
		return st, nil
	}
	up0, down0 := p.dev.BytesMoved()
	wait0 := p.dev.WaitTime()
	finish := func() {
		up, down := p.dev.BytesMoved()
		st.BytesUp, st.BytesDown = up-up0, down-down0
		st.EvalTime = p.dev.WaitTime() - wait0
		st.Elapsed = time.Since(start)
	}
	if err := p.prepare(problems); err != nil {
		finish()
		return st, err
	}
	err := p.dev.Encode("planning step", func(enc *wgpu.CommandEncoder) error {
		if p.piWorlds() {
			if err := p.encodePolicy(enc, np); err != nil {
				return err
			}
		}
		if err := p.encodeBegin(enc, np); err != nil {
			return err
		}
		for i := range p.pops {
			if err := p.encodeSample(enc, np, i); err != nil {
				return err
			}
			if err := p.encodeRollout(enc, np, i); err != nil {
				return err
			}
			if err := p.encodeRank(enc, np, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = p.readResults(dst, problems, &st)
	}
	finish()
	if err != nil {
		return st, fmt.Errorf("gpu: planning step of %d problems: %w", np, err)
	}
	return st, nil
}

// readResults reads the results back into dst and st and counts the call
// on each problem.
func (p *Planner) readResults(dst [][]float64, problems []*icem.Problem, st *icem.Stats) error {
	np, rs := len(problems), p.resStride()
	p.resBytes = resizeBytes(p.resBytes, 4*np*(rs+1))
	if err := p.dev.Read(p.readRes, 0, p.resBytes); err != nil {
		return err
	}
	for k, pr := range problems {
		b := k * rs
		for j := range p.nu {
			dst[k][j] = float64(getF32(p.resBytes, b+j))
		}
		st.Best[k] = float64(getF32(p.resBytes, b+p.nu))
		st.BestMain[k] = float64(getF32(p.resBytes, b+p.nu+1))
		st.NonFinite += int(getF32(p.resBytes, b+p.nu+2))
		for i := range p.pops {
			o := b + p.nu + 4 + 2*i
			st.Lambda[i*np+k] = icem.Lambda{Guide: float64(getF32(p.resBytes, o)), Norm: float64(getF32(p.resBytes, o+1))}
		}
		switch {
		case !p.hasPi():
		case p.piDevice:
			if getF32(p.resBytes, np*rs+k) != 0 {
				st.PolicyFailures++
			}
		case !p.piOK[k]:
			st.PolicyFailures++
		}
		pr.MarkPlanned()
	}
	for i := range p.pops {
		st.Simulated += np * p.nsimOf(i)
	}
	return nil
}

// Sequences reads back from the device what the last Plan call of pr
// planned: its best sequence (the executed one's) and the elites of the
// final CEM iteration, best f first, h × nu each (index t*nu + j), as
// icem.Problem's Best and Elites give them on the host planner: K + 1
// sequences, whatever N. The viewer draws them as planned paths (apex plan
// --save-traj).
func (p *Planner) Sequences(pr *icem.Problem) (best []float64, elites [][]float64, err error) {
	slot, ok := p.slots[pr]
	if !ok || !pr.Started() {
		return nil, nil, nil
	}
	stride := p.slotStride()
	size := uint64(4 * stride)
	rb, err := p.dev.CreateBuffer("planner sequences readback", size, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst)
	if err != nil {
		return nil, nil, err
	}
	defer rb.Release()
	if err := p.dev.Encode("planner sequences", func(enc *wgpu.CommandEncoder) error {
		return enc.CopyBufferToBuffer(p.bufs[pbMem], uint64(4*slot*stride), rb, 0, size)
	}); err != nil {
		return nil, nil, err
	}
	b := make([]byte, size)
	if err := p.dev.Read(rb, 0, b); err != nil {
		return nil, nil, err
	}
	f := func(i int) float64 { return float64(getF32(b, i)) }
	hd, k := p.hd, p.cfg.Elites
	best = make([]float64, hd)
	for x := range best {
		best[x] = f(2*hd + x)
	}
	cur := int(f(3*hd + 2*k*hd + 8*k + pconst("SC_CUR")))
	el := 3*hd + cur*k*hd
	for e := range k {
		seq := make([]float64, hd)
		for x := range seq {
			seq[x] = f(el + e*hd + x)
		}
		elites = append(elites, seq)
	}
	return best, elites, nil
}
