package batchsim

import (
	"reflect"
	"testing"
)

// TestTaskModelsMatchReference: the models the tasks embed compile to the
// same physics as the reference files in models/ that the MuJoCo
// cross-checks load (an embedded copy once dropped the gym cheetah's solimp,
// which made its contacts and limits stiffer than MuJoCo's gym model).
func TestTaskModelsMatchReference(t *testing.T) {
	for _, c := range []struct{ task, ref string }{
		{"halfcheetah", "half_cheetah.xml"},
		{"humanoidstandup", "humanoidstandup.xml"},
	} {
		task, err := NewTask(c.task)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := LoadFile(refModel(t, c.ref))
		if err != nil {
			t.Fatal(err)
		}
		a, b := task.Model, ref
		for _, f := range []struct {
			name string
			x, y any
		}{
			{"BodyMass", a.BodyMass, b.BodyMass},
			{"BodyInertia", a.BodyInertia, b.BodyInertia},
			{"BodyPos", a.BodyPos, b.BodyPos},
			{"JntRange", a.JntRange, b.JntRange},
			{"JntSolref", a.JntSolref, b.JntSolref},
			{"JntSolimp", a.JntSolimp, b.JntSolimp},
			{"JntStiffness", a.JntStiffness, b.JntStiffness},
			{"DofDamping", a.DofDamping, b.DofDamping},
			{"DofArmature", a.DofArmature, b.DofArmature},
			{"GeomSize", a.GeomSize, b.GeomSize},
			{"PairGeom1", a.PairGeom1, b.PairGeom1},
			{"PairFriction", a.PairFriction, b.PairFriction},
			{"PairSolref", a.PairSolref, b.PairSolref},
			{"PairSolimp", a.PairSolimp, b.PairSolimp},
			{"PairCondim", a.PairCondim, b.PairCondim},
			{"PairMargin", a.PairMargin, b.PairMargin},
			{"ActGear", a.ActGear, b.ActGear},
			{"ActCtrlRange", a.ActCtrlRange, b.ActCtrlRange},
			{"Timestep", a.Opt.Timestep, b.Opt.Timestep},
		} {
			if !reflect.DeepEqual(f.x, f.y) {
				t.Errorf("%s: %s of the task's model differs from %s's:\n task %v\n ref  %v", c.task, f.name, c.ref, f.x, f.y)
			}
		}
	}
}
