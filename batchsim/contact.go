package batchsim

import "math"

// Contact detection (PHYSICS.md, step 2); the contacts act through
// constraint.go's soft constraint rows.
//
// Every candidate pair (Model.PairGeom1/2) is ordered once so that its first
// geom has the lower type (plane < sphere < capsule = cylinder < box); the
// contact normal points from the first geom to the second, dist is the
// signed distance (negative when penetrating) and the contact point lies
// midway between the two surfaces. Supported: plane–sphere, plane–capsule
// (both end caps), plane–box (every vertex), sphere–sphere, sphere–capsule,
// capsule–capsule (closest points of the segments), sphere–box, capsule–box
// (end caps, else the segment point nearest the box), box–box (separating
// axes, then face clipping or one edge–edge point: contact_box.go). A contact
// is active when dist < margin (the larger GeomMargin of the two).

const (
	pairPlaneSphere = iota
	pairPlaneCapsule
	pairPlaneBox
	pairSphereSphere
	pairSphereCapsule
	pairCapsuleCapsule
	pairSphereBox
	pairCapsuleBox
	pairBoxBox
	pairNone
)

// geomRank orders geom types for pair dispatch; cylinders collide as capsules.
func geomRank(t GeomType) int {
	switch t {
	case GeomPlane:
		return 0
	case GeomSphere:
		return 1
	case GeomCapsule, GeomCylinder:
		return 2
	case GeomBox:
		return 3
	}
	return -1
}

// pairKind returns the dispatch kind for ranks ra ≤ rb, its maximum number
// of contact points and its nominal number of points at rest.
func pairKind(ra, rb int) (kind, maxCon, nNom int) {
	switch {
	case ra == 0 && rb == 1:
		return pairPlaneSphere, 1, 1
	case ra == 0 && rb == 2:
		return pairPlaneCapsule, 2, 2
	case ra == 0 && rb == 3:
		return pairPlaneBox, 8, 4
	case ra == 1 && rb == 1:
		return pairSphereSphere, 1, 1
	case ra == 1 && rb == 2:
		return pairSphereCapsule, 1, 1
	case ra == 2 && rb == 2:
		return pairCapsuleCapsule, 1, 1
	case ra == 1 && rb == 3:
		return pairSphereBox, 1, 1
	case ra == 2 && rb == 3:
		return pairCapsuleBox, 2, 2
	case ra == 3 && rb == 3:
		return pairBoxBox, 8, 4
	}
	return pairNone, 0, 1
}

// boundRadius is the radius of a sphere about the geom's centre that holds it.
func boundRadius(t GeomType, sz *Vec3) float64 {
	switch t {
	case GeomSphere:
		return sz[0]
	case GeomCapsule, GeomCylinder:
		return sz[0] + sz[1]
	case GeomBox:
		return norm3(sz)
	}
	return math.Inf(1)
}

// pairInfo is the per-pair data fixed at NewData (geoms ordered by rank).
type pairInfo struct {
	g1, g2 int
	kind   int
	margin float64
	mu     float64
	solref [2]float64
	rbound float64 // sum of the geoms' bounding-sphere radii (not for planes)
	static bool    // both geoms on static bodies: never in contact

	// Soft constraints (constraint.go).
	solimp  [5]float64
	condim  int
	torsion float64
}

// contact is one active contact point.
type contact struct {
	pos  Vec3
	n    Vec3 // unit normal from the pair's first geom to its second
	dist float64
	pair int

	// Soft constraints: the direction the first tangent is aligned with (zero
	// for none), the tangents of the friction pyramid and the rows.
	hint       Vec3
	t1, t2     Vec3
	row0, nrow int
}

func (s *scratch) addContact(pair int, pos, n *Vec3, dist float64) {
	c := &s.con[s.ncon]
	c.pos, c.n, c.dist, c.pair = *pos, *n, dist, pair
	c.hint = Vec3{}
	s.ncon++
}

func geomAxis(r *[9]float64, k int) Vec3 { return Vec3{r[k], r[3+k], r[6+k]} }

