package apex

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"
)

// Group is the runs of one method (method, ablation and the DAgger options
// that differ from the defaults) over seeds, as curves over the iterations
// that all of them completed.
type Group struct {
	Name  string
	Runs  []string // run folders
	Seeds []uint64
	Iters []int
	// Per iteration: mean over seeds, the half-width of its 95 %
	// confidence interval (Student's t over the seeds; 0 for one seed) and
	// its standard error s/√seeds.
	Policy, PolicyCI, PolicySE []float64
	Expert, ExpertCI, ExpertSE []float64
	// Per seed: its mean policy return over the last Last iterations and
	// its mean expert return over the last half of the iterations.
	PolicyLast, ExpertLastHalf []float64
	Last                       int
}

// GroupName names a run's method: "apex", "icem-bc", "apex lambda-fixed",
// with " relabel=fresh", " label=elite-mean" or " plan_on=device" where
// those differ from the defaults (the device plans in float32: its runs
// are a sample of their own).
func GroupName(c RunConfig) string {
	n := string(c.Method)
	if c.Ablation != "" {
		n += " " + string(c.Ablation)
	}
	if c.Relabel != "" && c.Relabel != RelabelMemory {
		n += " relabel=" + c.Relabel
	}
	if c.Label != "" && c.Label != LabelBest {
		n += " label=" + c.Label
	}
	if c.PlanOn != "" && c.PlanOn != PlanOnHost {
		n += " plan_on=" + c.PlanOn
	}
	return n
}

// CompareRuns reads the run folders dirs (config.json and metrics.csv) and
// groups them by GroupName, in the order each group first appears. The
// curves stop at the fewest iterations any run of the group completed, or
// at upTo iterations when that is fewer (0: no cut), so that groups of
// different lengths compare at the same iteration; PolicyLast averages the
// last `last` of those (≥ 1).
func CompareRuns(dirs []string, last, upTo int) ([]*Group, error) {
	if last < 1 || upTo < 0 {
		return nil, fmt.Errorf("apex: compare: last %d < 1 or up to %d < 0", last, upTo)
	}
	var groups []*Group
	rows := map[*Group][][]Metrics{}
	for _, dir := range dirs {
		cfg, err := LoadRunConfig(dir)
		if err != nil {
			return nil, err
		}
		ms, err := readMetricsFile(filepath.Join(dir, MetricsFile))
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("apex: compare: %s has no complete iteration", dir)
		}
		name := GroupName(cfg)
		k := slices.IndexFunc(groups, func(g *Group) bool { return g.Name == name })
		if k < 0 {
			groups = append(groups, &Group{Name: name})
			k = len(groups) - 1
		}
		g := groups[k]
		if slices.Contains(g.Seeds, cfg.Seed) {
			return nil, fmt.Errorf("apex: compare: %s: seed %d of %q twice", dir, cfg.Seed, name)
		}
		g.Runs, g.Seeds = append(g.Runs, dir), append(g.Seeds, cfg.Seed)
		rows[g] = append(rows[g], ms)
	}
	for _, g := range groups {
		runs := rows[g]
		n := len(runs[0])
		for _, r := range runs {
			n = min(n, len(r))
		}
		if upTo > 0 {
			n = min(n, upTo)
		}
		g.Last = min(last, n)
		for i := range n {
			var pol, exp []float64
			for _, r := range runs {
				pol, exp = append(pol, r[i].PolicyReturn), append(exp, r[i].ExpertReturn)
			}
			g.Iters = append(g.Iters, runs[0][i].Iteration)
			se := math.Sqrt(float64(len(runs)))
			m, s := stats(pol)
			g.Policy, g.PolicyCI, g.PolicySE = append(g.Policy, m), append(g.PolicyCI, ci95(pol)), append(g.PolicySE, s/se)
			m, s = stats(exp)
			g.Expert, g.ExpertCI, g.ExpertSE = append(g.Expert, m), append(g.ExpertCI, ci95(exp)), append(g.ExpertSE, s/se)
		}
		for _, r := range runs {
			var p, e float64
			for _, m := range r[n-g.Last : n] {
				p += m.PolicyReturn
			}
			half := r[n/2 : n]
			for _, m := range half {
				e += m.ExpertReturn
			}
			g.PolicyLast = append(g.PolicyLast, p/float64(g.Last))
			g.ExpertLastHalf = append(g.ExpertLastHalf, e/float64(len(half)))
		}
	}
	return groups, nil
}

// readMetricsFile reads the policy and expert returns of metrics.csv.
func readMetricsFile(path string) ([]Metrics, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apex: compare: %w", err)
	}
	header, recs, err := ReadMetricsCSV(b)
	if err != nil {
		return nil, fmt.Errorf("apex: compare %s: %w", path, err)
	}
	col := map[string]int{}
	for k, h := range header {
		col[h] = k
	}
	for _, name := range []string{"iteration", "policy_return", "expert_return"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("apex: compare %s: no column %q", path, name)
		}
	}
	var out []Metrics
	for k, r := range recs {
		if len(r) != len(header) {
			return nil, fmt.Errorf("apex: compare %s:%d: %d fields, header has %d", path, k+2, len(r), len(header))
		}
		it, err1 := strconv.Atoi(r[col["iteration"]])
		pol, err2 := strconv.ParseFloat(r[col["policy_return"]], 64)
		exp, err3 := strconv.ParseFloat(r[col["expert_return"]], 64)
		if err1 != nil || err2 != nil || err3 != nil || it != k {
			return nil, fmt.Errorf("apex: compare %s:%d: bad row %v", path, k+2, r)
		}
		out = append(out, Metrics{Iteration: it, PolicyReturn: pol, ExpertReturn: exp})
	}
	return out, nil
}

// Welch compares two samples with Welch's t-test and returns the two-sided
// p-value of equal means (NaN when either has fewer than two values or
// both have zero variance).
func Welch(a, b []float64) float64 {
	if len(a) < 2 || len(b) < 2 {
		return math.NaN()
	}
	ma, sa := stats(a)
	mb, sb := stats(b)
	va, vb := sa*sa/float64(len(a)), sb*sb/float64(len(b))
	if va+vb == 0 {
		return math.NaN()
	}
	t := (ma - mb) / math.Sqrt(va+vb)
	df := (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// MeanCI returns the mean of x and the half-width of its 95 % confidence
// interval.
func MeanCI(x []float64) (mean, ci float64) {
	mean, _ = stats(x)
	return mean, ci95(x)
}
