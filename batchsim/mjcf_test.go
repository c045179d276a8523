package batchsim

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// refModelDir is the repository's folder of unmodified reference models
// (models/README.md names their origins and licences).
var refModelDir = filepath.Join("..", "models")

// refModel returns the path of a reference model in models/; the test fails
// when it is missing, since the model is part of the repository.
func refModel(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(refModelDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference model %s missing (it belongs to the repository, see models/README.md): %v", p, err)
	}
	return p
}

func TestLoadReferenceModels(t *testing.T) {
	tests := []struct {
		file       string
		nq, nv, nu int
	}{
		{"half_cheetah.xml", 9, 9, 6},
		{"humanoidstandup.xml", 24, 23, 17},
		{"humanoid_dmc.xml", 28, 27, 21},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, err := LoadFile(refModel(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.Nq != tc.nq || m.Nv != tc.nv || m.Nu != tc.nu {
				t.Errorf("nq, nv, nu = %d, %d, %d; want %d, %d, %d", m.Nq, m.Nv, m.Nu, tc.nq, tc.nv, tc.nu)
			}
		})
	}
}

// Body masses of HalfCheetah after settotalmass 14 (docs/design/TASKS.md).
func TestCheetahMasses(t *testing.T) {
	want := map[string]float64{"torso": 6.2502, "bthigh": 1.5435, "bshin": 1.5875, "bfoot": 1.0954,
		"fthigh": 1.4381, "fshin": 1.2008, "ffoot": 0.8845}
	gym, err := LoadFile(refModel(t, "half_cheetah.xml"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := HalfCheetah()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Model{gym, task.Model} {
		total := 0.0
		for b, name := range m.BodyName {
			total += m.BodyMass[b]
			if w, ok := want[name]; ok && math.Abs(m.BodyMass[b]-w) > 1e-3 {
				t.Errorf("%s: body %s mass %.5f, want %.4f ± 1e-3", m.File, name, m.BodyMass[b], w)
			}
		}
		if math.Abs(total-14) > 1e-9 {
			t.Errorf("%s: total mass %.12f, want 14", m.File, total)
		}
	}
}

// The task's own model file must compile to the same model as gym's.
func TestCheetahTaskModelMatchesGym(t *testing.T) {
	gym, err := LoadFile(refModel(t, "half_cheetah.xml"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := HalfCheetah()
	if err != nil {
		t.Fatal(err)
	}
	m := task.Model
	if m.Nq != gym.Nq || m.Nbody != gym.Nbody || m.Ngeom != gym.Ngeom || m.Npair != gym.Npair {
		t.Fatalf("sizes differ: task nq %d nbody %d ngeom %d npair %d, gym %d %d %d %d",
			m.Nq, m.Nbody, m.Ngeom, m.Npair, gym.Nq, gym.Nbody, gym.Ngeom, gym.Npair)
	}
	for b := range m.Nbody {
		if m.BodyInertia[b] != gym.BodyInertia[b] || m.BodyIpos[b] != gym.BodyIpos[b] {
			t.Errorf("body %s inertia differs", m.BodyName[b])
		}
	}
	for j := range m.Njnt {
		if m.JntStiffness[j] != gym.JntStiffness[j] || m.DofDamping[j] != gym.DofDamping[j] || m.DofArmature[j] != gym.DofArmature[j] || m.JntRange[j] != gym.JntRange[j] {
			t.Errorf("joint %s differs", m.JntName[j])
		}
	}
}

func TestLoaderDetails(t *testing.T) {
	const xml = `<mujoco>
  <compiler angle="degree"/>
  <default>
    <joint damping="2"/>
    <default class="stiff"><joint stiffness="50"/>
      <default class="stiffer"><joint stiffness="70" armature="0.5"/></default>
    </default>
  </default>
  <worldbody>
    <geom type="plane" size="1 1 1"/>
    <body name="a" pos="0 0 1" childclass="stiff">
      <joint name="j1" axis="0 1 0" range="-90 90" limited="true"/>
      <joint name="j2" class="stiffer" type="slide" axis="0 0 2"/>
      <geom type="capsule" fromto="0 0 0 0 0 -1" size="0.1" mass="2"/>
      <site name="tip" pos="0 0 -1"/>
    </body>
  </worldbody>
  <actuator>
    <position joint="j1" kp="30" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
</mujoco>`
	m, err := LoadXML([]byte(xml), "inline.xml")
	if err != nil {
		t.Fatal(err)
	}
	if m.JntStiffness[0] != 50 || m.JntStiffness[1] != 70 || m.DofArmature[1] != 0.5 || m.DofDamping[0] != 2 {
		t.Errorf("default classes: stiffness %v, armature %v, damping %v", m.JntStiffness, m.DofArmature, m.DofDamping)
	}
	if math.Abs(m.JntRange[0][1]-math.Pi/2) > 1e-12 {
		t.Errorf("degree range not converted: %v", m.JntRange[0])
	}
	if m.JntAxis[1] != (Vec3{0, 0, 1}) {
		t.Errorf("axis not normalised: %v", m.JntAxis[1])
	}
	if m.GeomSize[1][1] != 0.5 || m.GeomPos[1] != (Vec3{0, 0, -0.5}) {
		t.Errorf("fromto: size %v pos %v", m.GeomSize[1], m.GeomPos[1])
	}
	if m.BodyMass[1] != 2 || m.BodyIpos[1] != (Vec3{0, 0, -0.5}) {
		t.Errorf("mass %v com %v", m.BodyMass[1], m.BodyIpos[1])
	}
	if m.ActGainPrm[0] != 30 || m.ActBiasPrm[0] != (Vec3{0, -30, 0}) || !m.ActCtrlLimited[0] {
		t.Errorf("position actuator: gain %v bias %v", m.ActGainPrm[0], m.ActBiasPrm[0])
	}
	if m.Npair != 1 || m.Nsite != 1 {
		t.Errorf("npair %d nsite %d", m.Npair, m.Nsite)
	}
	if m.DofParentID[0] != -1 || m.DofParentID[1] != 0 {
		t.Errorf("dof parents %v", m.DofParentID)
	}
}

func TestLoaderErrors(t *testing.T) {
	manyBodies := func() string {
		var b strings.Builder
		b.WriteString("<mujoco><worldbody>\n")
		for i := 0; i < MaxBodies+1; i++ {
			b.WriteString(`<body><joint/><geom size=".1"/>`)
		}
		for i := 0; i < MaxBodies+1; i++ {
			b.WriteString("</body>")
		}
		b.WriteString("\n</worldbody></mujoco>")
		return b.String()
	}()
	tests := []struct {
		name, xml, want string
	}{
		{"truncated", "<mujoco>\n<worldbody>\n<body>", `bad.xml:\d+: malformed XML`},
		{"not mujoco", "<robot/>", `bad.xml:1: root element is <robot>`},
		{"unknown joint type", "<mujoco>\n<worldbody>\n<body>\n<joint type=\"screw\"/>\n<geom size=\".1\"/></body></worldbody></mujoco>",
			`bad.xml:4: <joint>: unsupported joint type "screw"`},
		{"geom without size", "<mujoco>\n<worldbody>\n<body>\n<geom type=\"box\"/></body></worldbody></mujoco>",
			`bad.xml:4: <geom>: geom has no size`},
		{"box with one size", "<mujoco><worldbody><body>\n<geom type=\"box\" size=\".1\"/></body></worldbody></mujoco>",
			`bad.xml:2: <geom>: size\[1\] = 0`},
		{"beyond limits", manyBodies, `above the engine's limit MaxBodies = 32`},
		{"unsupported element", "<mujoco>\n<equality/>\n</mujoco>", `bad.xml:2: <equality>: unsupported element`},
		{"unsupported attribute", "<mujoco><worldbody><body>\n<joint frobnicate=\"1\"/></body></worldbody></mujoco>",
			`bad.xml:2: <joint>: unsupported attribute "frobnicate"`},
		{"NaN", "<mujoco><worldbody><body>\n<geom size=\"NaN\"/></body></worldbody></mujoco>", `bad.xml:2: <geom>: size="NaN": non-finite`},
		{"Inf timestep", "<mujoco>\n<option timestep=\"inf\"/></mujoco>", `bad.xml:2: <option>: timestep="inf": non-finite`},
		{"tendon with stiffness", "<mujoco>\n<tendon>\n<fixed stiffness=\"3\"/></tendon></mujoco>", `bad.xml:3: <fixed>: tendon stiffness changes the dynamics`},
		{"unknown actuator joint", "<mujoco><worldbody><body><joint name=\"a\"/><geom size=\".1\"/></body></worldbody>\n<actuator>\n<motor joint=\"b\"/></actuator></mujoco>",
			`bad.xml:3: <motor>: joint "b" not found`},
		{"frictionloss on a free joint", "<mujoco><worldbody><body>\n<joint type=\"free\" frictionloss=\"1\"/><geom size=\".1\"/></body></worldbody></mujoco>", `bad.xml:2: <joint>: frictionloss 1: want a non-negative value on a hinge or slide joint`},
		{"jointlock on an unlimited joint", "<mujoco><worldbody><body><joint name=\"a\"/><joint name=\"b\"/><geom size=\".1\"/></body></worldbody>\n<custom>\n<text name=\"apex:jointlock\" data=\"a b 1 2 3 4\"/></custom></mujoco>", `bad.xml:3: <text>: apex:jointlock: joint "a" must be a limited hinge or slide`},
		{"massless", "<mujoco><worldbody><body name=\"x\"><joint/><geom size=\".1\" mass=\"0\"/></body></worldbody></mujoco>", `body "x": moving body has no mass`},
		// Issue 12, #12: what MuJoCo rejects, or what cannot be meant.
		{"diaginertia against the triangle inequality", "<mujoco><worldbody><body><joint/>\n<inertial pos=\"0 0 0\" mass=\"1\" diaginertia=\"1 .01 .01\"/></body></worldbody></mujoco>",
			`bad.xml:2: <inertial>: diaginertia: principal moments 1, 0.01, 0.01 violate the triangle inequality \(1 > 0.01 \+ 0.01\)`},
		{"diaginertia barely against it", "<mujoco><worldbody><body><joint/>\n<inertial pos=\"0 0 0\" mass=\"1\" diaginertia=\".01 .0200001 .01\"/></body></worldbody></mujoco>",
			`bad.xml:2: <inertial>: diaginertia: .* violate the triangle inequality`},
		{"fullinertia against the triangle inequality", "<mujoco><worldbody><body><joint/>\n<inertial pos=\"0 0 0\" mass=\"1\" fullinertia=\"1 .01 .01 0 0 0\"/></body></worldbody></mujoco>",
			`bad.xml:2: <inertial>: fullinertia: .* violate the triangle inequality`},
		{"huge timestep", "<mujoco>\n<option timestep=\"1e300\"/></mujoco>", `bad.xml:2: <option>: timestep="1e300": above the limit of 1 s`},
		{"timestep of two seconds", "<mujoco>\n<option timestep=\"2\"/></mujoco>", `bad.xml:2: <option>: timestep="2": above the limit of 1 s`},
		{"zero timestep", "<mujoco>\n<option timestep=\"0\"/></mujoco>", `bad.xml:2: <option>: timestep="0": must be positive`},
		{"NaN timestep", "<mujoco>\n<option timestep=\"nan\"/></mujoco>", `bad.xml:2: <option>: timestep="nan": non-finite`},
		{"second root", "<mujoco/>\n<mujoco><option timestep=\"1\"/></mujoco>", `bad.xml:2: malformed XML: a second root element <mujoco> after </mujoco>`},
		{"second root of another kind", "<mujoco>\n</mujoco>\n\n<robot/>", `bad.xml:4: malformed XML: a second root element <robot> after </mujoco>`},
		{"text after the root", "<mujoco/>\n<!-- a comment is fine -->\ntrailing", `bad.xml:3: malformed XML: text after the root element`},
		{"text before the root", "junk\n<mujoco/>", `bad.xml:1: malformed XML: text before the root element`},
		// Issue 12, #11: repeated names, each kind as MuJoCo checks them.
		{"repeated joint", "<mujoco><worldbody><body>\n<joint name=\"j\"/>\n<joint name=\"j\"/><geom size=\".1\"/></body></worldbody>\n<actuator><motor joint=\"j\"/></actuator></mujoco>",
			`bad.xml:3: <joint>: repeated joint name "j" \(first at bad.xml:2\)`},
		{"repeated joint across bodies and a freejoint", "<mujoco><worldbody>\n<body><joint name=\"j\"/><geom size=\".1\"/></body>\n<body><freejoint name=\"j\"/><geom size=\".1\"/></body></worldbody></mujoco>",
			`bad.xml:3: <freejoint>: repeated joint name "j" \(first at bad.xml:2\)`},
		{"repeated body", "<mujoco><worldbody>\n<body name=\"b\"><joint/><geom size=\".1\"/>\n<body name=\"b\"><joint/><geom size=\".1\"/></body></body></worldbody></mujoco>",
			`bad.xml:3: <body>: repeated body name "b" \(first at bad.xml:2\)`},
		{"body named world", "<mujoco><worldbody>\n<body name=\"world\"><joint/><geom size=\".1\"/></body></worldbody></mujoco>",
			`bad.xml:2: <body>: repeated body name "world": it is the name of the world body`},
		{"repeated geom", "<mujoco><worldbody>\n<geom name=\"g\" type=\"plane\" size=\"1 1 1\"/><body><joint/>\n<geom name=\"g\" size=\".1\"/></body></worldbody></mujoco>",
			`bad.xml:3: <geom>: repeated geom name "g" \(first at bad.xml:2\)`},
		{"repeated site", "<mujoco><worldbody><body><joint/><geom size=\".1\"/>\n<site name=\"s\"/>\n<site name=\"s\"/></body></worldbody></mujoco>",
			`bad.xml:3: <site>: repeated site name "s" \(first at bad.xml:2\)`},
		{"repeated actuator", "<mujoco><worldbody><body><joint name=\"j\"/><geom size=\".1\"/></body></worldbody><actuator>\n<motor name=\"a\" joint=\"j\"/>\n<position name=\"a\" joint=\"j\"/></actuator></mujoco>",
			`bad.xml:3: <position>: repeated actuator name "a" \(first at bad.xml:2\)`},
		{"repeated tendon", "<mujoco><worldbody><body><joint name=\"j\"/><geom size=\".1\"/></body></worldbody><tendon>\n<fixed name=\"t\"><joint joint=\"j\" coef=\"1\"/></fixed>\n<fixed name=\"t\"><joint joint=\"j\" coef=\"2\"/></fixed></tendon></mujoco>",
			`bad.xml:3: <fixed>: repeated tendon name "t" \(first at bad.xml:2\)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadXML([]byte(tc.xml), "bad.xml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, tc.want)
			}
		})
	}
}

// Names are unique per kind, not across kinds, and unnamed elements may be
// many (MuJoCo accepts both); a triangle-equal inertia (a thin rod or plate)
// and a one-second timestep are valid.
func TestLoaderAcceptsNearMisses(t *testing.T) {
	const xml = `<mujoco>
  <option timestep="1"/>
  <worldbody>
    <body name="x"><joint name="x"/><joint/><joint/><geom name="x" size=".1"/><geom size=".1"/><site name="x"/><site/>
      <inertial pos="0 0 0" mass="1" diaginertia=".02 .01 .01"/>
    </body>
  </worldbody>
  <tendon><fixed name="x"><joint joint="x" coef="1"/></fixed></tendon>
  <actuator><motor name="x" joint="x"/><motor joint="x"/><motor joint="x"/></actuator>
</mujoco>
<!-- a comment after the root -->
`
	m, err := LoadXML([]byte(xml), "ok.xml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Njnt != 3 || m.Ngeom != 2 || m.Nsite != 2 || m.Nu != 3 || m.Opt.Timestep != 1 {
		t.Errorf("njnt %d ngeom %d nsite %d nu %d timestep %g, want 3 2 2 3 1", m.Njnt, m.Ngeom, m.Nsite, m.Nu, m.Opt.Timestep)
	}
}

// A model file above MaxModelFileSize is refused before it is read (issue
// 12, #9: apex model /dev/zero grew without limit); the file here is sparse,
// so the test writes nothing.
func TestLoadFileSizeLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.xml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxModelFileSize + 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(p)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 67108864 bytes (64 MiB, MaxModelFileSize)") {
		t.Fatalf("error %v, want the 64 MiB limit", err)
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("error %q does not name the file", err)
	}
}

// A device is read up to the limit and no further: /dev/zero never ends.
func TestLoadFileDeviceLimit(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero on this system: %v", err)
	}
	old := modelFileLimit
	modelFileLimit = 1 << 20
	defer func() { modelFileLimit = old }()
	done := make(chan error, 1)
	go func() {
		_, err := LoadFile("/dev/zero")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes (1 MiB, MaxModelFileSize)") {
			t.Fatalf("error %v, want the limit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("LoadFile(/dev/zero) still reading after 20 s")
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.xml"))
	if err == nil || !strings.Contains(err.Error(), "nope.xml") {
		t.Errorf("error %v does not name the file", err)
	}
}

// FuzzLoadXML checks that no input makes the loader panic or hang; its seed
// corpus (the reference models and the inline tests) runs in make test.
func FuzzLoadXML(f *testing.F) {
	for _, name := range []string{"half_cheetah.xml", "humanoidstandup.xml", "humanoid_dmc.xml"} {
		data, err := os.ReadFile(refModel(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if data, err := modelFiles.ReadFile("models/half_cheetah.xml"); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`<mujoco><worldbody><body><freejoint/><geom type="box" size=".1 .1 .1"/></body></worldbody></mujoco>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too: the fuzzer itself would wait forever.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("LoadXML hangs on %q", data))
			}
		}()
		m, err := LoadXML(data, "fuzz.xml")
		if err != nil {
			return
		}
		if m.Nq != len(m.Qpos0) || m.Nv != len(m.DofParentID) || m.Nbody != len(m.BodyMass) {
			t.Fatalf("inconsistent sizes: nq %d/%d nv %d/%d", m.Nq, len(m.Qpos0), m.Nv, len(m.DofParentID))
		}
	})
}
