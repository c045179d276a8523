//go:build !noglfw

package viewer

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"
	"github.com/rajveermalviya/go-webgpu/wgpu"
	wgpuext_glfw "github.com/rajveermalviya/go-webgpu/wgpuext/glfw"
)

// HasWindow reports whether this build has the window (no noglfw tag).
const HasWindow = true

// Show opens a window that plays opt.Traj (or opt.Live) until it is closed.
// GLFW wants every call from one thread, the main one on macOS: call Show
// from the main goroutine with runtime.LockOSThread called in an init, as
// cmd/apex does. Without a display it returns an error wrapping
// ErrNoDisplay.
func Show(opt WindowOptions) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if opt.Model == nil {
		return errors.New("viewer: Show without a model")
	}
	if opt.Traj == nil && opt.Live == nil {
		return errors.New("viewer: Show needs a trajectory or a live source")
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return fmt.Errorf("%w (DISPLAY is not set)", ErrNoDisplay)
	}
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoDisplay, err)
	}
	defer glfw.Terminate()
	w, h := opt.Width, opt.Height
	if w <= 0 || h <= 0 {
		w, h = 1280, 720
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI) // WebGPU draws, not OpenGL
	win, err := glfw.CreateWindow(w, h, "apex view", nil, nil)
	if err != nil {
		return fmt.Errorf("%w: create window: %v", ErrNoDisplay, err)
	}
	defer win.Destroy()

	inst := wgpu.CreateInstance(nil)
	surface := inst.CreateSurface(wgpuext_glfw.GetSurfaceDescriptor(win))
	adapter, err := inst.RequestAdapter(&wgpu.RequestAdapterOptions{CompatibleSurface: surface,
		PowerPreference: wgpu.PowerPreference_HighPerformance})
	if err != nil || adapter == nil {
		surface.Release()
		inst.Release()
		return fmt.Errorf("%w: %v", ErrNoAdapter, err)
	}
	r, err := newRenderer(opt.Model, inst, adapter)
	if err != nil {
		surface.Release()
		return err
	}
	v := &window{opt: opt, win: win, surface: surface, r: r, speed: 1, traces: true, playing: true}
	defer func() {
		v.releaseSwap()
		surface.Release()
		r.Close()
	}()
	return v.run()
}

type window struct {
	opt     WindowOptions
	win     *glfw.Window
	surface *wgpu.Surface
	r       *Renderer

	swap   *wgpu.SwapChain
	target *target
	format wgpu.TextureFormat
	fbW    int
	fbH    int

	cam, home Camera
	traj      *Trajectory
	playT     float64 // seconds into the trajectory
	frame     int
	playing   bool
	follow    bool // live: show the newest frame
	speed     float64
	traces    bool
	help      bool
	camIndex  int // 0: free, i > 0: tracking body i

	overlay   *image.RGBA
	hudKey    string
	message   string
	messageAt time.Time

	dragging      glfw.MouseButton
	dragX, dragY  float64
	scrubbing     bool
	shot          bool
	lastDrawError error
}

// timelineHeight is the height of the scrub bar at the bottom, in pixels.
const timelineHeight = 14

func (v *window) releaseSwap() {
	v.target.release()
	v.target = nil
	if v.swap != nil {
		v.swap.Release()
		v.swap = nil
	}
}

