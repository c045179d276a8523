package batchsim

import (
	"encoding/binary"
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
		{"unsupported element", "<mujoco>\n<deformable/>\n</mujoco>", `bad.xml:2: <deformable>: unsupported element`},
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

// writeSTL writes a binary STL of the given triangles.
func writeSTL(t *testing.T, path string, tris [][3][3]float32) {
	t.Helper()
	b := make([]byte, 84, 84+50*len(tris))
	binary.LittleEndian.PutUint32(b[80:], uint32(len(tris)))
	for _, tr := range tris {
		rec := make([]byte, 50)
		for k, v := range tr {
			for i, x := range v {
				binary.LittleEndian.PutUint32(rec[12+12*k+4*i:], math.Float32bits(x))
			}
		}
		b = append(b, rec...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tetrahedron is a closed mesh of 4 vertices and 4 triangles, in mm.
var tetrahedron = [][3][3]float32{
	{{0, 0, 0}, {0, 1000, 0}, {1000, 0, 0}},
	{{0, 0, 0}, {1000, 0, 0}, {0, 0, 1000}},
	{{0, 0, 0}, {0, 0, 1000}, {0, 1000, 0}},
	{{1000, 0, 0}, {0, 1000, 0}, {0, 0, 1000}},
}

// writeModelDir writes files (name → content) and a tetrahedron mesh
// meshes/tet.stl into a temporary folder and returns it.
func writeModelDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "meshes"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeSTL(t, filepath.Join(dir, "meshes", "tet.stl"), tetrahedron)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Issue 15: what MuJoCo has and the engine does not is refused at load time,
// naming the element and its line (in the included file when it is there),
// never run with the feature ignored.
func TestLoaderRefusesUnsupportedFeatures(t *testing.T) {
	body := func(inner string) string {
		return "<mujoco><worldbody><body name=\"b\">\n" + inner + "</body></worldbody></mujoco>"
	}
	tests := []struct {
		name  string
		files map[string]string // besides m.xml
		xml   string
		want  string
	}{
		{"equality constraint", nil, "<mujoco><worldbody><body name=\"a\"><joint/><geom size=\".1\"/></body></worldbody>\n<equality>\n<weld body1=\"a\"/></equality></mujoco>",
			`m.xml:2: <equality>: equality constraints are not supported`},
		{"ball joint", nil, body("<joint type=\"ball\"/><geom size=\".1\"/>"),
			`m.xml:2: <joint>: ball joints are not supported`},
		{"ball joint from a default class", nil, "<mujoco><default><default class=\"ball\"><joint type=\"ball\"/></default></default><worldbody><body>\n\n<joint class=\"ball\"/><geom size=\".1\"/></body></worldbody></mujoco>",
			`m.xml:3: <joint>: ball joints are not supported`},
		{"spatial tendon", nil, "<mujoco><worldbody><body><joint/><geom size=\".1\"/><site name=\"s\"/></body></worldbody><tendon>\n<spatial><site site=\"s\"/></spatial></tendon></mujoco>",
			`m.xml:2: <spatial>: spatial tendons are not supported`},
		{"tendon stiffness", nil, "<mujoco><worldbody><body><joint name=\"j\"/><geom size=\".1\"/></body></worldbody><tendon>\n<fixed stiffness=\"2\"><joint joint=\"j\" coef=\"1\"/></fixed></tendon></mujoco>",
			`m.xml:2: <fixed>: tendon stiffness changes the dynamics and is not supported`},
		{"tendon on a free joint", nil, "<mujoco><worldbody><body><freejoint name=\"j\"/><geom size=\".1\"/></body></worldbody><tendon><fixed range=\"0 1\" limited=\"true\">\n<joint joint=\"j\" coef=\"1\"/></fixed></tendon></mujoco>",
			`m.xml:2: <joint>: joint "j": a fixed tendon needs hinge or slide joints`},
		{"tendon range upside down", nil, "<mujoco><worldbody><body><joint name=\"j\"/><geom size=\".1\"/></body></worldbody><tendon>\n<fixed range=\"1 0\" limited=\"true\"><joint joint=\"j\" coef=\"1\"/></fixed></tendon></mujoco>",
			`m.xml:2: <fixed>: range 1 0: lower limit must be below upper`},
		{"collision mesh", nil, "<mujoco><compiler meshdir=\"meshes\"/><asset><mesh file=\"tet.stl\"/></asset><worldbody><geom type=\"plane\" size=\"1 1 1\"/><body><joint/><inertial pos=\"0 0 0\" mass=\"1\" diaginertia=\"1 1 1\"/>\n<geom name=\"hull\" type=\"mesh\" mesh=\"tet\"/></body></worldbody></mujoco>",
			`m.xml:2: <geom>: geom "hull": a mesh geom that can collide \(here with geom 0 \(unnamed\)\) is not supported`},
		{"collision mesh through an explicit pair", nil, "<mujoco><compiler meshdir=\"meshes\"/><asset><mesh file=\"tet.stl\"/></asset><worldbody><body><joint/><inertial pos=\"0 0 0\" mass=\"1\" diaginertia=\"1 1 1\"/>\n<geom name=\"v\" type=\"mesh\" mesh=\"tet\" contype=\"0\" conaffinity=\"0\"/><geom name=\"s\" size=\".1\" pos=\"0 0 1\"/></body><body><joint/><geom name=\"o\" size=\".1\"/></body></worldbody><contact><pair geom1=\"o\" geom2=\"v\"/></contact></mujoco>",
			`m.xml:2: <geom>: geom "v": a mesh geom that can collide \(here with geom "o"\)`},
		{"mesh mass from geoms", nil, "<mujoco><compiler meshdir=\"meshes\"/><asset><mesh file=\"tet.stl\"/></asset><worldbody><body name=\"b\"><joint/>\n<geom name=\"v\" type=\"mesh\" mesh=\"tet\" contype=\"0\" conaffinity=\"0\"/><geom size=\".1\"/></body></worldbody></mujoco>",
			`m.xml:2: <geom>: geom "v": the mass and inertia of a mesh are not computed; give body "b" an <inertial>`},
		{"unknown mesh", nil, body("<joint/><geom size=\".1\"/>\n<geom type=\"mesh\" mesh=\"nope\" contype=\"0\" conaffinity=\"0\"/>"),
			`m.xml:3: <geom>: mesh "nope" not found`},
		{"primitive fitted to a mesh", nil, "<mujoco><compiler meshdir=\"meshes\"/><asset><mesh file=\"tet.stl\"/></asset><worldbody><body><joint/>\n<geom type=\"box\" mesh=\"tet\" size=\"1 1 1\"/></body></worldbody></mujoco>",
			`m.xml:2: <geom>: mesh="tet" on a geom of type box: fitting a primitive to a mesh is not supported`},
		{"ASCII STL", map[string]string{"a.stl": "solid x\nfacet normal 0 0 1\nendsolid x\n"}, "<mujoco><asset>\n<mesh file=\"a.stl\"/></asset></mujoco>",
			`m.xml:2: <mesh>: mesh "a": .*a.stl: ASCII STL is not supported`},
		{"missing mesh file", nil, "<mujoco><asset>\n<mesh name=\"x\" file=\"none.stl\"/></asset></mujoco>",
			`m.xml:2: <mesh>: mesh "x": open .*none.stl`},
		{"mocap body with a joint", nil, "<mujoco><worldbody><body mocap=\"true\">\n<joint/><geom size=\".1\"/></body></worldbody></mujoco>",
			`m.xml:2: <joint>: a mocap body cannot have joints`},
		{"nested mocap body", nil, "<mujoco><worldbody><body><joint/><geom size=\".1\"/>\n<body mocap=\"true\"/></body></worldbody></mujoco>",
			`m.xml:2: <body>: a mocap body must be a child of the world body`},
		{"pair with an unknown geom", nil, "<mujoco><worldbody><body><joint/><geom name=\"a\" size=\".1\"/></body></worldbody><contact>\n<pair geom1=\"a\" geom2=\"b\"/></contact></mujoco>",
			`m.xml:2: <pair>: geom2="b": geom not found`},
		{"anisotropic pair friction", nil, "<mujoco><worldbody><body><joint/><geom name=\"a\" size=\".1\"/></body><body><joint/><geom name=\"b\" size=\".1\"/></body></worldbody><contact>\n<pair geom1=\"a\" geom2=\"b\" friction=\"1 2\"/></contact></mujoco>",
			`m.xml:2: <pair>: friction="1 2": anisotropic friction`},
		{"exclude with an unknown body", nil, "<mujoco><worldbody><body name=\"a\"><joint/><geom size=\".1\"/></body></worldbody><contact>\n<exclude body1=\"a\" body2=\"c\"/></contact></mujoco>",
			`m.xml:2: <exclude>: body2="c": body not found`},
		{"bad condim", nil, body("<joint/>\n<geom size=\".1\" condim=\"2\"/>"), `m.xml:3: <geom>: condim="2": want 1, 3, 4 or 6`},
		{"solimp of six numbers", nil, body("<joint/>\n<geom size=\".1\" solimp=\"1 2 3 4 5 6\"/>"), `m.xml:3: <geom>: solimp="1 2 3 4 5 6": want 1 to 5 numbers`},
		{"error inside an included file", map[string]string{"inc.xml": "<mujocoinclude>\n<body>\n<joint type=\"ball\"/><geom size=\".1\"/></body></mujocoinclude>"},
			"<mujoco><worldbody>\n<include file=\"inc.xml\"/></worldbody></mujoco>", `inc.xml:3: <joint>: ball joints are not supported`},
		{"included file with the wrong root", map[string]string{"inc.xml": "<mujoco/>"},
			"<mujoco>\n<include file=\"inc.xml\"/></mujoco>", `inc.xml:1: root element is <mujoco>, want <mujocoinclude>`},
		{"missing included file", nil, "<mujoco>\n<include file=\"gone.xml\"/></mujoco>", `m.xml:2: <include>: include: open .*gone.xml`},
		{"file that includes itself", map[string]string{"inc.xml": "<mujocoinclude>\n<include file=\"inc.xml\"/></mujocoinclude>"},
			"<mujoco>\n<include file=\"inc.xml\"/></mujoco>", `inc.xml:2: <include>: file "inc.xml" includes itself`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeModelDir(t, tc.files)
			path := filepath.Join(dir, "m.xml")
			if err := os.WriteFile(path, []byte(tc.xml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFile(path)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, tc.want)
			}
		})
	}
}

// The soft-constraint parameters the solver reads (issue 15): solimp with
// MuJoCo's defaults and default classes, margins, condim, torsional
// friction, dry friction's softness, tendon limits, explicit pairs and
// excludes, and MuJoCo's mixing of two geoms' parameters.
func TestLoaderSoftConstraintFields(t *testing.T) {
	const xml = `<mujoco>
  <compiler angle="radian"/>
  <default>
    <joint limited="true" margin="0.01" frictionloss="0.5" solimplimit="0 .8 .03"/>
    <geom friction="1 0.5 0.01" margin="0.0005"/>
    <tendon limited="true" solreflimit="0.01 2"/>
    <pair condim="4"/>
    <default class="soft"><geom solimp="0.5 0.6 0.01 0.4 3" solref="0.04 2" condim="1"/></default>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="1 1 1" condim="6" friction="0.8 0.02 0.001"/>
    <body name="a">
      <joint name="ja" range="-1 1" solreffriction="0.05 0.5" solimpfriction="0.8 0.9 0.002"/>
      <geom name="ga" class="soft" size=".1"/>
      <body name="b" pos="0 0 1">
        <joint name="jb" range="0 1" limited="false"/>
        <geom name="gb" size=".1" priority="1" friction="0.3 0.1 0.001" condim="3"/>
      </body>
    </body>
    <body name="c" pos="1 0 0">
      <joint name="jc" range="0 1"/>
      <geom name="gc" type="cylinder" size=".1 .2" solmix="3"/>
    </body>
  </worldbody>
  <contact>
    <pair geom1="gc" geom2="gb" friction="0.7 0.7 0.03 0 0" solimp="0.7 0.8 0.003"/>
    <exclude body1="a" body2="c"/>
  </contact>
  <tendon>
    <fixed name="t" range="-0.5 0.5" margin="0.002"><joint joint="ja" coef="1"/><joint joint="jb" coef="-2"/></fixed>
    <fixed name="free" limited="false"><joint joint="jc" coef="1"/></fixed>
  </tendon>
</mujoco>`
	m, err := LoadXML([]byte(xml), "inline.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Joints.
	if m.JntSolimp[0] != [5]float64{0, .8, .03, .5, 2} || m.JntMargin[0] != 0.01 || !m.JntLimited[0] || m.JntLimited[1] {
		t.Errorf("joint limits: solimp %v margin %v limited %v", m.JntSolimp, m.JntMargin, m.JntLimited)
	}
	if m.DofFrictionloss[0] != 0.5 || m.DofSolrefFriction[0] != [2]float64{0.05, 0.5} ||
		m.DofSolimpFriction[0] != [5]float64{0.8, 0.9, 0.002, 0.5, 2} ||
		m.DofSolrefFriction[1] != [2]float64{0.02, 1} || m.DofSolimpFriction[1] != [5]float64{0.9, 0.95, 0.001, 0.5, 2} {
		t.Errorf("dry friction: %v %v %v", m.DofFrictionloss, m.DofSolrefFriction, m.DofSolimpFriction)
	}
	// Geoms.
	g := func(name string) int { return slicesIndex(m.GeomName, name) }
	if m.GeomCondim[g("floor")] != 6 || m.GeomCondim[g("ga")] != 1 || m.GeomCondim[g("gc")] != 3 {
		t.Errorf("geom condim %v", m.GeomCondim)
	}
	if m.GeomSolimp[g("ga")] != [5]float64{0.5, 0.6, 0.01, 0.4, 3} || m.GeomSolimp[g("gb")] != [5]float64{0.9, 0.95, 0.001, 0.5, 2} {
		t.Errorf("geom solimp %v", m.GeomSolimp)
	}
	if m.GeomMargin[g("gb")] != 0.0005 || m.GeomFriction[g("gb")] != 0.3 {
		t.Errorf("geom margin %v friction %v", m.GeomMargin, m.GeomFriction)
	}
	// Pairs: the explicit one first with its own parameters and the pair
	// default class, then the dynamic ones; a–c is excluded, a–b is a
	// parent–child pair, and gb–gc is not listed twice.
	type want struct {
		g1, g2    string
		friction  float64
		torsion   float64
		condim    int
		solref    [2]float64
		solimp    [5]float64
		margin    float64
		explicitP bool
	}
	wants := []want{
		{"gb", "gc", 0.7, 0.03, 4, [2]float64{0.02, 1}, [5]float64{0.7, 0.8, 0.003, 0.5, 2}, 0, true},
		// floor–ga: equal priority: condim and friction the larger, solref
		// and solimp the mean.
		{"floor", "ga", 1, 0.5, 6, [2]float64{0.03, 1.5}, [5]float64{0.7, 0.775, 0.0055, 0.45, 2.5}, 0.0005, false},
		// floor–gb: gb's priority 1 gives its own parameters.
		{"floor", "gb", 0.3, 0.1, 3, [2]float64{0.02, 1}, [5]float64{0.9, 0.95, 0.001, 0.5, 2}, 0.0005, false},
		// floor–gc: gc's solmix 3 weighs its solref 3:1 (both default here),
		// torsion the larger.
		{"floor", "gc", 1, 0.5, 6, [2]float64{0.02, 1}, [5]float64{0.9, 0.95, 0.001, 0.5, 2}, 0.0005, false},
	}
	if m.Npair != len(wants) {
		for p := range m.Npair {
			t.Logf("pair %d: %s %s", p, m.GeomName[m.PairGeom1[p]], m.GeomName[m.PairGeom2[p]])
		}
		t.Fatalf("npair %d, want %d", m.Npair, len(wants))
	}
	near5 := func(a, b [5]float64) bool {
		for k := range a {
			if math.Abs(a[k]-b[k]) > 1e-12 {
				return false
			}
		}
		return true
	}
	for p, w := range wants {
		n1, n2 := m.GeomName[m.PairGeom1[p]], m.GeomName[m.PairGeom2[p]]
		if !(n1 == w.g1 && n2 == w.g2 || n1 == w.g2 && n2 == w.g1) {
			t.Errorf("pair %d is %s–%s, want %s–%s", p, n1, n2, w.g1, w.g2)
			continue
		}
		if m.PairFriction[p] != w.friction || m.PairTorsion[p] != w.torsion || m.PairCondim[p] != w.condim ||
			math.Abs(m.PairSolref[p][0]-w.solref[0]) > 1e-12 || math.Abs(m.PairSolref[p][1]-w.solref[1]) > 1e-12 ||
			!near5(m.PairSolimp[p], w.solimp) || m.PairMargin[p] != w.margin {
			t.Errorf("pair %d %s–%s: friction %g torsion %g condim %d solref %v solimp %v margin %g; want %+v", p, n1, n2,
				m.PairFriction[p], m.PairTorsion[p], m.PairCondim[p], m.PairSolref[p], m.PairSolimp[p], m.PairMargin[p], w)
		}
	}
	// Tendons: the limited one is kept with the class's softness, the one
	// that neither has limits nor an actuator is not, with a warning.
	if m.Ntendon != 1 || m.TendonName[0] != "t" || !m.TendonLimited[0] || m.TendonRange[0] != [2]float64{-0.5, 0.5} ||
		m.TendonSolrefLim[0] != [2]float64{0.01, 2} || m.TendonSolimpLim[0] != [5]float64{0.9, 0.95, 0.001, 0.5, 2} ||
		m.TendonMargin[0] != 0.002 || m.TendonNum[0] != 2 || m.WrapCoef[1] != -2 || m.WrapJntID[1] != 1 {
		t.Errorf("tendons: %d %v limited %v range %v solref %v solimp %v margin %v wraps %v %v", m.Ntendon, m.TendonName,
			m.TendonLimited, m.TendonRange, m.TendonSolrefLim, m.TendonSolimpLim, m.TendonMargin, m.WrapJntID, m.WrapCoef)
	}
	warned := map[string]bool{}
	for _, w := range m.Warnings {
		switch {
		case strings.Contains(w, `fixed tendon "free"`) && strings.Contains(w, "not kept"):
			warned["tendon"] = true
		case strings.Contains(w, `geom "gc": a cylinder collides as a capsule`):
			warned["cylinder"] = true
		}
	}
	if !warned["tendon"] || !warned["cylinder"] {
		t.Errorf("warnings %q: want the unused tendon and the cylinder", m.Warnings)
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Meshes are read for drawing from binary STL through an included file's
// compiler/@meshdir and a default class's scale; equal points share a
// vertex; a mesh geom's size is the half-extent of its mesh.
func TestLoaderMeshes(t *testing.T) {
	dir := writeModelDir(t, map[string]string{
		"assets.xml": `<mujocoinclude>
  <compiler meshdir="meshes"/>
  <default><mesh scale="0.001 0.001 0.002"/>
    <default class="viz"><geom type="mesh" contype="0" conaffinity="0" group="1"/></default>
  </default>
  <asset><mesh file="tet.stl"/><mesh name="big" file="tet.stl" scale="1 1 1"/><texture name="t" builtin="flat" width="1" height="1"/></asset>
</mujocoinclude>`,
		"m.xml": `<mujoco>
  <worldbody>
    <body name="b">
      <joint/>
      <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>
      <geom name="v" class="viz" mesh="tet" pos="0 0 1"/>
      <geom name="s" size=".1"/>
    </body>
  </worldbody>
  <include file="assets.xml"/>
</mujoco>`,
	})
	m, err := LoadFile(filepath.Join(dir, "m.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Nmesh != 2 || m.MeshName[0] != "tet" || m.MeshName[1] != "big" {
		t.Fatalf("meshes %d %v", m.Nmesh, m.MeshName)
	}
	if m.MeshVertNum[0] != 4 || m.MeshFaceNum[0] != 4 || len(m.MeshVert) != 8 || len(m.MeshFace) != 8 || m.MeshVertAdr[1] != 4 || m.MeshFaceAdr[1] != 4 {
		t.Errorf("mesh sizes: verts %v faces %v", m.MeshVertNum, m.MeshFaceNum)
	}
	if m.MeshVert[2] != [3]float32{1, 0, 0} || m.MeshVert[3] != [3]float32{0, 0, 2} || m.MeshVert[4+3] != [3]float32{0, 0, 1000} {
		t.Errorf("scaled vertices %v", m.MeshVert)
	}
	if m.MeshFace[3] != [3]int32{2, 1, 3} {
		t.Errorf("faces %v", m.MeshFace[:4])
	}
	v := slicesIndex(m.GeomName, "v")
	if m.GeomType[v] != GeomMesh || m.GeomMeshID[v] != 0 || m.GeomMeshID[slicesIndex(m.GeomName, "s")] != -1 || m.GeomSize[v] != (Vec3{1, 1, 2}) {
		t.Errorf("mesh geom: type %v mesh %v size %v", m.GeomType[v], m.GeomMeshID, m.GeomSize[v])
	}
	if m.Npair != 0 || m.BodyMass[1] != 1 {
		t.Errorf("npair %d mass %g", m.Npair, m.BodyMass[1])
	}
}
