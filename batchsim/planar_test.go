package batchsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// planarVariantXML is planar in every way planarModel allows that the
// cheetah does not use: a body frame turned about y, a hinge anchored off
// the body origin, a hinge about −y, a slide along a diagonal of the plane,
// a body without joints welded to its parent, a site, off-plane offsets
// (y) of bodies, geoms and centres of mass, gravity with an x component,
// joint limits and armature, and a box and spheres touching the floor.
const planarVariantXML = `<mujoco>
  <option timestep="0.005" gravity="1.5 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 .1"/>
    <body name="base" pos="0 .2 .6">
      <joint name="slx" type="slide" axis="1 0 0"/>
      <joint name="sld" type="slide" axis="1 0 1"/>
      <joint name="rot" type="hinge" axis="0 1 0"/>
      <geom type="box" size=".2 .1 .05" mass="3"/>
      <body name="arm" pos=".2 .05 0" axisangle="0 1 0 .7">
        <joint name="elbow" type="hinge" axis="0 -1 0" pos=".05 0 .02" range="-1 1" armature=".02" damping=".3"/>
        <geom type="capsule" fromto="0 .03 0 .3 .03 -.2" size=".04" mass="1"/>
        <site name="tip" pos=".3 0 -.2"/>
        <body name="hand" pos=".3 -.02 -.2" axisangle="0 1 0 -1.1">
          <geom type="sphere" size=".06" pos=".02 .01 0" mass=".5"/>
        </body>
      </body>
      <body name="leg" pos="-.2 0 -.05">
        <joint name="hip" type="hinge" axis="0 1 0" stiffness="5" range="-.8 .8"/>
        <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".04" mass="1"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="elbow" gear="5" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="hip" gear="5" ctrlrange="-1 1" ctrllimited="true"/>
    <motor joint="rot" gear="2" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>`

func TestPlanarModels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      *Model
		planar bool
	}{
		{"half_cheetah", loadCheetah(t), true},
		{"planar variant", mustXML(t, planarVariantXML), true},
		{"humanoidstandup", mustLoad(t, "humanoidstandup.xml"), false},
		{"hinge about x", mustXML(t, strings.Replace(planarVariantXML, `name="hip" type="hinge" axis="0 1 0"`, `name="hip" type="hinge" axis="1 0 0"`, 1)), false},
		{"slide along y", mustXML(t, strings.Replace(planarVariantXML, `axis="1 0 1"`, `axis="1 1 1"`, 1)), false},
		{"body turned about z", mustXML(t, strings.Replace(planarVariantXML, `axisangle="0 1 0 .7"`, `axisangle="0 0 1 .7"`, 1)), false},
		{"gravity along y", mustXML(t, strings.Replace(planarVariantXML, `gravity="1.5 0 -9.81"`, `gravity="0 1 -9.81"`, 1)), false},
	} {
		if got := planarModel(tc.m); got != tc.planar {
			t.Errorf("%s: planarModel = %v, want %v", tc.name, got, tc.planar)
		}
		if got := NewData(tc.m).scratch.planar; got != tc.planar {
			t.Errorf("%s: NewData's scratch.planar = %v, want %v", tc.name, got, tc.planar)
		}
	}
}

// TestPlanarPathMatchesGeneral: the planar path sums the same nonzero terms
// in the same order as the general one, so both give the same numbers, bit
// for bit, over steps with and without contacts and limits.
func TestPlanarPathMatchesGeneral(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *Model
	}{
		{"half_cheetah", loadCheetah(t)},
		{"planar variant", mustXML(t, planarVariantXML)},
	} {
		m := tc.m
		rng := rand.New(rand.NewPCG(7, 8))
		constrained, free := 0, 0
		for trial := 0; trial < 6; trial++ {
			fast, general := NewData(m), NewData(m)
			general.scratch.planar = false
			for i := range fast.Qpos {
				fast.Qpos[i] += 0.3 * (rng.Float64()*2 - 1)
			}
			fast.Qpos[1] += 0.3 // some trials start in the air
			for i := range fast.Qvel {
				fast.Qvel[i] = 2 * (rng.Float64()*2 - 1)
			}
			copy(general.Qpos, fast.Qpos)
			copy(general.Qvel, fast.Qvel)
			for s := 0; s < 400; s++ {
				if s%10 == 0 {
					for i := range fast.Ctrl {
						fast.Ctrl[i] = rng.Float64()*2 - 1
					}
					copy(general.Ctrl, fast.Ctrl)
				}
				if err := Step(m, fast); err != nil {
					t.Fatalf("%s: planar step %d: %v", tc.name, s, err)
				}
				if err := Step(m, general); err != nil {
					t.Fatalf("%s: general step %d: %v", tc.name, s, err)
				}
				if rows, _ := fast.ConstraintStats(); rows > 0 {
					constrained++
				} else {
					free++
				}
				if diff := firstDifference(fast, general); diff != "" {
					t.Fatalf("%s, trial %d, step %d: planar and general paths differ: %s", tc.name, trial, s, diff)
				}
			}
		}
		t.Logf("%s: %d steps with constraint rows, %d without, all equal", tc.name, constrained, free)
		if constrained < 100 || free < 100 {
			t.Errorf("%s: %d constrained and %d free steps; the trials should exercise both paths", tc.name, constrained, free)
		}
	}
}

// firstDifference names the first state or pose entry where a and b differ.
func firstDifference(a, b *Data) string {
	for _, f := range []struct {
		name string
		x, y []float64
	}{
		{"qpos", a.Qpos, b.Qpos}, {"qvel", a.Qvel, b.Qvel}, {"qacc", a.Qacc, b.Qacc},
		{"xpos", flat3(a.Xpos), flat3(b.Xpos)}, {"xipos", flat3(a.Xipos), flat3(b.Xipos)},
		{"xquat", flat4(a.Xquat), flat4(b.Xquat)},
		{"geom_xpos", flat3(a.GeomXpos), flat3(b.GeomXpos)}, {"geom_xmat", flat9(a.GeomXmat), flat9(b.GeomXmat)},
		{"site_xpos", flat3(a.SiteXpos), flat3(b.SiteXpos)}, {"cfrc_ext", flat6(a.CfrcExt), flat6(b.CfrcExt)},
	} {
		for i := range f.x {
			if f.x[i] != f.y[i] {
				return fmt.Sprintf("%s[%d]: %.17g against %.17g", f.name, i, f.x[i], f.y[i])
			}
		}
	}
	return ""
}

func flat3(v []Vec3) (out []float64) {
	for i := range v {
		out = append(out, v[i][:]...)
	}
	return out
}

func flat4(v []Quat) (out []float64) {
	for i := range v {
		out = append(out, v[i][:]...)
	}
	return out
}

func flat6(v [][6]float64) (out []float64) {
	for i := range v {
		out = append(out, v[i][:]...)
	}
	return out
}

func flat9(v [][9]float64) (out []float64) {
	for i := range v {
		out = append(out, v[i][:]...)
	}
	return out
}

func mustXML(t *testing.T, xml string) *Model {
	t.Helper()
	m, _ := loadXML(t, xml)
	return m
}

func mustLoad(t *testing.T, name string) *Model {
	t.Helper()
	m, err := LoadFile(refModel(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
