package batchsim

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Small 3D helpers used when compiling a model (not in the step's hot path;
// the c prefix keeps them apart from the engine's pointer-based helpers).

func cNorm3(v Vec3) float64 { return math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2]) }

func cCross3(a, b Vec3) Vec3 {
	return Vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// quatMul returns the Hamilton product a·b (w, x, y, z).
func cQuatMul(a, b Quat) Quat {
	return Quat{
		a[0]*b[0] - a[1]*b[1] - a[2]*b[2] - a[3]*b[3],
		a[0]*b[1] + a[1]*b[0] + a[2]*b[3] - a[3]*b[2],
		a[0]*b[2] - a[1]*b[3] + a[2]*b[0] + a[3]*b[1],
		a[0]*b[3] + a[1]*b[2] - a[2]*b[1] + a[3]*b[0],
	}
}

// quatToMat returns the rotation matrix of a unit quaternion.
func cQuatToMat(q Quat) [3][3]float64 {
	w, x, y, z := q[0], q[1], q[2], q[3]
	return [3][3]float64{
		{1 - 2*(y*y+z*z), 2 * (x*y - w*z), 2 * (x*z + w*y)},
		{2 * (x*y + w*z), 1 - 2*(x*x+z*z), 2 * (y*z - w*x)},
		{2 * (x*z - w*y), 2 * (y*z + w*x), 1 - 2*(x*x+y*y)},
	}
}

// matToQuat converts a rotation matrix to a unit quaternion with w ≥ 0.
func cMatToQuat(r [3][3]float64) Quat {
	var q Quat
	tr := r[0][0] + r[1][1] + r[2][2]
	switch {
	case tr > 0:
		s := math.Sqrt(tr+1) * 2
		q = Quat{s / 4, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s}
	case r[0][0] > r[1][1] && r[0][0] > r[2][2]:
		s := math.Sqrt(1+r[0][0]-r[1][1]-r[2][2]) * 2
		q = Quat{(r[2][1] - r[1][2]) / s, s / 4, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s}
	case r[1][1] > r[2][2]:
		s := math.Sqrt(1+r[1][1]-r[0][0]-r[2][2]) * 2
		q = Quat{(r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, s / 4, (r[1][2] + r[2][1]) / s}
	default:
		s := math.Sqrt(1+r[2][2]-r[0][0]-r[1][1]) * 2
		q = Quat{(r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, s / 4}
	}
	if q[0] < 0 {
		q = Quat{-q[0], -q[1], -q[2], -q[3]}
	}
	l := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	return Quat{q[0] / l, q[1] / l, q[2] / l, q[3] / l}
}

// quatZTo is the minimal rotation taking +z to the unit vector v (MuJoCo's
// mjuu_z2quat, used for fromto and zaxis).
func cQuatZTo(v Vec3) Quat {
	z := Vec3{0, 0, 1}
	a := cCross3(z, v)
	s := cNorm3(a)
	if s < 1e-10 {
		if v[2] < 0 {
			return Quat{0, 1, 0, 0}
		}
		return Quat{1, 0, 0, 0}
	}
	ang := math.Atan2(s, v[2])
	h := math.Sin(ang/2) / s
	return Quat{math.Cos(ang / 2), a[0] * h, a[1] * h, a[2] * h}
}

// eigInertia diagonalises a symmetric inertia matrix: the principal moments
// and the quaternion of the principal frame (a right-handed rotation).
func eigInertia(full [3][3]float64) (Vec3, Quat, error) {
	s := mat.NewSymDense(3, []float64{
		full[0][0], full[0][1], full[0][2],
		full[1][0], full[1][1], full[1][2],
		full[2][0], full[2][1], full[2][2]})
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return Vec3{}, Quat{}, errors.New("inertia matrix could not be diagonalised")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	// MuJoCo orders principal moments by decreasing size; keep gonum's
	// ascending order reversed for the same convention.
	var r [3][3]float64
	var d Vec3
	for k := range 3 {
		src := 2 - k
		d[k] = vals[src]
		for i := range 3 {
			r[i][k] = vecs.At(i, src)
		}
	}
	// Make the frame right-handed.
	c := cCross3(Vec3{r[0][0], r[1][0], r[2][0]}, Vec3{r[0][1], r[1][1], r[2][1]})
	if c[0]*r[0][2]+c[1]*r[1][2]+c[2]*r[2][2] < 0 {
		for i := range 3 {
			r[i][2] = -r[i][2]
		}
	}
	for k := range 3 {
		if d[k] < -1e-12*max(1, math.Abs(d[0])) {
			return Vec3{}, Quat{}, errors.New("inertia matrix is not positive semi-definite")
		}
		d[k] = max(d[k], 0)
	}
	return d, cMatToQuat(r), nil
}
