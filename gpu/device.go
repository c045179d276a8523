// Package gpu is apex's WebGPU backend: it sets up a device through
// wgpu-native (github.com/rajveermalviya/go-webgpu/wgpu v0.17.1) and runs the
// batched rollouts, cost terms and policy network of a batchsim.Batch as one
// WGSL compute kernel (shaders/rollout.wgsl), implementing
// batchsim.Evaluator. On a machine without a GPU, Mesa's lavapipe
// (Debian: mesa-vulkan-drivers) is a software Vulkan device that runs the
// same WGSL.
package gpu

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// InstallHint says what to install when no adapter exists at all.
const InstallHint = "install a Vulkan driver, e.g. `apt-get install mesa-vulkan-drivers libvulkan1` (lavapipe, a software Vulkan device) on Debian/Ubuntu"

// ErrNoAdapter is wrapped when WebGPU finds no adapter at all.
var ErrNoAdapter = errors.New("gpu: no WebGPU adapter found; " + InstallHint)

// ErrSoftwareOnly is wrapped by Available when the only adapters are CPU
// (software) implementations such as lavapipe: usable, but slower than the
// CPU backend.
var ErrSoftwareOnly = errors.New("gpu: only a software (CPU) adapter exists")

// Info describes the adapter and device a Device got.
type Info struct {
	Name     string // adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
	Vendor   string
	Driver   string // driver description
	Backend  wgpu.BackendType
	Type     wgpu.AdapterType // discrete, integrated, CPU, ...
	Limits   wgpu.Limits      // the adapter's supported limits
	Software bool             // Type is CPU: a software rasteriser such as lavapipe
}

func (i Info) String() string {
	return fmt.Sprintf("%s (%s, %s, driver %q)", i.Name, i.Backend, i.Type, i.Driver)
}

func infoOf(a *wgpu.Adapter) Info {
	p := a.GetProperties()
	return Info{
		Name:     p.Name,
		Vendor:   p.VendorName,
		Driver:   p.DriverDescription,
		Backend:  p.BackendType,
		Type:     p.AdapterType,
		Limits:   a.GetLimits().Limits,
		Software: p.AdapterType == wgpu.AdapterType_CPU,
	}
}

// backendRank orders backends for compute: native APIs before OpenGL, which
// wgpu supports only partially for compute.
func backendRank(b wgpu.BackendType) int {
	switch b {
	case wgpu.BackendType_Vulkan, wgpu.BackendType_Metal, wgpu.BackendType_D3D12:
		return 0
	case wgpu.BackendType_D3D11:
		return 1
	}
	return 2
}

// pickAdapter returns the best adapter of inst: hardware before software,
// then native backends before OpenGL. It releases the others.
func pickAdapter(inst *wgpu.Instance) (*wgpu.Adapter, Info, error) {
	adapters := inst.EnumerateAdapters(nil)
	best := -1
	var bestInfo Info
	for i, a := range adapters {
		inf := infoOf(a)
		if backendRank(inf.Backend) == 2 {
			continue // OpenGL: no storage-buffer compute we can rely on
		}
		if best < 0 || better(inf, bestInfo) {
			best, bestInfo = i, inf
		}
	}
	for i, a := range adapters {
		if i != best {
			a.Release()
		}
	}
	if best < 0 {
		return nil, Info{}, ErrNoAdapter
	}
	return adapters[best], bestInfo, nil
}

func better(a, b Info) bool {
	if a.Software != b.Software {
		return !a.Software
	}
	if a.Type != b.Type {
		return a.Type == wgpu.AdapterType_DiscreteGPU
	}
	return backendRank(a.Backend) < backendRank(b.Backend)
}

