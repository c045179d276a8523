package batchsim

import (
	"math"
	"strings"
	"testing"
)

// Physical properties of the engine (PHYSICS.md, "What must hold"), one per
// test on a small inline model, each with its tolerance.

func loadXML(t *testing.T, xml string) (*Model, *Data) {
	t.Helper()
	m, err := LoadXML([]byte(xml), "inline.xml")
	if err != nil {
		t.Fatalf("LoadXML: %v", err)
	}
	return m, NewData(m)
}

func step(t *testing.T, m *Model, d *Data, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := Step(m, d); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

// pendulumXML: a 1 kg point-like bob (inertia 1e-3 about its COM) 1 m below a
// frictionless hinge; I about the pivot = 1.001 kg m².
const pendulumXML = `<mujoco>
  <option timestep="1e-4" gravity="0 0 -9.81"/>
  <worldbody>
    <body name="arm" pos="0 0 2">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <inertial pos="0 0 -1" mass="1" diaginertia="1e-3 1e-3 1e-3"/>
    </body>
  </worldbody>
</mujoco>`

// energy returns the kinetic plus potential energy of a contact-free model.
func energy(m *Model, d *Data) float64 {
	kinematics(m, d)
	comPos(m, d)
	mm := massMatrix(m, d)
	e := 0.0
	for i := 0; i < m.Nv; i++ {
		for j := 0; j < m.Nv; j++ {
			e += 0.5 * d.Qvel[i] * mm[i*m.Nv+j] * d.Qvel[j]
		}
	}
	for b := 1; b < m.Nbody; b++ {
		e -= m.BodyMass[b] * dot3(&m.Opt.Gravity, &d.Xipos[b])
	}
	return e
}

// TestPendulumEnergy: released at 1 rad, the frictionless pendulum keeps its
// energy within 0.1 % over 10 s at dt = 1e-4.
func TestPendulumEnergy(t *testing.T) {
	m, d := loadXML(t, pendulumXML)
	d.Qpos[0] = 1
	e0 := energy(m, d)
	scale := m.BodyMass[1] * 9.81 * 1 // mgl, the energy scale of the swing
	worst := 0.0
	for i := 0; i < 100000; i++ {
		if err := Step(m, d); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			worst = math.Max(worst, math.Abs(energy(m, d)-e0))
		}
	}
	if worst/scale > 1e-3 {
		t.Errorf("energy drift %.3g of mgl = %.3g exceeds 0.1%%", worst/scale, scale)
	}
}

// TestPendulumPeriod: at 0.01 rad the period (mean of 5 swings, from upward
// zero crossings) is 2π√(I/(m g l)) within 0.5 %.
func TestPendulumPeriod(t *testing.T) {
	m, d := loadXML(t, pendulumXML)
	d.Qpos[0] = 0.01
	want := 2 * math.Pi * math.Sqrt(1.001/(1*9.81*1))
	dt := m.Opt.Timestep
	var cross []float64
	prev := d.Qpos[0]
	for i := 0; i < 200000 && len(cross) < 6; i++ {
		step(t, m, d, 1)
		if prev < 0 && d.Qpos[0] >= 0 {
			// linear interpolation of the crossing time
			cross = append(cross, d.Time-dt*d.Qpos[0]/(d.Qpos[0]-prev))
		}
		prev = d.Qpos[0]
	}
	if len(cross) < 6 {
		t.Fatalf("only %d zero crossings", len(cross))
	}
	got := (cross[5] - cross[0]) / 5
	if rel := math.Abs(got-want) / want; rel > 0.005 {
		t.Errorf("period %.5f s, want %.5f s (rel err %.3g > 0.5%%)", got, want, rel)
	}
}