// configure (re)creates the swap chain and targets for the framebuffer size.
func (v *window) configure(w, h int) error {
	v.releaseSwap()
	caps := v.surface.GetCapabilities(v.r.adapter)
	if len(caps.Formats) == 0 {
		return errors.New("viewer: the window surface offers no formats")
	}
	// A non-sRGB format shows the model's colours as the PNGs do; with an
	// sRGB one the shaders undo the encoding.
	v.format = caps.Formats[0]
	for _, f := range caps.Formats {
		if f == wgpu.TextureFormat_BGRA8Unorm || f == wgpu.TextureFormat_RGBA8Unorm {
			v.format = f
			break
		}
	}
	alpha := wgpu.CompositeAlphaMode_Auto
	if len(caps.AlphaModes) > 0 {
		alpha = caps.AlphaModes[0]
	}
	sc, err := v.r.device.CreateSwapChain(v.surface, &wgpu.SwapChainDescriptor{Usage: wgpu.TextureUsage_RenderAttachment,
		Format: v.format, Width: uint32(w), Height: uint32(h), PresentMode: wgpu.PresentMode_Fifo, AlphaMode: alpha})
	if err != nil {
		return fmt.Errorf("viewer: swap chain %d×%d: %w", w, h, err)
	}
	v.swap = sc
	if v.target, err = v.r.newTarget(w, h, v.format, false); err != nil {
		return err
	}
	v.fbW, v.fbH = w, h
	v.overlay = image.NewRGBA(image.Rect(0, 0, w, h))
	v.hudKey = ""
	return nil
}

func (v *window) run() error {
	v.cam = DefaultCamera(v.opt.Model)
	if v.opt.Camera != nil {
		v.cam = *v.opt.Camera
	}
	v.home = v.cam
	v.camIndex = v.cam.Track
	v.follow = v.opt.Live != nil
	v.snapshot()
	v.installCallbacks()
	last := time.Now()
	for drawn := 0; !v.win.ShouldClose(); drawn++ {
		if v.opt.MaxFrames > 0 && drawn >= v.opt.MaxFrames {
			break
		}
		glfw.PollEvents()
		now := time.Now()
		v.advance(now.Sub(last).Seconds())
		last = now
		if err := v.drawFrame(); err != nil {
			return err
		}
	}
	if v.opt.Screenshot != "" {
		return v.screenshot(v.opt.Screenshot)
	}
	return nil
}

// snapshot takes the live source's current trajectory.
func (v *window) snapshot() {
	if v.opt.Live != nil {
		v.traj = v.opt.Live.Traj()
	} else {
		v.traj = v.opt.Traj
	}
}

func (v *window) frames() int { return len(v.traj.Qpos) }

// advance moves playback on by dt seconds of wall-clock time.
func (v *window) advance(dt float64) {
	v.snapshot()
	n := v.frames()
	if v.follow {
		v.setFrame(n - 1)
		return
	}
	if v.playing && !v.scrubbing {
		v.playT += dt * v.speed
		if k := int(v.playT / v.traj.Dt); k >= n {
			if v.opt.Live != nil {
				v.follow = true // caught up with the live episode
				v.setFrame(n - 1)
				return
			}
			v.playT = math.Mod(v.playT, float64(n)*v.traj.Dt) // loop
		}
	}
	v.frame = min(n-1, max(0, int(v.playT/v.traj.Dt)))
}

func (v *window) setFrame(k int) {
	n := v.frames()
	v.frame = min(n-1, max(0, k))
	v.playT = (float64(v.frame) + 0.5) * v.traj.Dt
}

func (v *window) say(format string, args ...any) {
	v.message, v.messageAt = fmt.Sprintf(format, args...), time.Now()
}

func (v *window) view() *View {
	cam := v.cam
	vw := &View{Camera: cam, Overlay: v.overlay}
	if v.traces {
		vw.Paths = v.traj.PathsAt(v.frame)
	}
	return vw
}

