package main

import (
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apex-robotics/apex/viewer"
)

func init() {
	register(&command{
		name:    "render",
		summary: "Render frames of a .traj file off-screen (no window; lavapipe works) to a PNG or an animated GIF.",
		usage:   "render FILE.traj --out OUT.png|OUT.gif [--frames all|N,M,A-B] [--stride K] [--width W] [--height H] [--model PATH.xml] [--azimuth A --elevation E --distance D] [--no-track] [--info] [--no-paths]",
		run:     runRender,
	})
}

// camFlags are the camera settings `apex render` and `apex view` share.
type camFlags struct {
	azimuth, elevation, distance *float64
	noTrack                      *bool
}

func addCamFlags(fs interface {
	Float64(string, float64, string) *float64
	Bool(string, bool, string) *bool
}) camFlags {
	return camFlags{
		azimuth:   fs.Float64("azimuth", 90, "camera azimuth in degrees (90: side view along +y)"),
		elevation: fs.Float64("elevation", -15, "camera elevation in degrees (negative looks down)"),
		distance:  fs.Float64("distance", 0, "camera distance in metres (default: fits the model)"),
		noTrack:   fs.Bool("no-track", false, "fixed camera instead of one that follows the root body"),
	}
}

func (c camFlags) apply(cam *viewer.Camera) {
	cam.Azimuth, cam.Elevation = *c.azimuth, *c.elevation
	if *c.distance > 0 {
		cam.Distance = *c.distance
	}
	if *c.noTrack {
		cam.Track = 0
	}
}

func runRender(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["render"], stderr)
	out := fs.String("out", "", "output file: .png (one frame; several frames make OUT_0000.png, ...) or .gif (animated)")
	framesSpec := fs.String("frames", "", "frames to render: all, N,M,... or ranges A-B; negative counts from the end (default: all for a GIF, the last frame for a PNG)")
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
	r, err := viewer.NewRenderer(m)
	if err != nil {
		return err
	}
	defer r.Close()
	cam := viewer.DefaultCamera(m)
	cf.apply(&cam)
	view := viewer.View{Camera: cam}
	var imgs []*image.RGBA
	if *noPaths {
		t := *tr
		t.Paths, t.Planned = nil, nil
		tr = &t
	}
	for _, k := range kept {
		img, err := viewer.RenderFrames(r, tr, []int{k}, *width, *height, view)
		if err != nil {
			return err
		}
		if *info {
			viewer.DrawText(img[0], 8, 8, []string{viewer.StatusLine(tr, k)})
		}
		imgs = append(imgs, img[0])
	}
	var written []string
	switch {
	case ext == ".gif":
		delay := tr.Dt * float64(*stride)
		if err := viewer.WriteGIF(*out, imgs, delay); err != nil {
			return err
		}
		written = append(written, *out)
	case len(imgs) == 1:
		if err := viewer.WritePNG(*out, imgs[0]); err != nil {
			return err
		}
		written = append(written, *out)
	default:
		base := strings.TrimSuffix(*out, filepath.Ext(*out))
		for i, img := range imgs {
			p := fmt.Sprintf("%s_%04d.png", base, kept[i])
			if err := viewer.WritePNG(p, img); err != nil {
				return err
			}
			written = append(written, p)
		}
	}
	var size int64
	for _, p := range written {
		if st, err := os.Stat(p); err == nil {
			size += st.Size()
		}
	}
	fmt.Fprintf(stdout, "rendered %d frames of %s (%s, %d×%d, %s) to %s (%.0f KB)\n", len(imgs), fs.Arg(0), m.Name,
		*width, *height, r.Adapter, strings.Join(written, ", "), float64(size)/1024)
	return nil
}
