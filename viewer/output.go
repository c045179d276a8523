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
	"sort"
	"strconv"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/atomicfile"
)

// ModelFor returns the model trajectory t was recorded with: the model file
// at modelPath if it is not empty, else the model of t's task with the
// bodies its parameters place (Task.BodyPos: the door frame of the episode),
// else the model file t names. The model must have t's nq.
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
		if len(t.Params) > 0 {
			if len(t.Params) != task.NParam {
				return nil, fmt.Errorf("viewer: the trajectory has %d task parameters, task %s takes %d", len(t.Params), t.Task, task.NParam)
			}
			m = task.ModelFor(t.Params, new(batchsim.Model))
		}
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
// with negative numbers counting from the end (−1 is the last frame). A
// frame selected twice ("0,0", "0-3,2", "4,-1" of 5 frames) is an error:
// each selected frame becomes one picture.
func ParseFrames(spec string, n int) ([]int, error) {
	frames, err := parseFrames(spec, n)
	if err != nil {
		return nil, err
	}
	seen := make(map[int]bool, len(frames))
	for _, k := range frames {
		if seen[k] {
			return nil, fmt.Errorf("frame %d is selected more than once in %q", k, spec)
		}
		seen[k] = true
	}
	return frames, nil
}

func parseFrames(spec string, n int) ([]int, error) {
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

// WritePNG writes img to path atomically (internal/atomicfile: a
// temporary file renamed over a regular file, a device or pipe written
// directly, symbolic links followed), so that a failure or an interrupt
// leaves the old file as it was.
func WritePNG(path string, img image.Image) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	return nil
}

// GIFBytesPerPixel is what an Animation holds per pixel of its frames
// (one 15-bit colour cell), and MaxGIFPixels the most pixels (frames ×
// width × height) an Animation takes: 512 MiB of cells. Callers refuse
// larger requests before rendering.
const (
	GIFBytesPerPixel = 2
	MaxGIFPixels     = 1 << 28
)

// Animation collects the frames of an animated GIF, each reduced at once to
// its 15-bit colour cells (2 bytes a pixel instead of RGBA's 4), with the
// colour histogram of all of them, so that the RGBA frames need not be
// kept until the palette is known.
type Animation struct {
	width, height int
	pixels        int64
	hist          []int
	cells         [][]uint16
}

// NewAnimation returns an empty animation.
func NewAnimation() *Animation { return &Animation{hist: make([]int, 1<<15)} }

// Len is the number of frames added.
func (a *Animation) Len() int { return len(a.cells) }

// Add appends a frame; every frame must have the first one's size, and the
// frames together at most MaxGIFPixels pixels.
func (a *Animation) Add(f *image.RGBA) error {
	b := f.Bounds()
	if len(a.cells) == 0 {
		a.width, a.height = b.Dx(), b.Dy()
	} else if b.Dx() != a.width || b.Dy() != a.height {
		return fmt.Errorf("viewer: GIF frame %d is %d×%d, the first is %d×%d", len(a.cells), b.Dx(), b.Dy(), a.width, a.height)
	}
	if a.pixels+int64(b.Dx()*b.Dy()) > MaxGIFPixels {
		return fmt.Errorf("viewer: a GIF of more than %d pixels (frames × width × height)", MaxGIFPixels)
	}
	a.pixels += int64(b.Dx() * b.Dy())
	c := make([]uint16, b.Dx()*b.Dy())
	for y := range b.Dy() {
		row := f.Pix[f.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := range b.Dx() {
			k := bucket(row[4*x], row[4*x+1], row[4*x+2])
			c[y*b.Dx()+x] = k
			a.hist[k]++
		}
	}
	a.cells = append(a.cells, c)
	return nil
}

// Encode writes the animation as EncodeGIF does. It converts the frames to
// the palette one by one, dropping each frame's cells, so the animation
// is used up afterwards.
func (a *Animation) Encode(w io.Writer, delay float64) error {
	if len(a.cells) == 0 {
		return errors.New("viewer: no frames for the GIF")
	}
	cs := max(2, int(math.Round(100*delay)))
	pal, lut := medianCut(a.hist, 256)
	g := &gif.GIF{LoopCount: 0}
	for i, c := range a.cells {
		p := image.NewPaletted(image.Rect(0, 0, a.width, a.height), pal)
		for y := range a.height {
			for x := range a.width {
				p.Pix[y*p.Stride+x] = lut[c[y*a.width+x]]
			}
		}
		a.cells[i] = nil
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, cs)
	}
	a.cells = nil
	if err := gif.EncodeAll(w, g); err != nil {
		return fmt.Errorf("viewer: encode GIF: %w", err)
	}
	return nil
}