func (v *window) drawFrame() error {
	w, h := v.win.GetFramebufferSize()
	if w <= 0 || h <= 0 {
		glfw.WaitEventsTimeout(0.05) // minimised
		return nil
	}
	if v.swap == nil || w != v.fbW || h != v.fbH {
		if err := v.configure(w, h); err != nil {
			return err
		}
	}
	if err := v.r.SetQpos(v.traj.Qpos[v.frame]); err != nil {
		return err
	}
	v.updateHUD()
	tv, err := v.swap.GetCurrentTextureView()
	if err != nil {
		// An outdated surface (resized between the size query and now) is
		// remade on the next frame.
		v.fbW = 0
		return nil
	}
	defer tv.Release()
	enc, err := v.r.device.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "window"})
	if err != nil {
		return fmt.Errorf("viewer: command encoder: %w", err)
	}
	defer enc.Release()
	if err := v.r.draw(enc, v.target, tv, isSRGB(v.format), v.view()); err != nil {
		return err
	}
	cmd, err := enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("viewer: finish frame: %w", err)
	}
	defer cmd.Release()
	v.r.queue.Submit(cmd)
	v.swap.Present()
	if v.shot {
		v.shot = false
		name := fmt.Sprintf("apex-%s.png", time.Now().Format("20060102-150405"))
		p := filepath.Join(v.opt.ScreenshotDir, name)
		if err := v.screenshot(p); err != nil {
			v.say("screenshot failed: %v", err)
		} else {
			v.say("saved %s", p)
		}
	}
	return nil
}

// screenshot renders the current frame off-screen at the window's size, on
// the same device, and writes it as a PNG.
func (v *window) screenshot(path string) error {
	img, err := v.r.Render(max(v.fbW, 1), max(v.fbH, 1), v.view())
	if err != nil {
		return err
	}
	return WritePNG(path, img)
}

// updateHUD redraws the overlay when its text changes: the status line,
// the timeline, a transient message and the help panel.
func (v *window) updateHUD() {
	status := StatusLine(v.traj, v.frame)
	state := "playing"
	if !v.playing {
		state = "paused"
	}
	if v.follow {
		state = "live"
	}
	if v.opt.Live != nil {
		if v.opt.Live.Running() {
			state += ", planner on"
		} else {
			state += ", planner off (Enter)"
		}
	}
	line := fmt.Sprintf("%s  %s x%g  cam %s", status, state, v.speed, v.camName())
	if v.message != "" && time.Since(v.messageAt) < 3*time.Second {
		line += "  " + v.message
	}
	key := fmt.Sprintf("%s|%v|%d", line, v.help, v.frame)
	if key == v.hudKey {
		return
	}
	v.hudKey = key
	v.win.SetTitle("apex view: " + line)
	clear(v.overlay.Pix)
	DrawText(v.overlay, 8, 8, []string{line})
	if v.help {
		DrawText(v.overlay, 8, 40, helpLines)
	}
	DrawTimeline(v.overlay, v.frame, v.frames(), timelineHeight)
}

func (v *window) camName() string {
	if v.cam.Track > 0 {
		return "tracking " + v.opt.Model.BodyName[v.cam.Track]
	}
	return "free"
}

var helpLines = []string{
	"Space      play / pause",
	"Right/Left step one frame",
	"- / =      slower / faster",
	"Backspace  back to the start",
	"Home/End   first / last frame",
	"PgUp/PgDn  10% back / on",
	"[ / ]      previous / next camera",
	"9          planner traces on/off",
	"Enter      planner on/off (live)",
	"Ctrl+P     screenshot (PNG)",
	"F1         this help",
	"mouse      left: orbit, right: pan, wheel: zoom",
	"           drag the bottom bar to scrub",
}

func (v *window) installCallbacks() {
	v.win.SetKeyCallback(func(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, mods glfw.ModifierKey) {
		if action == glfw.Release {
			return
		}
		v.key(key, mods, action == glfw.Repeat)
	})
	v.win.SetScrollCallback(func(_ *glfw.Window, _, dy float64) { v.cam.Zoom(math.Pow(0.9, dy)) })
	v.win.SetMouseButtonCallback(func(w *glfw.Window, b glfw.MouseButton, action glfw.Action, _ glfw.ModifierKey) {
		x, y := w.GetCursorPos()
		if action == glfw.Release {
			v.dragging, v.scrubbing = -1, false
			return
		}
		_, wh := w.GetSize()
		if b == glfw.MouseButtonLeft && y >= float64(wh-timelineHeight) {
			v.scrubbing = true
			v.scrub(x)
			return
		}
		v.dragging, v.dragX, v.dragY = b, x, y
	})
	v.dragging = -1
	v.win.SetCursorPosCallback(func(w *glfw.Window, x, y float64) {
		if v.scrubbing {
			v.scrub(x)
			return
		}
		if v.dragging < 0 {
			return
		}
		dx, dy := x-v.dragX, y-v.dragY
		v.dragX, v.dragY = x, y
		_, wh := w.GetSize()
		switch v.dragging {
		case glfw.MouseButtonLeft:
			v.cam.Orbit(-0.3*dx, -0.3*dy)
		case glfw.MouseButtonRight, glfw.MouseButtonMiddle:
			v.cam.Pan(-dx/float64(wh), dy/float64(wh))
		}
	})
}

