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

// mulSym6 returns A·x for a 6×6 row-major matrix (unrolled: the hottest
// loop of ABA).
func mulSym6(a *[36]float64, x *[6]float64) [6]float64 {
	x0, x1, x2, x3, x4, x5 := x[0], x[1], x[2], x[3], x[4], x[5]
	return [6]float64{
		a[0]*x0 + a[1]*x1 + a[2]*x2 + a[3]*x3 + a[4]*x4 + a[5]*x5,
		a[6]*x0 + a[7]*x1 + a[8]*x2 + a[9]*x3 + a[10]*x4 + a[11]*x5,
		a[12]*x0 + a[13]*x1 + a[14]*x2 + a[15]*x3 + a[16]*x4 + a[17]*x5,
		a[18]*x0 + a[19]*x1 + a[20]*x2 + a[21]*x3 + a[22]*x4 + a[23]*x5,
		a[24]*x0 + a[25]*x1 + a[26]*x2 + a[27]*x3 + a[28]*x4 + a[29]*x5,
		a[30]*x0 + a[31]*x1 + a[32]*x2 + a[33]*x3 + a[34]*x4 + a[35]*x5,
	}
}

// addBodyInertia adds the spatial inertia of a rigid body (mass m, centre of
// mass at c relative to the reference point, rotational inertia ic about the
// centre of mass, world axes, row-major) to the 6×6 matrix a:
//
//	[ ic + m(|c|²1 − ccᵀ)   m[c]× ]
//	[ −m[c]×                m·1   ]
func addBodyInertia(a *[36]float64, m float64, c *Vec3, ic *[9]float64) {
	cc := dot3(c, c)
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			v := ic[3*i+j] - m*c[i]*c[j]
			if i == j {
				v += m * cc
			}
			a[6*i+j] += v
		}
	}
	mx, my, mz := m*c[0], m*c[1], m*c[2]
	// top-right m[c]×
	a[4] += -mz
	a[5] += my
	a[9] += mz
	a[11] += -mx
	a[15] += -my
	a[16] += mx
	// bottom-left −m[c]× = (m[c]×)ᵀ
	a[19] += mz
	a[20] += -my
	a[24] += -mz
	a[26] += mx
	a[30] += my
	a[31] += -mx
	a[21] += m
	a[28] += m
	a[35] += m
}
