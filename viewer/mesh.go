package viewer

import (
	"math"

	"github.com/apex-robotics/apex/batchsim"
)

// mesh is an indexed triangle mesh of unit size; instances scale it per
// axis. Vertices are interleaved position (3) and normal (3) float32s.
type mesh struct {
	verts []float32
	index []uint32
}

func (m *mesh) add(p, n [3]float64) uint32 {
	m.verts = append(m.verts, float32(p[0]), float32(p[1]), float32(p[2]), float32(n[0]), float32(n[1]), float32(n[2]))
	return uint32(len(m.verts)/6 - 1)
}

// Tessellation of round meshes: smooth enough at 1080p, cheap on lavapipe.
const (
	roundSlices = 32
	roundStacks = 16
)

// sphereMesh is the unit sphere.
func sphereMesh() mesh {
	var m mesh
	for i := 0; i <= roundStacks; i++ {
		th := math.Pi * float64(i) / roundStacks
		for j := 0; j <= roundSlices; j++ {
			ph := 2 * math.Pi * float64(j) / roundSlices
			p := [3]float64{math.Sin(th) * math.Cos(ph), math.Sin(th) * math.Sin(ph), math.Cos(th)}
			m.add(p, p)
		}
	}
	row := uint32(roundSlices + 1)
	for i := range uint32(roundStacks) {
		for j := range uint32(roundSlices) {
			a, b := i*row+j, (i+1)*row+j
			m.index = append(m.index, a, b, a+1, a+1, b, b+1)
		}
	}
	return m
}

// cylinderMesh is the cylinder of radius 1 from z = −1 to z = 1, capped.
func cylinderMesh() mesh {
	var m mesh
	for j := 0; j <= roundSlices; j++ {
		ph := 2 * math.Pi * float64(j) / roundSlices
		c, s := math.Cos(ph), math.Sin(ph)
		m.add([3]float64{c, s, -1}, [3]float64{c, s, 0})
		m.add([3]float64{c, s, 1}, [3]float64{c, s, 0})
	}
	for j := range uint32(roundSlices) {
		a := 2 * j
		m.index = append(m.index, a, a+2, a+1, a+1, a+2, a+3)
	}
	for _, z := range []float64{-1, 1} {
		centre := m.add([3]float64{0, 0, z}, [3]float64{0, 0, z})
		for j := 0; j <= roundSlices; j++ {
			ph := 2 * math.Pi * float64(j) / roundSlices
			m.add([3]float64{math.Cos(ph), math.Sin(ph), z}, [3]float64{0, 0, z})
		}
		for j := range uint32(roundSlices) {
			m.index = append(m.index, centre, centre+1+j, centre+2+j)
		}
	}
	return m
}

// boxMesh is the cube [−1, 1]³ with a normal per face.
func boxMesh() mesh {
	var m mesh
	for axis := range 3 {
		for _, sign := range []float64{-1, 1} {
			var n [3]float64
			n[axis] = sign
			u, v := (axis+1)%3, (axis+2)%3
			var base uint32
			for k, uv := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
				var p [3]float64
				p[axis], p[u], p[v] = sign, uv[0], uv[1]
				i := m.add(p, n)
				if k == 0 {
					base = i
				}
			}
			m.index = append(m.index, base, base+1, base+2, base, base+2, base+3)
		}
	}
	return m
}

// quadMesh is the square [−1, 1]² in the z = 0 plane, normal +z.
func quadMesh() mesh {
	var m mesh
	for _, uv := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		m.add([3]float64{uv[0], uv[1], 0}, [3]float64{0, 0, 1})
	}
	m.index = []uint32{0, 1, 2, 0, 2, 3}
	return m
}

// modelMesh is mesh id of m, flat-shaded: every triangle gets its own three
// vertices with the triangle's normal, so that the facets of a coarse mesh
// show. Instances draw it at scale 1 (the vertices are in metres).
func modelMesh(m *batchsim.Model, id int) mesh {
	var out mesh
	va, fa := m.MeshVertAdr[id], m.MeshFaceAdr[id]
	vert := m.MeshVert[va : va+m.MeshVertNum[id]]
	for _, f := range m.MeshFace[fa : fa+m.MeshFaceNum[id]] {
		var p [3][3]float64
		for k := range 3 {
			v := vert[f[k]]
			p[k] = [3]float64{float64(v[0]), float64(v[1]), float64(v[2])}
		}
		e1 := batchsim.Vec3{p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]}
		e2 := batchsim.Vec3{p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]}
		n := cross(e1, e2)
		l := math.Sqrt(dot(n, n))
		if l == 0 {
			continue // a degenerate triangle covers no pixel
		}
		n = batchsim.Vec3{n[0] / l, n[1] / l, n[2] / l}
		for k := range 3 {
			out.index = append(out.index, out.add(p[k], n))
		}
	}
	return out
}
