package viewer

import (
	"math"

	"github.com/apex-robotics/apex/batchsim"
)

// Camera is an orbiting camera as in MuJoCo's mjvCamera: it looks at Lookat
// from Distance metres away, turned Azimuth degrees about the world's z axis
// and raised Elevation degrees (negative looks down). With Track > 0 the
// lookat point follows that body's centre of mass plus TrackOffset.
type Camera struct {
	Lookat    batchsim.Vec3
	Distance  float64 // metres
	Azimuth   float64 // degrees; 90 looks along +y
	Elevation float64 // degrees; −90 looks straight down
	FovY      float64 // vertical field of view in degrees; 0 means 45
	Near, Far float64 // clip distances in metres; 0 means 0.02·Distance and 200

	Track       int           // body to follow, 0 (the world) for a free camera
	TrackOffset batchsim.Vec3 // lookat − body centre of mass while tracking
}

// DefaultCamera returns a side view (looking along +y, slightly from above)
// that frames the model's bodies at their default pose and tracks body 1,
// the root of the tree (a walker's torso).
func DefaultCamera(m *batchsim.Model) Camera {
	d := batchsim.NewData(m)
	batchsim.Forward(m, d)
	lo, hi := bounds(m, d)
	c := Camera{Azimuth: 90, Elevation: -15, FovY: 45}
	for i := range 3 {
		c.Lookat[i] = (lo[i] + hi[i]) / 2
	}
	r := 0.5 * math.Sqrt(sq(hi[0]-lo[0])+sq(hi[1]-lo[1])+sq(hi[2]-lo[2]))
	// Fit a sphere of radius r in the vertical field of view with a margin.
	c.Distance = math.Max(1.1*r/math.Sin(c.FovY*math.Pi/360), 0.5)
	if m.Nbody > 1 {
		c.Track = 1
		for i := range 3 {
			c.TrackOffset[i] = c.Lookat[i] - d.Xipos[1][i]
		}
	}
	return c
}