// collide finds the active contacts of every pair into s.con.
func collide(m *Model, d *Data) {
	s := &d.scratch
	s.ncon = 0
	// m.Npair may have been lowered after NewData to switch contacts off.
	for pi := 0; pi < m.Npair && pi < len(s.pairs); pi++ {
		p := &s.pairs[pi]
		if p.static {
			continue
		}
		g1, g2 := p.g1, p.g2
		c1, c2 := &d.GeomXpos[g1], &d.GeomXpos[g2]
		if p.kind != pairPlaneSphere && p.kind != pairPlaneCapsule && p.kind != pairPlaneBox {
			// bounding-sphere test, MuJoCo's broad phase in miniature
			dv := sub3(c2, c1)
			if r := p.rbound + p.margin; dot3(&dv, &dv) > r*r {
				continue
			}
		}
		r1, r2 := &d.GeomXmat[g1], &d.GeomXmat[g2]
		sz1, sz2 := &m.GeomSize[g1], &m.GeomSize[g2]
		mg := p.margin
		switch p.kind {
		case pairPlaneSphere:
			n := geomAxis(r1, 2)
			s.planeSphere(pi, c1, &n, c2, sz2[0], mg)
		case pairPlaneCapsule:
			n := geomAxis(r1, 2)
			ax := geomAxis(r2, 2)
			n0 := s.ncon
			e := addScl3(c2, &ax, sz2[1])
			s.planeSphere(pi, c1, &n, &e, sz2[0], mg)
			e = addScl3(c2, &ax, -sz2[1])
			s.planeSphere(pi, c1, &n, &e, sz2[0], mg)
			for k := n0; k < s.ncon; k++ {
				s.con[k].hint = ax // MuJoCo aligns the friction frame with the capsule
			}
		case pairPlaneBox:
			n := geomAxis(r1, 2)
			var proj [3]float64
			for k := 0; k < 3; k++ {
				ax := geomAxis(r2, k)
				proj[k] = dot3(&n, &ax) * sz2[k]
			}
			off := sub3(c2, c1)
			d0 := dot3(&n, &off)
			for v := 0; v < 8; v++ {
				sx, sy, sz := sgnBit(v, 0), sgnBit(v, 1), sgnBit(v, 2)
				dist := d0 + sx*proj[0] + sy*proj[1] + sz*proj[2]
				if dist >= mg {
					continue
				}
				var pos Vec3
				for k := 0; k < 3; k++ {
					pos[k] = c2[k] + sx*sz2[0]*r2[3*k] + sy*sz2[1]*r2[3*k+1] + sz*sz2[2]*r2[3*k+2] - n[k]*dist/2
				}
				s.addContact(pi, &pos, &n, dist)
			}
		case pairSphereSphere:
			s.sphereSphere(pi, c1, sz1[0], c2, sz2[0], mg)
		case pairSphereCapsule:
			ax := geomAxis(r2, 2)
			q := closestOnSegment(c2, &ax, sz2[1], c1)
			s.sphereSphere(pi, c1, sz1[0], &q, sz2[0], mg)
		case pairCapsuleCapsule:
			a1, a2 := geomAxis(r1, 2), geomAxis(r2, 2)
			q1, q2 := closestSegmentSegment(c1, &a1, sz1[1], c2, &a2, sz2[1])
			s.sphereSphere(pi, &q1, sz1[0], &q2, sz2[0], mg)
		case pairSphereBox:
			s.sphereBox(pi, c1, sz1[0], c2, r2, sz2, mg, false)
		case pairCapsuleBox:
			s.capsuleBox(pi, c1, r1, sz1, c2, r2, sz2, mg)
		case pairBoxBox:
			s.boxBox(pi, c1, r1, sz1, c2, r2, sz2, mg)
		}
	}
}

// sgnBit is ±1 from bit k of v, for enumerating box vertices.
func sgnBit(v, k int) float64 {
	if v>>k&1 == 1 {
		return 1
	}
	return -1
}

