package viewer

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
)

// ModelFor returns the model trajectory t was recorded with: the model file
// at modelPath if it is not empty, else the model of t's task, else the
// model file t names. The model must have t's nq.
func ModelFor(t *Trajectory, modelPath string) (*batchsim.Model, error) {
	var m *batchsim.Model
	switch {
	case modelPath != "":
		var err error
		if m, err = batchsim.LoadFile(modelPath); err != nil {
			return nil, fmt.Errorf("viewer: model for the trajectory: %w", err)
		}
	case t.Task != "":
		task, err := batchsim.NewTask(t.Task)
		if err != nil {
			return nil, fmt.Errorf("viewer: the trajectory's task: %w", err)
		}
		m = task.Model
	case t.Model != "":
		var err error
		if m, err = batchsim.LoadFile(t.Model); err != nil {
			return nil, fmt.Errorf("viewer: the trajectory's model %q cannot be loaded (name the model file explicitly): %w", t.Model, err)
		}
	default:
		return nil, errors.New("viewer: the trajectory names neither a task nor a model file")
	}
	if m.Nq != t.Nq {
		return nil, fmt.Errorf("viewer: model %q has nq = %d but the trajectory has nq = %d: not the model it was recorded with", m.Name, m.Nq, t.Nq)
	}
	return m, nil
}

// ParseFrames reads a frame selection for a trajectory of n frames: "all",
// or a comma-separated list of frame numbers and inclusive ranges "a-b",
// with negative numbers counting from the end (−1 is the last frame).
func ParseFrames(spec string, n int) ([]int, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "all" {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	idx := func(s string) (int, error) {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("frame %q is not a number", s)
		}
		if k < 0 {
			k += n
		}
		if k < 0 || k >= n {
			return 0, fmt.Errorf("frame %s out of range: the trajectory has %d frames (0..%d)", s, n, n-1)
		}
		return k, nil
	}
	var out []int
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		// A range is a-b; a leading '-' is a negative index, not a range.
		if i := strings.Index(part[min(1, len(part)):], "-"); i >= 0 && len(part) > 0 {
			i++
			a, err := idx(part[:i])
			if err != nil {
				return nil, err
			}
			b, err := idx(part[i+1:])
			if err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("frame range %q runs backwards", part)
			}
			for k := a; k <= b; k++ {
				out = append(out, k)
			}
			continue
		}
		k, err := idx(part)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// RenderFrames renders the given frames of t, each as v shows it plus the
// planned paths of that step (PathsAt).
func RenderFrames(r *Renderer, t *Trajectory, frames []int, width, height int, v View) ([]*image.RGBA, error) {
	if r.Model.Nq != t.Nq {
		return nil, fmt.Errorf("viewer: renderer's model has nq = %d, trajectory nq = %d", r.Model.Nq, t.Nq)
	}
	out := make([]*image.RGBA, 0, len(frames))
	base := v.Paths
	for _, k := range frames {
		if k < 0 || k >= len(t.Qpos) {
			return nil, fmt.Errorf("viewer: frame %d out of range 0..%d", k, len(t.Qpos)-1)
		}
		if err := r.SetQpos(t.Qpos[k]); err != nil {
			return nil, err
		}
		v.Paths = append(base[:len(base):len(base)], t.PathsAt(k)...)
		img, err := r.Render(width, height, &v)
		if err != nil {
			return nil, fmt.Errorf("viewer: frame %d: %w", k, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// WritePNG writes img to path.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("viewer: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("viewer: write %s: %w", path, err)
	}
	return nil
}

// EncodeGIF writes frames as an endlessly looping animated GIF, each shown
// for delay seconds (rounded to GIF's 1/100 s, at least 0.02 s as browsers
// slow shorter delays down), quantised to the Plan 9 palette with
// Floyd–Steinberg dithering.
func EncodeGIF(w io.Writer, frames []*image.RGBA, delay float64) error {
	if len(frames) == 0 {
		return errors.New("viewer: no frames for the GIF")
	}
	cs := max(2, int(math.Round(100*delay)))
	g := &gif.GIF{LoopCount: 0}
	pal := color.Palette(palette.Plan9)
	for _, f := range frames {
		p := image.NewPaletted(f.Bounds(), pal)
		draw.FloydSteinberg.Draw(p, f.Bounds(), f, image.Point{})
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, cs)
	}
	if err := gif.EncodeAll(w, g); err != nil {
		return fmt.Errorf("viewer: encode GIF: %w", err)
	}
	return nil
}

// WriteGIF writes frames to path as EncodeGIF does.
func WriteGIF(path string, frames []*image.RGBA, delay float64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	if err := EncodeGIF(f, frames, delay); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("viewer: write %s: %w", path, err)
	}
	return nil
}
