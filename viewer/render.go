package viewer

import (
	_ "embed"
	"errors"
	"fmt"
	"image"
	"math"
	"sync/atomic"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

//go:embed render.wgsl
var renderWGSL string

//go:embed overlay.wgsl
var overlayWGSL string

// ErrNoAdapter is wrapped when WebGPU finds no adapter to render with.
var ErrNoAdapter = errors.New("viewer: no WebGPU adapter; install a Vulkan driver, e.g. `apt-get install mesa-vulkan-drivers libvulkan1` (lavapipe) on Debian/Ubuntu")

// Colours and lights of the scene.
var (
	// Sky is the background colour; distant surfaces fade into it.
	Sky = [3]float32{0.62, 0.72, 0.82}
)

const (
	ambient       = 0.35
	headlightGain = 0.45 // light from the camera, as MuJoCo's headlight
	topGain       = 0.35 // light from above, so that tops and sides differ
	depthFormat   = wgpu.TextureFormat_Depth32Float
	// offscreenFormat is not sRGB: model colours are written as they are,
	// like MuJoCo does, so a PNG shows the file's rgba under full light.
	offscreenFormat = wgpu.TextureFormat_RGBA8Unorm
	frameBytes      = 64 + 5*16 // the Frame uniform of render.wgsl
)

// topLight is the unit direction towards the overhead light.
var topLight = normalize(batchsim.Vec3{0.3, -0.5, 1})

// Renderer draws a model's geoms with WebGPU: instanced meshes lit by a
// headlight and an overhead light (Lambert + ambient) in the model's
// colours, planes with a 1 m grid, a depth buffer and 4× multisampling,
// either to an image (Render) or, in the window, to a surface. It is not
// safe for concurrent use.
type Renderer struct {
	Model *batchsim.Model
	Data  *batchsim.Data // posed by SetQpos

	samples uint32

	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	device   *wgpu.Device
	queue    *wgpu.Queue
	// Adapter describes the adapter rendering happens on.
	Adapter string

	frameLayout, overlayLayout *wgpu.BindGroupLayout
	geomLayout, overlayPLayout *wgpu.PipelineLayout
	module, overlayModule      *wgpu.ShaderModule
	pipes                      map[wgpu.TextureFormat]*pipelineSet
	uniform, overlayUniform    *wgpu.Buffer
	frameGroup                 *wgpu.BindGroup
	sampler                    *wgpu.Sampler
	meshes                     []gpuMesh // nMesh built-in shapes, then the model's meshes

	inst      [][]instance // per mesh
	instBuf   *wgpu.Buffer
	pathVerts []float32
	pathBuf   *wgpu.Buffer

	overlayTex   *wgpu.Texture
	overlayView  *wgpu.TextureView
	overlayGroup *wgpu.BindGroup
	overlaySize  image.Point

	off *target // off-screen target of Render, kept between calls of one size
}

type pipelineSet struct {
	geom, path, overlay *wgpu.RenderPipeline
}

type gpuMesh struct {
	vb, ib *wgpu.Buffer
	n      uint32
}

// target holds the textures a frame is drawn into: a multisampled colour
// texture, a depth texture and, off-screen, the single-sample texture the
// colour resolves to and a buffer to read it back through.
type target struct {
	w, h          int
	format        wgpu.TextureFormat
	msaa, depth   *wgpu.Texture
	msaaV, depthV *wgpu.TextureView
	resolve       *wgpu.Texture // off-screen only
	resolveV      *wgpu.TextureView
	readback      *wgpu.Buffer
	bytesPerRow   uint32
}

func (t *target) release() {
	if t == nil {
		return
	}
	for _, v := range []*wgpu.TextureView{t.msaaV, t.depthV, t.resolveV} {
		if v != nil {
			v.Release()
		}
	}
	for _, x := range []*wgpu.Texture{t.msaa, t.depth, t.resolve} {
		if x != nil {
			x.Release()
		}
	}
	if t.readback != nil {
		t.readback.Release()
	}
}

// NewRenderer opens a WebGPU device (a hardware adapter if there is one,
// else a software one such as lavapipe) for off-screen rendering of m.
func NewRenderer(m *batchsim.Model) (*Renderer, error) {
	inst := wgpu.CreateInstance(nil)
	a, err := pickAdapter(inst)
	if err != nil {
		inst.Release()
		return nil, err
	}
	r, err := newRenderer(m, inst, a)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// pickAdapter returns a hardware adapter if there is one, else a software
// one; native APIs before OpenGL.
func pickAdapter(inst *wgpu.Instance) (*wgpu.Adapter, error) {
	adapters := inst.EnumerateAdapters(nil)
	best, bestRank := -1, math.MaxInt
	for i, a := range adapters {
		p := a.GetProperties()
		rank := 0
		if p.AdapterType == wgpu.AdapterType_CPU {
			rank += 2
		}
		if p.BackendType == wgpu.BackendType_OpenGL || p.BackendType == wgpu.BackendType_OpenGLES {
			rank++
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	for i, a := range adapters {
		if i != best {
			a.Release()
		}
	}
	if best < 0 {
		return nil, ErrNoAdapter
	}
	return adapters[best], nil
}

// newRenderer makes a Renderer on adapter a of inst, taking ownership of
// both (they are released on error too).
func newRenderer(m *batchsim.Model, inst *wgpu.Instance, a *wgpu.Adapter) (*Renderer, error) {
	p := a.GetProperties()
	r := &Renderer{Model: m, Data: batchsim.NewData(m), samples: 4, instance: inst, adapter: a,
		Adapter: fmt.Sprintf("%s (%s)", p.Name, p.BackendType), pipes: map[wgpu.TextureFormat]*pipelineSet{}}
	batchsim.Forward(m, r.Data)
	dev, err := a.RequestDevice(&wgpu.DeviceDescriptor{Label: "apex viewer"})
	if err != nil {
		a.Release()
		inst.Release()
		return nil, fmt.Errorf("viewer: request device on %s: %w", r.Adapter, err)
	}
	r.device, r.queue = dev, dev.GetQueue()
	if err := r.init(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Renderer) init() error {
	var err error
	wrap := func(what string, e error) error { return fmt.Errorf("viewer: %s: %w", what, e) }
	if r.module, err = r.device.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: "render.wgsl",
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: renderWGSL}}); err != nil {
		return wrap("compile render.wgsl", err)
	}
	if r.overlayModule, err = r.device.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: "overlay.wgsl",
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: overlayWGSL}}); err != nil {
		return wrap("compile overlay.wgsl", err)
	}
	if r.frameLayout, err = r.device.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "frame",
		Entries: []wgpu.BindGroupLayoutEntry{{Binding: 0, Visibility: wgpu.ShaderStage_Vertex | wgpu.ShaderStage_Fragment,
			Buffer: wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform, MinBindingSize: frameBytes}}}}); err != nil {
		return wrap("frame bind group layout", err)
	}
	if r.overlayLayout, err = r.device.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: "overlay",
		Entries: []wgpu.BindGroupLayoutEntry{
			{Binding: 0, Visibility: wgpu.ShaderStage_Fragment, Texture: wgpu.TextureBindingLayout{
				SampleType: wgpu.TextureSampleType_Float, ViewDimension: wgpu.TextureViewDimension_2D}},
			{Binding: 1, Visibility: wgpu.ShaderStage_Fragment, Sampler: wgpu.SamplerBindingLayout{Type: wgpu.SamplerBindingType_Filtering}},
			{Binding: 2, Visibility: wgpu.ShaderStage_Fragment, Buffer: wgpu.BufferBindingLayout{
				Type: wgpu.BufferBindingType_Uniform, MinBindingSize: 16}},
		}}); err != nil {
		return wrap("overlay bind group layout", err)
	}
	if r.geomLayout, err = r.device.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "geom",
		BindGroupLayouts: []*wgpu.BindGroupLayout{r.frameLayout}}); err != nil {
		return wrap("pipeline layout", err)
	}
	if r.overlayPLayout, err = r.device.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: "overlay",
		BindGroupLayouts: []*wgpu.BindGroupLayout{r.overlayLayout}}); err != nil {
		return wrap("pipeline layout", err)
	}
	if r.uniform, err = r.device.CreateBuffer(&wgpu.BufferDescriptor{Label: "frame", Size: frameBytes,
		Usage: wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst}); err != nil {
		return wrap("frame buffer", err)
	}
	if r.overlayUniform, err = r.device.CreateBuffer(&wgpu.BufferDescriptor{Label: "overlay", Size: 16,
		Usage: wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst}); err != nil {
		return wrap("overlay buffer", err)
	}
	if r.frameGroup, err = r.device.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: "frame", Layout: r.frameLayout,
		Entries: []wgpu.BindGroupEntry{{Binding: 0, Buffer: r.uniform, Size: frameBytes}}}); err != nil {
		return wrap("frame bind group", err)
	}
	if r.sampler, err = r.device.CreateSampler(&wgpu.SamplerDescriptor{Label: "overlay",
		AddressModeU: wgpu.AddressMode_ClampToEdge, AddressModeV: wgpu.AddressMode_ClampToEdge, AddressModeW: wgpu.AddressMode_ClampToEdge,
		MagFilter: wgpu.FilterMode_Nearest, MinFilter: wgpu.FilterMode_Nearest, MipmapFilter: wgpu.MipmapFilterMode_Nearest,
		LodMaxClamp: 32, MaxAnisotrophy: 1}); err != nil {
		return wrap("sampler", err)
	}
	shapes := []mesh{sphereMesh(), cylinderMesh(), boxMesh(), quadMesh()}
	for id := range r.Model.Nmesh {
		shapes = append(shapes, modelMesh(r.Model, id))
	}
	r.meshes = make([]gpuMesh, len(shapes))
	r.inst = make([][]instance, len(shapes))
	for i, ms := range shapes {
		if len(ms.index) == 0 {
			continue // nothing to draw (a mesh of degenerate triangles)
		}
		if r.meshes[i].vb, err = r.device.CreateBufferInit(&wgpu.BufferInitDescriptor{Label: "mesh vertices",
			Contents: wgpu.ToBytes(ms.verts), Usage: wgpu.BufferUsage_Vertex}); err != nil {
			return wrap("mesh buffer", err)
		}
		if r.meshes[i].ib, err = r.device.CreateBufferInit(&wgpu.BufferInitDescriptor{Label: "mesh indices",
			Contents: wgpu.ToBytes(ms.index), Usage: wgpu.BufferUsage_Index}); err != nil {
			return wrap("mesh buffer", err)
		}
		r.meshes[i].n = uint32(len(ms.index))
	}
	return nil
}

