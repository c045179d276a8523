package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/par"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Options configure an Evaluator. The zero value opens its own device and
// sizes dispatches from the device's limits.
type Options struct {
	// Device to run on; nil opens one with NewDevice (and Close closes it).
	Device *Device
	// MaxWorldsPerDispatch caps the worlds (samples) of one dispatch; 0 means
	// as many as the device's maxStorageBufferBindingSize and
	// maxComputeWorkgroupsPerDimension allow. Tests force it small to cover
	// the splitting path.
	MaxWorldsPerDispatch int
	// StepsPerDispatch caps the physics steps of one dispatch (a dispatch
	// may end inside a control step); 0 chooses from the device and the
	// task (see chunk.go).
	StepsPerDispatch int
	// Kernel chooses the rollout kernel's shape; the zero value,
	// KernelAuto, picks by the device.
	Kernel Kernel
	// Workers: goroutines that pack action sequences to float32 (and scan
	// them for NaN) on the host; 0 means runtime.GOMAXPROCS(0).
	Workers int
}

// Kernel is the shape of the rollout kernel. Each is compiled once per task.
type Kernel int

const (
	// KernelAuto picks per task: KernelLean on a hardware GPU (the one that
	// fits a GPU's registers; BENCHMARKS.md); on a software adapter
	// KernelSpecialized (lavapipe runs it fastest: its loops unrolled, its
	// arrays in registers) where one of its physics steps fits llvmpipe's
	// loop limit (chunk.go), else KernelLean (the humanoid, the Adroit door).
	KernelAuto Kernel = iota
	// KernelSpecialized is written for the task's model: its driver loops
	// unrolled with the model's indices as literals (specialize.go).
	KernelSpecialized
	// KernelGeneric reads the model's indices at run time; only its
	// constraint arrays are sized to the model.
	KernelGeneric
	// KernelLean is KernelGeneric with each world's arrays in a device
	// buffer laid out by lane instead of private memory (worldmem.go).
	KernelLean
)

// Kernels names the shapes, as the CLI's --kernel takes them.
var Kernels = map[string]Kernel{"auto": KernelAuto, "specialized": KernelSpecialized, "generic": KernelGeneric, "lean": KernelLean}

