package viewer

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"math"
	"os"
	"sort"
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
// slow shorter delays down), with one 256-colour palette for all frames
// fitted to them by median cut (a fixed palette turns the floor grey), and
// no dithering, which keeps flat floors and skies small after compression.
func EncodeGIF(w io.Writer, frames []*image.RGBA, delay float64) error {
	if len(frames) == 0 {
		return errors.New("viewer: no frames for the GIF")
	}
	cs := max(2, int(math.Round(100*delay)))
	pal, lut := medianCut(frames, 256)
	g := &gif.GIF{LoopCount: 0}
	for _, f := range frames {
		b := f.Bounds()
		p := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
		for y := range b.Dy() {
			row := f.Pix[f.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range b.Dx() {
				p.Pix[y*p.Stride+x] = lut[bucket(row[4*x], row[4*x+1], row[4*x+2])]
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, cs)
	}
	if err := gif.EncodeAll(w, g); err != nil {
		return fmt.Errorf("viewer: encode GIF: %w", err)
	}
	return nil
}

// bucket is a colour's cell in a 5-bit-per-channel histogram.
func bucket(r, g, b uint8) uint16 { return uint16(r>>3)<<10 | uint16(g>>3)<<5 | uint16(b>>3) }

// medianCut returns a palette of at most n colours for the pixels of
// frames (Heckbert 1982: split the most populous box along its widest
// channel at the median, over a 5-bit histogram) and the palette index
// nearest to each histogram cell.
func medianCut(frames []*image.RGBA, n int) (color.Palette, []uint8) {
	hist := make([]int, 1<<15)
	for _, f := range frames {
		b := f.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := f.Pix[f.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				hist[bucket(row[4*x], row[4*x+1], row[4*x+2])]++
			}
		}
	}
	var cells []uint16
	for c, k := range hist {
		if k > 0 {
			cells = append(cells, uint16(c))
		}
	}
	ch := func(c uint16, i int) int { return int(c>>(10-5*i)) & 31 }
	type box struct{ cells []uint16 }
	count := func(bx box) (k int) {
		for _, c := range bx.cells {
			k += hist[c]
		}
		return k
	}
	boxes := []box{{cells}}
	for len(boxes) < n {
		// Split the most populous box that has more than one cell.
		best, bestK := -1, 0
		for i, bx := range boxes {
			if k := count(bx); len(bx.cells) > 1 && k > bestK {
				best, bestK = i, k
			}
		}
		if best < 0 {
			break
		}
		bx := boxes[best]
		axis, width := 0, -1
		for i := range 3 {
			lo, hi := 31, 0
			for _, c := range bx.cells {
				lo, hi = min(lo, ch(c, i)), max(hi, ch(c, i))
			}
			if hi-lo > width {
				axis, width = i, hi-lo
			}
		}
		sort.Slice(bx.cells, func(a, b int) bool { return ch(bx.cells[a], axis) < ch(bx.cells[b], axis) })
		half, acc, cut := bestK/2, 0, 1
		for i, c := range bx.cells[:len(bx.cells)-1] {
			acc += hist[c]
			cut = i + 1
			if acc >= half {
				break
			}
		}
		boxes[best] = box{bx.cells[:cut]}
		boxes = append(boxes, box{bx.cells[cut:]})
	}
	pal := make(color.Palette, 0, len(boxes))
	for _, bx := range boxes {
		var s [3]float64
		k := float64(count(bx))
		for _, c := range bx.cells {
			for i := range 3 {
				s[i] += float64(hist[c]) * (float64(ch(c, i)<<3) + 4)
			}
		}
		pal = append(pal, color.RGBA{uint8(s[0] / k), uint8(s[1] / k), uint8(s[2] / k), 255})
	}
	lut := make([]uint8, 1<<15)
	for c, k := range hist {
		if k > 0 {
			lut[c] = uint8(pal.Index(color.RGBA{uint8(ch(uint16(c), 0)<<3 + 4), uint8(ch(uint16(c), 1)<<3 + 4), uint8(ch(uint16(c), 2)<<3 + 4), 255}))
		}
	}
	return pal, lut
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