// Close releases every GPU object of r.
func (r *Renderer) Close() {
	if r.device == nil {
		return
	}
	r.off.release()
	r.off = nil
	r.releaseOverlay()
	for _, p := range r.pipes {
		for _, x := range []*wgpu.RenderPipeline{p.geom, p.path, p.overlay} {
			if x != nil {
				x.Release()
			}
		}
	}
	for _, m := range r.meshes {
		for _, b := range []*wgpu.Buffer{m.vb, m.ib} {
			if b != nil {
				b.Release()
			}
		}
	}
	for _, b := range []*wgpu.Buffer{r.instBuf, r.pathBuf, r.uniform, r.overlayUniform} {
		if b != nil {
			b.Release()
		}
	}
	if r.frameGroup != nil {
		r.frameGroup.Release()
	}
	if r.sampler != nil {
		r.sampler.Release()
	}
	for _, l := range []*wgpu.PipelineLayout{r.geomLayout, r.overlayPLayout} {
		if l != nil {
			l.Release()
		}
	}
	for _, l := range []*wgpu.BindGroupLayout{r.frameLayout, r.overlayLayout} {
		if l != nil {
			l.Release()
		}
	}
	for _, s := range []*wgpu.ShaderModule{r.module, r.overlayModule} {
		if s != nil {
			s.Release()
		}
	}
	r.queue.Release()
	r.device.Release()
	r.adapter.Release()
	r.instance.Release()
	r.device = nil
}