func (v *window) scrub(x float64) {
	ww, _ := v.win.GetSize()
	v.follow = false
	v.setFrame(int(math.Round(x / float64(max(ww, 1)) * float64(v.frames()-1))))
}

func (v *window) key(key glfw.Key, mods glfw.ModifierKey, repeat bool) {
	n := v.frames()
	switch {
	case key == glfw.KeySpace && !repeat:
		v.playing = !v.playing
		if !v.playing {
			v.follow = false
		}
	case key == glfw.KeyRight:
		v.playing, v.follow = false, false
		v.setFrame(v.frame + 1)
	case key == glfw.KeyLeft:
		v.playing, v.follow = false, false
		v.setFrame(v.frame - 1)
	case key == glfw.KeyMinus || key == glfw.KeyKPSubtract:
		v.speed = math.Max(v.speed/2, 1.0/32)
	case key == glfw.KeyEqual || key == glfw.KeyKPAdd:
		v.speed = math.Min(v.speed*2, 32)
	case key == glfw.KeyBackspace:
		v.follow = false
		v.setFrame(0)
		v.playT = 0
		v.cam = v.home
		v.camIndex = v.cam.Track
	case key == glfw.KeyHome:
		v.follow = false
		v.setFrame(0)
	case key == glfw.KeyEnd:
		v.setFrame(n - 1)
		v.follow = v.opt.Live != nil
	case key == glfw.KeyPageUp:
		v.follow = false
		v.setFrame(v.frame - max(1, n/10))
	case key == glfw.KeyPageDown:
		v.follow = false
		v.setFrame(v.frame + max(1, n/10))
	case key == glfw.KeyLeftBracket || key == glfw.KeyRightBracket:
		step := 1
		if key == glfw.KeyLeftBracket {
			step = -1
		}
		nb := v.opt.Model.Nbody
		v.camIndex = ((v.camIndex+step)%nb + nb) % nb
		v.setCamera(v.camIndex)
	case key == glfw.Key9 && !repeat:
		v.traces = !v.traces
		v.say("planner traces %s", map[bool]string{true: "on", false: "off"}[v.traces])
	case key == glfw.KeyF1 && !repeat:
		v.help = !v.help
	case key == glfw.KeyP && mods&glfw.ModControl != 0 && !repeat:
		v.shot = true
	case (key == glfw.KeyEnter || key == glfw.KeyKPEnter) && !repeat:
		if v.opt.Live == nil {
			v.say("no planner: start with --live")
			return
		}
		v.opt.Live.Toggle()
		v.follow = true
	case key == glfw.KeyQ && mods&glfw.ModControl != 0:
		v.win.SetShouldClose(true)
	}
}

// setCamera switches to the free camera (0), keeping the current view, or
// to one tracking body i at the default offset.
func (v *window) setCamera(i int) {
	v.cam.Follow(v.r.Model, v.r.Data)
	if i == 0 {
		v.cam.Track = 0
		return
	}
	v.cam.Track = i
	v.cam.TrackOffset = [3]float64{}
	if i == v.home.Track {
		v.cam.TrackOffset = v.home.TrackOffset
	}
}