// EncodeGIF writes frames as an endlessly looping animated GIF, each shown
// for delay seconds (rounded to GIF's 1/100 s, at least 0.02 s as browsers
// slow shorter delays down), with one 256-colour palette for all frames
// fitted to them by median cut (a fixed palette turns the floor grey), and
// no dithering, which keeps flat floors and skies small after compression.
func EncodeGIF(w io.Writer, frames []*image.RGBA, delay float64) error {
	a := NewAnimation()
	for _, f := range frames {
		if err := a.Add(f); err != nil {
			return err
		}
	}
	return a.Encode(w, delay)
}

// bucket is a colour's cell in a 5-bit-per-channel histogram.
func bucket(r, g, b uint8) uint16 { return uint16(r>>3)<<10 | uint16(g>>3)<<5 | uint16(b>>3) }

// medianCut returns a palette of at most n colours for the pixels counted
// in hist, a 5-bit-per-channel histogram (Heckbert 1982: split the most
// populous box along its widest channel at the median) and the palette
// index nearest to each histogram cell.
func medianCut(hist []int, n int) (color.Palette, []uint8) {
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

// WriteGIF writes frames to path as EncodeGIF does, atomically (see
// WritePNG).
func WriteGIF(path string, frames []*image.RGBA, delay float64) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return EncodeGIF(w, frames, delay) }); err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	return nil
}

// EncodeTraj writes t in the .traj format (gzip-compressed JSON, as
// SaveTraj does, within the limits LoadTraj applies) to w, for a caller
// that writes the file itself (through internal/atomicfile, or to
// standard output). Every number must be finite: JSON has no NaN or
// infinity, and the error names the first one that is not.
func EncodeTraj(w io.Writer, t *Trajectory) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := checkFinite(t); err != nil {
		return err
	}
	return writeTraj(w, t)
}

// checkFinite reports the first value of t that JSON cannot hold.
func checkFinite(t *Trajectory) error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	rows := func(name string, x [][]float64) error {
		for k, r := range x {
			for i, v := range r {
				if bad(v) {
					return fmt.Errorf("trajectory frame %d: %s[%d] = %g is not finite", k, name, i, v)
				}
			}
		}
		return nil
	}
	if bad(t.Dt) {
		return fmt.Errorf("trajectory dt = %g is not finite", t.Dt)
	}
	if err := rows("qpos", t.Qpos); err != nil {
		return err
	}
	if err := rows("qvel", t.Qvel); err != nil {
		return err
	}
	if err := rows("action", t.Actions); err != nil {
		return err
	}
	for k, r := range t.Rewards {
		if bad(r) {
			return fmt.Errorf("trajectory step %d: reward %g is not finite", k, r)
		}
	}
	for k, step := range t.Planned {
		for _, p := range step {
			if bad(p[0]) || bad(p[1]) || bad(p[2]) {
				return fmt.Errorf("trajectory frame %d: a planned path point is not finite", k)
			}
		}
	}
	for k, step := range t.Paths {
		for _, pp := range step {
			for _, p := range pp.Points {
				if bad(p[0]) || bad(p[1]) || bad(p[2]) {
					return fmt.Errorf("trajectory frame %d: a planned path point is not finite", k)
				}
			}
		}
	}
	return nil
}
