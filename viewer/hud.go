package viewer

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// StatusLine is the line the viewer shows for frame k of t: time, step,
// the reward of the step into frame k and the return so far.
func StatusLine(t *Trajectory, k int) string {
	s := fmt.Sprintf("t %.2f s  step %d/%d", float64(k)*t.Dt, k, len(t.Qpos)-1)
	if k > 0 && k-1 < len(t.Rewards) {
		s += fmt.Sprintf("  reward %.3f  return %.2f", t.Rewards[k-1], t.Return(k))
	}
	return s
}

// HUD text metrics of basicfont.Face7x13.
const (
	hudLineHeight = 15
	hudPad        = 6
)

// DrawText draws lines of text at (x, y) (top left) on a translucent dark
// panel, in white, with Go's 7×13 bitmap font.
func DrawText(dst draw.Image, x, y int, lines []string) {
	if len(lines) == 0 {
		return
	}
	wmax := 0
	for _, l := range lines {
		wmax = max(wmax, font.MeasureString(basicfont.Face7x13, l).Ceil())
	}
	panel := image.Rect(x, y, x+wmax+2*hudPad, y+len(lines)*hudLineHeight+2*hudPad)
	draw.Draw(dst, panel, image.NewUniform(color.RGBA{0, 0, 0, 150}), image.Point{}, draw.Over)
	d := font.Drawer{Dst: dst, Src: image.White, Face: basicfont.Face7x13}
	for i, l := range lines {
		d.Dot = fixed.P(x+hudPad, y+hudPad+i*hudLineHeight+11)
		d.DrawString(l)
	}
}

// DrawTimeline draws a progress bar of frame k of n along the bottom edge
// of dst, height pixels high.
func DrawTimeline(dst draw.Image, k, n, height int) {
	b := dst.Bounds()
	bar := image.Rect(b.Min.X, b.Max.Y-height, b.Max.X, b.Max.Y)
	draw.Draw(dst, bar, image.NewUniform(color.RGBA{0, 0, 0, 140}), image.Point{}, draw.Over)
	if n > 1 {
		w := bar.Dx() * k / (n - 1)
		draw.Draw(dst, image.Rect(bar.Min.X, bar.Min.Y+2, bar.Min.X+w, bar.Max.Y-2),
			image.NewUniform(color.RGBA{230, 150, 40, 255}), image.Point{}, draw.Over)
	}
}
