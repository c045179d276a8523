package batchsim

import "math"

// boxBox adds the contacts of two boxes: the separating-axis test over the
// 15 candidate axes (3 face normals of each box, 9 edge–edge cross
// products; Gottschalk, Lin and Manocha, "OBBTree", 1996), then for a face
// axis the incident face of the other box clipped against the reference
// face's side planes (Sutherland–Hodgman; Ericson, "Real-Time Collision
// Detection", 2005, §8.3.4), keeping the clipped points below the reference
// face (at most 8); for an edge axis, one contact at the closest points of
// the two edges. As in ODE's dBoxBox, a face axis is preferred over an edge
// axis that is not clearly shallower, so that resting and grasped boxes get a
// patch of contacts rather than a single point.
//
// Box 1 is the pair's first geom: normals point from box 1 to box 2.
func (s *scratch) boxBox(pi int, c1 *Vec3, r1 *[9]float64, sz1 *Vec3, c2 *Vec3, r2 *[9]float64, sz2 *Vec3, mg float64) {
	var a, b [3]Vec3
	for k := 0; k < 3; k++ {
		a[k] = geomAxis(r1, k)
		b[k] = geomAxis(r2, k)
	}
	dc := sub3(c2, c1)
	var ar [3][3]float64 // |a_i·b_j|
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			ar[i][j] = math.Abs(dot3(&a[i], &b[j]))
		}
	}
	// Overlap along each face axis; the smallest decides.
	bestFace, faceAxis := math.Inf(1), 0
	for i := 0; i < 6; i++ {
		var pen float64
		if i < 3 {
			rb := sz2[0]*ar[i][0] + sz2[1]*ar[i][1] + sz2[2]*ar[i][2]
			pen = sz1[i] + rb - math.Abs(dot3(&dc, &a[i]))
		} else {
			j := i - 3
			ra := sz1[0]*ar[0][j] + sz1[1]*ar[1][j] + sz1[2]*ar[2][j]
			pen = ra + sz2[j] - math.Abs(dot3(&dc, &b[j]))
		}
		if pen < -mg {
			return
		}
		if pen < bestFace {
			bestFace, faceAxis = pen, i
		}
	}
	bestEdge, edgeAxis := math.Inf(1), -1
	var edgeN Vec3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			l := cross3(&a[i], &b[j])
			ln := norm3(&l)
			if ln < 1e-6 {
				continue // parallel edges: a face axis covers them
			}
			l = scale3(&l, 1/ln)
			var ra, rb float64
			for k := 0; k < 3; k++ {
				ra += sz1[k] * math.Abs(dot3(&a[k], &l))
				rb += sz2[k] * math.Abs(dot3(&b[k], &l))
			}
			pen := ra + rb - math.Abs(dot3(&dc, &l))
			if pen < -mg {
				return
			}
			if pen < bestEdge {
				bestEdge, edgeAxis, edgeN = pen, 3*i+j, l
			}
		}
	}
	if edgeAxis >= 0 && bestEdge < bestFace-0.05*math.Abs(bestFace)-1e-5 {
		i, j := edgeAxis/3, edgeAxis%3
		n := edgeN
		if dot3(&n, &dc) < 0 {
			n = scale3(&n, -1)
		}
		// support edges: box 1's edge furthest along n, box 2's along −n
		e1, e2 := *c1, *c2
		for k := 0; k < 3; k++ {
			if k != i {
				e1 = addScl3(&e1, &a[k], math.Copysign(sz1[k], dot3(&a[k], &n)))
			}
			if k != j {
				e2 = addScl3(&e2, &b[k], -math.Copysign(sz2[k], dot3(&b[k], &n)))
			}
		}
		q1, q2 := closestSegmentSegment(&e1, &a[i], sz1[i], &e2, &b[j], sz2[j])
		dq := sub3(&q2, &q1)
		dist := dot3(&dq, &n)
		if dist >= mg {
			return
		}
		pos := Vec3{(q1[0] + q2[0]) / 2, (q1[1] + q2[1]) / 2, (q1[2] + q2[2]) / 2}
		s.addContact(pi, &pos, &n, dist)
		return
	}
	// Face contact: reference box R (whose face axis won), incident box I.
	cR, cI, aR, aI, szR, szI, k, flip := c1, c2, &a, &b, sz1, sz2, faceAxis, false
	if faceAxis >= 3 {
		cR, cI, aR, aI, szR, szI, k, flip = c2, c1, &b, &a, sz2, sz1, faceAxis-3, true
	}
	off := sub3(cI, cR)
	n := aR[k]
	if dot3(&off, &n) < 0 {
		n = scale3(&n, -1)
	}
	// incident face: the face of I most anti-parallel to n
	m, dm := 0, 0.0
	for q := 0; q < 3; q++ {
		if v := dot3(&aI[q], &n); math.Abs(v) > math.Abs(dm) {
			m, dm = q, v
		}
	}
	fc := addScl3(cI, &aI[m], -math.Copysign(szI[m], dm))
	u, v := (m+1)%3, (m+2)%3
	eu := scale3(&aI[u], szI[u])
	ev := scale3(&aI[v], szI[v])
	var poly, tmp [8]Vec3
	np := 4
	for q, sg := range [4][2]float64{{1, 1}, {-1, 1}, {-1, -1}, {1, -1}} {
		p := addScl3(&fc, &eu, sg[0])
		poly[q] = addScl3(&p, &ev, sg[1])
	}
	// clip against the 4 side planes ±aR[p]·(x − cR) ≤ szR[p], p ≠ k
	for _, p := range [2]int{(k + 1) % 3, (k + 2) % 3} {
		for _, sg := range [2]float64{1, -1} {
			ax := scale3(&aR[p], sg)
			lim := szR[p]
			nt := 0
			for q := 0; q < np; q++ {
				x0, x1 := &poly[q], &poly[(q+1)%np]
				o0, o1 := sub3(x0, cR), sub3(x1, cR)
				d0, d1 := dot3(&o0, &ax)-lim, dot3(&o1, &ax)-lim
				if d0 <= 0 && nt < 8 {
					tmp[nt] = *x0
					nt++
				}
				if (d0 < 0) != (d1 < 0) && d0 != d1 && nt < 8 {
					t := d0 / (d0 - d1)
					dx := sub3(x1, x0)
					tmp[nt] = addScl3(x0, &dx, t)
					nt++
				}
			}
			poly, np = tmp, nt
			if np == 0 {
				return
			}
		}
	}
	nc := n
	if flip {
		nc = scale3(&n, -1)
	}
	for q := 0; q < np; q++ {
		o := sub3(&poly[q], cR)
		dist := dot3(&o, &n) - szR[k]
		if dist >= mg {
			continue
		}
		pos := addScl3(&poly[q], &n, -dist/2)
		s.addContact(pi, &pos, &nc, dist)
	}
}