// Available reports the adapter that NewDevice would use. The error is nil
// when it is a hardware GPU; it wraps ErrSoftwareOnly when only a software
// adapter exists (Info then describes it), and ErrNoAdapter when there is
// none. The CLI's `--backend auto` picks the GPU backend exactly when the
// error is nil, and shows the error as the reason otherwise.
func Available() (Info, error) {
	inst := wgpu.CreateInstance(nil)
	defer inst.Release()
	a, inf, err := pickAdapter(inst)
	if err != nil {
		return Info{}, err
	}
	a.Release()
	if inf.Software {
		return inf, fmt.Errorf("%w: %s", ErrSoftwareOnly, inf)
	}
	return inf, nil
}

// Device is a WebGPU device with its queue. Errors that wgpu reports outside
// an error scope (the uncaptured-error callback) are kept and returned by the
// next call that checks them (Err), never printed or panicked on.
type Device struct {
	Info Info

	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	dev      *wgpu.Device
	queue    *wgpu.Queue
	limits   wgpu.Limits // the device's limits (what was granted)
	kernels  kernelCache // compiled kernels, shared by its evaluators and planners

	mu         sync.Mutex
	uncaptured error
	sinkHandle cgo.Handle
	closed     bool

	up, down atomic.Int64 // bytes written to and read from the device
	waited   atomic.Int64 // nanoseconds spent waiting for the device (pollUntil)
}

// BytesMoved returns the bytes written to the device (WriteBuffer) and read
// back (Read) since it was opened.
func (d *Device) BytesMoved() (up, down int64) { return d.up.Load(), d.down.Load() }

// WaitTime returns the time spent waiting for the device to finish work
// (Read, WaitIdle) since it was opened.
func (d *Device) WaitTime() time.Duration { return time.Duration(d.waited.Load()) }

// NewDevice opens the best adapter (see Available) and a device with the
// adapter's own limits, so that large batches fit in few dispatches.
func NewDevice() (*Device, error) {
	inst := wgpu.CreateInstance(nil)
	a, inf, err := pickAdapter(inst)
	if err != nil {
		inst.Release()
		return nil, err
	}
	lim := inf.Limits
	dev, err := a.RequestDevice(&wgpu.DeviceDescriptor{
		Label:          "apex",
		RequiredLimits: &wgpu.RequiredLimits{Limits: lim},
	})
	if err != nil {
		a.Release()
		inst.Release()
		return nil, fmt.Errorf("gpu: request device on %s: %w", inf, err)
	}
	d := &Device{Info: inf, instance: inst, adapter: a, dev: dev, queue: dev.GetQueue()}
	d.limits = dev.GetLimits().Limits
	d.sinkHandle = setUncaptured(dev, func(typ wgpu.ErrorType, msg string) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.uncaptured == nil {
			d.uncaptured = wrapWGPUError(typ, msg)
		}
	})
	return d, nil
}

// Limits returns the limits the device was created with.
func (d *Device) Limits() wgpu.Limits { return d.limits }

// Err returns (and clears) the first error wgpu reported outside an error
// scope since the last call. A lost device stays lost.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.uncaptured
	if err != nil && !errors.Is(err, ErrDeviceLost) {
		d.uncaptured = nil
	}
	if err != nil {
		return fmt.Errorf("gpu: uncaptured: %w", err)
	}
	return nil
}

// Close releases the device, its queue, adapter and instance.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.kernels.close()
	d.queue.Release()
	d.dev.Release()
	d.adapter.Release()
	d.instance.Release()
	d.sinkHandle.Delete()
	return nil
}

// CreateBuffer creates a buffer of size bytes.
func (d *Device) CreateBuffer(label string, size uint64, usage wgpu.BufferUsage) (*wgpu.Buffer, error) {
	if size > d.limits.MaxBufferSize {
		return nil, fmt.Errorf("gpu: create buffer %q: %d bytes exceed maxBufferSize %d", label, size, d.limits.MaxBufferSize)
	}
	var b *wgpu.Buffer
	err := scopeError(d.dev, fmt.Sprintf("create buffer %q (%d bytes)", label, size), func() error {
		var err error
		b, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: label, Size: size, Usage: usage})
		return err
	})
	if err != nil {
		if b != nil {
			b.Release()
		}
		return nil, err
	}
	return b, nil
}

