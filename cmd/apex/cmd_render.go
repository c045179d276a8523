package main

import (
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/atomicfile"
	"github.com/apex-robotics/apex/viewer"
)

func init() {
	register(&command{
		name:      "render",
		summary:   "Render frames of a .traj file off-screen (no window; lavapipe works) to a PNG or an animated GIF.",
		usage:     "render FILE.traj --out OUT.png|OUT.gif [--frames all|N,M,A-B] [--stride K] [--width W] [--height H] [--model PATH.xml] [--azimuth A --elevation E --distance D] [--lookat X,Y,Z] [--no-track] [--info] [--no-paths]",
		takesArgs: true,
		run:       runRender,
	})
}

// camFlags are the camera settings `apex render` and `apex view` share.
type camFlags struct {
	azimuth, elevation, distance *float64
	lookat                       *[]float64
	noTrack                      *bool
}

func addCamFlags(fs interface {
	Float64(string, float64, string) *float64
	Float64Slice(string, []float64, string) *[]float64
	Bool(string, bool, string) *bool
}) camFlags {
	return camFlags{
		azimuth:   fs.Float64("azimuth", 90, "camera azimuth in degrees (90: side view along +y)"),
		elevation: fs.Float64("elevation", -15, "camera elevation in degrees (negative looks down)"),
		distance:  fs.Float64("distance", 0, "camera distance in metres (default: fits the model)"),
		lookat:    fs.Float64Slice("lookat", nil, "fixed point X,Y,Z (world, metres) the camera looks at (implies --no-track; default: the model's centre)"),
		noTrack:   fs.Bool("no-track", false, "fixed camera instead of one that follows the root body"),
	}
}

// check reports camera flags out of range.
func (c camFlags) check() error {
	if n := len(*c.lookat); n != 0 && n != 3 {
		return usagef("--lookat: want X,Y,Z, got %d numbers", n)
	}
	for _, x := range *c.lookat {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return usagef("--lookat %v: want finite numbers", *c.lookat)
		}
	}
	return nil
}

func (c camFlags) apply(cam *viewer.Camera) {
	cam.Azimuth, cam.Elevation = *c.azimuth, *c.elevation
	if *c.distance > 0 {
		cam.Distance = *c.distance
	}
	if *c.noTrack {
		cam.Track = 0
	}
	if l := *c.lookat; len(l) == 3 {
		cam.Lookat, cam.Track = batchsim.Vec3{l[0], l[1], l[2]}, 0
	}
}

// renderFrameHook, when set (by tests), is called after each frame is
// rendered with its index among the frames rendered.
var renderFrameHook func(i int)