func (r *Renderer) releaseOverlay() {
	if r.overlayGroup != nil {
		r.overlayGroup.Release()
		r.overlayView.Release()
		r.overlayTex.Release()
		r.overlayGroup, r.overlayView, r.overlayTex = nil, nil, nil
	}
}

// SetQpos poses the model: it copies qpos into Data and runs the position
// stage of batchsim (batchsim.Forward).
func (r *Renderer) SetQpos(qpos []float64) error {
	if len(qpos) != r.Model.Nq {
		return fmt.Errorf("viewer: %d qpos values for a model with nq = %d", len(qpos), r.Model.Nq)
	}
	copy(r.Data.Qpos, qpos)
	batchsim.Forward(r.Model, r.Data)
	return nil
}

// View is what one frame shows besides the posed model.
type View struct {
	Camera Camera
	Paths  []Path
	// Overlay, if set, is blended over the frame (premultiplied alpha, as
	// image.RGBA holds it) stretched to the frame's size.
	Overlay *image.RGBA
}

// Render draws the posed model (SetQpos) as v shows it into a new
// width × height image. The camera follows its tracked body first.
func (r *Renderer) Render(width, height int, v *View) (*image.RGBA, error) {
	if width < 1 || height < 1 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("viewer: image size %d×%d out of range 1..8192", width, height)
	}
	if r.off == nil || r.off.w != width || r.off.h != height {
		r.off.release()
		r.off = nil
		t, err := r.newTarget(width, height, offscreenFormat, true)
		if err != nil {
			return nil, err
		}
		r.off = t
	}
	t := r.off
	enc, err := r.device.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "render"})
	if err != nil {
		return nil, fmt.Errorf("viewer: command encoder: %w", err)
	}
	defer enc.Release()
	if err := r.draw(enc, t, t.resolveV, false, v); err != nil {
		return nil, err
	}
	if err := enc.CopyTextureToBuffer(&wgpu.ImageCopyTexture{Texture: t.resolve, Aspect: wgpu.TextureAspect_All},
		&wgpu.ImageCopyBuffer{Buffer: t.readback, Layout: wgpu.TextureDataLayout{BytesPerRow: t.bytesPerRow, RowsPerImage: uint32(height)}},
		&wgpu.Extent3D{Width: uint32(width), Height: uint32(height), DepthOrArrayLayers: 1}); err != nil {
		return nil, fmt.Errorf("viewer: copy frame: %w", err)
	}
	cmd, err := enc.Finish(nil)
	if err != nil {
		return nil, fmt.Errorf("viewer: finish frame: %w", err)
	}
	defer cmd.Release()
	r.queue.Submit(cmd)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	if err := r.read(t.readback, func(b []byte) {
		for y := range height {
			copy(img.Pix[y*img.Stride:y*img.Stride+4*width], b[y*int(t.bytesPerRow):])
		}
	}); err != nil {
		return nil, err
	}
	return img, nil
}

