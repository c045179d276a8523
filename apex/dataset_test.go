package apex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// randRollout returns T pairs of random observations and actions.
func randRollout(rng *rand.Rand, T, obsDim, actDim int) (obs, act []float64) {
	obs = make([]float64, T*obsDim)
	act = make([]float64, T*actDim)
	for i := range obs {
		obs[i] = rng.NormFloat64()
	}
	for i := range act {
		act[i] = rng.Float64()*2 - 1
	}
	return obs, act
}

func TestDatasetWindowDropsOldest(t *testing.T) {
	const obsDim, actDim, window = 3, 2, 3
	rng := rand.New(rand.NewPCG(1, 2))
	ds := NewDataset(obsDim, actDim, window)
	type added struct {
		prov     Provenance
		obs, act []float64
	}
	var all []added
	for k := 0; k < 5; k++ {
		obs, act := randRollout(rng, 4+k, obsDim, actDim) // lengths differ per rollout
		prov := Provenance{Source: Source(k % 2), Iteration: k, Episode: 10 + k, Seed: uint64(100 + k)}
		ds.Add(prov, obs, act)
		all = append(all, added{prov, obs, act})
		if want := min(k+1, window); ds.NumRollouts() != want {
			t.Fatalf("after %d adds: %d rollouts, want %d", k+1, ds.NumRollouts(), want)
		}
	}
	if ds.Added() != 5 {
		t.Errorf("Added = %d, want 5", ds.Added())
	}
	// The latest three (iterations 2, 3, 4) remain, oldest first.
	wantLen := 0
	for k := 0; k < window; k++ {
		r := ds.Rollout(k)
		want := all[2+k]
		if r.Prov != want.prov {
			t.Errorf("rollout %d provenance %+v, want %+v", k, r.Prov, want.prov)
		}
		if !equalBits(r.Obs, want.obs) || !equalBits(r.Act, want.act) {
			t.Errorf("rollout %d data differ from rollout added as %d", k, 2+k)
		}
		wantLen += len(want.act) / actDim
	}
	if ds.Len() != wantLen {
		t.Fatalf("Len = %d, want %d", ds.Len(), wantLen)
	}
	// Pair walks the rollouts in order.
	i := 0
	for k := 2; k < 5; k++ {
		for s := 0; s < len(all[k].act)/actDim; s++ {
			o, a := ds.Pair(i)
			if !equalBits(o, all[k].obs[s*obsDim:(s+1)*obsDim]) || !equalBits(a, all[k].act[s*actDim:(s+1)*actDim]) {
				t.Fatalf("Pair(%d) is not step %d of rollout %d", i, s, k)
			}
			i++
		}
	}
}

func TestDatasetAddCopies(t *testing.T) {
	ds := NewDataset(2, 1, 5)
	obs, act := []float64{1, 2, 3, 4}, []float64{0.5, -0.5}
	ds.Add(Provenance{Source: SourceDAgger, Iteration: 7}, obs, act)
	obs[0], act[0] = 99, 99
	o, a := ds.Pair(0)
	if o[0] != 1 || a[0] != 0.5 {
		t.Errorf("Add kept a reference to the caller's slices: pair 0 = %v, %v", o, a)
	}
	if got := ds.Rollout(0).Prov; got.Source != SourceDAgger || got.Iteration != 7 {
		t.Errorf("provenance %+v", got)
	}
	if SourceExpert.String() != "expert" || SourceDAgger.String() != "dagger" {
		t.Errorf("Source names %q, %q", SourceExpert, SourceDAgger)
	}
}

func TestDatasetSampleUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := NewDataset(1, 1, 10)
	for k := 0; k < 4; k++ {
		obs, act := randRollout(rng, 5, 1, 1)
		ds.Add(Provenance{Iteration: k}, obs, act)
	}
	n := ds.Len()
	idx := make([]int, 200000)
	ds.Sample(rand.New(rand.NewPCG(5, 6)), idx)
	counts := make([]float64, n)
	for _, i := range idx {
		counts[i]++
	}
	// Each count is Binomial(200000, 1/20): mean 10000, sd ≈ 97; 6 sd bound.
	for i, c := range counts {
		if math.Abs(c-10000) > 600 {
			t.Errorf("index %d drawn %v times, want 10000 ± 600", i, c)
		}
	}
	again := make([]int, len(idx))
	ds.Sample(rand.New(rand.NewPCG(5, 6)), again)
	for i := range idx {
		if idx[i] != again[i] {
			t.Fatalf("Sample is not a function of the rng state (index %d)", i)
		}
	}
}

