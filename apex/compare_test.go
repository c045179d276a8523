package apex

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

func TestWelch(t *testing.T) {
	// Equal sizes and variances: Welch is Student's t with 4 degrees of
	// freedom; scipy.stats.ttest_ind([1,2,3], [4,5,6]) gives p = 0.021311.
	if p := Welch([]float64{1, 2, 3}, []float64{4, 5, 6}); math.Abs(p-0.021311) > 1e-5 {
		t.Fatalf("p = %v, want 0.021311", p)
	}
	if p := Welch([]float64{1, 2, 3}, []float64{1, 2, 3}); math.Abs(p-1) > 1e-12 {
		t.Fatalf("identical samples: p = %v, want 1", p)
	}
	if !math.IsNaN(Welch([]float64{1}, []float64{1, 2})) || !math.IsNaN(Welch([]float64{1, 1}, []float64{2, 2})) {
		t.Fatal("p of a single value or of zero variances is not NaN")
	}
}

// CompareRuns groups run folders by method, averages over seeds and stops
// the curves at the shortest run.
func TestCompareRuns(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, c := range []struct {
		method Method
		seed   uint64
		iters  int
	}{{MethodAPEX, 1, 3}, {MethodICEMBC, 1, 2}, {MethodAPEX, 2, 2}} {
		cfg := tinyConfig()
		cfg.Method, cfg.Seed, cfg.Iterations, cfg.EvalEpisodes = c.method, c.seed, c.iters, 3
		dir := filepath.Join(root, string(c.method)+"-"+string(rune('0'+c.seed)))
		r, err := Create(dir, cfg, batchsim.NewCPU(1), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Train(context.Background(), RunOptions{Workers: 1}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	groups, err := CompareRuns(dirs, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].Name != "apex" || groups[1].Name != "icem-bc" {
		t.Fatalf("groups %v", groups)
	}
	a := groups[0]
	if len(a.Seeds) != 2 || len(a.Iters) != 2 || a.Last != 2 {
		t.Fatalf("apex group: seeds %v, iterations %v, last %d", a.Seeds, a.Iters, a.Last)
	}
	rows := [][]Metrics{}
	for _, d := range []string{dirs[0], dirs[2]} {
		ms, err := readMetricsFile(filepath.Join(d, MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, ms)
	}
	for i := range 2 {
		want := (rows[0][i].PolicyReturn + rows[1][i].PolicyReturn) / 2
		if math.Abs(a.Policy[i]-want) > 1e-9*math.Abs(want) {
			t.Fatalf("iteration %d: mean policy return %v, want %v", i, a.Policy[i], want)
		}
		if !(a.PolicyCI[i] > 0) {
			t.Fatalf("iteration %d: CI %v over two different seeds", i, a.PolicyCI[i])
		}
	}
	wantLast := (rows[0][0].PolicyReturn + rows[0][1].PolicyReturn) / 2
	if math.Abs(a.PolicyLast[0]-wantLast) > 1e-9*math.Abs(wantLast) {
		t.Fatalf("seed 1: last-2 mean %v, want %v", a.PolicyLast[0], wantLast)
	}
	if err := PlotGroups(filepath.Join(root, "p.png"), "test", groups, false); err != nil {
		t.Fatal(err)
	}
	if cut, err := CompareRuns(dirs, 1, 1); err != nil || len(cut[0].Iters) != 1 || cut[0].PolicyLast[0] != rows[0][0].PolicyReturn {
		t.Fatalf("cut at 1 iteration: %v, %v", cut, err)
	}
	if _, err := CompareRuns(append(dirs, dirs[0]), 2, 0); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("the same run twice: %v", err)
	}
}
