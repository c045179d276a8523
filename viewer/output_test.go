package viewer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestParseFramesRepeated: a frame selected twice is an error (it used to
// make three identical pictures of "0,0,0").
func TestParseFramesRepeated(t *testing.T) {
	for _, spec := range []string{"0,0,0", "0-3,2", "4,-1", "1-2,2-3"} {
		if got, err := ParseFrames(spec, 5); err == nil || !strings.Contains(err.Error(), "more than once") {
			t.Errorf("ParseFrames(%q) = %v, %v; want an error about a repeated frame", spec, got, err)
		}
	}
	if got, err := ParseFrames("3,1,0", 5); err != nil || !equalInts(got, []int{3, 1, 0}) {
		t.Errorf("an unordered selection keeps its order: %v, %v", got, err)
	}
}

func solidFrame(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

// TestWriteGIFFailureKeepsOldFile: a GIF that cannot be written leaves the
// old file (it used to be truncated to 0 bytes first).
func TestWriteGIFFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "old.gif")
	os.WriteFile(p, []byte("the old animation"), 0o644)
	if err := WriteGIF(p, nil, 0.05); err == nil {
		t.Fatal("WriteGIF without frames gave no error")
	}
	if b, _ := os.ReadFile(p); string(b) != "the old animation" {
		t.Errorf("the old file holds %q after a failed write", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestWritePNGThroughLinksAndDevices: a symbolic link is written through,
// /dev/null stays a device, a new file gets 0666 less the umask.
func TestWritePNGThroughLinksAndDevices(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	img := solidFrame(4, 3, color.RGBA{200, 10, 10, 255})
	p := filepath.Join(dir, "a.png")
	if err := WritePNG(p, img); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("new PNG mode %v, want 0644 under umask 022", st.Mode().Perm())
	}
	link := filepath.Join(dir, "link.png")
	os.Symlink("a.png", link)
	if err := WritePNG(link, solidFrame(2, 2, color.RGBA{0, 0, 0, 255})); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if err := WritePNG("/dev/null", img); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat("/dev/null"); st.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("/dev/null replaced: %v", st.Mode())
	}
}

// TestAnimation: frames kept as colour cells encode to the same colours,
// and a request over MaxGIFPixels is refused before its pixels are read.
func TestAnimation(t *testing.T) {
	cols := []color.RGBA{{250, 0, 0, 255}, {0, 250, 0, 255}, {0, 0, 250, 255}}
	var frames []*image.RGBA
	for _, c := range cols {
		frames = append(frames, solidFrame(8, 6, c))
	}
	var buf bytes.Buffer
	if err := EncodeGIF(&buf, frames, 0.05); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.Delay[0] != 5 {
		t.Fatalf("%d frames, delay %v", len(g.Image), g.Delay)
	}
	for i, im := range g.Image {
		r, gg, b, _ := im.At(3, 3).RGBA()
		want := cols[i]
		if d := math.Abs(float64(r>>8)-float64(want.R)) + math.Abs(float64(gg>>8)-float64(want.G)) + math.Abs(float64(b>>8)-float64(want.B)); d > 24 {
			t.Errorf("frame %d colour %d,%d,%d, want %v", i, r>>8, gg>>8, b>>8, want)
		}
	}
	a := NewAnimation()
	huge := &image.RGBA{Rect: image.Rect(0, 0, 1<<15, 1<<14)} // no pixels behind it
	if err := a.Add(huge); err == nil || !strings.Contains(err.Error(), "268435456") {
		t.Errorf("Add of 2^29 pixels: %v; want the limit", err)
	}
	a.Add(solidFrame(8, 6, cols[0]))
	if err := a.Add(solidFrame(6, 8, cols[0])); err == nil {
		t.Error("frames of different sizes were accepted")
	}
}

// TestEncodeTrajNonFinite: a trajectory with a non-finite number is
// refused with what and where (it used to reach encoding/json: "json:
// unsupported value: -Inf"); a finite one round-trips.
func TestEncodeTrajNonFinite(t *testing.T) {
	tr := &Trajectory{Version: TrajVersion, Model: "m.xml", Nq: 1, Nv: 1, Dt: 0.1,
		Qpos: [][]float64{{0}, {1}}, Qvel: [][]float64{{0}, {1}}, Actions: [][]float64{{0}}, Rewards: []float64{math.Inf(-1)}}
	var buf bytes.Buffer
	err := EncodeTraj(&buf, tr)
	if err == nil || !strings.Contains(err.Error(), "reward") || strings.Contains(err.Error(), "unsupported value") {
		t.Errorf("reward -Inf: %v", err)
	}
	tr.Rewards[0] = 1
	tr.Qvel[1][0] = math.NaN()
	if err := EncodeTraj(&buf, tr); err == nil || !strings.Contains(err.Error(), "qvel") {
		t.Errorf("qvel NaN: %v", err)
	}
	tr.Qvel[1][0] = 2
	buf.Reset()
	if err := EncodeTraj(&buf, tr); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var back Trajectory
	if err := json.NewDecoder(zr).Decode(&back); err != nil || len(back.Qpos) != 2 || back.Qvel[1][0] != 2 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