// freeBodyXML: an asymmetric free body whose COM is off its frame origin, in
// zero gravity.
const freeBodyXML = `<mujoco>
  <option timestep="1e-4" gravity="0 0 0"/>
  <worldbody>
    <body name="b" pos="0 0 1" quat="0.9 0.1 0.3 -0.2">
      <freejoint name="root"/>
      <inertial pos="0.1 -0.05 0.2" quat="0.8 0.2 0.1 0.4" mass="2" diaginertia="0.2 0.3 0.4"/>
    </body>
  </worldbody>
</mujoco>`

// momenta returns the linear momentum and the angular momentum about the
// world origin of a single free body.
func momenta(m *Model, d *Data) (p, l Vec3) {
	kinematics(m, d)
	comPos(m, d)
	comVel(m, d)
	const b = 1
	ic := make([]rigidInertia, m.Nv)
	linkInertias(m, d, ic)
	n := d.bodyNode[b]
	h := ic[n].mulMotion(&d.cvel[n]) // about the tree's reference point
	p = Vec3{h[3], h[4], h[5]}
	o := d.Xpos[d.treeRoot[b]]
	op := cross3(&o, &p)
	l = Vec3{h[0] + op[0], h[1] + op[1], h[2] + op[2]}
	return p, l
}

// TestFreeBodyMomentum: a tumbling free body in zero gravity keeps its linear
// and angular momentum to 1e-3 (relative) over 1 s at dt = 1e-4. Neither is
// exact for the Euler step (MuJoCo's neither): the centripetal acceleration
// of the off-centre frame origin and the gyroscopic torque are integrated
// explicitly, an O(dt) error of about 2e-4 here.
func TestFreeBodyMomentum(t *testing.T) {
	m, d := loadXML(t, freeBodyXML)
	copy(d.Qvel, []float64{0.3, -0.2, 0.1, 2, -1, 3})
	p0, l0 := momenta(m, d)
	step(t, m, d, 10000)
	p1, l1 := momenta(m, d)
	dp, dl := sub3(&p1, &p0), sub3(&l1, &l0)
	if e := norm3(&dp) / norm3(&p0); e > 1e-3 {
		t.Errorf("linear momentum changed by %.3g (relative), %v → %v", e, p0, p1)
	}
	if e := norm3(&dl) / norm3(&l0); e > 1e-3 {
		t.Errorf("angular momentum changed by %.3g (relative), %v → %v", e, l0, l1)
	}
}

// fallXML: a sphere of radius 0.1 dropped from z = 2 above the floor.
const fallXML = `<mujoco>
  <option timestep="1e-3" gravity="0 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="10 10 1"/>
    <body name="ball" pos="0 0 2">
      <freejoint/>
      <geom name="ball" type="sphere" size="0.1" mass="1"/>
    </body>
  </worldbody>
</mujoco>`

// TestFreeFall: until it reaches the floor the sphere follows
// z0 − g t²/2 within the Euler step's g·dt·t/2 (and the discrete solution
// z0 − g·dt²·n(n+1)/2 to 1e-9), with no contact force; then it stops on the
// floor.
func TestFreeFall(t *testing.T) {
	m, d := loadXML(t, fallXML)
	const g, z0 = 9.81, 2.0
	dt := m.Opt.Timestep
	for n := 1; n <= 600; n++ {
		step(t, m, d, 1)
		tt := float64(n) * dt
		z := d.Qpos[2]
		if z < 0.1 { // touching
			break
		}
		if e := math.Abs(z - (z0 - g*tt*tt/2)); e > g*dt*tt/2+1e-9 {
			t.Fatalf("t=%.3f: z %.9f, want %.9f ± %.3g", tt, z, z0-g*tt*tt/2, g*dt*tt/2)
		}
		if e := math.Abs(z - (z0 - g*dt*dt*float64(n*(n+1))/2)); e > 1e-9 {
			t.Fatalf("t=%.3f: z %.12f differs from the discrete free fall by %.3g", tt, z, e)
		}
		if d.CfrcExt[1] != ([6]float64{}) {
			t.Fatalf("t=%.3f: contact wrench %v before contact", tt, d.CfrcExt[1])
		}
	}
	step(t, m, d, 2000)
	if z := d.Qpos[2]; z < 0.095 || z > 0.1 {
		t.Errorf("after 2 s the sphere centre is at z = %.4f, want within 5 mm below 0.1", z)
	}
}