// ReadTimeout bounds how long a read-back waits for the device.
var ReadTimeout = 2 * time.Minute

// read maps buf and hands its bytes to f once the submitted work is done.
// It polls without blocking, as package gpu does: wgpu-core 0.17's blocking
// poll gives up after 5 s, which a loaded software device can exceed.
func (r *Renderer) read(buf *wgpu.Buffer, f func([]byte)) error {
	var done atomic.Bool
	var status wgpu.BufferMapAsyncStatus
	size := buf.GetSize()
	if err := buf.MapAsync(wgpu.MapMode_Read, 0, size, func(s wgpu.BufferMapAsyncStatus) {
		status = s
		done.Store(true)
	}); err != nil {
		return fmt.Errorf("viewer: map read-back buffer: %w", err)
	}
	deadline := time.Now().Add(ReadTimeout)
	sleep := 20 * time.Microsecond
	for !done.Load() {
		r.device.Poll(false, nil)
		if done.Load() {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("viewer: the device did not finish a frame within %v", ReadTimeout)
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 2*time.Millisecond)
	}
	if status != wgpu.BufferMapAsyncStatus_Success {
		return fmt.Errorf("viewer: map read-back buffer: status %v", status)
	}
	f(buf.GetMappedRange(0, uint(size)))
	if err := buf.Unmap(); err != nil {
		return fmt.Errorf("viewer: unmap: %w", err)
	}
	return nil
}