func runRender(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["render"], stderr)
	out := fs.String("out", "", "output file: .png (one frame; several frames make OUT_0000.png, ...) or .gif (animated); written atomically once every frame is rendered")
	framesSpec := fs.String("frames", "", "frames to render: all, N,M,... or ranges A-B, each frame at most once; negative counts from the end (default: all for a GIF, the last frame for a PNG)")
	stride := fs.Int("stride", 1, "keep every K-th of the selected frames (smaller GIFs)")
	width := fs.Int("width", 640, "image width in pixels")
	height := fs.Int("height", 360, "image height in pixels")
	modelPath := fs.String("model", "", "model file (default: the trajectory's task, else the model file it names)")
	info := fs.Bool("info", false, "draw the time, step, reward and return on each frame")
	noPaths := fs.Bool("no-paths", false, "leave out the planner's paths stored in the file")
	cf := addCamFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one FILE.traj, got %d arguments", fs.NArg())
	}
	if *out == "" {
		return usagef("--out is required (.png or .gif)")
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".png" && ext != ".gif" {
		return usagef("--out %q: want a .png or .gif file", *out)
	}
	if *width < 1 || *height < 1 || *width > 8192 || *height > 8192 {
		return usagef("--width/--height %d×%d: want 1..8192", *width, *height)
	}
	if *stride < 1 {
		return usagef("--stride %d: must be at least 1", *stride)
	}
	tr, err := viewer.LoadTraj(fs.Arg(0))
	if err != nil {
		return err
	}
	m, err := viewer.ModelFor(tr, *modelPath)
	if err != nil {
		return err
	}
	spec := *framesSpec
	if spec == "" && ext == ".png" {
		spec = "-1"
	}
	frames, err := viewer.ParseFrames(spec, len(tr.Qpos))
	if err != nil {
		return usageError{fmt.Errorf("--frames: %w", err)}
	}
	var kept []int
	for i := 0; i < len(frames); i += *stride {
		kept = append(kept, frames[i])
	}
	// A GIF's frames are all held until the palette is known: refuse one
	// that would not fit before rendering anything.
	if px := int64(len(kept)) * int64(*width) * int64(*height); ext == ".gif" && px > viewer.MaxGIFPixels {
		return usagef("--frames: %d frames of %d×%d are %d pixels, a GIF holds at most %d (%d MiB at %d bytes a pixel); "+
			"use --stride, fewer --frames or a smaller --width/--height",
			len(kept), *width, *height, px, int64(viewer.MaxGIFPixels), viewer.MaxGIFPixels*viewer.GIFBytesPerPixel>>20, viewer.GIFBytesPerPixel)
	}
	// Every output path is checked before the work starts.
	var paths []string
	base := strings.TrimSuffix(*out, filepath.Ext(*out))
	if ext == ".gif" || len(kept) == 1 {
		paths = []string{*out}
	} else {
		for _, k := range kept {
			paths = append(paths, fmt.Sprintf("%s_%04d.png", base, k))
		}
	}
	for _, p := range paths {
		if err := checkOutput("out", p); err != nil {
			return err
		}
	}
	r, err := viewer.NewRenderer(m)
	if err != nil {
		return err
	}
	defer r.Close()
	cam := viewer.DefaultCamera(m)
	cf.apply(&cam)
	view := viewer.View{Camera: cam}
	if *noPaths {
		t := *tr
		t.Paths, t.Planned = nil, nil
		tr = &t
	}

	// Frames are rendered one at a time: a GIF keeps each as colour cells
	// (viewer.Animation), PNGs go to their temporary files at once. No old
	// file is replaced until every frame is done; an interrupt (Ctrl-C,
	// SIGTERM) or an error removes the temporary files.
	ctx, stop := interruptContext()
	defer stop()
	var pending []*atomicfile.File
	defer func() { atomicfile.AbortAll(pending...) }()
	anim := viewer.NewAnimation()
	for i, k := range kept {
		if ctx.Err() != nil {
			return errInterrupted(ctx)
		}
		img, err := viewer.RenderFrames(r, tr, []int{k}, *width, *height, view)
		if err != nil {
			return err
		}
		if *info {
			viewer.DrawText(img[0], 8, 8, []string{viewer.StatusLine(tr, k)})
		}
		if ext == ".gif" {
			if err := anim.Add(img[0]); err != nil {
				return err
			}
		} else {
			f, err := createOutput("out", paths[i], stdout)
			if err != nil {
				return err
			}
			pending = append(pending, f)
			if err := png.Encode(f, img[0]); err != nil {
				return fmt.Errorf("write %s: %w", paths[i], err)
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
		if renderFrameHook != nil {
			renderFrameHook(i)
		}
	}
	if ext == ".gif" {
		f, err := createOutput("out", *out, stdout)
		if err != nil {
			return err
		}
		pending = append(pending, f)
		if err := anim.Encode(f, tr.Dt*float64(*stride)); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	if ctx.Err() != nil {
		return errInterrupted(ctx)
	}
	if err := atomicfile.CommitAll(pending...); err != nil {
		return err
	}
	var size int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			size += st.Size()
		}
	}
	fmt.Fprintf(stdout, "rendered %d frames of %s (%s, %d×%d, %s) to %s (%.0f KB)\n", len(kept), fs.Arg(0), m.Name,
		*width, *height, r.Adapter, strings.Join(paths, ", "), float64(size)/1024)
	return nil
}