// boxXML: a 0.2 × 0.3 × 0.1 m box of 2 kg on the floor, default solref, at
// MuJoCo's default timestep 0.002; friction μ = 0.5 on both geoms.
const boxXML = `<mujoco>
  <option gravity="0 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="10 10 1" friction="0.5"/>
    <body name="box" pos="0 0 0.06">
      <freejoint/>
      <geom name="box" type="box" size="0.1 0.15 0.05" mass="2" friction="0.5"/>
    </body>
  </worldbody>
</mujoco>`

// TestBoxRests: dropped from 1 cm, the box settles with penetration under
// 2 mm, does not drift (horizontal motion over the last second < 1e-6 m), and
// its contact wrench carries its weight within 0.1 %.
func TestBoxRests(t *testing.T) {
	m, d := loadXML(t, boxXML)
	step(t, m, d, 500) // 1 s
	x0, y0 := d.Qpos[0], d.Qpos[1]
	step(t, m, d, 500)
	pen := 0.05 - d.Qpos[2]
	if pen <= 0 || pen >= 2e-3 {
		t.Errorf("penetration %.4g m, want in (0, 2 mm)", pen)
	}
	if dx := math.Hypot(d.Qpos[0]-x0, d.Qpos[1]-y0); dx > 1e-6 {
		t.Errorf("box drifted %.3g m in 1 s", dx)
	}
	if w := m.BodyMass[1] * 9.81; math.Abs(d.CfrcExt[1][5]-w)/w > 1e-3 {
		t.Errorf("contact force %.5g N, weight %.5g N", d.CfrcExt[1][5], w)
	}
}

// TestBlockSlides: launched at v0 = 2 m/s along x, the resting box stops
// after v0²/(2 μ g) within 5 %.
func TestBlockSlides(t *testing.T) {
	m, d := loadXML(t, boxXML)
	step(t, m, d, 500)
	const v0, mu, g = 2.0, 0.5, 9.81
	x0 := d.Qpos[0]
	d.Qvel[0] = v0
	for i := 0; i < 1000 && d.Qvel[0] > 1e-3; i++ {
		step(t, m, d, 1)
	}
	want := v0 * v0 / (2 * mu * g)
	got := d.Qpos[0] - x0
	if math.Abs(got-want)/want > 0.05 {
		t.Errorf("stopping distance %.4f m, want %.4f m ± 5%%", got, want)
	}
}

// hingeXML is a 1-dof rotor about a vertical axis (no gravity torque) with
// I = 0.5 about the axis plus armature 0.1; the test sets damping,
// stiffness and limits on the model.
const hingeXML = `<mujoco>
  <option timestep="1e-3" gravity="0 0 -9.81"/>
  <worldbody>
    <body name="rotor" pos="0 0 1">
      <joint name="j" type="hinge" axis="0 0 1" armature="0.1"/>
      <inertial pos="0 0 0" mass="1" diaginertia="0.5 0.5 0.5"/>
    </body>
  </worldbody>
  <actuator>
    <motor name="m" joint="j" gear="2" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>`

// TestDampingDampens: with damping b the speed decays every step exactly as
// MuJoCo's implicit Euler damping does, v' = v·(I+a)/(I+a+h·b) (to 1e-12),
// monotonically.
func TestDampingDampens(t *testing.T) {
	m, d := loadXML(t, hingeXML)
	m.DofDamping[0] = 2
	d.Qvel[0] = 3
	ratio := 0.6 / (0.6 + m.Opt.Timestep*2)
	for i := 0; i < 1000; i++ {
		v := d.Qvel[0]
		step(t, m, d, 1)
		if math.Abs(d.Qvel[0]-v*ratio) > 1e-12 {
			t.Fatalf("step %d: qvel %.15g, want %.15g", i, d.Qvel[0], v*ratio)
		}
	}
	if d.Qvel[0] >= 3*math.Exp(-1) {
		t.Errorf("speed %.4g after 1 s, want below %.4g", d.Qvel[0], 3*math.Exp(-1))
	}
}