// newTarget makes the textures to draw a width × height frame of format
// into; off-screen targets also get a resolve texture and a read-back
// buffer whose rows are padded to WebGPU's 256-byte copy alignment.
func (r *Renderer) newTarget(width, height int, format wgpu.TextureFormat, offscreen bool) (*target, error) {
	t := &target{w: width, h: height, format: format}
	size := wgpu.Extent3D{Width: uint32(width), Height: uint32(height), DepthOrArrayLayers: 1}
	tex := func(label string, f wgpu.TextureFormat, samples uint32, usage wgpu.TextureUsage) (*wgpu.Texture, *wgpu.TextureView, error) {
		x, err := r.device.CreateTexture(&wgpu.TextureDescriptor{Label: label, Usage: usage, Dimension: wgpu.TextureDimension_2D,
			Size: size, Format: f, MipLevelCount: 1, SampleCount: samples})
		if err != nil {
			return nil, nil, fmt.Errorf("viewer: create %s texture %d×%d: %w", label, width, height, err)
		}
		v, err := x.CreateView(nil)
		if err != nil {
			x.Release()
			return nil, nil, fmt.Errorf("viewer: %s texture view: %w", label, err)
		}
		return x, v, nil
	}
	var err error
	if t.msaa, t.msaaV, err = tex("colour", format, r.samples, wgpu.TextureUsage_RenderAttachment); err != nil {
		t.release()
		return nil, err
	}
	if t.depth, t.depthV, err = tex("depth", depthFormat, r.samples, wgpu.TextureUsage_RenderAttachment); err != nil {
		t.release()
		return nil, err
	}
	if offscreen {
		if t.resolve, t.resolveV, err = tex("resolve", format, 1, wgpu.TextureUsage_RenderAttachment|wgpu.TextureUsage_CopySrc); err != nil {
			t.release()
			return nil, err
		}
		t.bytesPerRow = uint32(4*width+255) &^ 255
		if t.readback, err = r.device.CreateBuffer(&wgpu.BufferDescriptor{Label: "read-back",
			Size: uint64(t.bytesPerRow) * uint64(height), Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst}); err != nil {
			t.release()
			return nil, fmt.Errorf("viewer: read-back buffer: %w", err)
		}
	}
	return t, nil
}

// isSRGB reports whether a format encodes what a shader writes to sRGB.
func isSRGB(f wgpu.TextureFormat) bool {
	return f == wgpu.TextureFormat_RGBA8UnormSrgb || f == wgpu.TextureFormat_BGRA8UnormSrgb
}

