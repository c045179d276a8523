package batchsim

import "math"

// Small fixed-size vector, quaternion and spatial-algebra helpers on plain
// float64 arrays. They take pointers and never allocate, so the inner loops of
// Step stay free of garbage and bounds checks.
//
// Spatial vectors follow Featherstone ("Rigid Body Dynamics Algorithms",
// 2008) and MuJoCo: a motion vector is (ω; v) and a force vector is (n; f),
// angular part first. All of them are expressed in world-aligned axes about a
// per-tree reference point (see kinematics.go), like MuJoCo's c-frame.

func dot3(a, b *Vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func cross3(a, b *Vec3) Vec3 {
	return Vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func sub3(a, b *Vec3) Vec3 { return Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func add3(a, b *Vec3) Vec3 { return Vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }

func scale3(a *Vec3, s float64) Vec3 { return Vec3{a[0] * s, a[1] * s, a[2] * s} }

// addScl3 returns a + s·b.
func addScl3(a, b *Vec3, s float64) Vec3 {
	return Vec3{a[0] + s*b[0], a[1] + s*b[1], a[2] + s*b[2]}
}

func norm3(a *Vec3) float64 { return math.Sqrt(dot3(a, a)) }

// mulMatVec returns R·v for a row-major 3×3 matrix.
func mulMatVec(r *[9]float64, v *Vec3) Vec3 {
	return Vec3{
		r[0]*v[0] + r[1]*v[1] + r[2]*v[2],
		r[3]*v[0] + r[4]*v[1] + r[5]*v[2],
		r[6]*v[0] + r[7]*v[1] + r[8]*v[2],
	}
}

// mulMatTVec returns Rᵀ·v for a row-major 3×3 matrix.
func mulMatTVec(r *[9]float64, v *Vec3) Vec3 {
	return Vec3{
		r[0]*v[0] + r[3]*v[1] + r[6]*v[2],
		r[1]*v[0] + r[4]*v[1] + r[7]*v[2],
		r[2]*v[0] + r[5]*v[1] + r[8]*v[2],
	}
}

// mulQuat returns the Hamilton product a⊗b (MuJoCo's mju_mulQuat).
func mulQuat(a, b *Quat) Quat {
	return Quat{
		a[0]*b[0] - a[1]*b[1] - a[2]*b[2] - a[3]*b[3],
		a[0]*b[1] + a[1]*b[0] + a[2]*b[3] - a[3]*b[2],
		a[0]*b[2] - a[1]*b[3] + a[2]*b[0] + a[3]*b[1],
		a[0]*b[3] + a[1]*b[2] - a[2]*b[1] + a[3]*b[0],
	}
}

// normalizeQuat scales q to unit length; a (near) zero quaternion becomes the
// identity, as in MuJoCo's mju_normalize4.
func normalizeQuat(q *Quat) {
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if n < 1e-15 {
		*q = Quat{1, 0, 0, 0}
		return
	}
	if n != 1 {
		s := 1 / n
		q[0] *= s
		q[1] *= s
		q[2] *= s
		q[3] *= s
	}
}

// axisAngleQuat is the rotation by angle about the unit axis.
func axisAngleQuat(axis *Vec3, angle float64) Quat {
	s, c := math.Sincos(angle / 2)
	return Quat{c, axis[0] * s, axis[1] * s, axis[2] * s}
}

// quatToMat writes the row-major rotation matrix of a unit quaternion
// (MuJoCo's mju_quat2Mat).
func quatToMat(q *Quat, r *[9]float64) {
	w, x, y, z := q[0], q[1], q[2], q[3]
	ww, xx, yy, zz := w*w, x*x, y*y, z*z
	xy, zw, xz, yw, yz, xw := x*y, z*w, x*z, y*w, y*z, x*w
	r[0] = ww + xx - yy - zz
	r[4] = ww - xx + yy - zz
	r[8] = ww - xx - yy + zz
	r[1] = 2 * (xy - zw)
	r[2] = 2 * (xz + yw)
	r[3] = 2 * (xy + zw)
	r[5] = 2 * (yz - xw)
	r[6] = 2 * (xz - yw)
	r[7] = 2 * (yz + xw)
}

// mulMat returns a·b for row-major 3×3 matrices.
func mulMat(a, b *[9]float64) [9]float64 {
	// written out: Go does not unroll loops, and this is in every step's
	// kinematics and link inertias
	return [9]float64{
		a[0]*b[0] + a[1]*b[3] + a[2]*b[6], a[0]*b[1] + a[1]*b[4] + a[2]*b[7], a[0]*b[2] + a[1]*b[5] + a[2]*b[8],
		a[3]*b[0] + a[4]*b[3] + a[5]*b[6], a[3]*b[1] + a[4]*b[4] + a[5]*b[7], a[3]*b[2] + a[4]*b[5] + a[5]*b[8],
		a[6]*b[0] + a[7]*b[3] + a[8]*b[6], a[6]*b[1] + a[7]*b[4] + a[8]*b[7], a[6]*b[2] + a[7]*b[5] + a[8]*b[8],
	}
}

// crossMotion returns the spatial motion cross product a ×ₘ b:
// (ω×ω', ω×v' + v×ω').
func crossMotion(a, b *[6]float64) [6]float64 {
	return [6]float64{
		a[1]*b[2] - a[2]*b[1],
		a[2]*b[0] - a[0]*b[2],
		a[0]*b[1] - a[1]*b[0],
		a[1]*b[5] - a[2]*b[4] + a[4]*b[2] - a[5]*b[1],
		a[2]*b[3] - a[0]*b[5] + a[5]*b[0] - a[3]*b[2],
		a[0]*b[4] - a[1]*b[3] + a[3]*b[1] - a[4]*b[0],
	}
}

// crossForce returns the spatial force cross product v ×f f:
// (ω×n + v×f, ω×f).
func crossForce(v, f *[6]float64) [6]float64 {
	return [6]float64{
		v[1]*f[2] - v[2]*f[1] + v[4]*f[5] - v[5]*f[4],
		v[2]*f[0] - v[0]*f[2] + v[5]*f[3] - v[3]*f[5],
		v[0]*f[1] - v[1]*f[0] + v[3]*f[4] - v[4]*f[3],
		v[1]*f[5] - v[2]*f[4],
		v[2]*f[3] - v[0]*f[5],
		v[0]*f[4] - v[1]*f[3],
	}
}

func dot6(a, b *[6]float64) float64 {
	return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] + a[3]*b[3] + a[4]*b[4] + a[5]*b[5]
}

// rigidInertia is the spatial inertia of a rigid body, or of rigid bodies
// welded together, about a reference point with world axes, in 10 numbers:
// the mass m, the first moment h = m·c (c the centre of mass from the point)
// and the rotational inertia I about the point (symmetric: xx yy zz xy xz
// yz). As a 6×6 matrix it is
//
//	[ I       [h]× ]
//	[ −[h]×   m·1  ]
//
// Sums about one point are again rigid inertias (CRBA's composite ones), so
// the engine keeps them in this form: a product with a motion vector costs
// 30 multiplications instead of 36, a sum 10 additions instead of 36. Only
// ABA's articulated inertias need the general matrix (toMat).
type rigidInertia [10]float64

// addBody adds a body of mass m whose centre of mass is at c from the
// reference point, with rotational inertia ic about its centre of mass
// (world axes, row-major): I += ic + m(|c|²1 − ccᵀ), h += m·c.
func (a *rigidInertia) addBody(m float64, c *Vec3, ic *[9]float64) {
	mx, my, mz := m*c[0], m*c[1], m*c[2]
	a[0] += m
	a[1] += mx
	a[2] += my
	a[3] += mz
	a[4] += ic[0] + my*c[1] + mz*c[2]
	a[5] += ic[4] + mx*c[0] + mz*c[2]
	a[6] += ic[8] + mx*c[0] + my*c[1]
	a[7] += ic[1] - mx*c[1]
	a[8] += ic[2] - mx*c[2]
	a[9] += ic[5] - my*c[2]
}

// add adds b to a.
func (a *rigidInertia) add(b *rigidInertia) {
	for k := range a {
		a[k] += b[k]
	}
}

// mulMotion returns the spatial force a·v of the motion v = (ω; v):
// (I·ω + h×v, m·v − h×ω).
func (a *rigidInertia) mulMotion(v *[6]float64) [6]float64 {
	w0, w1, w2, v0, v1, v2 := v[0], v[1], v[2], v[3], v[4], v[5]
	m, hx, hy, hz := a[0], a[1], a[2], a[3]
	ixx, iyy, izz, ixy, ixz, iyz := a[4], a[5], a[6], a[7], a[8], a[9]
	return [6]float64{
		ixx*w0 + ixy*w1 + ixz*w2 + hy*v2 - hz*v1,
		ixy*w0 + iyy*w1 + iyz*w2 + hz*v0 - hx*v2,
		ixz*w0 + iyz*w1 + izz*w2 + hx*v1 - hy*v0,
		m*v0 - hy*w2 + hz*w1,
		m*v1 - hz*w0 + hx*w2,
		m*v2 - hx*w1 + hy*w0,
	}
}

// toMat writes a as a 6×6 row-major matrix.
func (a *rigidInertia) toMat(dst *[36]float64) {
	m, hx, hy, hz := a[0], a[1], a[2], a[3]
	ixx, iyy, izz, ixy, ixz, iyz := a[4], a[5], a[6], a[7], a[8], a[9]
	*dst = [36]float64{
		ixx, ixy, ixz, 0, -hz, hy,
		ixy, iyy, iyz, hz, 0, -hx,
		ixz, iyz, izz, -hy, hx, 0,
		0, hz, -hy, m, 0, 0,
		-hz, 0, hx, 0, m, 0,
		hy, -hx, 0, 0, 0, m,
	}
}

// symInertia is a symmetric 6×6 matrix (ABA's articulated inertia) as its
// upper triangle, row by row: 21 numbers instead of 36.
type symInertia [21]float64

// symUpper lists the (row, column) of each of symInertia's entries.
var symUpper = [21][2]uint8{
	{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5},
	{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5},
	{2, 2}, {2, 3}, {2, 4}, {2, 5},
	{3, 3}, {3, 4}, {3, 5},
	{4, 4}, {4, 5},
	{5, 5},
}

// setRigid sets a to the rigid inertia r.
func (a *symInertia) setRigid(r *rigidInertia) {
	m, hx, hy, hz := r[0], r[1], r[2], r[3]
	*a = symInertia{
		r[4], r[7], r[8], 0, -hz, hy,
		r[5], r[9], hz, 0, -hx,
		r[6], -hy, hx, 0,
		m, 0, 0,
		m, 0,
		m,
	}
}

// mulMotion returns a·x (written out, as ABA's innermost product).
func (a *symInertia) mulMotion(x *[6]float64) [6]float64 {
	x0, x1, x2, x3, x4, x5 := x[0], x[1], x[2], x[3], x[4], x[5]
	return [6]float64{
		a[0]*x0 + a[1]*x1 + a[2]*x2 + a[3]*x3 + a[4]*x4 + a[5]*x5,
		a[1]*x0 + a[6]*x1 + a[7]*x2 + a[8]*x3 + a[9]*x4 + a[10]*x5,
		a[2]*x0 + a[7]*x1 + a[11]*x2 + a[12]*x3 + a[13]*x4 + a[14]*x5,
		a[3]*x0 + a[8]*x1 + a[12]*x2 + a[15]*x3 + a[16]*x4 + a[17]*x5,
		a[4]*x0 + a[9]*x1 + a[13]*x2 + a[16]*x3 + a[18]*x4 + a[19]*x5,
		a[5]*x0 + a[10]*x1 + a[14]*x2 + a[17]*x3 + a[19]*x4 + a[20]*x5,
	}
}
