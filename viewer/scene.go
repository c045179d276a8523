package viewer

import (
	"math"

	"github.com/apex-robotics/apex/batchsim"
)

// Meshes the geoms are drawn with; a capsule is a cylinder and two spheres.
// The model's own meshes (batchsim.Model.MeshVert) follow, mesh i of the
// model at nMesh + i.
const (
	meshSphere = iota
	meshCylinder
	meshBox
	meshQuad
	nMesh
)

// instance is one mesh instance as the vertex shader reads it: rotation
// columns with the position in their w, per-axis scale (w: grid flag) and
// colour. (20 float32)
type instance [20]float32

// instanceBytes is the stride of instance in the vertex buffer.
const instanceBytes = 20 * 4

// planeExtent is the half-size drawn for a plane, in metres, around the
// point under the camera's lookat: planes collide as infinite planes (as in
// MuJoCo), and a fast walker leaves a 40 m floor behind within an episode.
// The fog hides the edge.
const planeExtent = 100

func makeInstance(rot *[9]float64, pos batchsim.Vec3, scale batchsim.Vec3, grid bool, rgba [4]float32) instance {
	var in instance
	for c := range 3 {
		in[4*c+0] = float32(rot[0*3+c])
		in[4*c+1] = float32(rot[1*3+c])
		in[4*c+2] = float32(rot[2*3+c])
		in[4*c+3] = float32(pos[c])
	}
	in[12], in[13], in[14] = float32(scale[0]), float32(scale[1]), float32(scale[2])
	if grid {
		in[15] = 1
	}
	copy(in[16:], rgba[:])
	return in
}

// geomInstances appends the instances that draw the posed geoms of m (d
// after batchsim.Forward) to dst, one list per mesh (nMesh + m.Nmesh of
// them); planes are drawn around the point of the plane nearest to centre.
func geomInstances(dst [][]instance, m *batchsim.Model, d *batchsim.Data, centre batchsim.Vec3) {
	for i := range dst {
		dst[i] = dst[i][:0]
	}
	for g := range m.Ngeom {
		rot, pos, s, rgba := &d.GeomXmat[g], d.GeomXpos[g], m.GeomSize[g], m.GeomRGBA[g]
		if rgba[3] == 0 {
			continue // invisible by the file's choice
		}
		switch m.GeomType[g] {
		case batchsim.GeomPlane:
			// Move along the plane's own x and y axes (columns 0 and 1),
			// by whole metres, to below the centre.
			rel := batchsim.Vec3{centre[0] - pos[0], centre[1] - pos[1], centre[2] - pos[2]}
			var at batchsim.Vec3 = pos
			for _, c := range []int{0, 1} {
				u := math.Round(rel[0]*rot[c] + rel[1]*rot[3+c] + rel[2]*rot[6+c])
				for i := range 3 {
					at[i] += u * rot[3*i+c]
				}
			}
			dst[meshQuad] = append(dst[meshQuad], makeInstance(rot, at, batchsim.Vec3{planeExtent, planeExtent, 1}, true, rgba))
		case batchsim.GeomSphere:
			dst[meshSphere] = append(dst[meshSphere], makeInstance(rot, pos, batchsim.Vec3{s[0], s[0], s[0]}, false, rgba))
		case batchsim.GeomBox:
			dst[meshBox] = append(dst[meshBox], makeInstance(rot, pos, s, false, rgba))
		case batchsim.GeomCylinder:
			dst[meshCylinder] = append(dst[meshCylinder], makeInstance(rot, pos, batchsim.Vec3{s[0], s[0], s[1]}, false, rgba))
		case batchsim.GeomMesh:
			// The mesh's vertices are in the geom's frame already.
			if id := m.GeomMeshID[g]; id >= 0 {
				dst[nMesh+id] = append(dst[nMesh+id], makeInstance(rot, pos, batchsim.Vec3{1, 1, 1}, false, rgba))
			}
		case batchsim.GeomCapsule:
			dst[meshCylinder] = append(dst[meshCylinder], makeInstance(rot, pos, batchsim.Vec3{s[0], s[0], s[1]}, false, rgba))
			for _, sign := range []float64{-1, 1} {
				// End caps at ±half-length along the geom's local z (column 2).
				c := batchsim.Vec3{pos[0] + sign*s[1]*rot[2], pos[1] + sign*s[1]*rot[5], pos[2] + sign*s[1]*rot[8]}
				dst[meshSphere] = append(dst[meshSphere], makeInstance(rot, c, batchsim.Vec3{s[0], s[0], s[0]}, false, rgba))
			}
		}
	}
}

// Path is a polyline drawn over the scene, e.g. the path a body would take
// under one of the planner's sampled action sequences.
type Path struct {
	Points []batchsim.Vec3
	Color  [4]float32 // straight (not premultiplied) RGBA; alpha blends
	Width  float64    // metres
}

// pathVertexFloats is the number of float32 per path vertex: position, colour.
const pathVertexFloats = 7

// pathTriangles appends to dst two triangles per segment of each path: a
// ribbon of the path's width that faces the eye.
func pathTriangles(dst []float32, paths []Path, eye batchsim.Vec3) []float32 {
	for _, p := range paths {
		for k := 0; k+1 < len(p.Points); k++ {
			a, b := p.Points[k], p.Points[k+1]
			dir := batchsim.Vec3{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
			mid := batchsim.Vec3{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2}
			side := cross(dir, batchsim.Vec3{eye[0] - mid[0], eye[1] - mid[1], eye[2] - mid[2]})
			n := math.Sqrt(dot(side, side))
			if n == 0 {
				continue
			}
			h := p.Width / 2 / n
			side = batchsim.Vec3{side[0] * h, side[1] * h, side[2] * h}
			corner := func(q batchsim.Vec3, sign float64) {
				dst = append(dst, float32(q[0]+sign*side[0]), float32(q[1]+sign*side[1]), float32(q[2]+sign*side[2]),
					p.Color[0], p.Color[1], p.Color[2], p.Color[3])
			}
			corner(a, -1)
			corner(a, 1)
			corner(b, 1)
			corner(a, -1)
			corner(b, 1)
			corner(b, -1)
		}
	}
	return dst
}