func (r *Renderer) pipelines(format wgpu.TextureFormat) (*pipelineSet, error) {
	if p, ok := r.pipes[format]; ok {
		return p, nil
	}
	blend := &wgpu.BlendState{
		Color: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_SrcAlpha, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
		Alpha: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_One, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
	}
	premultiplied := &wgpu.BlendState{
		Color: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_One, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
		Alpha: wgpu.BlendComponent{Operation: wgpu.BlendOperation_Add, SrcFactor: wgpu.BlendFactor_One, DstFactor: wgpu.BlendFactor_OneMinusSrcAlpha},
	}
	ms := wgpu.MultisampleState{Count: r.samples, Mask: 0xFFFFFFFF}
	depth := func(write bool) *wgpu.DepthStencilState {
		always := wgpu.StencilFaceState{Compare: wgpu.CompareFunction_Always, FailOp: wgpu.StencilOperation_Keep,
			DepthFailOp: wgpu.StencilOperation_Keep, PassOp: wgpu.StencilOperation_Keep}
		return &wgpu.DepthStencilState{Format: depthFormat, DepthWriteEnabled: write, DepthCompare: wgpu.CompareFunction_Less,
			StencilFront: always, StencilBack: always}
	}
	f32x3, f32x4 := wgpu.VertexFormat_Float32x3, wgpu.VertexFormat_Float32x4
	geom, err := r.device.CreateRenderPipeline(&wgpu.RenderPipelineDescriptor{
		Label: "geoms", Layout: r.geomLayout,
		Vertex: wgpu.VertexState{Module: r.module, EntryPoint: "vs_geom", Buffers: []wgpu.VertexBufferLayout{
			{ArrayStride: 24, StepMode: wgpu.VertexStepMode_Vertex, Attributes: []wgpu.VertexAttribute{
				{Format: f32x3, Offset: 0, ShaderLocation: 0}, {Format: f32x3, Offset: 12, ShaderLocation: 1}}},
			{ArrayStride: instanceBytes, StepMode: wgpu.VertexStepMode_Instance, Attributes: []wgpu.VertexAttribute{
				{Format: f32x4, Offset: 0, ShaderLocation: 2}, {Format: f32x4, Offset: 16, ShaderLocation: 3},
				{Format: f32x4, Offset: 32, ShaderLocation: 4}, {Format: f32x4, Offset: 48, ShaderLocation: 5},
				{Format: f32x4, Offset: 64, ShaderLocation: 6}}},
		}},
		// No culling: planes are seen from below, and the fragment shader
		// flips back-facing normals.
		Primitive:    wgpu.PrimitiveState{Topology: wgpu.PrimitiveTopology_TriangleList, FrontFace: wgpu.FrontFace_CCW, CullMode: wgpu.CullMode_None},
		DepthStencil: depth(true),
		Multisample:  ms,
		Fragment: &wgpu.FragmentState{Module: r.module, EntryPoint: "fs_geom",
			Targets: []wgpu.ColorTargetState{{Format: format, Blend: blend, WriteMask: wgpu.ColorWriteMask_All}}},
	})
	if err != nil {
		return nil, fmt.Errorf("viewer: geom pipeline: %w", err)
	}
	path, err := r.device.CreateRenderPipeline(&wgpu.RenderPipelineDescriptor{
		Label: "paths", Layout: r.geomLayout,
		Vertex: wgpu.VertexState{Module: r.module, EntryPoint: "vs_path", Buffers: []wgpu.VertexBufferLayout{
			{ArrayStride: 4 * pathVertexFloats, StepMode: wgpu.VertexStepMode_Vertex, Attributes: []wgpu.VertexAttribute{
				{Format: f32x3, Offset: 0, ShaderLocation: 0}, {Format: f32x4, Offset: 12, ShaderLocation: 1}}},
		}},
		Primitive: wgpu.PrimitiveState{Topology: wgpu.PrimitiveTopology_TriangleList, FrontFace: wgpu.FrontFace_CCW, CullMode: wgpu.CullMode_None},
		// Paths are tested against the bodies but do not hide each other.
		DepthStencil: depth(false),
		Multisample:  ms,
		Fragment: &wgpu.FragmentState{Module: r.module, EntryPoint: "fs_path",
			Targets: []wgpu.ColorTargetState{{Format: format, Blend: blend, WriteMask: wgpu.ColorWriteMask_All}}},
	})
	if err != nil {
		geom.Release()
		return nil, fmt.Errorf("viewer: path pipeline: %w", err)
	}
	noDepth := depth(false)
	noDepth.DepthCompare = wgpu.CompareFunction_Always
	overlay, err := r.device.CreateRenderPipeline(&wgpu.RenderPipelineDescriptor{
		Label: "overlay", Layout: r.overlayPLayout,
		Vertex:       wgpu.VertexState{Module: r.overlayModule, EntryPoint: "vs_overlay"},
		Primitive:    wgpu.PrimitiveState{Topology: wgpu.PrimitiveTopology_TriangleList, FrontFace: wgpu.FrontFace_CCW, CullMode: wgpu.CullMode_None},
		DepthStencil: noDepth,
		Multisample:  ms,
		Fragment: &wgpu.FragmentState{Module: r.overlayModule, EntryPoint: "fs_overlay",
			Targets: []wgpu.ColorTargetState{{Format: format, Blend: premultiplied, WriteMask: wgpu.ColorWriteMask_All}}},
	})
	if err != nil {
		geom.Release()
		path.Release()
		return nil, fmt.Errorf("viewer: overlay pipeline: %w", err)
	}
	p := &pipelineSet{geom: geom, path: path, overlay: overlay}
	r.pipes[format] = p
	return p, nil
}

// grow returns buf if it holds size bytes, else a new vertex buffer that
// does (released old one), with room to spare so that it rarely regrows.
func (r *Renderer) grow(buf *wgpu.Buffer, size uint64, label string) (*wgpu.Buffer, error) {
	if buf != nil && buf.GetSize() >= size {
		return buf, nil
	}
	if buf != nil {
		buf.Release()
	}
	size = max(2*size, 4096)
	b, err := r.device.CreateBuffer(&wgpu.BufferDescriptor{Label: label, Size: (size + 3) &^ 3,
		Usage: wgpu.BufferUsage_Vertex | wgpu.BufferUsage_CopyDst})
	if err != nil {
		return nil, fmt.Errorf("viewer: %s buffer of %d bytes: %w", label, size, err)
	}
	return b, nil
}