// TestSpringFrequency: a hinge spring of stiffness k oscillates about its
// springref at √(k/(I+armature)) within 0.5 %.
func TestSpringFrequency(t *testing.T) {
	m, d := loadXML(t, hingeXML)
	m.JntStiffness[0] = 20
	m.QposSpring[0] = 0.3
	m.Opt.Timestep = 1e-4
	d.Qpos[0] = 0.4
	want := 2 * math.Pi / math.Sqrt(20/0.6)
	var cross []float64
	prev := d.Qpos[0] - 0.3
	for i := 0; i < 100000 && len(cross) < 4; i++ {
		step(t, m, d, 1)
		x := d.Qpos[0] - 0.3
		if prev > 0 && x <= 0 {
			cross = append(cross, d.Time-m.Opt.Timestep*x/(x-prev))
		}
		prev = x
	}
	if len(cross) < 4 {
		t.Fatalf("only %d crossings", len(cross))
	}
	got := (cross[3] - cross[0]) / 3
	if rel := math.Abs(got-want) / want; rel > 0.005 {
		t.Errorf("period %.5f s, want %.5f s (rel err %.3g)", got, want, rel)
	}
}

// TestJointLimitHolds: a motor pushing at full torque (2 N m) holds the
// hinge within 0.01 rad beyond its 0.5 rad limit after 2 s, and the limit
// stops it coming back through the lower one.
func TestJointLimitHolds(t *testing.T) {
	m, d := loadXML(t, hingeXML)
	m.JntLimited[0] = true
	m.JntRange[0] = [2]float64{-0.5, 0.5}
	d = NewData(m) // limit gains come from NewData
	d.Ctrl[0] = 1
	step(t, m, d, 2000)
	if q := d.Qpos[0]; q > 0.51 || q < 0.49 {
		t.Errorf("upper limit: q = %.4f after 2 s, want 0.5 ± 0.01", q)
	}
	d.Ctrl[0] = -1
	step(t, m, d, 3000)
	if q := d.Qpos[0]; q < -0.51 || q > -0.49 {
		t.Errorf("lower limit: q = %.4f after 3 s, want −0.5 ± 0.01", q)
	}
}

// TestActuatorClamp: a control beyond ctrlrange acts as the range's end
// (exactly), d.Ctrl itself is left as set, and the motor force is gear·ctrl.
func TestActuatorClamp(t *testing.T) {
	m, d := loadXML(t, hingeXML)
	d.Ctrl[0] = 5
	step(t, m, d, 1)
	if d.Ctrl[0] != 5 {
		t.Errorf("Step changed ctrl to %g", d.Ctrl[0])
	}
	want := 2 * 1 / 0.6 // gear·clamped ctrl / (I + armature)
	if math.Abs(d.Qacc[0]-want) > 1e-12 {
		t.Errorf("qacc %.15g with ctrl 5 in [-1, 1], want %.15g", d.Qacc[0], want)
	}
	d.Ctrl[0] = -0.25
	step(t, m, d, 1)
	if want := 2 * -0.25 / 0.6; math.Abs(d.Qacc[0]-want) > 1e-12 {
		t.Errorf("qacc %.15g with ctrl −0.25, want %.15g", d.Qacc[0], want)
	}
}

