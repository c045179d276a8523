//go:build mujoco

package mjref

import (
	"math"
	"os"
	"strings"
	"testing"
)

const fallXML = `<mujoco model="fall">
  <option timestep="0.001" gravity="0 0 -9.81"/>
  <worldbody>
    <body name="ball" pos="0.5 -0.25 10">
      <freejoint/>
      <geom type="sphere" size="0.1"/>
    </body>
  </worldbody>
</mujoco>`

// A free body in MuJoCo follows free fall: with semi-implicit Euler,
// v_n = −g·n·dt and z_n = z0 − g·dt²·n(n+1)/2 exactly (up to rounding), which
// differs from z0 − g·t²/2 by g·dt·t/2.
func TestMjrefFreeFall(t *testing.T) {
	s, err := LoadXML(fallXML, "fall.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Nq() != 7 || s.Nv() != 6 || s.Nu() != 0 || s.Nbody() != 2 {
		t.Fatalf("sizes nq=%d nv=%d nu=%d nbody=%d, want 7 6 0 2", s.Nq(), s.Nv(), s.Nu(), s.Nbody())
	}
	// Sphere of density 1000: m = 4/3·π·r³·ρ, I = 2/5·m·r².
	r := 0.1
	wantM := 4.0 / 3 * math.Pi * r * r * r * 1000
	if m := s.BodyMass()[1]; math.Abs(m-wantM) > 1e-9*wantM {
		t.Errorf("mass %g, want %g", m, wantM)
	}
	for k, I := range s.BodyInertia()[1] {
		if want := 0.4 * wantM * r * r; math.Abs(I-want) > 1e-9*want {
			t.Errorf("inertia[%d] %g, want %g", k, I, want)
		}
	}
	s.SetIntegrator(Euler)
	if s.Integrator() != Euler {
		t.Fatal("integrator not set")
	}
	q0 := s.Qpos()
	if q0[2] != 10 || q0[3] != 1 {
		t.Fatalf("qpos0 = %v, want z=10 and identity quaternion", q0)
	}
	const n = 500
	g, dt := 9.81, s.Timestep()
	for i := 0; i < n; i++ {
		if err := s.Step(); err != nil {
			t.Fatal(err)
		}
	}
	q, v, tm := s.Qpos(), s.Qvel(), s.Time()
	if math.Abs(tm-n*dt) > 1e-12 {
		t.Errorf("time %g, want %g", tm, n*dt)
	}
	zDisc := 10 - g*dt*dt*n*(n+1)/2
	if math.Abs(q[2]-zDisc) > 1e-9 {
		t.Errorf("z = %.12f, want %.12f (semi-implicit Euler)", q[2], zDisc)
	}
	zCont := 10 - g*tm*tm/2
	if math.Abs(q[2]-zCont) > g*dt*tm/2+1e-9 {
		t.Errorf("z = %g, continuous free fall %g: off by more than g·dt·t/2", q[2], zCont)
	}
	if math.Abs(v[2]+g*tm) > 1e-9 {
		t.Errorf("vz = %g, want %g", v[2], -g*tm)
	}
	if q[0] != 0.5 || q[1] != -0.25 {
		t.Errorf("x, y = %g, %g, want 0.5, -0.25", q[0], q[1])
	}
	for k, want := range []float64{1, 0, 0, 0} {
		if math.Abs(q[3+k]-want) > 1e-12 {
			t.Errorf("quaternion %v, want identity", q[3:])
			break
		}
	}
	if s.Ncon() != 0 || s.Nefc() != 0 {
		t.Errorf("ncon=%d nefc=%d in free fall, want 0", s.Ncon(), s.Nefc())
	}

	// Reset restores qpos0 and time; SetQpos/SetQvel write through.
	s.Reset()
	if s.Time() != 0 || s.Qpos()[2] != 10 {
		t.Errorf("after Reset time=%g z=%g", s.Time(), s.Qpos()[2])
	}
	q = s.Qpos()
	q[2] = 3
	s.SetQpos(q)
	s.SetQvel([]float64{0, 0, 1, 0, 0, 0})
	s.Forward()
	if z := s.Xpos()[1][2]; z != 3 {
		t.Errorf("xpos z after SetQpos+Forward = %g, want 3", z)
	}
	if got := s.Qvel()[2]; got != 1 {
		t.Errorf("qvel z = %g, want 1", got)
	}
	s.Close()
	s.Close() // idempotent
}

func TestMjrefLoadErrors(t *testing.T) {
	if _, err := LoadXML(`<mujoco><worldbody><body><geom type="nosuchtype"/></body></worldbody></mujoco>`, "bad.xml"); err == nil {
		t.Error("no error for a bad geom type")
	} else if !strings.Contains(err.Error(), "bad.xml") {
		t.Errorf("error %q does not name the file", err)
	}
	if _, err := LoadFile("does-not-exist.xml"); err == nil {
		t.Error("no error for a missing file")
	}
	if _, err := LoadXML("", "empty.xml"); err == nil {
		t.Error("no error for empty XML")
	}
}

// The cheetah compiles with the sizes of gym's HalfCheetah and the total mass
// that its settotalmass asks for.
func TestMjrefCheetahFile(t *testing.T) {
	const path = "../../models/half_cheetah.xml"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("reference model missing (it belongs to the repository, see models/README.md): %v", err)
	}
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Nq() != 9 || s.Nv() != 9 || s.Nu() != 6 || s.Nbody() != 8 {
		t.Errorf("sizes nq=%d nv=%d nu=%d nbody=%d, want 9 9 6 8", s.Nq(), s.Nv(), s.Nu(), s.Nbody())
	}
	total := 0.0
	for _, m := range s.BodyMass() {
		total += m
	}
	if math.Abs(total-14) > 1e-9 {
		t.Errorf("total mass %g, want 14 (settotalmass)", total)
	}
	if s.BodyName(1) != "torso" {
		t.Errorf("body 1 is %q, want torso", s.BodyName(1))
	}
	if s.Integrator() != Euler || s.Timestep() != 0.01 {
		t.Errorf("integrator %d timestep %g, want Euler 0.01", s.Integrator(), s.Timestep())
	}
	// The cheetah lands on the floor within 0.5 s, unless collisions are off.
	for _, on := range []bool{true, false} {
		s.Reset()
		s.SetContacts(on)
		for i := 0; i < 50; i++ {
			if err := s.Step(); err != nil {
				t.Fatal(err)
			}
		}
		if on && s.Ncon() == 0 {
			t.Error("no contacts after 0.5 s with collisions on")
		}
		if !on && s.Ncon() != 0 {
			t.Errorf("%d contacts with collisions off", s.Ncon())
		}
	}
	// Joint ranges: the cheetah's root is unlimited, its thighs are limited.
	lim, rng, typ := s.JntLimited(), s.JntRange(), s.JntType()
	if lim[0] || !lim[3] || rng[3] != [2]float64{-.52, 1.05} || typ[0] != 2 || typ[2] != 3 {
		t.Errorf("joint 0 limited=%v type=%d, joint 3 limited=%v range=%v, joint 2 type=%d", lim[0], typ[0], lim[3], rng[3], typ[2])
	}
	t.Logf("MuJoCo %s", Version())
}