func (k Kernel) String() string {
	switch k {
	case KernelAuto:
		return "auto"
	case KernelSpecialized:
		return "specialized"
	case KernelGeneric:
		return "generic"
	case KernelLean:
		return "lean"
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

// Evaluator is the GPU implementation of batchsim.Evaluator: one kernel
// invocation per (problem, sample) rolls the sample's action sequence out on
// the device and accumulates the cost terms in the same loop; only actions
// go in and three floats per sample (and recorded states) come back.
// Buffers, pipeline and bind group are created once and reused; buffers
// grow when a batch needs more. Not safe for concurrent use.
type Evaluator struct {
	dev      *Device
	ownDev   bool
	maxWorld int
	stepsPer int
	want     Kernel // the shape asked for (Options.Kernel)
	kernel   Kernel // the shape of the current task, never KernelAuto
	memGroup uint64 // bytes of world_mem per workgroup (KernelLean), else 0

	loopModel *batchsim.Model // model of loopShape and loopPhys (chunk.go's shape)
	loopShape Kernel
	loopPhys  int

	pipeline   *wgpu.ComputePipeline // held in the device's kernel cache
	doneKernel func()                // gives pipeline back to the cache
	kernelKey  string                // its key there

	task   *batchsim.Task   // the task packed into modelI/modelF
	policy []float32        // packed policy, nil for none
	polDim [2]int           // obs and action sizes of the policy
	layers []batchsim.Dense // the policy's layers (shapes only used)

	bufs  [nBinding]*wgpu.Buffer
	sizes [nBinding]uint64
	group *wgpu.BindGroup // nil when a buffer changed

	readCost, readStates *wgpu.Buffer
	readCostSize         uint64
	readStatesSize       uint64

	// Host-side buffers reused across calls: the packed actions of one
	// dispatch chunk, start states, record list and dims, the readbacks.
	actBytes   []byte
	startBytes []byte
	recBytes   []byte
	dimsBytes  [dimsSize]byte
	hostCost   []byte
	hostStates []byte
	scratch    []float32

	workers  int
	hostTime time.Duration // inside Evaluate, not waiting for the device
}

var _ batchsim.Evaluator = (*Evaluator)(nil)

// Bindings of rollout.wgsl, in order.
const (
	bModelI = iota
	bModelF
	bPolicy
	bDims
	bStart
	bActions
	bRecord
	bWorld
	bStates
	bWorldMem // KernelLean only
	nBinding
)

var bindingNames = [nBinding]string{"model_i", "model_f", "policy", "dims_in", "start_in", "actions_in", "record_in", "world_out", "states_out", "world_mem"}

const dimsSize = 48 // struct Dims: 12 × u32

// NewEvaluator compiles the rollout kernel on o.Device (or a new device).
func NewEvaluator(o Options) (*Evaluator, error) {
	if o.Kernel < KernelAuto || o.Kernel > KernelLean {
		return nil, fmt.Errorf("gpu: no kernel shape %v", o.Kernel)
	}
	e := &Evaluator{dev: o.Device, maxWorld: o.MaxWorldsPerDispatch, stepsPer: o.StepsPerDispatch, want: o.Kernel, workers: o.Workers}
	if e.workers <= 0 {
		e.workers = runtime.GOMAXPROCS(0)
	}
	if e.dev == nil {
		d, err := NewDevice()
		if err != nil {
			return nil, err
		}
		e.dev, e.ownDev = d, true
	}
	return e, nil
}

// shapeFor is the kernel shape e runs m in (see KernelAuto).
func (e *Evaluator) shapeFor(m *batchsim.Model) Kernel {
	k, _ := e.shape(m)
	return k
}

// compile replaces the kernel by one compiled from src (or the device's
// copy of it).
func (e *Evaluator) compile(src string) error {
	e.releaseKernel()
	key := rolloutShader + "\x00" + src
	p, done, err := cachedKernel(e.dev, key, func() (*wgpu.ComputePipeline, func(), error) {
		m, err := e.dev.CreateShaderModule(rolloutShader, src)
		if err != nil {
			return nil, nil, err
		}
		p, err := e.dev.CreateComputePipeline("rollout", m, "rollout")
		if err != nil {
			m.Release()
			return nil, nil, err
		}
		return p, func() { p.Release(); m.Release() }, nil
	})
	if err != nil {
		return err
	}
	e.pipeline, e.doneKernel, e.kernelKey = p, done, key
	return nil
}

func (e *Evaluator) releaseKernel() {
	if e.group != nil {
		e.group.Release()
		e.group = nil
	}
	if e.doneKernel != nil {
		e.doneKernel()
		e.pipeline, e.doneKernel = nil, nil
	}
}

// Name implements batchsim.Evaluator.
func (e *Evaluator) Name() string { return "gpu (WGSL float32 on " + e.dev.Info.String() + ")" }

// Close releases the kernel and buffers, and the device if the Evaluator
// opened it.
func (e *Evaluator) Close() error {
	e.releaseKernel()
	for i, b := range e.bufs {
		if b != nil {
			b.Release()
			e.bufs[i] = nil
		}
	}
	for _, b := range []**wgpu.Buffer{&e.readCost, &e.readStates} {
		if *b != nil {
			(*b).Release()
			*b = nil
		}
	}
	if e.ownDev && e.dev != nil {
		err := e.dev.Close()
		e.dev = nil
		return err
	}
	return nil
}

// SetPolicy implements batchsim.Evaluator: the weights are packed and
// uploaded once here, not per Evaluate.
func (e *Evaluator) SetPolicy(p *batchsim.PolicyNet) error {
	if p == nil {
		e.policy, e.layers = nil, nil
		return nil
	}
	buf, err := packPolicy(p)
	if err != nil {
		return err
	}
	if err := e.upload(bPolicy, f32bytes(buf)); err != nil {
		return err
	}
	e.policy = buf
	e.polDim = [2]int{len(p.ObsMean), len(p.ActLow)}
	e.layers = append(e.layers[:0], p.Layers...)
	return nil
}

// usageOf is binding i's buffer usage: uploaded inputs, read-back outputs,
// and world_mem, which only the kernel touches.
func usageOf(i int) wgpu.BufferUsage {
	switch {
	case i == bDims:
		return wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst
	case i == bWorldMem:
		return wgpu.BufferUsage_Storage
	case i >= bWorld:
		return wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopySrc
	}
	return wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopyDst
}

// ensure makes binding i's buffer hold at least size bytes (at least 16, as
// a binding may not be empty), growing it by creating a bigger one.
func (e *Evaluator) ensure(i int, size uint64) error {
	size = max(align4(size), 16)
	if e.bufs[i] != nil && e.sizes[i] >= size {
		return nil
	}
	if e.bufs[i] != nil {
		grow := min(e.sizes[i]+e.sizes[i]/2, e.dev.Limits().MaxStorageBufferBindingSize)
		size = align4(max(size, grow)) // amortise growth; wgpu needs sizes in multiples of 4
		e.bufs[i].Release()
		e.bufs[i] = nil
	}
	b, err := e.dev.CreateBuffer(bindingNames[i], size, usageOf(i))
	if err != nil {
		return err
	}
	e.bufs[i], e.sizes[i] = b, size
	if e.group != nil {
		e.group.Release()
		e.group = nil
	}
	return nil
}

// BytesMoved returns the bytes uploaded to and read back from the device
// since the evaluator's device was opened (batchsim.TransferMeter).
func (e *Evaluator) BytesMoved() (up, down int64) {
	if e.dev == nil {
		return 0, 0
	}
	return e.dev.BytesMoved()
}

func (e *Evaluator) upload(i int, data []byte) error {
	if err := e.ensure(i, uint64(len(data))); err != nil {
		return err
	}
	return e.dev.WriteBuffer(e.bufs[i], 0, data)
}

// ensureRead makes a MapRead buffer of at least size bytes.
func (e *Evaluator) ensureRead(b **wgpu.Buffer, have *uint64, label string, size uint64) error {
	size = max(align4(size), 16)
	if *b != nil && *have >= size {
		return nil
	}
	if *b != nil {
		(*b).Release()
		*b = nil
	}
	nb, err := e.dev.CreateBuffer(label, size, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst)
	if err != nil {
		return err
	}
	*b, *have = nb, size
	return nil
}

// worldsPerDispatch is the most worlds one dispatch may hold: the actions
// binding must fit maxStorageBufferBindingSize and the workgroups
// maxComputeWorkgroupsPerDimension.
func (e *Evaluator) worldsPerDispatch(h, nu, nqv int) int {
	lim := e.dev.Limits()
	n := int(lim.MaxComputeWorkgroupsPerDimension) * kconst("WORKGROUP_SIZE")
	if per := uint64(h*nu) * 4; per > 0 {
		n = min(n, int(lim.MaxStorageBufferBindingSize/per))
	}
	n = min(n, int(lim.MaxStorageBufferBindingSize/uint64(4*(4+nqv))))
	if e.memGroup > 0 {
		n = min(n, int(lim.MaxStorageBufferBindingSize/e.memGroup)*kconst("WORKGROUP_SIZE"))
	}
	if e.maxWorld > 0 {
		n = min(n, e.maxWorld)
	}
	return max(n, 1)
}

// ensureWorldMem makes world_mem hold the given worlds (KernelLean; the
// other kernels have no such binding). worldsPerDispatch keeps a dispatch's
// worlds within the binding size.
func (e *Evaluator) ensureWorldMem(worlds int) error {
	if e.memGroup == 0 {
		return nil
	}
	wg := kconst("WORKGROUP_SIZE")
	return e.ensure(bWorldMem, uint64((worlds+wg-1)/wg)*e.memGroup)
}

// HostTime returns the time Evaluate spent on the host (checks, packing,
// uploads, encoding, unpacking) rather than waiting for the device, since
// the evaluator was opened (icem.HostTimer). The one-time setup for a new
// task (packing the model, compiling its kernel: seconds on lavapipe) is
// left out, so that it does not pass for a per-step host cost; it stays in
// the evaluator's time.
func (e *Evaluator) HostTime() time.Duration { return e.hostTime }

// checkFits refuses a batch whose buffers cannot fit the device's limits,
// naming the limit, before anything is allocated or submitted. What
// worldsPerDispatch can split (the worlds' actions and state across
// dispatches, the workgroup count) is split; what one call needs whole is
// checked here: the start states and the recorded states (one binding
// each, maxStorageBufferBindingSize), the readbacks (maxBufferSize), and a
// single world's action sequence and state.
func (e *Evaluator) checkFits(b *batchsim.Batch) error {
	lim := e.dev.Limits()
	m, t := b.Task.Model, b.Task
	h, total := uint64(b.Horizon), uint64(b.Problems)*uint64(b.Samples)
	bind, whole := lim.MaxStorageBufferBindingSize, lim.MaxBufferSize
	for _, c := range []struct {
		what        string
		need, limit uint64
		name        string
	}{
		{"one sample's actions (horizon × nu float32)", h * uint64(m.Nu) * 4, bind, "maxStorageBufferBindingSize"},
		{"one sample's rollout state", uint64(4+2*m.Nq+m.Nv) * 4, bind, "maxStorageBufferBindingSize"},
		{"the start states (problems × (nq + nv + nparam) float32)", uint64(b.Problems) * uint64(m.Nq+m.Nv+t.NParam) * 4, bind, "maxStorageBufferBindingSize"},
		{"the recorded states (recorded × (horizon + 1) × (nq + nv) float32)", uint64(len(b.Record)) * (h + 1) * uint64(m.Nq+m.Nv) * 4, min(bind, whole), "maxStorageBufferBindingSize"},
		{"the cost readback (problems × samples × 16 bytes)", total * 16, whole, "maxBufferSize"},
	} {
		if c.need > c.limit {
			return fmt.Errorf("gpu: batch of %d×%d samples, horizon %d: %s need %d bytes, above the device's %s = %d; plan fewer samples or problems per call",
				b.Problems, b.Samples, b.Horizon, c.what, c.need, c.name, c.limit)
		}
	}
	return nil
}

// setTask packs and uploads t's model and, unless generic, compiles the
// kernel specialised to it.
func (e *Evaluator) setTask(t *batchsim.Task) error {
	if err := e.CheckTask(t); err != nil {
		return err
	}
	pk, err := packTask(t)
	if err != nil {
		return err
	}
	k := e.shapeFor(t.Model)
	src, memGroup, err := kernelSource(pk, k, e.dev.Info.Software)
	if err != nil {
		return err
	}
	if lim := e.dev.Limits().MaxStorageBufferBindingSize; memGroup > lim {
		return fmt.Errorf("gpu: task %s: one workgroup of the lean kernel needs %d bytes of world_mem, above the device's maxStorageBufferBindingSize = %d; use another kernel shape or --backend cpu",
			t.Name, memGroup, lim)
	}
	e.task = nil // the model buffers change below
	if err := e.upload(bModelI, i32bytes(pk.ints)); err != nil {
		return err
	}
	if err := e.upload(bModelF, f32bytes(pk.floats)); err != nil {
		return err
	}
	e.kernel, e.memGroup = k, memGroup
	if err := e.compile(src); err != nil {
		return err
	}
	e.task = t
	return nil
}

// Evaluate implements batchsim.Evaluator.
func (e *Evaluator) Evaluate(b *batchsim.Batch, r *batchsim.Result) error {
	start, waited0 := time.Now(), e.dev.WaitTime()
	var setup time.Duration
	defer func() { e.hostTime += time.Since(start) - (e.dev.WaitTime() - waited0) - setup }()
	if err := checkBatch(b); err != nil {
		return err
	}
	if err := e.checkFits(b); err != nil {
		return err
	}
	t, m := b.Task, b.Task.Model
	if e.policy != nil && (e.polDim[0] != t.ObsDim() || e.polDim[1] != m.Nu) {
		return fmt.Errorf("gpu: policy maps %d observations to %d actions, task %s has %d and %d",
			e.polDim[0], e.polDim[1], t.Name, t.ObsDim(), m.Nu)
	}
	if e.task != t {
		t0 := time.Now()
		err := e.setTask(t)
		setup = time.Since(t0)
		if err != nil {
			return err
		}
	}
	if e.policy == nil {
		if err := e.ensure(bPolicy, 16); err != nil {
			return err
		}
	}
	r.Resize(b)
	nq, nv, nu, h := m.Nq, m.Nv, m.Nu, b.Horizon
	total := b.Problems * b.Samples

	// Start states with their task parameters, record list.
	e.scratch = e.scratch[:0]
	np := t.NParam
	for p := 0; p < b.Problems; p++ {
		e.scratch = appendF32(e.scratch, b.Qpos[p*nq:(p+1)*nq])
		e.scratch = appendF32(e.scratch, b.Qvel[p*nv:(p+1)*nv])
		e.scratch = appendF32(e.scratch, b.Params[p*np:(p+1)*np])
	}
	e.startBytes = putF32(e.startBytes, e.scratch)
	if err := e.upload(bStart, e.startBytes); err != nil {
		return err
	}
	e.recBytes = resizeBytes(e.recBytes, 4*len(b.Record))
	for k, s := range b.Record {
		binary.LittleEndian.PutUint32(e.recBytes[4*k:], uint32(s))
	}
	if err := e.upload(bRecord, e.recBytes); err != nil {
		return err
	}
	stateBytes := uint64(len(b.Record)*(h+1)*(nq+nv)) * 4
	if err := e.ensure(bStates, stateBytes); err != nil {
		return err
	}
	// world_out holds the costs, the state and the qpos at the start of the
	// control step of each world (rollout.wgsl).
	chunk := min(e.worldsPerDispatch(h, nu, 2*nq+nv), total)
	if err := e.ensure(bActions, uint64(chunk*h*nu)*4); err != nil {
		return err
	}
	if err := e.ensure(bWorld, uint64(chunk*(4+2*nq+nv))*4); err != nil {
		return err
	}
	if err := e.ensureWorldMem(chunk); err != nil {
		return err
	}
	if err := e.ensure(bDims, dimsSize); err != nil {
		return err
	}
	if err := e.ensureRead(&e.readCost, &e.readCostSize, "cost readback", uint64(total*4)*4); err != nil {
		return err
	}
	if err := e.ensureRead(&e.readStates, &e.readStatesSize, "states readback", stateBytes); err != nil {
		return err
	}
	if e.group == nil {
		g, err := e.dev.CreateBindGroup("rollout", e.pipeline, e.bufs[:])
		if err != nil {
			return err
		}
		e.group = g
	}

	// One dispatch per chunk of worlds and of the horizon (chunk.go). Queue
	// writes are ordered with the submissions, so each chunk's actions and
	// dims overwrite the previous chunk's only after it ran.
	hasPolicy := uint32(0)
	if e.policy != nil {
		hasPolicy = 1
	}
	wg := kconst("WORKGROUP_SIZE")
	steps := e.stepsPerDispatch(t)
	nphys := h * t.FrameSkip
	for w0 := 0; w0 < total; w0 += chunk {
		n := min(chunk, total-w0)
		e.actBytes = resizeBytes(e.actBytes, n*h*nu*4)
		if err := packActions(e.actBytes, b.Actions[w0*h*nu:(w0+n)*h*nu], w0*h*nu, e.workers); err != nil {
			return err
		}
		if err := e.dev.WriteBuffer(e.bufs[bActions], 0, e.actBytes); err != nil {
			return err
		}
		for k0 := 0; k0 < nphys; k0 += steps {
			k1 := min(k0+steps, nphys)
			dims := [dimsSize / 4]uint32{uint32(b.Problems), uint32(b.Samples), uint32(h), uint32(w0), uint32(n),
				uint32(len(b.Record)), hasPolicy, uint32(k0), uint32(k1), 0, probeLoops, 0}
			for i, v := range dims {
				binary.LittleEndian.PutUint32(e.dimsBytes[4*i:], v)
			}
			if err := e.dev.WriteBuffer(e.bufs[bDims], 0, e.dimsBytes[:]); err != nil {
				return err
			}
			lastT, lastW := k1 == nphys, w0+n == total
			err := e.dev.Encode("rollout", func(enc *wgpu.CommandEncoder) error {
				if err := Dispatch(enc, "rollout", e.pipeline, e.group, uint32((n+wg-1)/wg)); err != nil {
					return err
				}
				if !lastT {
					return nil
				}
				if err := enc.CopyBufferToBuffer(e.bufs[bWorld], 0, e.readCost, uint64(w0*4)*4, uint64(n*4)*4); err != nil {
					return err
				}
				if lastW && stateBytes > 0 {
					return enc.CopyBufferToBuffer(e.bufs[bStates], 0, e.readStates, 0, stateBytes)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}

	e.hostCost = resizeBytes(e.hostCost, total*4*4)
	if err := e.dev.Read(e.readCost, 0, e.hostCost); err != nil {
		return err
	}
	for s := 0; s < total; s++ {
		if getF32(e.hostCost, 4*s+3) == worldCut {
			return fmt.Errorf("gpu: %s cut rollout %d short: %w; use --backend cpu or a hardware GPU", e.dev.Info.Name, s, ErrLoopLimit)
		}
		r.Main[s] = float64(getF32(e.hostCost, 4*s))
		r.Guide[s] = float64(getF32(e.hostCost, 4*s+1))
		r.Norm[s] = float64(getF32(e.hostCost, 4*s+2))
	}
	if stateBytes > 0 {
		e.hostStates = resizeBytes(e.hostStates, int(stateBytes))
		if err := e.dev.Read(e.readStates, 0, e.hostStates); err != nil {
			return err
		}
		sz := (h + 1) * (nq + nv)
		for k := range b.Record {
			for i := range r.States[k] {
				r.States[k][i] = float64(getF32(e.hostStates, k*sz+i))
			}
		}
	}
	return nil
}

// checkBatch validates the sizes of b (batchsim.Batch.ValidateShape) and the
// kernel's index range. The action values are not scanned here:
// packActions checks them for NaN and for the float32 range while it
// converts them, on all workers (Validate's scan runs on one).
func checkBatch(b *batchsim.Batch) error {
	if err := b.ValidateShape(); err != nil {
		return fmt.Errorf("gpu: %w", err)
	}
	if uint64(b.Problems)*uint64(b.Samples) > math.MaxUint32/4 {
		return fmt.Errorf("gpu: batch of %d×%d samples too large: the kernel indexes at most %d", b.Problems, b.Samples, math.MaxUint32/4)
	}
	return nil
}

// packBlock is the number of action values one packing work item converts
// (256 KiB of float32): enough items that all workers share a single
// problem's actions, few enough that taking one costs nothing.
const packBlock = 1 << 16

// packActions writes src as little-endian float32 to dst (4·len(src)
// bytes) on the given number of goroutines, and reports the first value
// that is NaN, infinite or beyond float32's range (it would reach the
// kernel as ±Inf), numbered from base.
func packActions(dst []byte, src []float64, base, workers int) error {
	if len(dst) != 4*len(src) {
		panic(fmt.Sprintf("gpu: pack %d actions into %d bytes", len(src), len(dst)))
	}
	var bad atomic.Int64
	bad.Store(math.MaxInt64)
	nb := (len(src) + packBlock - 1) / packBlock
	par.For(workers, nb, func(_, k int) {
		lo, hi := k*packBlock, min((k+1)*packBlock, len(src))
		d := dst[4*lo : 4*hi]
		for i, v := range src[lo:hi] {
			if !(math.Abs(v) <= math.MaxFloat32) {
				for j := int64(lo + i); ; {
					old := bad.Load()
					if j >= old || bad.CompareAndSwap(old, j) {
						break
					}
				}
				return
			}
			binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(float32(v)))
		}
	})
	if i := bad.Load(); i != math.MaxInt64 {
		return fmt.Errorf("gpu: batch: action %d is %v, not a finite float32", int64(base)+i, src[int(i)])
	}
	return nil
}

// putF32 writes s as little-endian float32 into dst, reusing its storage.
func putF32(dst []byte, s []float32) []byte {
	dst = resizeBytes(dst, 4*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
	return dst
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

func f32bits(u uint32) float32 { return math.Float32frombits(u) }

func appendF32(dst []float32, src []float64) []float32 {
	for _, v := range src {
		dst = append(dst, float32(v))
	}
	return dst
}

func f32bytes(s []float32) []byte {
	b := make([]byte, 4*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func i32bytes(s []int32) []byte {
	b := make([]byte, 4*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

func getF32(b []byte, i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
}

func resizeBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