func TestDatasetObsStats(t *testing.T) {
	const obsDim = 3
	rng := rand.New(rand.NewPCG(7, 8))
	ds := NewDataset(obsDim, 1, 4)
	for k := 0; k < 6; k++ { // two get dropped: the stats must be those of the window
		obs, act := randRollout(rng, 20+k, obsDim, 1)
		for s := 0; s < len(obs)/obsDim; s++ {
			obs[s*obsDim] = 1e6 + 3*obs[s*obsDim] // large offset: naive Σx² would cancel
			obs[s*obsDim+2] = 4.25                // constant component
		}
		ds.Add(Provenance{Iteration: k}, obs, act)
	}
	mean, std := ds.ObsStats()
	for j := 0; j < obsDim; j++ {
		var col []float64
		for k := 0; k < ds.NumRollouts(); k++ {
			o := ds.Rollout(k).Obs
			for i := j; i < len(o); i += obsDim {
				col = append(col, o[i])
			}
		}
		m, s := stat.PopMeanStdDev(col, nil)
		s = max(s, StdFloor)
		if math.Abs(mean[j]-m) > 1e-12*math.Max(1, math.Abs(m)) || math.Abs(std[j]-s) > 1e-9*s {
			t.Errorf("component %d: mean %v std %v, gonum gives %v %v", j, mean[j], std[j], m, s)
		}
	}
	if std[2] != StdFloor {
		t.Errorf("constant component std %v, want StdFloor", std[2])
	}
}

func TestDatasetSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ds := NewDataset(4, 2, 3)
	for k := 0; k < 4; k++ {
		obs, act := randRollout(rng, 3+k, 4, 2)
		ds.Add(Provenance{Source: Source(k % 2), Iteration: k / 2, Episode: k, Seed: 1<<63 + uint64(k)}, obs, act)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dataset.gob")
	if err := ds.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDataset(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ObsDim() != 4 || got.ActDim() != 2 || got.Window() != 3 || got.Added() != 4 || got.Len() != ds.Len() {
		t.Fatalf("loaded header: obs %d act %d window %d added %d len %d", got.ObsDim(), got.ActDim(), got.Window(), got.Added(), got.Len())
	}
	for k := 0; k < ds.NumRollouts(); k++ {
		a, b := ds.Rollout(k), got.Rollout(k)
		if a.Prov != b.Prov || !equalBits(a.Obs, b.Obs) || !equalBits(a.Act, b.Act) {
			t.Errorf("rollout %d differs after save/load", k)
		}
	}
	// The window still works on the loaded set.
	obs, act := randRollout(rng, 2, 4, 2)
	got.Add(Provenance{Iteration: 9}, obs, act)
	if got.NumRollouts() != 3 || got.Rollout(0).Prov != ds.Rollout(1).Prov || got.Rollout(2).Prov.Iteration != 9 {
		t.Errorf("window after load: %d rollouts, first %+v", got.NumRollouts(), got.Rollout(0).Prov)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after an atomic save, want 1", len(entries))
	}

	if err := os.WriteFile(path, []byte("not a gob"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDataset(path); err == nil {
		t.Error("LoadDataset of a corrupt file: no error")
	}
	if _, err := LoadDataset(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDataset of a missing file: no error")
	}
}

// equalBits reports whether a and b hold the same float64 bit patterns.
func equalBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// A data set keeps the latest Window rollouts, each with its provenance.
func ExampleDataset() {
	ds := NewDataset(2, 1, 3) // pairs of 2 observation and 1 action components; keep 3 rollouts
	for it := 0; it < 3; it++ {
		obs := []float64{float64(it), 0, float64(it), 1} // two steps
		act := []float64{0.1, 0.2}
		ds.Add(Provenance{Source: SourceExpert, Iteration: it}, obs, act)
		ds.Add(Provenance{Source: SourceDAgger, Iteration: it}, obs, act)
	}
	for k := 0; k < ds.NumRollouts(); k++ {
		p := ds.Rollout(k).Prov
		fmt.Println(p.Source, p.Iteration)
	}
	fmt.Println(ds.Len(), "pairs;", ds.Added(), "rollouts added")
	// Output:
	// dagger 1
	// expert 2
	// dagger 2
	// 6 pairs; 6 rollouts added
}