// setOverlay uploads img as the overlay texture.
func (r *Renderer) setOverlay(img *image.RGBA, srgb bool) error {
	size := img.Rect.Size()
	if r.overlayTex == nil || r.overlaySize != size {
		r.releaseOverlay()
		tex, err := r.device.CreateTexture(&wgpu.TextureDescriptor{Label: "overlay",
			Usage: wgpu.TextureUsage_TextureBinding | wgpu.TextureUsage_CopyDst, Dimension: wgpu.TextureDimension_2D,
			Size:   wgpu.Extent3D{Width: uint32(size.X), Height: uint32(size.Y), DepthOrArrayLayers: 1},
			Format: wgpu.TextureFormat_RGBA8Unorm, MipLevelCount: 1, SampleCount: 1})
		if err != nil {
			return fmt.Errorf("viewer: overlay texture: %w", err)
		}
		view, err := tex.CreateView(nil)
		if err != nil {
			tex.Release()
			return fmt.Errorf("viewer: overlay view: %w", err)
		}
		g, err := r.device.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: "overlay", Layout: r.overlayLayout,
			Entries: []wgpu.BindGroupEntry{{Binding: 0, TextureView: view}, {Binding: 1, Sampler: r.sampler},
				{Binding: 2, Buffer: r.overlayUniform, Size: 16}}})
		if err != nil {
			view.Release()
			tex.Release()
			return fmt.Errorf("viewer: overlay bind group: %w", err)
		}
		r.overlayTex, r.overlayView, r.overlayGroup, r.overlaySize = tex, view, g, size
	}
	var flag [4]float32
	if srgb {
		flag[0] = 1
	}
	if err := r.queue.WriteBuffer(r.overlayUniform, 0, wgpu.ToBytes(flag[:])); err != nil {
		return fmt.Errorf("viewer: overlay flag: %w", err)
	}
	pix := img.Pix
	if img.Rect.Min != (image.Point{}) || img.Stride != 4*size.X {
		c := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
		for y := range size.Y {
			copy(c.Pix[y*c.Stride:], img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:4*size.X])
		}
		pix = c.Pix
	}
	if err := r.queue.WriteTexture(&wgpu.ImageCopyTexture{Texture: r.overlayTex, Aspect: wgpu.TextureAspect_All}, pix,
		&wgpu.TextureDataLayout{BytesPerRow: uint32(4 * size.X), RowsPerImage: uint32(size.Y)},
		&wgpu.Extent3D{Width: uint32(size.X), Height: uint32(size.Y), DepthOrArrayLayers: 1}); err != nil {
		return fmt.Errorf("viewer: upload overlay: %w", err)
	}
	return nil
}

