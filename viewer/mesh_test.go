package viewer

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// squareSTL is a 1 m square in the xy-plane, centred, as two triangles of a
// binary STL file, in millimetres.
func squareSTL() []byte {
	tris := [][3][3]float32{
		{{-500, -500, 0}, {500, -500, 0}, {500, 500, 0}},
		{{-500, -500, 0}, {500, 500, 0}, {-500, 500, 0}},
	}
	b := make([]byte, 84, 84+50*len(tris))
	binary.LittleEndian.PutUint32(b[80:], uint32(len(tris)))
	for _, tr := range tris {
		rec := make([]byte, 50)
		for k, v := range tr {
			for i, x := range v {
				binary.LittleEndian.PutUint32(rec[12+12*k+4*i:], math.Float32bits(x))
			}
		}
		b = append(b, rec...)
	}
	return b
}

// A red square mesh, tilted 30° about x, above a green floor, drawn for
// show only (contype = conaffinity = 0).
const squareXML = `<mujoco model="square">
  <asset><mesh name="square" file="square.stl" scale="0.001 0.001 0.001"/></asset>
  <worldbody>
    <geom name="floor" type="plane" size="10 10 0.1" rgba="0.3 0.7 0.3 1"/>
    <body name="b" pos="0 0 0.5" euler="30 0 0">
      <joint type="free"/>
      <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>
      <geom name="sq" type="mesh" mesh="square" contype="0" conaffinity="0" rgba="0.9 0.15 0.1 1"/>
    </body>
  </worldbody>
</mujoco>`

func loadSquare(t *testing.T) *batchsim.Model {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "square.stl"), squareSTL(), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "square.xml")
	if err := os.WriteFile(path, []byte(squareXML), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := batchsim.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The flat-shaded mesh has three vertices per triangle, each with the
// triangle's unit normal, in metres.
func TestModelMeshFlat(t *testing.T) {
	m := loadSquare(t)
	ms := modelMesh(m, 0)
	if len(ms.index) != 6 || len(ms.verts) != 6*6 {
		t.Fatalf("%d indices, %d floats; want 6 and 36", len(ms.index), len(ms.verts))
	}
	for v := range 6 {
		p, n := ms.verts[6*v:6*v+3], ms.verts[6*v+3:6*v+6]
		if math.Abs(float64(p[0])) != 0.5 || n[0] != 0 || n[1] != 0 || n[2] != 1 {
			t.Errorf("vertex %d: pos %v normal %v", v, p, n)
		}
	}
	// geomInstances puts the mesh geom in the model mesh's list, at scale 1.
	d := batchsim.NewData(m)
	batchsim.Forward(m, d)
	inst := make([][]instance, nMesh+m.Nmesh)
	geomInstances(inst, m, d, batchsim.Vec3{})
	if len(inst[nMesh]) != 1 || inst[nMesh][0][12] != 1 || inst[nMesh][0][14] != 1 {
		t.Errorf("mesh instances %v", inst[nMesh])
	}
}

// TestRenderMesh draws the tilted square and checks the colour at the pixel
// where its centre projects against the lighting model with the facet's
// normal.
func TestRenderMesh(t *testing.T) {
	m := loadSquare(t)
	r := newTestRenderer(t, m)
	if err := r.SetQpos(m.Qpos0); err != nil {
		t.Fatal(err)
	}
	const w, h = 160, 120
	cam := Camera{Lookat: batchsim.Vec3{0, 0, 0.5}, Distance: 2, Azimuth: 60, Elevation: -50, FovY: 45}
	img, err := r.Render(w, h, &View{Camera: cam})
	if err != nil {
		t.Fatal(err)
	}
	x, y, ok := cam.Project(r.Data.GeomXpos[1], w, h)
	if !ok {
		t.Fatal("square behind the camera")
	}
	rot := r.Data.GeomXmat[1]
	n := batchsim.Vec3{rot[2], rot[5], rot[8]} // the square's normal, local z
	if dot(n, cam.Forward()) > 0 {
		n = batchsim.Vec3{-n[0], -n[1], -n[2]} // the side the camera sees
	}
	want := shade(m.GeomRGBA[1], n, &cam)
	got := pixel(img, int(x), int(y))
	t.Logf("square pixel (%d, %d): got %.3f, want %.3f", int(x), int(y), got, want)
	if !near(got, want, 0.03) {
		t.Errorf("square at pixel (%d, %d): got %.3f, want %.3f (flat facet)", int(x), int(y), got, want)
	}
}