func (s *scratch) planeSphere(pi int, p0, n, c *Vec3, r, mg float64) {
	off := sub3(c, p0)
	dist := dot3(n, &off) - r
	if dist >= mg {
		return
	}
	pos := addScl3(c, n, -(r + dist/2))
	s.addContact(pi, &pos, n, dist)
}

func (s *scratch) sphereSphere(pi int, c1 *Vec3, r1 float64, c2 *Vec3, r2, mg float64) {
	dv := sub3(c2, c1)
	l := norm3(&dv)
	dist := l - r1 - r2
	if dist >= mg {
		return
	}
	n := Vec3{0, 0, 1}
	if l > 1e-12 {
		n = scale3(&dv, 1/l)
	}
	pos := addScl3(c1, &n, r1+dist/2)
	s.addContact(pi, &pos, &n, dist)
}

// closestOnSegment returns the point of the segment c ± ax·hl nearest to p.
func closestOnSegment(c, ax *Vec3, hl float64, p *Vec3) Vec3 {
	off := sub3(p, c)
	t := math.Max(-hl, math.Min(hl, dot3(&off, ax)))
	return addScl3(c, ax, t)
}

// closestSegmentSegment returns the closest points of two segments c ± a·h
// (Ericson, "Real-Time Collision Detection", 2005, §5.1.9).
func closestSegmentSegment(c1, a1 *Vec3, h1 float64, c2, a2 *Vec3, h2 float64) (Vec3, Vec3) {
	p1 := addScl3(c1, a1, -h1)
	p2 := addScl3(c2, a2, -h2)
	d1 := scale3(a1, 2*h1)
	d2 := scale3(a2, 2*h2)
	r := sub3(&p1, &p2)
	aa, e, f := dot3(&d1, &d1), dot3(&d2, &d2), dot3(&d2, &r)
	var sP, tP float64
	switch {
	case aa <= 1e-12 && e <= 1e-12:
	case aa <= 1e-12:
		tP = clamp01(f / e)
	default:
		c := dot3(&d1, &r)
		if e <= 1e-12 {
			sP = clamp01(-c / aa)
		} else {
			b := dot3(&d1, &d2)
			den := aa*e - b*b
			if den > 1e-12 {
				sP = clamp01((b*f - c*e) / den)
			} else {
				sP = 0.5 // parallel: any point; the middle keeps the pair symmetric
			}
			tP = (b*sP + f) / e
			if tP < 0 {
				tP = 0
				sP = clamp01(-c / aa)
			} else if tP > 1 {
				tP = 1
				sP = clamp01((b - c) / aa)
			}
		}
	}
	return addScl3(&p1, &d1, sP), addScl3(&p2, &d2, tP)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// boxPoint returns, for a point p and a box (centre c, rotation r, half-sizes
// sz), the signed distance of p to the box surface, the outward unit normal
// (box → p) and the nearest point of the surface.
func boxPoint(p, c *Vec3, r *[9]float64, sz *Vec3) (dist float64, n, q Vec3) {
	off := sub3(p, c)
	l := mulMatTVec(r, &off)
	var cl Vec3
	inside := true
	for k := 0; k < 3; k++ {
		cl[k] = math.Max(-sz[k], math.Min(sz[k], l[k]))
		if cl[k] != l[k] {
			inside = false
		}
	}
	if !inside {
		dl := sub3(&l, &cl)
		dd := norm3(&dl)
		nl := scale3(&dl, 1/dd)
		n = mulMatVec(r, &nl)
		q = mulMatVec(r, &cl)
		return dd, n, add3(&q, c)
	}
	// inside: leave through the nearest face
	best, bk := math.Inf(1), 0
	for k := 0; k < 3; k++ {
		if g := sz[k] - math.Abs(l[k]); g < best {
			best, bk = g, k
		}
	}
	sg := 1.0
	if l[bk] < 0 {
		sg = -1
	}
	var nl Vec3
	nl[bk] = sg
	cl = l
	cl[bk] = sg * sz[bk]
	n = mulMatVec(r, &nl)
	q = mulMatVec(r, &cl)
	return -best, n, add3(&q, c)
}

// segmentClearOfBox reports whether a face plane of the box (centre c,
// rotation r, half-sizes sz) has the whole segment e0–e1 more than gap
// outside it. Then every point of the segment is more than gap from the box,
// so a capsule of radius gap − margin cannot touch it: the common case of a
// pair that passed the bounding spheres, settled without capsuleBox's
// projections.
func segmentClearOfBox(e0, e1, c *Vec3, r *[9]float64, sz *Vec3, gap float64) bool {
	o0, o1 := sub3(e0, c), sub3(e1, c)
	l0, l1 := mulMatTVec(r, &o0), mulMatTVec(r, &o1)
	for k := 0; k < 3; k++ {
		lim := sz[k] + gap
		if l0[k] > lim && l1[k] > lim || l0[k] < -lim && l1[k] < -lim {
			return true
		}
	}
	return false
}

// sphereBox adds the contact of a sphere (centre p, radius rad) with a box.
// The normal points from the sphere to the box, or from the box to the
// sphere when boxFirst is set (the box is the pair's first geom).
func (s *scratch) sphereBox(pi int, p *Vec3, rad float64, c *Vec3, r *[9]float64, sz *Vec3, mg float64, boxFirst bool) {
	db, nb, q := boxPoint(p, c, r, sz)
	dist := db - rad
	if dist >= mg {
		return
	}
	// midpoint of the box surface point and the sphere surface point
	sp := addScl3(p, &nb, -rad)
	pos := Vec3{(q[0] + sp[0]) / 2, (q[1] + sp[1]) / 2, (q[2] + sp[2]) / 2}
	if !boxFirst {
		nb = scale3(&nb, -1)
	}
	s.addContact(pi, &pos, &nb, dist)
}

// capsuleBox adds the end caps of a capsule that touch the box; when fewer
// than two do, the segment point nearest the box (a few alternating
// projections between the convex segment and box) replaces a shallower cap.
func (s *scratch) capsuleBox(pi int, c1 *Vec3, r1 *[9]float64, sz1 *Vec3, c2 *Vec3, r2 *[9]float64, sz2 *Vec3, mg float64) {
	ax := geomAxis(r1, 2)
	rad, hl := sz1[0], sz1[1]
	e0 := addScl3(c1, &ax, -hl)
	e1 := addScl3(c1, &ax, hl)
	if segmentClearOfBox(&e0, &e1, c2, r2, sz2, rad+mg) {
		return
	}
	d0, _, _ := boxPoint(&e0, c2, r2, sz2)
	d1, _, _ := boxPoint(&e1, c2, r2, sz2)
	a0, a1 := d0-rad < mg, d1-rad < mg
	if a0 && a1 {
		s.sphereBox(pi, &e0, rad, c2, r2, sz2, mg, false)
		s.sphereBox(pi, &e1, rad, c2, r2, sz2, mg, false)
		return
	}
	p := closestOnSegment(c1, &ax, hl, c2)
	for it := 0; it < 6; it++ {
		_, _, q := boxPoint(&p, c2, r2, sz2)
		p = closestOnSegment(c1, &ax, hl, &q)
	}
	dp, _, _ := boxPoint(&p, c2, r2, sz2)
	switch {
	case a0 && dp < d0-1e-9:
		s.sphereBox(pi, &p, rad, c2, r2, sz2, mg, false)
	case a0:
		s.sphereBox(pi, &e0, rad, c2, r2, sz2, mg, false)
	case a1 && dp < d1-1e-9:
		s.sphereBox(pi, &p, rad, c2, r2, sz2, mg, false)
	case a1:
		s.sphereBox(pi, &e1, rad, c2, r2, sz2, mg, false)
	default:
		s.sphereBox(pi, &p, rad, c2, r2, sz2, mg, false)
	}
}
