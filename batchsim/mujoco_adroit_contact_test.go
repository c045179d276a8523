//go:build mujoco

package batchsim

// Issue 15, item 3: one soft-constraint step of the Adroit door from
// MuJoCo 2.2.2's state, with the hand touching the door. In package
// batchsim (not batchsim_test) so that each step's contacts can be compared
// pair by pair with MuJoCo's. Run with
//
//	go test -tags mujoco -v -run MuJoCoAdroitContact ./batchsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/internal/mjref"
)

// geomPair is an unordered pair of geoms.
type geomPair struct{ a, b int }

func newGeomPair(g1, g2 int) geomPair { return geomPair{min(g1, g2), max(g1, g2)} }

// TestMuJoCoAdroitContactStep: MuJoCo runs the door (frame at the centre of
// the task's reset range) for 2 s under random actions held for a control
// step, the arm pushed toward the door (ARTz forward, ARRx and ARRy near
// level) so that the hand hits the door panel, the latch and itself; before
// every step batchsim is given MuJoCo's state and both take one step, MuJoCo
// with its Newton solver run to convergence and without the file's no-slip
// sweeps (batchsim has no no-slip; TestMuJoCoAdroitNoslip measures it).
//
// Steps are sorted by their contacts. Where both engines find the same
// contacts (the same geom pairs, as many of each, no cylinder, distances
// equal to 1e-9 m, normals and points to 1e-7) the accelerations (Δq̇/h)
// must agree to 1e-6 of their scale, and at least 100 such steps must have
// a contact on the door or the latch: this checks the rows, condim 1/3/4,
// torsional friction, softness and the solution. The other steps are
// counted and their differences described in the log, by kind, with an
// example each: pairs with a cylinder (batchsim collides it as a capsule,
// whose caps reach past MuJoCo's flat ends), a different number of contacts
// for a pair, or the same contacts with a different geometry (measured
// 2026-12-02: capsule–box distances that MuJoCo clamps at −radius once the
// capsule's axis is inside the box, box–box depths half of batchsim's,
// box–capsule normals 0.4° apart near the box's edges).
func TestMuJoCoAdroitContactStep(t *testing.T) {
	path := filepath.Join("..", "models", "adroit", "adroit_door.xml")
	mj, err := mjref.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer mj.Close()
	mj.UseExactSolver()
	mj.SetNoslipIterations(0)
	m, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	task, err := DoorWithModel(m) // soft constraints, the environment's gains
	if err != nil {
		t.Fatal(err)
	}
	frame := slices.Index(m.BodyName, "frame")
	pos := Vec3{-0.25, 0.3, 0.301} // the middle of the task's reset range
	m.BodyPos[frame] = pos
	mj.SetBodyPos(frame, pos)
	d := NewData(m)
	const (
		nstep     = 1000
		frameSkip = 5
		tol       = 1e-6
	)
	rng := rand.New(rand.NewPCG(41, 42))
	u := make([][]float64, nstep/frameSkip)
	for k := range u {
		a := make([]float64, m.Nu)
		for i := range a {
			a[i] = 2*rng.Float64() - 1
		}
		a[0] = 1                            // ARTz: toward the door
		a[1], a[2] = 0.2*a[1]-0.1, 0.2*a[2] // ARRx, ARRy near level
		u[k] = make([]float64, m.Nu)
		for i := range a {
			u[k][i] = task.CtrlOffset[i] + task.CtrlScale[i]*a[i]
		}
	}
	doorGeom := func(g int) bool {
		n := m.BodyName[m.GeomBodyID[g]]
		return n == "door" || n == "latch" || n == "frame"
	}
	h := m.Opt.Timestep
	type kind struct {
		steps int
		worst float64
		what  map[string]int
	}
	kinds := map[string]*kind{}
	note := func(k string, e float64, what string) {
		if kinds[k] == nil {
			kinds[k] = &kind{what: map[string]int{}}
		}
		kinds[k].steps++
		kinds[k].worst = math.Max(kinds[k].worst, e)
		if what != "" {
			kinds[k].what[what]++
		}
	}
	name := func(g int) string {
		if m.GeomName[g] != "" {
			return m.GeomName[g]
		}
		return fmt.Sprintf("%s geom %d of %s", m.GeomType[g], g, m.BodyName[m.GeomBodyID[g]])
	}
	checkedDoor, worst, worstStep := 0, 0.0, -1
	example := map[string]string{} // a described instance of each kind of geometry difference
	for i := range nstep {
		mj.SetCtrl(u[i/frameSkip])
		copy(d.Ctrl, u[i/frameSkip])
		copy(d.Qpos, mj.Qpos())
		copy(d.Qvel, mj.Qvel())
		v0 := mj.Qvel()
		if err := mj.Step(); err != nil {
			t.Fatal(err)
		}
		if err := Step(m, d); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		mv := mj.Qvel()
		scale := 1.0
		for k := range mv {
			scale = math.Max(scale, math.Abs(mv[k]-v0[k])/h)
		}
		e := 0.0
		for k := range mv {
			e = math.Max(e, math.Abs(d.Qvel[k]-mv[k])/h/scale)
		}
		mjs, bss := map[geomPair][]mjref.Contact{}, map[geomPair][]*contact{}
		for _, c := range mj.Contacts() {
			p := newGeomPair(c.Geom1, c.Geom2)
			mjs[p] = append(mjs[p], c)
		}
		for k := range d.ncon {
			c := &d.con[k]
			p := newGeomPair(m.PairGeom1[c.pair], m.PairGeom2[c.pair])
			bss[p] = append(bss[p], c)
		}
		var cyl, door bool
		var pairs, geom []string
		for p := range mjs {
			if _, ok := bss[p]; !ok {
				bss[p] = nil
			}
		}
		for p, bc := range bss {
			mc := mjs[p]
			ta, tb := m.GeomType[p.a], m.GeomType[p.b]
			cyl = cyl || ta == GeomCylinder || tb == GeomCylinder
			door = door || doorGeom(p.a) || doorGeom(p.b)
			if len(mc) != len(bc) {
				pairs = append(pairs, fmt.Sprintf("%v–%v (%s–%s): MuJoCo %d contacts, batchsim %d", ta, tb, name(p.a), name(p.b), len(mc), len(bc)))
				continue
			}
			for _, c := range mc {
				// the batchsim contact nearest to MuJoCo's
				var b *contact
				for _, x := range bc {
					if b == nil || dist3(x.pos, c.Pos) < dist3(b.pos, c.Pos) {
						b = x
					}
				}
				n := Vec3{c.Frame[0], c.Frame[1], c.Frame[2]}
				if c.Geom1 != m.PairGeom1[b.pair] { // the pair's other order: the normal flips
					n = Vec3{-n[0], -n[1], -n[2]}
				}
				if dd, dn, dp := math.Abs(b.dist-c.Dist), dist3(b.n, n), dist3(b.pos, c.Pos); dd > 1e-9 || dn > 1e-7 || dp > 1e-7 {
					var what []string
					for k, x := range []float64{dd, dn, dp} {
						if x > []float64{1e-9, 1e-7, 1e-7}[k] {
							what = append(what, []string{"distance", "normal", "point"}[k])
						}
					}
					cat := fmt.Sprintf("%v–%v, %s differ", ta, tb, strings.Join(what, ", "))
					geom = append(geom, cat)
					if example[cat] == "" {
						example[cat] = fmt.Sprintf("step %d, %s–%s: distance MuJoCo %.6g batchsim %.6g, normals %.5f and %.5f, points %.2g m apart",
							i, name(p.a), name(p.b), c.Dist, b.dist, n, b.n, dp)
					}
				}
			}
		}
		sort.Strings(pairs)
		sort.Strings(geom)
		switch {
		case len(mjs) == 0:
			note("no contact", e, "")
		case cyl:
			note("a cylinder", e, strings.Join(pairs, "; "))
		case len(pairs) > 0:
			note("different pairs", e, strings.Join(pairs, "; "))
		case len(geom) > 0:
			note("different contact geometry", e, strings.Join(slices.Compact(geom), "; "))
		default:
			note("checked", e, "")
			if door {
				checkedDoor++
			}
			if e > worst {
				worst, worstStep = e, i
			}
		}
	}
	for _, k := range []string{"checked", "no contact", "a cylinder", "different pairs", "different contact geometry"} {
		if c := kinds[k]; c != nil {
			t.Logf("steps with %s: %d, worst relative acceleration difference %.3g", k, c.steps, c.worst)
			var ws []string
			for w, n := range c.what {
				ws = append(ws, fmt.Sprintf("%4d× %s", n, w))
			}
			sort.Sort(sort.Reverse(sort.StringSlice(ws)))
			for _, w := range ws[:min(len(ws), 6)] {
				t.Logf("    %s", w)
			}
			if k == "different contact geometry" {
				for cat, ex := range example {
					t.Logf("    e.g. %s: %s", cat, ex)
				}
			}
		}
	}
	t.Logf("checked steps touching the door or latch: %d", checkedDoor)
	if checkedDoor < 100 {
		t.Errorf("only %d checked steps touch the door or the latch, want ≥ 100", checkedDoor)
	}
	if worst > tol {
		t.Errorf("checked steps: acceleration differs from MuJoCo's by %.3g of its scale at step %d, want ≤ %g", worst, worstStep, tol)
	}
}

func dist3(a Vec3, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}