// CreateShaderModule compiles WGSL source.
func (d *Device) CreateShaderModule(label, wgsl string) (*wgpu.ShaderModule, error) {
	m, err := d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          label,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: wgsl},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: compile shader %q: %w", label, err)
	}
	return m, nil
}

// CreateComputePipeline creates a pipeline for entry point entry of module
// with layout derived from the shader ("auto" layout).
func (d *Device) CreateComputePipeline(label string, module *wgpu.ShaderModule, entry string) (*wgpu.ComputePipeline, error) {
	p, err := d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   label,
		Compute: wgpu.ProgrammableStageDescriptor{Module: module, EntryPoint: entry},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: create compute pipeline %q: %w", label, err)
	}
	return p, nil
}

// CreateBindGroup binds buffers (binding i = buffers[i], whole buffer) to
// group 0 of pipeline.
func (d *Device) CreateBindGroup(label string, pipeline *wgpu.ComputePipeline, buffers []*wgpu.Buffer) (*wgpu.BindGroup, error) {
	layout := pipeline.GetBindGroupLayout(0)
	defer layout.Release()
	var entries []wgpu.BindGroupEntry
	for i, b := range buffers {
		if b != nil {
			entries = append(entries, wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b, Size: wgpu.WholeSize})
		}
	}
	g, err := d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: label, Layout: layout, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("gpu: create bind group %q: %w", label, err)
	}
	return g, nil
}

// WriteBuffer copies data to b at offset through the queue.
func (d *Device) WriteBuffer(b *wgpu.Buffer, offset uint64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if err := d.queue.WriteBuffer(b, offset, data); err != nil {
		return fmt.Errorf("gpu: write buffer: %w", err)
	}
	d.up.Add(int64(len(data)))
	return nil
}

// Encode records commands with f and submits them. Validation and
// out-of-memory errors of the recording come back as the error; wgpu-native
// aborts the process on an invalid submission, so nothing invalid is
// submitted.
func (d *Device) Encode(label string, f func(*wgpu.CommandEncoder) error) error {
	if err := d.Err(); err != nil {
		return err
	}
	var cmd *wgpu.CommandBuffer
	err := scopeError(d.dev, "encode "+label, func() error {
		enc, err := d.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: label})
		if err != nil {
			return err
		}
		defer enc.Release()
		if err := f(enc); err != nil {
			return err
		}
		cmd, err = enc.Finish(&wgpu.CommandBufferDescriptor{Label: label})
		return err
	})
	if err != nil {
		if cmd != nil {
			cmd.Release()
		}
		return err
	}
	defer cmd.Release()
	return scopeError(d.dev, "submit "+label, func() error {
		d.queue.Submit(cmd)
		return nil
	})
}

// Dispatch records one compute pass running pipeline with group over
// (x, 1, 1) workgroups.
func Dispatch(enc *wgpu.CommandEncoder, label string, pipeline *wgpu.ComputePipeline, group *wgpu.BindGroup, x uint32) error {
	pass := enc.BeginComputePass(&wgpu.ComputePassDescriptor{Label: label})
	defer pass.Release()
	pass.SetPipeline(pipeline)
	pass.SetBindGroup(0, group, nil)
	pass.DispatchWorkgroups(x, 1, 1)
	if err := pass.End(); err != nil {
		return fmt.Errorf("dispatch %s: %w", label, err)
	}
	return nil
}