// TestPositionActuator: a position servo applies kp·(ctrl − q) through its
// gear (MuJoCo's general form with bias (0, −kp, 0)).
func TestPositionActuator(t *testing.T) {
	m, d := loadXML(t, strings.Replace(hingeXML,
		`<motor name="m" joint="j" gear="2" ctrllimited="true" ctrlrange="-1 1"/>`,
		`<position name="p" joint="j" kp="10"/>`, 1))
	d.Qpos[0] = 0.2
	d.Ctrl[0] = 0.5
	step(t, m, d, 1)
	if want := 10 * (0.5 - 0.2) / 0.6; math.Abs(d.Qacc[0]-want) > 1e-12 {
		t.Errorf("qacc %.15g, want %.15g", d.Qacc[0], want)
	}
}

// TestNonFiniteState: a NaN or Inf in qpos, qvel or ctrl before the step, or
// a state that becomes non-finite during it, is an error naming the array
// and index.
func TestNonFiniteState(t *testing.T) {
	m, d := loadXML(t, hingeXML)
	for _, c := range []struct {
		set  func()
		want string
	}{
		{func() { d.Qpos[0] = math.NaN() }, "qpos[0]"},
		{func() { d.Qvel[0] = math.Inf(1) }, "qvel[0]"},
		{func() { d.Ctrl[0] = math.NaN() }, "ctrl[0]"},
	} {
		ResetData(m, d)
		c.set()
		err := Step(m, d)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %s", err, c.want)
		}
	}
	ResetData(m, d)
	d.Qvel[0] = 1e308
	m.Opt.Timestep = 1e10
	err := Step(m, d)
	if err == nil || !strings.Contains(err.Error(), "after step") || !strings.Contains(err.Error(), "qpos[0]") {
		t.Errorf("overflowing step: error %v, want one naming qpos[0] after the step", err)
	}
}

// TestStepDoesNotAllocate: Step on the cheetah allocates nothing.
func TestStepDoesNotAllocate(t *testing.T) {
	m := loadCheetah(t)
	d := NewData(m)
	d.Ctrl[0] = 0.5
	if n := testing.AllocsPerRun(100, func() { _ = Step(m, d) }); n != 0 {
		t.Errorf("Step allocates %.1f times per call", n)
	}
}