// draw records one render pass of the posed model into t, resolving into
// out.
func (r *Renderer) draw(enc *wgpu.CommandEncoder, t *target, out *wgpu.TextureView, srgb bool, v *View) error {
	p, err := r.pipelines(t.format)
	if err != nil {
		return err
	}
	cam := v.Camera
	cam.Follow(r.Model, r.Data)
	if err := r.writeFrame(&cam, float64(t.w)/float64(t.h), srgb); err != nil {
		return err
	}
	geomInstances(r.inst, r.Model, r.Data, cam.Lookat)
	var all []instance
	first := make([]uint32, len(r.inst))
	for i := range r.inst {
		first[i] = uint32(len(all))
		all = append(all, r.inst[i]...)
	}
	if len(all) > 0 {
		if r.instBuf, err = r.grow(r.instBuf, uint64(len(all))*instanceBytes, "instances"); err != nil {
			return err
		}
		if err := r.queue.WriteBuffer(r.instBuf, 0, wgpu.ToBytes(all)); err != nil {
			return fmt.Errorf("viewer: upload instances: %w", err)
		}
	}
	r.pathVerts = pathTriangles(r.pathVerts[:0], v.Paths, cam.Eye())
	if len(r.pathVerts) > 0 {
		if r.pathBuf, err = r.grow(r.pathBuf, uint64(4*len(r.pathVerts)), "paths"); err != nil {
			return err
		}
		if err := r.queue.WriteBuffer(r.pathBuf, 0, wgpu.ToBytes(r.pathVerts)); err != nil {
			return fmt.Errorf("viewer: upload paths: %w", err)
		}
	}
	if v.Overlay != nil {
		if err := r.setOverlay(v.Overlay, srgb); err != nil {
			return err
		}
	}
	sky := Sky
	if srgb {
		for i := range sky {
			sky[i] = float32(math.Pow(float64(sky[i]), 2.2))
		}
	}
	pass := enc.BeginRenderPass(&wgpu.RenderPassDescriptor{Label: "scene",
		ColorAttachments: []wgpu.RenderPassColorAttachment{{View: t.msaaV, ResolveTarget: out,
			LoadOp: wgpu.LoadOp_Clear, StoreOp: wgpu.StoreOp_Discard,
			ClearValue: wgpu.Color{R: float64(sky[0]), G: float64(sky[1]), B: float64(sky[2]), A: 1}}},
		DepthStencilAttachment: &wgpu.RenderPassDepthStencilAttachment{View: t.depthV,
			DepthLoadOp: wgpu.LoadOp_Clear, DepthStoreOp: wgpu.StoreOp_Discard, DepthClearValue: 1,
			StencilLoadOp: wgpu.LoadOp_Clear, StencilStoreOp: wgpu.StoreOp_Discard}, // no stencil; wgpu-native 0.17 rejects Undefined ops
	})
	defer pass.Release()
	pass.SetPipeline(p.geom)
	pass.SetBindGroup(0, r.frameGroup, nil)
	for i, ms := range r.meshes {
		n := uint32(len(r.inst[i]))
		if n == 0 || ms.n == 0 {
			continue
		}
		pass.SetVertexBuffer(0, ms.vb, 0, wgpu.WholeSize)
		pass.SetVertexBuffer(1, r.instBuf, 0, wgpu.WholeSize)
		pass.SetIndexBuffer(ms.ib, wgpu.IndexFormat_Uint32, 0, wgpu.WholeSize)
		pass.DrawIndexed(ms.n, n, 0, 0, first[i])
	}
	if len(r.pathVerts) > 0 {
		pass.SetPipeline(p.path)
		pass.SetBindGroup(0, r.frameGroup, nil)
		pass.SetVertexBuffer(0, r.pathBuf, 0, wgpu.WholeSize)
		pass.Draw(uint32(len(r.pathVerts)/pathVertexFloats), 1, 0, 0)
	}
	if v.Overlay != nil {
		pass.SetPipeline(p.overlay)
		pass.SetBindGroup(0, r.overlayGroup, nil)
		pass.Draw(3, 1, 0, 0)
	}
	if err := pass.End(); err != nil {
		return fmt.Errorf("viewer: render pass: %w", err)
	}
	return nil
}

// writeFrame uploads the Frame uniform of render.wgsl.
func (r *Renderer) writeFrame(cam *Camera, aspect float64, srgb bool) error {
	var u [frameBytes / 4]float32
	vp := cam.ViewProj(aspect)
	for i, x := range vp {
		u[i] = float32(x)
	}
	eye, f := cam.Eye(), cam.Forward()
	_, far := cam.clip()
	copy(u[16:], []float32{float32(eye[0]), float32(eye[1]), float32(eye[2]), float32(math.Min(far, math.Max(40, 12*cam.Distance)))})
	copy(u[20:], []float32{float32(-f[0]), float32(-f[1]), float32(-f[2]), 0})
	copy(u[24:], []float32{float32(topLight[0]), float32(topLight[1]), float32(topLight[2]), 0})
	var s float32
	if srgb {
		s = 1
	}
	copy(u[28:], []float32{ambient, headlightGain, topGain, s})
	copy(u[32:], []float32{Sky[0], Sky[1], Sky[2], 1})
	if err := r.queue.WriteBuffer(r.uniform, 0, wgpu.ToBytes(u[:])); err != nil {
		return fmt.Errorf("viewer: upload frame uniform: %w", err)
	}
	return nil
}
