package viewer

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// A red ball on a green floor.
const ballXML = `<mujoco model="ball">
  <worldbody>
    <geom name="floor" type="plane" size="10 10 0.1" rgba="0.3 0.7 0.3 1"/>
    <body name="ball" pos="0 0 0.5">
      <joint name="free" type="free"/>
      <geom name="ball" type="sphere" size="0.3" rgba="0.9 0.15 0.1 1"/>
    </body>
  </worldbody>
</mujoco>`

func init() {
	// wgpu-native's Vulkan loader wants a runtime directory.
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir := filepath.Join(os.TempDir(), "apex-xdg")
		if os.MkdirAll(dir, 0o700) == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
		}
	}
}

// newTestRenderer skips the test when no WebGPU adapter exists.
func newTestRenderer(t *testing.T, m *batchsim.Model) *Renderer {
	t.Helper()
	r, err := NewRenderer(m)
	if errors.Is(err, ErrNoAdapter) {
		t.Skipf("no WebGPU adapter (install mesa-vulkan-drivers for lavapipe): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func loadBall(t *testing.T) *batchsim.Model {
	t.Helper()
	m, err := batchsim.LoadXML([]byte(ballXML), "ball.xml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// shade is the colour render.wgsl gives a surface of colour c with unit
// normal n seen by cam (no fog, non-sRGB target).
func shade(c [4]float32, n batchsim.Vec3, cam *Camera) [3]float64 {
	f := cam.Forward()
	hl := math.Max(0, -dot(n, f))
	top := math.Max(0, dot(n, topLight))
	k := ambient + headlightGain*hl + topGain*top
	return [3]float64{float64(c[0]) * k, float64(c[1]) * k, float64(c[2]) * k}
}

func pixel(img *image.RGBA, x, y int) [3]float64 {
	c := img.RGBAAt(x, y)
	return [3]float64{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}
}

func near(a, b [3]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestRenderKnownScene renders a ball above a floor and checks the floor's
// colour at a corner and the ball's at the pixel where its centre projects,
// both against the lighting model evaluated in Go with the same camera.
func TestRenderKnownScene(t *testing.T) {
	m := loadBall(t)
	r := newTestRenderer(t, m)
	if err := r.SetQpos(m.Qpos0); err != nil {
		t.Fatal(err)
	}
	const w, h = 160, 120
	cam := Camera{Lookat: batchsim.Vec3{0.1, 0.2, 0.3}, Distance: 3, Azimuth: 30, Elevation: -55, FovY: 45}
	img, err := r.Render(w, h, &View{Camera: cam})
	if err != nil {
		t.Fatal(err)
	}
	// 8-bit output, interpolated normals of a tessellated sphere.
	const tol = 0.03

	eye := cam.Eye()
	floor, ball := m.GeomRGBA[0], m.GeomRGBA[1]
	checked := 0
	for _, c := range [][2]int{{0, 0}, {w - 1, 0}, {0, h - 1}, {w - 1, h - 1}} {
		ray := cam.Ray(float64(c[0])+0.5, float64(c[1])+0.5, w, h)
		if ray[2] >= 0 {
			continue
		}
		s := -eye[2] / ray[2]
		p := batchsim.Vec3{eye[0] + s*ray[0], eye[1] + s*ray[1], eye[2] + s*ray[2]}
		// Grid lines lie on whole metres; a pixel covers a few cm here.
		if gx, gy := math.Abs(p[0]-math.Round(p[0])), math.Abs(p[1]-math.Round(p[1])); gx < 0.1 || gy < 0.1 {
			continue
		}
		want := shade(floor, batchsim.Vec3{0, 0, 1}, &cam)
		if got := pixel(img, c[0], c[1]); !near(got, want, tol) {
			t.Errorf("floor at corner %v (world %.2f): got %.3f, want %.3f", c, p, got, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no corner shows the floor away from grid lines: fix the test camera")
	}

	centre := r.Data.GeomXpos[1]
	x, y, ok := cam.Project(centre, w, h)
	if !ok {
		t.Fatal("ball behind the camera")
	}
	px, py := int(x), int(y)
	// The surface point seen through that pixel, and its normal.
	ray := cam.Ray(float64(px)+0.5, float64(py)+0.5, w, h)
	oc := batchsim.Vec3{eye[0] - centre[0], eye[1] - centre[1], eye[2] - centre[2]}
	b, rad := dot(oc, ray), m.GeomSize[1][0]
	disc := b*b - (dot(oc, oc) - rad*rad)
	if disc < 0 {
		t.Fatal("the pixel of the ball's projected centre misses the ball in Go")
	}
	s := -b - math.Sqrt(disc)
	n := normalize(batchsim.Vec3{oc[0] + s*ray[0], oc[1] + s*ray[1], oc[2] + s*ray[2]})
	want := shade(ball, n, &cam)
	t.Logf("ball pixel (%d, %d): got %.3f, want %.3f", px, py, pixel(img, px, py), want)
	if got := pixel(img, px, py); !near(got, want, tol) {
		t.Errorf("ball at pixel (%d, %d): got %.3f, want %.3f", px, py, got, want)
	}
	// The sky is what the top rows show when the camera looks at the horizon.
	cam.Elevation = 0
	img, err = r.Render(w, h, &View{Camera: cam})
	if err != nil {
		t.Fatal(err)
	}
	sky := [3]float64{float64(Sky[0]), float64(Sky[1]), float64(Sky[2])}
	if got := pixel(img, w/2, 0); !near(got, sky, 2.0/255) {
		t.Errorf("sky: got %.3f, want %.3f", got, sky)
	}
}

// TestRenderSizes checks odd widths (padded read-back rows) and that the
// pose is taken from SetQpos.
func TestRenderSizes(t *testing.T) {
	m := loadBall(t)
	r := newTestRenderer(t, m)
	cam := Camera{Lookat: batchsim.Vec3{0, 0, 0.5}, Distance: 3, Azimuth: 90, Elevation: -10}
	for _, x := range []float64{-0.6, 0.6} {
		q := append([]float64(nil), m.Qpos0...)
		q[0] = x
		if err := r.SetQpos(q); err != nil {
			t.Fatal(err)
		}
		const w, h = 97, 61 // 388-byte rows, padded to 512 in the read-back
		img, err := r.Render(w, h, &View{Camera: cam})
		if err != nil {
			t.Fatal(err)
		}
		px, py, _ := cam.Project(batchsim.Vec3{x, 0, 0.5}, w, h)
		c := pixel(img, int(px), int(py))
		if c[0] < 2*c[1] || c[0] < 2*c[2] {
			t.Errorf("ball at x = %.1f: pixel (%d, %d) is %.2f, not red", x, int(px), int(py), c)
		}
		// The mirrored pixel shows the floor, not the ball.
		c = pixel(img, w-1-int(px), int(py))
		if c[0] > c[1] {
			t.Errorf("ball at x = %.1f: mirrored pixel is %.2f, expected the floor", x, c)
		}
	}
	if err := r.SetQpos([]float64{1}); err == nil {
		t.Error("SetQpos with a wrong length succeeded")
	}
	if _, err := r.Render(0, 10, &View{Camera: cam}); err == nil {
		t.Error("Render of a 0-wide image succeeded")
	}
}

// TestRenderPaths checks that a bold planned path shows in its colour.
func TestRenderPaths(t *testing.T) {
	m := loadBall(t)
	r := newTestRenderer(t, m)
	if err := r.SetQpos(m.Qpos0); err != nil {
		t.Fatal(err)
	}
	cam := Camera{Lookat: batchsim.Vec3{0, 0, 0.5}, Distance: 3, Azimuth: 90, Elevation: -10}
	p := Path{Points: []batchsim.Vec3{{-1.5, 0, 1.2}, {1.5, 0, 1.2}}, Color: [4]float32{0, 0, 1, 1}, Width: 0.1}
	const w, h = 160, 120
	img, err := r.Render(w, h, &View{Camera: cam, Paths: []Path{p}})
	if err != nil {
		t.Fatal(err)
	}
	x, y, _ := cam.Project(batchsim.Vec3{0.8, 0, 1.2}, w, h)
	if got := pixel(img, int(x), int(y)); !near(got, [3]float64{0, 0, 1}, 2.0/255) {
		t.Errorf("path pixel: got %.3f, want blue", got)
	}
}

func TestParseFrames(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []int
	}{
		{"all", []int{0, 1, 2, 3, 4}},
		{"0,2,4", []int{0, 2, 4}},
		{"-1", []int{4}},
		{"1-3", []int{1, 2, 3}},
		{"0, -2--1", []int{0, 3, 4}},
	} {
		got, err := ParseFrames(c.spec, 5)
		if err != nil || !equalInts(got, c.want) {
			t.Errorf("ParseFrames(%q) = %v, %v; want %v", c.spec, got, err, c.want)
		}
	}
	for _, bad := range []string{"5", "-6", "x", "3-1", "1,"} {
		if got, err := ParseFrames(bad, 5); err == nil {
			t.Errorf("ParseFrames(%q) = %v, want an error", bad, got)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGIFFrames renders a trajectory to a GIF and decodes one frame per
// requested step, each different from the last (the ball moves).
func TestGIFFrames(t *testing.T) {
	m := loadBall(t)
	tr := &Trajectory{Version: TrajVersion, Model: "ball.xml", Nq: m.Nq, Nv: m.Nv, Dt: 0.1}
	for k := range 6 {
		q := append([]float64(nil), m.Qpos0...)
		q[0] = 0.2 * float64(k)
		tr.Qpos = append(tr.Qpos, q)
	}
	r := newTestRenderer(t, m)
	frames, err := ParseFrames("0,2,3,5", len(tr.Qpos))
	if err != nil {
		t.Fatal(err)
	}
	cam := Camera{Lookat: batchsim.Vec3{0.5, 0, 0.5}, Distance: 3, Azimuth: 90, Elevation: -10}
	imgs, err := RenderFrames(r, tr, frames, 80, 60, View{Camera: cam})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeGIF(&buf, imgs, tr.Dt); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(frames) {
		t.Fatalf("GIF has %d frames, want %d", len(g.Image), len(frames))
	}
	for i, d := range g.Delay {
		if d != 10 {
			t.Errorf("frame %d delay %d/100 s, want 10", i, d)
		}
	}
	for i := 1; i < len(g.Image); i++ {
		if bytes.Equal(g.Image[i].Pix, g.Image[i-1].Pix) {
			t.Errorf("GIF frames %d and %d are identical", i-1, i)
		}
	}
}

func TestModelFor(t *testing.T) {
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trajectory{Version: TrajVersion, Task: "halfcheetah", Nq: task.Model.Nq, Qpos: [][]float64{task.Model.Qpos0}}
	if m, err := ModelFor(tr, ""); err != nil || m.Nq != task.Model.Nq {
		t.Errorf("ModelFor(halfcheetah): %v", err)
	}
	tr.Nq++
	if _, err := ModelFor(tr, ""); err == nil || !strings.Contains(err.Error(), "nq") {
		t.Errorf("nq mismatch: error %v", err)
	}
	missing := &Trajectory{Version: TrajVersion, Model: filepath.Join(t.TempDir(), "gone.xml"), Nq: 1}
	if _, err := ModelFor(missing, ""); err == nil || !strings.Contains(err.Error(), "gone.xml") {
		t.Errorf("missing model: error %v", err)
	}
	unknown := &Trajectory{Version: TrajVersion, Task: "nosuchtask", Nq: 1}
	if _, err := ModelFor(unknown, ""); err == nil || !strings.Contains(err.Error(), "nosuchtask") {
		t.Errorf("unknown task: error %v", err)
	}
	// The door's episode parameters place its frame; a wrong count is refused.
	door, err := batchsim.NewTask("door")
	if err != nil {
		t.Fatal(err)
	}
	if len(door.BodyPos) != 1 {
		t.Fatalf("the door task places %d bodies, want 1", len(door.BodyPos))
	}
	frame := door.BodyPos[0].Body
	params := []float64{-0.25, 0.3, 0.3}
	dt := &Trajectory{Version: TrajVersion, Task: "door", Nq: door.Model.Nq, Params: params, Qpos: [][]float64{door.Model.Qpos0}}
	m, err := ModelFor(dt, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.BodyPos[frame]; got != (batchsim.Vec3{-0.25, 0.3, 0.3}) {
		t.Errorf("door frame at %v, want the trajectory's parameters %v", got, params)
	}
	if door.Model.BodyPos[frame] == m.BodyPos[frame] {
		t.Error("the task's own model was moved, or the parameters equal the file's position")
	}
	dt.Params = params[:2]
	if _, err := ModelFor(dt, ""); err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("2 parameters for the door: error %v", err)
	}
}

func TestPathsAt(t *testing.T) {
	tr := &Trajectory{Paths: [][]PlannedPath{{{Best: true, Points: [][3]float64{{0, 0, 0}, {1, 0, 0}}},
		{Points: [][3]float64{{0, 0, 0}, {1, 1, 0}}}}}, Planned: [][][3]float64{nil, {{0, 0, 0}, {0, 1, 0}}}}
	p := tr.PathsAt(0)
	if len(p) != 2 || p[0].Color != EliteColor || p[1].Color != BestColor {
		t.Errorf("PathsAt(0) = %+v: want the elite, then the best", p)
	}
	if p := tr.PathsAt(1); len(p) != 1 || p[0].Color != BestColor || p[0].Points[1] != (batchsim.Vec3{0, 1, 0}) {
		t.Errorf("PathsAt(1) = %+v: want version 1's planned path, bold", p)
	}
	if p := tr.PathsAt(5); len(p) != 0 {
		t.Errorf("PathsAt past the end = %+v", p)
	}
}