// TestContactGeometry: signed distance, normal and number of points of every
// supported pair type on hand-placed geoms, to 1e-12. Geom a belongs to the
// world, geom b to a free body; normals point from the pair's first
// geom (lower type) to its second.
func TestContactGeometry(t *testing.T) {
	const alongX = `quat="0.7071067811865476 0 0.7071067811865476 0"`  // capsule axis z → x
	const alongY = `quat="0.7071067811865476 -0.7071067811865476 0 0"` // z → y
	for _, c := range []struct {
		name     string
		a, b     string // geom elements; b's body is placed at bpos
		bpos     string
		n        int
		dist     float64
		normal   Vec3 // from the first geom (by type rank) to the second
		midpoint float64
	}{
		{"plane-sphere", `<geom type="plane" size="1 1 1"/>`, `<geom type="sphere" size="0.1"/>`, "0 0 0.08", 1, -0.02, Vec3{0, 0, 1}, -0.01},
		{"plane-capsule", `<geom type="plane" size="1 1 1"/>`, `<geom type="capsule" size="0.05 0.2" ` + alongX + `/>`, "0 0 0.04", 2, -0.01, Vec3{0, 0, 1}, -0.005},
		{"plane-cylinder", `<geom type="plane" size="1 1 1"/>`, `<geom type="cylinder" size="0.05 0.2" ` + alongX + `/>`, "0 0 0.04", 2, -0.01, Vec3{0, 0, 1}, -0.005},
		{"plane-box", `<geom type="plane" size="1 1 1"/>`, `<geom type="box" size="0.1 0.2 0.1"/>`, "0 0 0.09", 4, -0.01, Vec3{0, 0, 1}, -0.005},
		{"sphere-sphere", `<geom type="sphere" size="0.1"/>`, `<geom type="sphere" size="0.2"/>`, "0.25 0 0", 1, -0.05, Vec3{1, 0, 0}, math.NaN()},
		{"sphere-capsule", `<geom type="sphere" size="0.1" pos="0 0 0.2"/>`, `<geom type="capsule" size="0.05 0.1"/>`, "0 0 0", 1, -0.05, Vec3{0, 0, -1}, math.NaN()},
		{"capsule-capsule", `<geom type="capsule" size="0.05 0.3" ` + alongX + `/>`, `<geom type="capsule" size="0.05 0.3" ` + alongY + `/>`, "0.1 0.05 0.08", 1, -0.02, Vec3{0, 0, 1}, math.NaN()},
		{"sphere-box", `<geom type="box" size="0.1 0.1 0.1"/>`, `<geom type="sphere" size="0.1"/>`, "0.15 0 0", 1, -0.05, Vec3{-1, 0, 0}, math.NaN()},
		{"sphere-in-box", `<geom type="box" size="0.1 0.1 0.1"/>`, `<geom type="sphere" size="0.1"/>`, "0.05 0.01 0", 1, -0.15, Vec3{-1, 0, 0}, math.NaN()},
		{"capsule-box", `<geom type="box" size="0.1 0.1 0.1"/>`, `<geom type="capsule" size="0.05 0.05" ` + alongX + `/>`, "0 0 0.14", 2, -0.01, Vec3{0, 0, -1}, math.NaN()},
		{"capsule-box-edge", `<geom type="box" size="0.1 0.1 0.1"/>`, `<geom type="capsule" size="0.05 0.5" ` + alongY + `/>`, "0.13 0 0.13", 1, math.Sqrt(2*0.03*0.03) - 0.05, Vec3{-math.Sqrt2 / 2, 0, -math.Sqrt2 / 2}, math.NaN()},
		{"box-box", `<geom type="box" size="0.1 0.1 0.1"/>`, `<geom type="box" size="0.1 0.1 0.1"/>`, "0.05 0.02 0.19", 4, -0.01, Vec3{0, 0, 1}, math.NaN()},
	} {
		t.Run(c.name, func(t *testing.T) {
			xml := `<mujoco><option gravity="0 0 0"/><worldbody>
  ` + c.a + `
  <body name="b" pos="` + c.bpos + `"><freejoint/>` + c.b + `</body>
</worldbody></mujoco>`
			m, d := loadXML(t, xml)
			FwdPosition(m, d)
			if d.ncon != c.n {
				t.Fatalf("%d contacts, want %d", d.ncon, c.n)
			}
			for i := 0; i < d.ncon; i++ {
				k := &d.con[i]
				if math.Abs(k.dist-c.dist) > 1e-12 {
					t.Errorf("contact %d: dist %.15g, want %.15g", i, k.dist, c.dist)
				}
				if dn := sub3(&k.n, &c.normal); norm3(&dn) > 1e-12 {
					t.Errorf("contact %d: normal %v, want %v", i, k.n, c.normal)
				}
				if !math.IsNaN(c.midpoint) && math.Abs(k.pos[2]-c.midpoint) > 1e-12 {
					t.Errorf("contact %d: point z %.15g, want %.15g", i, k.pos[2], c.midpoint)
				}
			}
		})
	}
}

// TestCheetahContactWrench: the cheetah standing after 3 s of zero controls
// carries its weight through its contacts: Σ CfrcExt force z = total mass·g
// within 2 %, with the default single sub-step at dt = 0.01.
func TestCheetahContactWrench(t *testing.T) {
	m := loadCheetah(t)
	d := NewData(m)
	step(t, m, d, 300)
	fz, mass := 0.0, 0.0
	for b := 1; b < m.Nbody; b++ {
		fz += d.CfrcExt[b][5]
		mass += m.BodyMass[b]
	}
	if w := mass * 9.81; math.Abs(fz-w)/w > 0.02 {
		t.Errorf("contact force %.4g N, weight %.4g N", fz, w)
	}
}
