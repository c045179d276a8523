package batchsim

import (
	"path/filepath"
	"strings"
	"testing"
)

// adroitDoor is Gymnasium-Robotics' Adroit door model as the repository
// keeps it (models/README.md).
var adroitDoor = filepath.Join("..", "models", "adroit", "adroit_door.xml")

// loadAdroitDoor loads the door model from the repository's file.
func loadAdroitDoor(t testing.TB) *Model {
	t.Helper()
	refModel(t, filepath.Join("adroit", "adroit_door.xml"))
	m, err := LoadFile(adroitDoor)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Issue 15, item 1: the loader takes the Adroit door model as it is.
func TestAdroitDoorLoads(t *testing.T) {
	m := loadAdroitDoor(t)
	if m.Nq != 30 || m.Nv != 30 || m.Nu != 28 || m.Nbody != 31 || m.Ngeom != 60 || m.Opt.Timestep != 0.002 {
		t.Fatalf("nq %d nv %d nu %d nbody %d ngeom %d timestep %g; MuJoCo 2.2.2 has 30 30 28 31 60 0.002",
			m.Nq, m.Nv, m.Nu, m.Nbody, m.Ngeom, m.Opt.Timestep)
	}
	// 44 fixed tendons, all limited; the coupled distal joints' T_FFJ1c.
	if m.Ntendon != 44 {
		t.Fatalf("ntendon %d, want 44", m.Ntendon)
	}
	for i, lim := range m.TendonLimited {
		if !lim {
			t.Errorf("tendon %s not limited", m.TendonName[i])
		}
	}
	c := slicesIndex(m.TendonName, "T_FFJ1c")
	if c < 0 || m.TendonRange[c] != [2]float64{-0.001, 0.001} || m.TendonNum[c] != 2 ||
		m.JntName[m.WrapJntID[m.TendonAdr[c]]] != "FFJ0" || m.WrapCoef[m.TendonAdr[c]] != 0.00705 || m.WrapCoef[m.TendonAdr[c]+1] != -0.00805 {
		t.Errorf("T_FFJ1c: %d range %v", c, m.TendonRange)
	}
	// The 19 explicit pairs come first, frictionless (condim 1).
	for p := range 19 {
		if m.PairCondim[p] != 1 || m.PairMargin[p] != 0 {
			t.Errorf("pair %d (%s–%s): condim %d margin %g, want 1 and 0", p, m.GeomName[m.PairGeom1[p]], m.GeomName[m.PairGeom2[p]], m.PairCondim[p], m.PairMargin[p])
		}
	}
	if n1, n2 := m.GeomName[m.PairGeom1[0]], m.GeomName[m.PairGeom2[0]]; !(n1 == "C_palm0" && n2 == "C_thdistal" || n2 == "C_palm0" && n1 == "C_thdistal") {
		t.Errorf("first pair %s–%s, want C_palm0–C_thdistal", n1, n2)
	}
	// Joint dry friction and limit margins from the default class.
	j := func(name string) int { return slicesIndex(m.JntName, name) }
	if fl := m.DofFrictionloss; fl[m.JntDofAdr[j("latch")]] != 5 || fl[m.JntDofAdr[j("door_hinge")]] != 2 || fl[m.JntDofAdr[j("FFJ0")]] != 0.001 {
		t.Errorf("frictionloss %v", fl)
	}
	if m.JntMargin[j("WRJ1")] != 0.01 || m.JntSolimp[j("WRJ1")] != DefaultSolimp || !m.JntLimited[j("ARTz")] {
		t.Errorf("WRJ1 margin %g solimp %v", m.JntMargin[j("WRJ1")], m.JntSolimp[j("WRJ1")])
	}
	// The fingertips' condim 4 and the class's torsional friction.
	g := slicesIndex(m.GeomName, "C_ffdistal")
	if m.GeomCondim[g] != 4 || m.GeomMargin[g] != 0.0005 || m.GeomFriction[g] != 1 {
		t.Errorf("C_ffdistal: condim %d margin %g friction %g", m.GeomCondim[g], m.GeomMargin[g], m.GeomFriction[g])
	}
	// Meshes for drawing: 11 files, 10438 distinct vertices and 20689
	// triangles as MuJoCo counts them; every visual geom draws one.
	if m.Nmesh != 11 || len(m.MeshVert) != 10438 || len(m.MeshFace) != 20689 {
		t.Errorf("meshes %d, vertices %d, triangles %d; MuJoCo has 11, 10438, 20689", m.Nmesh, len(m.MeshVert), len(m.MeshFace))
	}
	nviz := 0
	for g := range m.Ngeom {
		if m.GeomType[g] == GeomMesh {
			nviz++
			if m.GeomMeshID[g] < 0 || m.GeomContype[g] != 0 || m.GeomConaffinity[g] != 0 {
				t.Errorf("mesh geom %s: mesh %d contype %d", m.GeomName[g], m.GeomMeshID[g], m.GeomContype[g])
			}
		}
	}
	if nviz != 23 {
		t.Errorf("%d mesh geoms, want 23", nviz)
	}
	// What the engine does differently is said.
	var cyl, mocap bool
	for _, w := range m.Warnings {
		cyl = cyl || strings.Contains(w, "a cylinder collides as a capsule")
		mocap = mocap || strings.Contains(w, `mocap body "vive_tracker" is fixed`)
	}
	if !cyl || !mocap {
		t.Errorf("warnings %q: want the cylinders and the mocap body", m.Warnings)
	}
}
