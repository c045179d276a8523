//go:build mujoco

package batchsim_test

// Issue 15, item 3 (the loader's part): the Adroit door model compiled by
// batchsim's loader against MuJoCo 2.2.2's compiler, field by field. Run
// with
//
//	go test -tags mujoco -v -run MuJoCoAdroit ./batchsim
//
// The dynamics comparisons belong with the constraint solver and are not
// here.

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/mjref"
)

// TestMuJoCoAdroitCompiled: sizes, bodies (pose, mass, inertia), joints
// (range, axis, softness), dofs (damping, armature, dry friction), geoms
// (shape, contact parameters), the 44 fixed tendons' limits and paths, the
// explicit pairs, actuators and mesh sizes agree with MuJoCo's compiled
// model. Mesh geoms' frames are not compared: MuJoCo moves them to the
// mesh's centre of mass and the loader keeps the file's frame (mesh.go).
func TestMuJoCoAdroitCompiled(t *testing.T) {
	const tol = 1e-9 // the same numbers read, converted and multiplied in the same order
	path := mjcfPath(t, filepath.Join("adroit", "adroit_door.xml"))
	mj, err := mjref.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer mj.Close()
	m, err := batchsim.LoadFile(path)
	if err != nil {
		t.Fatalf("batchsim.LoadFile: %v", err)
	}
	sizes := [][3]any{
		{"nq", m.Nq, mj.Nq()}, {"nv", m.Nv, mj.Nv()}, {"nu", m.Nu, mj.Nu()}, {"nbody", m.Nbody, mj.Nbody()},
		{"njnt", m.Njnt, mj.Njnt()}, {"ngeom", m.Ngeom, mj.Ngeom()}, {"ntendon", m.Ntendon, mj.Ntendon()},
		{"nwrap", len(m.WrapJntID), mj.Nwrap()}, {"nmesh", m.Nmesh, mj.Nmesh()},
		{"nmeshvert", len(m.MeshVert), mj.Nmeshvert()}, {"nmeshface", len(m.MeshFace), mj.Nmeshface()},
	}
	for _, s := range sizes {
		if s[1] != s[2] {
			t.Errorf("%s: batchsim %v, MuJoCo %v", s[0], s[1], s[2])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("sizes: nq %d nv %d nu %d nbody %d njnt %d ngeom %d ntendon %d nwrap %d, explicit pairs %d, meshes %d (%d vertices, %d triangles)",
		m.Nq, m.Nv, m.Nu, m.Nbody, m.Njnt, m.Ngeom, m.Ntendon, len(m.WrapJntID), mj.Npair(), m.Nmesh, len(m.MeshVert), len(m.MeshFace))
	worst := map[string]float64{}
	check := func(what string, i int, name string, got, want []float64) {
		t.Helper()
		d, k := maxAbsDiff(got, want)
		scale := 1.0
		for _, w := range want {
			scale = math.Max(scale, math.Abs(w))
		}
		d /= scale
		worst[what] = math.Max(worst[what], d)
		if d > tol {
			t.Errorf("%s %d (%s): batchsim %v, MuJoCo %v (component %d)", what, i, name, got, want, k)
		}
	}
	same := func(what string, i int, name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s %d (%s): batchsim %v, MuJoCo %v", what, i, name, got, want)
		}
	}

	// Bodies.
	bpos, bquat, mass, inertia, ipos, iquat := mj.BodyPos(), mj.BodyQuat(), mj.BodyMass(), mj.BodyInertia(), mj.BodyIpos(), mj.BodyIquat()
	for b := 0; b < m.Nbody; b++ {
		name := mj.BodyName(b)
		same("body name", b, name, m.BodyName[b], name)
		check("body pos", b, name, m.BodyPos[b][:], bpos[b][:])
		rb, rm := quatMat(m.BodyQuat[b]), quatMat(bquat[b])
		check("body orientation", b, name, rb[:], rm[:])
		check("body mass", b, name, []float64{m.BodyMass[b]}, []float64{mass[b]})
		check("body ipos", b, name, m.BodyIpos[b][:], ipos[b][:])
		tb, tm := tensor(m.BodyIquat[b], m.BodyInertia[b]), tensor(iquat[b], inertia[b])
		check("body inertia tensor", b, name, tb[:], tm[:])
		sb, sm := sorted3(m.BodyInertia[b]), sorted3(inertia[b])
		check("body principal moments", b, name, sb[:], sm[:])
	}

	// Joints and dofs.
	jtype, jlim, jrange, jaxis, jpos := mj.JntType(), mj.JntLimited(), mj.JntRange(), mj.JntAxis(), mj.JntPos()
	jsolref, jsolimp, jmargin := mj.JntSolref(), mj.JntSolimp(), mj.JntMargin()
	for j := 0; j < m.Njnt; j++ {
		name := mj.Name(mjref.ObjJoint, j)
		same("joint name", j, name, m.JntName[j], name)
		same("joint type", j, name, int(m.JntType[j]), jtype[j])
		same("joint limited", j, name, m.JntLimited[j], jlim[j])
		check("joint range", j, name, m.JntRange[j][:], jrange[j][:])
		check("joint axis", j, name, m.JntAxis[j][:], jaxis[j][:])
		check("joint pos", j, name, m.JntPos[j][:], jpos[j][:])
		check("joint solreflimit", j, name, m.JntSolref[j][:], jsolref[j][:])
		check("joint solimplimit", j, name, m.JntSolimp[j][:], jsolimp[j][:])
		check("joint margin", j, name, []float64{m.JntMargin[j]}, []float64{jmargin[j]})
	}
	fl, damp, arm, dsolref, dsolimp := mj.DofFrictionloss(), mj.DofDamping(), mj.DofArmature(), mj.DofSolref(), mj.DofSolimp()
	for v := 0; v < m.Nv; v++ {
		name := m.JntName[m.DofJntID[v]]
		check("dof frictionloss", v, name, []float64{m.DofFrictionloss[v]}, []float64{fl[v]})
		check("dof damping", v, name, []float64{m.DofDamping[v]}, []float64{damp[v]})
		check("dof armature", v, name, []float64{m.DofArmature[v]}, []float64{arm[v]})
		check("dof solreffriction", v, name, m.DofSolrefFriction[v][:], dsolref[v][:])
		check("dof solimpfriction", v, name, m.DofSolimpFriction[v][:], dsolimp[v][:])
	}

	// Geoms: shape for primitives, contact parameters for all.
	gtype, gsize, gpos, gquat := mj.GeomType(), mj.GeomSize(), mj.GeomPos(), mj.GeomQuat()
	gbody, gcondim, gct, gca, gfr := mj.GeomBodyID(), mj.GeomCondim(), mj.GeomContype(), mj.GeomConaffinity(), mj.GeomFriction()
	gsolref, gsolimp, gmargin, gdata := mj.GeomSolref(), mj.GeomSolimp(), mj.GeomMargin(), mj.GeomDataID()
	for g := 0; g < m.Ngeom; g++ {
		name := mj.Name(mjref.ObjGeom, g)
		same("geom name", g, name, m.GeomName[g], name)
		same("geom body", g, name, m.GeomBodyID[g], gbody[g])
		same("geom condim", g, name, m.GeomCondim[g], gcondim[g])
		same("geom contype", g, name, int(m.GeomContype[g]), gct[g])
		same("geom conaffinity", g, name, int(m.GeomConaffinity[g]), gca[g])
		check("geom sliding friction", g, name, []float64{m.GeomFriction[g]}, []float64{gfr[g][0]})
		check("geom solref", g, name, m.GeomSolref[g][:], gsolref[g][:])
		check("geom solimp", g, name, m.GeomSolimp[g][:], gsolimp[g][:])
		check("geom margin", g, name, []float64{m.GeomMargin[g]}, []float64{gmargin[g]})
		if gtype[g] == 7 { // mjGEOM_MESH
			same("geom type", g, name, m.GeomType[g], batchsim.GeomMesh)
			same("geom mesh", g, name, m.GeomMeshID[g], gdata[g])
			continue
		}
		want, ok := mjGeomType[gtype[g]]
		if !ok || m.GeomType[g] != want {
			t.Errorf("geom %d (%s): type batchsim %v, MuJoCo mjtGeom %d", g, name, m.GeomType[g], gtype[g])
			continue
		}
		n := map[batchsim.GeomType]int{batchsim.GeomPlane: 0, batchsim.GeomSphere: 1,
			batchsim.GeomCapsule: 2, batchsim.GeomCylinder: 2, batchsim.GeomBox: 3}[want]
		check("geom size", g, name, m.GeomSize[g][:n], gsize[g][:n])
		check("geom pos", g, name, m.GeomPos[g][:], gpos[g][:])
		check("geom orientation", g, name, []float64{geomOrientDiff(want, m.GeomQuat[g], gquat[g])}, []float64{0})
	}

	// Tendons: limits and paths.
	tlim, trange, tsolref, tsolimp, tmargin := mj.TendonLimited(), mj.TendonRange(), mj.TendonSolrefLim(), mj.TendonSolimpLim(), mj.TendonMargin()
	tadr, tnum, wtype, wobj, wprm := mj.TendonAdr(), mj.TendonNum(), mj.WrapType(), mj.WrapObjID(), mj.WrapPrm()
	nlimited := 0
	for i := 0; i < m.Ntendon; i++ {
		name := mj.Name(mjref.ObjTendon, i)
		same("tendon name", i, name, m.TendonName[i], name)
		same("tendon limited", i, name, m.TendonLimited[i], tlim[i])
		if tlim[i] {
			nlimited++
		}
		check("tendon range", i, name, m.TendonRange[i][:], trange[i][:])
		check("tendon solreflimit", i, name, m.TendonSolrefLim[i][:], tsolref[i][:])
		check("tendon solimplimit", i, name, m.TendonSolimpLim[i][:], tsolimp[i][:])
		check("tendon margin", i, name, []float64{m.TendonMargin[i]}, []float64{tmargin[i]})
		same("tendon wraps", i, name, m.TendonNum[i], tnum[i])
		same("tendon first wrap", i, name, m.TendonAdr[i], tadr[i])
		for w := tadr[i]; w < tadr[i]+tnum[i]; w++ {
			same("wrap type (1: joint)", w, name, 1, wtype[w])
			same("wrap joint", w, name, m.WrapJntID[w], wobj[w])
			check("wrap coefficient", w, name, []float64{m.WrapCoef[w]}, []float64{wprm[w]})
		}
	}
	if nlimited != 44 {
		t.Errorf("%d limited tendons in MuJoCo's model, want 44", nlimited)
	}

	// Explicit pairs: MuJoCo lists only those; batchsim lists them first.
	np := mj.Npair()
	pdim, pg1, pg2, psolref, psolimp, pmargin, pfr := mj.PairDim(), mj.PairGeom1(), mj.PairGeom2(), mj.PairSolref(), mj.PairSolimp(), mj.PairMargin(), mj.PairFriction()
	if np != 19 || m.Npair < np {
		t.Fatalf("explicit pairs: MuJoCo %d (want 19), batchsim lists %d pairs in all", np, m.Npair)
	}
	for p := 0; p < np; p++ {
		name := mj.Name(mjref.ObjGeom, pg1[p]) + "–" + mj.Name(mjref.ObjGeom, pg2[p])
		a, b := m.PairGeom1[p], m.PairGeom2[p]
		if !(a == pg1[p] && b == pg2[p] || a == pg2[p] && b == pg1[p]) {
			t.Errorf("pair %d: batchsim %s–%s, MuJoCo %s", p, m.GeomName[a], m.GeomName[b], name)
		}
		same("pair condim", p, name, m.PairCondim[p], pdim[p])
		check("pair friction (sliding, torsional)", p, name, []float64{m.PairFriction[p], m.PairTorsion[p]}, []float64{pfr[p][0], pfr[p][2]})
		check("pair solref", p, name, m.PairSolref[p][:], psolref[p][:])
		check("pair solimp", p, name, m.PairSolimp[p][:], psolimp[p][:])
		check("pair margin", p, name, []float64{m.PairMargin[p]}, []float64{pmargin[p]})
	}

	// Actuators.
	trn, crange, gain, bias := mj.ActuatorTrnID(), mj.ActuatorCtrlRange(), mj.ActuatorGainPrm(), mj.ActuatorBiasPrm()
	for u := 0; u < m.Nu; u++ {
		name := m.ActName[u]
		same("actuator joint", u, name, m.ActTrnID[u], trn[2*u])
		check("actuator ctrlrange", u, name, m.ActCtrlRange[u][:], crange[u][:])
		check("actuator gain", u, name, []float64{m.ActGainPrm[u]}, []float64{gain[u]})
		check("actuator bias", u, name, m.ActBiasPrm[u][:], bias[u][:])
	}
	for _, what := range []string{"body pos", "body orientation", "body mass", "body inertia tensor", "body principal moments",
		"joint range", "joint solimplimit", "dof frictionloss", "geom size", "geom pos", "geom solimp",
		"tendon range", "wrap coefficient", "pair solimp", "actuator bias"} {
		t.Logf("max relative |Δ| %-24s %.3g", what, worst[what])
	}
}
