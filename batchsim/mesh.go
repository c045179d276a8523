package batchsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// GeomMesh is a triangle mesh (MJCF geom type="mesh"), loaded for drawing
// only: Size is the half-extent of the box about the geom frame's origin
// that holds the mesh, and the loader refuses a mesh geom that could collide.
// The mesh is Model.GeomMeshID's entry of MeshVert and MeshFace.
const GeomMesh GeomType = 7

// MaxMeshTriangles bounds the triangles of one mesh file: the Shadow hand's
// largest (palm.stl) has 6,955, and a count read from a corrupt header must
// not decide how much memory is allocated.
const MaxMeshTriangles = 1 << 21

// parseSTL reads a binary STL file (80-byte header, uint32 triangle count,
// then per triangle a normal, three vertices as little-endian float32 and a
// 2-byte attribute) into vertices, shared where they are equal, and
// triangles as vertex indices. ASCII STL is refused.
func parseSTL(data []byte) (vert [][3]float32, face [][3]int32, err error) {
	ascii := len(data) >= 5 && string(data[:5]) == "solid"
	if len(data) < 84 {
		if ascii {
			return nil, nil, errors.New("ASCII STL is not supported; convert the mesh to binary STL")
		}
		return nil, nil, errors.New("not a binary STL file: shorter than its 84-byte header")
	}
	n := binary.LittleEndian.Uint32(data[80:84])
	if want := 84 + 50*uint64(n); uint64(len(data)) != want {
		if ascii {
			return nil, nil, errors.New("ASCII STL is not supported; convert the mesh to binary STL")
		}
		return nil, nil, fmt.Errorf("not a binary STL file: %d triangles need %d bytes, the file has %d", n, want, len(data))
	}
	if n == 0 {
		return nil, nil, errors.New("the mesh has no triangles")
	}
	if n > MaxMeshTriangles {
		return nil, nil, fmt.Errorf("%d triangles, above the limit of %d (MaxMeshTriangles)", n, MaxMeshTriangles)
	}
	index := map[[3]float32]int32{}
	face = make([][3]int32, 0, n)
	for t := range int(n) {
		rec := data[84+50*t:]
		var f [3]int32
		for k := range 3 {
			var v [3]float32
			for i := range 3 {
				x := math.Float32frombits(binary.LittleEndian.Uint32(rec[12+12*k+4*i:]))
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, nil, fmt.Errorf("triangle %d: non-finite vertex coordinate", t)
				}
				v[i] = x + 0 // +0 turns −0 into 0, so that equal points share a vertex
			}
			id, ok := index[v]
			if !ok {
				id = int32(len(vert))
				index[v] = id
				vert = append(vert, v)
			}
			f[k] = id
		}
		face = append(face, f)
	}
	return vert, face, nil
}

// addMesh appends a mesh to the model and returns its id.
func (m *Model) addMesh(name string, vert [][3]float32, face [][3]int32) int {
	id := m.Nmesh
	m.Nmesh++
	m.MeshName = append(m.MeshName, name)
	m.MeshVertAdr = append(m.MeshVertAdr, len(m.MeshVert))
	m.MeshVertNum = append(m.MeshVertNum, len(vert))
	m.MeshFaceAdr = append(m.MeshFaceAdr, len(m.MeshFace))
	m.MeshFaceNum = append(m.MeshFaceNum, len(face))
	m.MeshVert = append(m.MeshVert, vert...)
	m.MeshFace = append(m.MeshFace, face...)
	return id
}

// meshHalfExtents returns, per axis, the largest |coordinate| of mesh id's
// vertices: the half-size of the origin-centred box that holds it.
func (m *Model) meshHalfExtents(id int) Vec3 {
	var h Vec3
	a := m.MeshVertAdr[id]
	for _, v := range m.MeshVert[a : a+m.MeshVertNum[id]] {
		for k := range 3 {
			h[k] = max(h[k], math.Abs(float64(v[k])))
		}
	}
	return h
}