// bounds returns a box around the non-plane geoms of the posed model.
func bounds(m *batchsim.Model, d *batchsim.Data) (lo, hi batchsim.Vec3) {
	lo = batchsim.Vec3{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = batchsim.Vec3{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for g := range m.Ngeom {
		if m.GeomType[g] == batchsim.GeomPlane {
			continue
		}
		s := m.GeomSize[g]
		r := s[0] + s[1] // generous for capsules and cylinders
		if m.GeomType[g] == batchsim.GeomBox || m.GeomType[g] == batchsim.GeomMesh {
			r = math.Sqrt(s[0]*s[0] + s[1]*s[1] + s[2]*s[2])
		}
		for i := range 3 {
			lo[i] = math.Min(lo[i], d.GeomXpos[g][i]-r)
			hi[i] = math.Max(hi[i], d.GeomXpos[g][i]+r)
		}
	}
	if math.IsInf(lo[0], 1) {
		return batchsim.Vec3{-1, -1, 0}, batchsim.Vec3{1, 1, 1}
	}
	return lo, hi
}

func sq(x float64) float64 { return x * x }

// Follow moves the lookat point to the tracked body, if any.
func (c *Camera) Follow(m *batchsim.Model, d *batchsim.Data) {
	if c.Track <= 0 || c.Track >= m.Nbody {
		return
	}
	for i := range 3 {
		c.Lookat[i] = d.Xipos[c.Track][i] + c.TrackOffset[i]
	}
}

// Forward is the unit viewing direction.
func (c *Camera) Forward() batchsim.Vec3 {
	az, el := c.Azimuth*math.Pi/180, c.Elevation*math.Pi/180
	return batchsim.Vec3{math.Cos(el) * math.Cos(az), math.Cos(el) * math.Sin(az), math.Sin(el)}
}

// Eye is the camera position.
func (c *Camera) Eye() batchsim.Vec3 {
	f := c.Forward()
	return batchsim.Vec3{c.Lookat[0] - c.Distance*f[0], c.Lookat[1] - c.Distance*f[1], c.Lookat[2] - c.Distance*f[2]}
}

func (c *Camera) fovy() float64 {
	if c.FovY <= 0 {
		return 45
	}
	return c.FovY
}

func (c *Camera) clip() (near, far float64) {
	near, far = c.Near, c.Far
	if near <= 0 {
		near = math.Max(0.02*c.Distance, 1e-3)
	}
	if far <= near {
		far = 200
	}
	return near, far
}

// basis returns the camera's right, up and forward unit vectors.
func (c *Camera) basis() (s, u, f batchsim.Vec3) {
	f = c.Forward()
	up := batchsim.Vec3{0, 0, 1}
	if math.Abs(f[2]) > 0.9999 {
		up = batchsim.Vec3{0, 1, 0} // looking straight up or down
	}
	s = normalize(cross(f, up))
	u = cross(s, f)
	return s, u, f
}

// ViewProj returns projection × view as a column-major 4×4 matrix (WGSL's
// mat4x4 layout), for a right-handed world and WebGPU's clip space (depth in
// [0, 1]).
func (c *Camera) ViewProj(aspect float64) [16]float64 {
	s, u, f := c.basis()
	e := c.Eye()
	// Rows of the view matrix: camera looks down its −z axis.
	view := [4][4]float64{
		{s[0], s[1], s[2], -dot(s, e)},
		{u[0], u[1], u[2], -dot(u, e)},
		{-f[0], -f[1], -f[2], dot(f, e)},
		{0, 0, 0, 1},
	}
	near, far := c.clip()
	t := 1 / math.Tan(c.fovy()*math.Pi/360)
	proj := [4][4]float64{
		{t / aspect, 0, 0, 0},
		{0, t, 0, 0},
		{0, 0, far / (near - far), near * far / (near - far)},
		{0, 0, -1, 0},
	}
	var out [16]float64
	for col := range 4 {
		for row := range 4 {
			var v float64
			for k := range 4 {
				v += proj[row][k] * view[k][col]
			}
			out[col*4+row] = v
		}
	}
	return out
}

// Project returns the pixel (x right, y down, pixel centres at +0.5) where
// world point p appears in a width × height image, and whether it lies in
// front of the camera.
func (c *Camera) Project(p batchsim.Vec3, width, height int) (x, y float64, ok bool) {
	m := c.ViewProj(float64(width) / float64(height))
	var clip [4]float64
	for row := range 4 {
		clip[row] = m[0+row]*p[0] + m[4+row]*p[1] + m[8+row]*p[2] + m[12+row]
	}
	if clip[3] <= 0 {
		return 0, 0, false
	}
	nx, ny := clip[0]/clip[3], clip[1]/clip[3]
	return (nx + 1) / 2 * float64(width), (1 - ny) / 2 * float64(height), true
}

// Ray returns the unit direction from the eye through pixel (x, y) of a
// width × height image.
func (c *Camera) Ray(x, y float64, width, height int) batchsim.Vec3 {
	s, u, f := c.basis()
	t := math.Tan(c.fovy() * math.Pi / 360)
	aspect := float64(width) / float64(height)
	nx := (2*x/float64(width) - 1) * t * aspect
	ny := (1 - 2*y/float64(height)) * t
	return normalize(batchsim.Vec3{f[0] + nx*s[0] + ny*u[0], f[1] + nx*s[1] + ny*u[1], f[2] + nx*s[2] + ny*u[2]})
}

// Orbit turns the camera by the given angles in degrees, keeping the
// elevation within (−89, 89).
func (c *Camera) Orbit(dAzimuth, dElevation float64) {
	c.Azimuth = math.Mod(c.Azimuth+dAzimuth, 360)
	c.Elevation = math.Max(-89, math.Min(89, c.Elevation+dElevation))
}

// Pan moves the lookat point in the view plane by fractions of the view's
// height (dx right, dy up); while tracking it moves the offset instead.
func (c *Camera) Pan(dx, dy float64) {
	s, u, _ := c.basis()
	h := 2 * c.Distance * math.Tan(c.fovy()*math.Pi/360)
	for i := range 3 {
		d := h * (dx*s[i] + dy*u[i])
		c.Lookat[i] += d
		c.TrackOffset[i] += d
	}
}

// Zoom scales the distance by factor (< 1 moves closer).
func (c *Camera) Zoom(factor float64) {
	c.Distance = math.Max(0.05, math.Min(500, c.Distance*factor))
}

func dot(a, b batchsim.Vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func cross(a, b batchsim.Vec3) batchsim.Vec3 {
	return batchsim.Vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func normalize(a batchsim.Vec3) batchsim.Vec3 {
	n := math.Sqrt(dot(a, a))
	if n == 0 {
		return a
	}
	return batchsim.Vec3{a[0] / n, a[1] / n, a[2] / n}
}