// Read copies len(dst) bytes at offset of b (a MapRead buffer) into dst,
// after all submitted work has finished. A failed mapping is an error, and
// so is a device that does not finish within WaitTimeout: never a hang.
func (d *Device) Read(b *wgpu.Buffer, offset uint64, dst []byte) error {
	if len(dst) == 0 {
		return nil
	}
	if err := d.WaitIdle(); err != nil {
		return err
	}
	size := uint64(len(dst))
	var status wgpu.BufferMapAsyncStatus
	var called atomic.Bool
	err := scopeError(d.dev, "map buffer", func() error {
		return b.MapAsync(wgpu.MapMode_Read, offset, size, func(s wgpu.BufferMapAsyncStatus) {
			status = s
			called.Store(true)
		})
	})
	if err != nil {
		return err
	}
	if err := d.pollUntil(&called, "map buffer"); err != nil {
		return err
	}
	if status != wgpu.BufferMapAsyncStatus_Success {
		return fmt.Errorf("gpu: map buffer for reading: status %v", status)
	}
	copy(dst, b.GetMappedRange(uint(offset), uint(size)))
	d.down.Add(int64(len(dst)))
	if err := b.Unmap(); err != nil {
		return fmt.Errorf("gpu: unmap: %w", err)
	}
	return d.Err()
}

// WaitTimeout bounds how long Read waits for the device.
var WaitTimeout = 10 * time.Minute

// WaitIdle returns once all work submitted so far has finished.
func (d *Device) WaitIdle() error {
	var done atomic.Bool
	d.queue.OnSubmittedWorkDone(func(wgpu.QueueWorkDoneStatus) { done.Store(true) })
	return d.pollUntil(&done, "wait for the queue")
}

// pollUntil polls the device until flag is set, sleeping between
// non-blocking polls.
//
// Why not a blocking wait: go-webgpu v0.17.1 offers two ways to wait for
// the device, Device.Poll(wait=true[, submission index]) and callbacks
// (Queue.OnSubmittedWorkDone, Buffer.MapAsync) that only ever run inside a
// Poll; there is no wait on a future (wgpuInstanceWaitAny came to webgpu.h
// after wgpu-native 0.17). wgpuDevicePoll(wait=true) is wgpu-core 0.17's
// Device::maintain(Maintain::Wait), which waits on the device's fence for at
// most CLEANUP_WAIT_MS = 5000 ms and then triages the pending submissions as
// finished whether the fence was reached or not: map callbacks fire with
// Success over buffers the device is still writing. Seen here on a loaded
// lavapipe, where one call's work outlasted 5 s: zeros read back, then a
// crash when the still-busy buffers were released. A blocking poll with a
// submission index has the same timeout. So a blocking wait is only safe
// for work known to end within 5 s, which nothing here can promise (a
// shared machine, a slow software device, a large batch).
//
// The alternative kept: non-blocking polls whose sleeps grow with the time
// already waited, a sixteenth of it, between 20 µs and 1 ms. A wait of W
// then ends at most max(20 µs, min(W/16, 1 ms)) after the device finished
// (the fixed doubling from 20 µs to 2 ms it replaces could oversleep by up
// to 2 ms, and by about W on short waits). It costs 16 polls in the first
// 320 µs, then about 16·ln(W/320 µs) up to W = 16 ms and one per
// millisecond after: a few µs each, well under 1 % of a core.
func (d *Device) pollUntil(flag *atomic.Bool, what string) error {
	start := time.Now()
	defer func() { d.waited.Add(int64(time.Since(start))) }()
	deadline := start.Add(WaitTimeout)
	for {
		d.dev.Poll(false, nil)
		if flag.Load() {
			return nil
		}
		if err := d.Err(); err != nil {
			return fmt.Errorf("gpu: %s: %w", what, err)
		}
		now := time.Now()
		if now.After(deadline) {
			d.mu.Lock()
			if d.uncaptured == nil {
				d.uncaptured = fmt.Errorf("%w: no progress in %v", ErrDeviceLost, WaitTimeout)
			}
			d.mu.Unlock()
			return fmt.Errorf("gpu: %s: device did not finish within %v", what, WaitTimeout)
		}
		time.Sleep(min(max(now.Sub(start)/16, 20*time.Microsecond), time.Millisecond))
	}
}
