package batchsim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// slideXML: a 2 kg block on a frictionless horizontal slide with dry joint
// friction of 3 N and no gravity along the slide.
const slideXML = `<mujoco>
  <option timestep="0.002" gravity="0 0 0"/>
  <worldbody>
    <body name="b"><joint name="x" type="slide" axis="1 0 0" frictionloss="3"/>
      <geom type="sphere" size="0.05" mass="2" contype="0" conaffinity="0"/></body>
  </worldbody>
</mujoco>`

// TestJointFriction: a force below the friction (2 N < 3 N) moves the
// block less than 1 cm in 1 s (the soft friction row only creeps); a force
// above it (7 N) accelerates it at (7 − 3)/2 m/s² within 1 %.
func TestJointFriction(t *testing.T) {
	m, d := loadXML(t, slideXML)
	d.QfrcApplied[0] = 2
	step(t, m, d, 500)
	if x := d.Qpos[0]; x > 0.01 || x < 0 {
		t.Errorf("2 N against 3 N of friction moved the block %.4g m in 1 s", x)
	}
	ResetData(m, d)
	d.QfrcApplied[0] = 7
	step(t, m, d, 500)
	if a := d.Qvel[0] / 1.0; math.Abs(a-2)/2 > 0.01 {
		t.Errorf("7 N against 3 N: acceleration %.4g m/s², want 2", a)
	}
}

// TestBoxBoxContacts: a box standing on a box turned 45° about z gets the
// 8 corners of their overlap (an octagon) at the right depth, and two
// boxes whose edges cross get one edge–edge contact with the normal along
// the cross product of the edges.
func TestBoxBoxContacts(t *testing.T) {
	const q45 = `quat="0.9238795325112867 0 0 0.3826834323650898"`
	m, d := loadXML(t, `<mujoco><option gravity="0 0 0"/><worldbody>
  <geom type="box" size="0.1 0.1 0.1"/>
  <body pos="0 0 0.195"><freejoint/><geom type="box" size="0.1 0.1 0.1" `+q45+`/></body>
</worldbody></mujoco>`)
	FwdPosition(m, d)
	if d.ncon != 8 {
		t.Fatalf("turned box on box: %d contacts, want 8", d.ncon)
	}
	for i := 0; i < d.ncon; i++ {
		if c := &d.con[i]; math.Abs(c.dist+0.005) > 1e-12 || math.Abs(c.n[2]-1) > 1e-12 {
			t.Errorf("contact %d: dist %.6g, normal %v", i, c.dist, c.n)
		}
	}
	// box 1 turned 45° about y, box 2 45° about x: box 2's bottom edge
	// (along x) crosses box 1's top edge (along y), 1 cm deep
	const qe = `euler="45 0 0"`
	z := strconv.FormatFloat(2*0.1*math.Sqrt2-0.01, 'g', -1, 64)
	m, d = loadXML(t, `<mujoco><option gravity="0 0 0"/><worldbody>
  <geom type="box" size="0.1 0.1 0.1" euler="0 45 0"/>
  <body pos="0 0 `+z+`"><freejoint/><geom type="box" size="0.1 0.1 0.1" `+qe+`/></body>
</worldbody></mujoco>`)
	FwdPosition(m, d)
	if d.ncon != 1 {
		t.Fatalf("crossed edges: %d contacts, want 1", d.ncon)
	}
	if c := &d.con[0]; math.Abs(c.dist+0.01) > 1e-9 || math.Abs(c.n[2]-1) > 1e-9 {
		t.Errorf("edge contact: dist %.6g, normal %v; want -0.01, (0 0 1)", c.dist, c.n)
	}
}

// TestSegmentClearOfBox: whenever the capsule–box cull says a segment is
// clear of a box by gap, every point along it is farther than gap from the
// box (boxPoint); and the cull does fire on a good share of random pairs, so
// that the test exercises both answers.
func TestSegmentClearOfBox(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	clear := 0
	const trials = 20000
	for trial := 0; trial < trials; trial++ {
		var q Quat
		for k := range q {
			q[k] = rng.NormFloat64()
		}
		normalizeQuat(&q)
		var r [9]float64
		quatToMat(&q, &r)
		c := Vec3{rng.NormFloat64() * 0.1, rng.NormFloat64() * 0.1, rng.NormFloat64() * 0.1}
		sz := Vec3{0.01 + 0.2*rng.Float64(), 0.01 + 0.2*rng.Float64(), 0.01 + 0.2*rng.Float64()}
		e0 := Vec3{rng.NormFloat64() * 0.3, rng.NormFloat64() * 0.3, rng.NormFloat64() * 0.3}
		e1 := Vec3{e0[0] + rng.NormFloat64()*0.1, e0[1] + rng.NormFloat64()*0.1, e0[2] + rng.NormFloat64()*0.1}
		gap := 0.05 * rng.Float64()
		if !segmentClearOfBox(&e0, &e1, &c, &r, &sz, gap) {
			continue
		}
		clear++
		for i := 0; i <= 64; i++ {
			f := float64(i) / 64
			p := Vec3{e0[0] + f*(e1[0]-e0[0]), e0[1] + f*(e1[1]-e0[1]), e0[2] + f*(e1[2]-e0[2])}
			if dist, _, _ := boxPoint(&p, &c, &r, &sz); dist <= gap {
				t.Fatalf("trial %d: segment called clear by %g, but its point %v is %g from the box", trial, gap, p, dist)
			}
		}
	}
	if clear < trials/10 || clear == trials {
		t.Fatalf("the cull fired on %d of %d random pairs; the test needs both answers", clear, trials)
	}
}
