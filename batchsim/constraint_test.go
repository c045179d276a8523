package batchsim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNewtonSolvesTheConstraintProblem: on the humanoid under random
// controls (many contacts, limits and friction pyramids per step), every
// solve ends at the minimum of the soft-constraint cost: the gradient
// M(a − a0) − Jᵀf vanishes to rounding, inequality forces are ≥ 0 and dry
// friction within its bound, and it takes a few Newton iterations.
func TestNewtonSolvesTheConstraintProblem(t *testing.T) {
	for _, c := range []struct {
		name      string
		frictLoss bool
	}{{"humanoidstandup", false}, {"humanoidstandup", true}} {
		m, err := LoadFile(refModel(t, c.name+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		if c.frictLoss {
			// dry friction on every hinge: box-constrained rows as well
			m.DofFrictionloss = make([]float64, m.Nv)
			for i := 6; i < m.Nv; i++ {
				m.DofFrictionloss[i] = 2
			}
		}
		d := NewData(m)
		rng := rand.New(rand.NewPCG(5, 6))
		solves, iters, maxIters, treeSolves := 0, 0, 0, 0
		worst := 0.0
		grad := make([]float64, m.Nv)
		for i := 0; i < 3000; i++ {
			if i%300 == 0 {
				ResetData(m, d)
			}
			if i%5 == 0 {
				for k := range d.Ctrl {
					d.Ctrl[k] = 2*rng.Float64() - 1
				}
			}
			if err := Step(m, d); err != nil {
				t.Fatal(err)
			}
			e := &d.efc
			if e.n == 0 {
				continue
			}
			solves++
			if e.tree {
				treeSolves++
			}
			iters += e.iters
			maxIters = max(maxIters, e.iters)
			// The solution before the damping correction is e.sol.
			for k := range e.tmp {
				e.tmp[k] = e.sol[k] - e.a0[k]
			}
			mulMatVecDense(e.mm, m.Nv, e.tmp, grad)
			scale := 1.0
			for k := range grad {
				scale = math.Max(scale, math.Abs(grad[k]))
			}
			for r := 0; r < e.n; r++ {
				f := e.f[r]
				if e.kind[r] == efcIneq && f < 0 || e.kind[r] == efcFriction && math.Abs(f) > e.bound[r]*(1+1e-12) {
					t.Fatalf("%s step %d: row %d (kind %d) force %g is infeasible", c.name, i, r, e.kind[r], f)
				}
				base := r * m.Nv
				for k := 0; k < e.nnz[r]; k++ {
					grad[e.ind[base+k]] -= e.jac[base+k] * f
					scale = math.Max(scale, math.Abs(e.jac[base+k]*f))
				}
			}
			for _, g := range grad {
				worst = math.Max(worst, math.Abs(g)/scale)
			}
		}
		t.Logf("%s (dry friction %v): %d solves (%d factored along the tree), %.2f Newton iterations on average, at most %d; worst relative gradient %.3g",
			c.name, c.frictLoss, solves, treeSolves, float64(iters)/float64(solves), maxIters, worst)
		if treeSolves == 0 || treeSolves == solves {
			t.Errorf("%d of %d solves factored along the tree: want both kinds checked", treeSolves, solves)
		}
		if solves < 1000 {
			t.Errorf("only %d constrained steps", solves)
		}
		if worst > 1e-9 {
			t.Errorf("the solution's gradient is %.3g of the forces' scale, want <= 1e-9", worst)
		}
		if avg := float64(iters) / float64(solves); avg > 4 {
			t.Errorf("%.2f Newton iterations per solve on average, want <= 4", avg)
		}
	}
}

// TestConstraintRefGains: MuJoCo's K, B and impedance for the default
// solref/solimp, its direct (negative) form and the time-constant clamp.
func TestConstraintRefGains(t *testing.T) {
	k, b := refGains([2]float64{0.02, 1}, 0.95, 0.002)
	if math.Abs(k-1/(0.95*0.95*0.02*0.02)) > 1e-9 || math.Abs(b-2/(0.95*0.02)) > 1e-12 {
		t.Errorf("standard solref: K %g B %g", k, b)
	}
	k, b = refGains([2]float64{0.001, 1}, 0.95, 0.01) // τ clamped to 2h = 0.02
	if math.Abs(k-1/(0.95*0.95*0.02*0.02)) > 1e-9 || math.Abs(b-2/(0.95*0.02)) > 1e-12 {
		t.Errorf("clamped solref: K %g B %g", k, b)
	}
	k, b = refGains([2]float64{-1000, -10}, 0.9, 0.002)
	if math.Abs(k-1000/0.81) > 1e-9 || math.Abs(b-10/0.9) > 1e-12 {
		t.Errorf("direct solref: K %g B %g", k, b)
	}
	sp := DefaultSolimp
	if imp := impedance(&sp, 0, 0); imp != 0.9 {
		t.Errorf("impedance at 0: %g, want dmin 0.9", imp)
	}
	if imp := impedance(&sp, -0.002, 0); imp != 0.95 {
		t.Errorf("impedance beyond the width: %g, want dmax 0.95", imp)
	}
	// at the midpoint the power-2 sigmoid is halfway
	if imp := impedance(&sp, -0.0005, 0); math.Abs(imp-0.925) > 1e-12 {
		t.Errorf("impedance at the midpoint: %g, want 0.925", imp)
	}
}

// TestIllPosedConstraintsRefused: solref with a zero or mixed signs, and a
// joint that moves no mass, are refused when the model is loaded, with the
// element's line, instead of producing a constraint that does not act or a
// singular solve at some later step.
func TestIllPosedConstraintsRefused(t *testing.T) {
	const head = "<mujoco>\n<worldbody>\n<geom type=\"plane\" size=\"1 1 1\"/>\n"
	for _, c := range []struct {
		name, xml, want string
	}{
		{"zero time constant", head + `<body pos="0 0 1"><freejoint/><geom type="sphere" size="0.1" solref="0 1"/></body>
</worldbody></mujoco>`, `inline.xml:4: <geom>: solref="0 1"`},
		{"mixed signs", head + `<body pos="0 0 1"><joint type="slide" axis="0 0 1" limited="true" range="-1 1" solreflimit="0.02 -1"/><geom type="sphere" size="0.1"/></body>
</worldbody></mujoco>`, `inline.xml:4: <joint>: solreflimit="0.02 -1"`},
		{"massless joint", head + `<body pos="0 0 1"><joint name="spin" type="hinge" axis="0 0 1"/><inertial pos="0 0 0" mass="1" diaginertia="0 0 0"/><geom type="sphere" size="0.1" contype="0" conaffinity="0" mass="0"/></body>
</worldbody></mujoco>`, `inline.xml:4: <joint>: joint "spin" moves no mass`},
	} {
		_, err := LoadXML([]byte(c.xml), "inline.xml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestTreeFactorMatchesCholesky: the sparse LᵀDL factor along the tree
// solves the humanoid's mass matrix (and the mass matrix plus a chain row's
// D·JᵀJ) as the dense Cholesky factor does; chainRow tells rows along one
// path to the root from rows across two branches.
func TestTreeFactorMatchesCholesky(t *testing.T) {
	m, err := LoadFile(refModel(t, "humanoidstandup.xml"))
	if err != nil {
		t.Fatal(err)
	}
	nv, parent := m.Nv, m.DofParentID
	d := NewData(m)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range d.Qpos {
		d.Qpos[i] += 0.3 * (2*rng.Float64() - 1)
	}
	kinematics(m, d)
	comPos(m, d)
	mm := massMatrix(m, d)
	// the leaf dof and its path to the root: one row along a chain
	e := &d.efc
	e.n = 1
	leaf := nv - 1
	k := 0
	for j := leaf; j >= 0; j = parent[j] {
		e.ind[k], e.jac[k] = j, 2*rng.Float64()-1
		k++
	}
	e.nnz[0] = k
	if !e.chainRow(0, nv, parent) {
		t.Fatal("a row along the leaf's path to the root is not a chain row")
	}
	withRow := append([]float64(nil), mm...)
	for a := 0; a < k; a++ {
		for b := 0; b < k; b++ {
			withRow[e.ind[a]*nv+e.ind[b]] += 3 * e.jac[a] * e.jac[b]
		}
	}
	for name, a := range map[string][]float64{"M": mm, "M + D·JᵀJ": withRow} {
		b := make([]float64, nv)
		for i := range b {
			b[i] = 2*rng.Float64() - 1
		}
		dense, tree := append([]float64(nil), a...), append([]float64(nil), a...)
		xd, xt := append([]float64(nil), b...), append([]float64(nil), b...)
		if !cholesky(dense, nv) || !factorTree(tree, nv, parent) {
			t.Fatalf("%s: a factorisation failed", name)
		}
		cholSolve(dense, nv, xd)
		solveTree(tree, nv, parent, xt)
		worst, scale := 0.0, 0.0
		for i := range xd {
			worst = math.Max(worst, math.Abs(xd[i]-xt[i]))
			scale = math.Max(scale, math.Abs(xd[i]))
		}
		if worst > 1e-12*scale {
			t.Errorf("%s: tree and dense solutions differ by %.3g (scale %.3g)", name, worst, scale)
		}
	}
	// a row across two branches (the two leaves' paths) is not a chain row
	other := -1
	for j := leaf - 1; j >= 0; j-- {
		onPath := false
		for a := leaf; a >= 0; a = parent[a] {
			onPath = onPath || a == j
		}
		if !onPath {
			other = j
			break
		}
	}
	if other < 0 {
		t.Fatal("no dof off the leaf's path to the root")
	}
	e.ind[0], e.ind[1], e.nnz[0] = leaf, other, 2
	if e.chainRow(0, nv, parent) {
		t.Errorf("dofs %d and %d (two branches) make a chain row", leaf, other)
	}
	if factorTree(make([]float64, nv*nv), nv, parent) {
		t.Error("factorTree accepted a zero matrix")
	}
}

// mulMatVecDense is the dense product y = A·x, the tests' reference for
// mulMTree.
func mulMatVecDense(a []float64, n int, x, y []float64) {
	for i := 0; i < n; i++ {
		row := a[i*n : i*n+n]
		v := 0.0
		for k, av := range row {
			v += av * x[k]
		}
		y[i] = v
	}
}

// TestMulMTree: the tree-sparse product with the mass matrix equals the
// dense one, on the humanoid (one branched tree with a free joint) and the
// Adroit door (a hand and a door: two trees), at states along random
// motions.
func TestMulMTree(t *testing.T) {
	for _, name := range []string{"humanoidstandup", "door"} {
		var m *Model
		if name == "door" {
			task, err := NewTask(name)
			if err != nil {
				t.Fatal(err)
			}
			m = task.Model
		} else {
			var err error
			if m, err = LoadFile(refModel(t, name+".xml")); err != nil {
				t.Fatal(err)
			}
		}
		d := NewData(m)
		rng := rand.New(rand.NewPCG(9, 10))
		nv := m.Nv
		x, want, got := make([]float64, nv), make([]float64, nv), make([]float64, nv)
		for i := 0; i < 200; i++ {
			for k := range d.Ctrl {
				d.Ctrl[k] = 2*rng.Float64() - 1
			}
			if err := Step(m, d); err != nil {
				t.Fatal(err)
			}
			if i%20 != 0 {
				continue
			}
			FwdPosition(m, d)
			linkInertias(m, d, d.rigid)
			d.efc.crba(m, d)
			for k := range x {
				x[k] = rng.NormFloat64()
			}
			mulMatVecDense(d.efc.mm, nv, x, want)
			mulMTree(d.efc.mm, nv, m.DofParentID, x, got)
			for k := range want {
				if math.Abs(got[k]-want[k]) > 1e-12*(1+math.Abs(want[k])) {
					t.Fatalf("%s step %d: (M·x)[%d] = %.15g tree-sparse, %.15g dense", name, i, k, got[k], want[k])
				}
			}
		}
	}
}
