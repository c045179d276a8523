package apex

import (
	"encoding/json"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// testPolicy returns a policy with a non-trivial normaliser and asymmetric
// bounds, so that every part of the inference form matters.
func testPolicy(seed uint64, obsDim int, hidden []int) *Policy {
	low := []float64{-1, -0.5, 0.25}
	high := []float64{1, 2, 0.75}
	p := NewPolicy(obsDim, low, high, hidden, rand.NewPCG(seed, 1))
	rng := rand.New(rand.NewPCG(seed, 2))
	mean, std := make([]float64, obsDim), make([]float64, obsDim)
	for i := range mean {
		mean[i] = rng.NormFloat64()
		std[i] = 0.1 + rng.Float64()
	}
	p.SetNormalizer(mean, std)
	// Non-zero biases, as after training.
	for _, l := range p.layers {
		for i := range l.b {
			l.b[i] = 0.1 * rng.NormFloat64()
		}
	}
	p.changed()
	return p
}

func randObs(rng *rand.Rand, n int, scale float64) []float64 {
	o := make([]float64, n)
	for i := range o {
		o[i] = scale * rng.NormFloat64()
	}
	return o
}

// Policy.Act runs the PolicyNet snapshot itself, so they cannot differ; what
// can go wrong is the export (shapes) and the squash (bounds).
func TestPolicyNetShapeAndBounds(t *testing.T) {
	for _, hidden := range [][]int{nil, {7}, {16, 9, 5, 3}} {
		p := testPolicy(1, 11, hidden)
		net := p.Net()
		wantLayers := len(p.Hidden()) + 1
		if len(net.Layers) != wantLayers || net.Layers[0].In != 11 || net.Layers[wantLayers-1].Out != 3 {
			t.Fatalf("hidden %v: Net has %d layers, first in %d, last out %d", hidden, len(net.Layers), net.Layers[0].In, net.Layers[wantLayers-1].Out)
		}
		if hidden == nil && (p.Hidden()[0] != 128 || len(p.Hidden()) != 3) {
			t.Errorf("default hidden %v, want 3×128", p.Hidden())
		}
		rng := rand.New(rand.NewPCG(2, 3))
		got := make([]float64, 3)
		for k := 0; k < 200; k++ {
			obs := randObs(rng, 11, []float64{0.1, 1, 100}[k%3]) // 100: saturates tanh
			p.Act(obs, got)
			for j, a := range got {
				if a < net.ActLow[j] || a > net.ActHigh[j] {
					t.Fatalf("action %d = %v outside [%v, %v]", j, a, net.ActLow[j], net.ActHigh[j])
				}
			}
		}
	}
}

func TestPolicyNetIsSnapshot(t *testing.T) {
	p := testPolicy(4, 5, []int{6})
	a := p.Net()
	if p.Net() != a {
		t.Fatal("Net returned a new snapshot without a change")
	}
	old := a.Clone()
	mean, std := p.Normalizer()
	mean[0] += 1
	p.SetNormalizer(mean, std)
	b := p.Net()
	if b == a {
		t.Fatal("Net returned the old snapshot after SetNormalizer")
	}
	if b.ObsMean[0] != mean[0] {
		t.Errorf("new snapshot mean %v, want %v", b.ObsMean[0], mean[0])
	}
	if a.ObsMean[0] != old.ObsMean[0] || !equalBits(a.Layers[0].W, old.Layers[0].W) {
		t.Error("the old snapshot changed")
	}
}

func TestPolicyInit(t *testing.T) {
	low, high := []float64{-1, -1}, []float64{1, 1}
	a := NewPolicy(20, low, high, nil, rand.NewPCG(5, 5))
	b := NewPolicy(20, low, high, nil, rand.NewPCG(5, 5))
	c := NewPolicy(20, low, high, nil, rand.NewPCG(5, 6))
	if !equalBits(a.params, b.params) {
		t.Error("same seed, different weights")
	}
	if equalBits(a.params, c.params) {
		t.Error("different seeds, same weights")
	}
	if want := 20*128 + 128 + 2*(128*128+128) + 128*2 + 2; a.NumParams() != want {
		t.Errorf("NumParams %d, want %d", a.NumParams(), want)
	}
	for li, l := range a.layers {
		limit := math.Sqrt(6 / float64(l.in))
		if li == len(a.layers)-1 {
			limit = math.Sqrt(6 / float64(l.in+l.out))
		}
		var ss, maxAbs float64
		for _, w := range l.w {
			ss += w * w
			maxAbs = max(maxAbs, math.Abs(w))
		}
		// Uniform(±limit) has variance limit²/3; with n ≥ 256 draws the
		// sample variance is within 20% of it (≥ 4 sd for n = 256).
		v := ss / float64(len(l.w))
		if maxAbs > limit || math.Abs(v/(limit*limit/3)-1) > 0.2 {
			t.Errorf("layer %d: max |w| %v (limit %v), variance %v (want %v)", li, maxAbs, limit, v, limit*limit/3)
		}
		for _, bv := range l.b {
			if bv != 0 {
				t.Fatalf("layer %d: initial bias %v, want 0", li, bv)
			}
		}
	}
}

func TestPolicySaveLoadBitwise(t *testing.T) {
	p := testPolicy(6, 9, []int{12, 10})
	// Values whose decimal forms are long or extreme.
	p.params[0] = 1.0 / 3
	p.params[1] = math.SmallestNonzeroFloat64
	p.params[2] = -math.MaxFloat64 / 1e300
	p.params[3] = math.Nextafter(0.1, 1)
	p.params[4] = math.Copysign(0, -1)
	p.changed()

	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equalBits(p.params, q.params) || !equalBits(p.obsMean, q.obsMean) || !equalBits(p.obsStd, q.obsStd) ||
		!equalBits(p.actLow, q.actLow) || !equalBits(p.actHigh, q.actHigh) {
		t.Fatal("parameters differ after save/load")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	a, b := make([]float64, 3), make([]float64, 3)
	for k := 0; k < 100; k++ {
		obs := randObs(rng, 9, 2)
		p.Act(obs, a)
		q.Act(obs, b)
		if !equalBits(a, b) {
			t.Fatalf("obs %d: actions %v before, %v after save/load", k, a, b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in the directory after an atomic save, want 1", len(entries))
	}

	// json.Marshal / Unmarshal round trip, as when embedded in another file.
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var r Policy
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	r.Act(randObs(rng, 9, 1), b) // the scratch pool must work on a decoded policy
	if !equalBits(p.params, r.params) || r.Net().Layers[1].In != 12 {
		t.Error("json round trip changed the policy")
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := json.Marshal(testPolicy(8, 4, []int{3}))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) []byte {
		var c map[string]any
		json.Unmarshal(good, &c)
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	cases := map[string][]byte{
		"not json":     []byte("{"),
		"wrong format": edit(func(c map[string]any) { c["format"] = "other" }),
		"short mean":   edit(func(c map[string]any) { c["obs_mean"] = []float64{1} }),
		"zero std":     edit(func(c map[string]any) { c["obs_std"] = []float64{1, 0, 1, 1} }),
		"bad bounds":   edit(func(c map[string]any) { c["act_low"] = []float64{5, 5, 5} }),
		"arch":         edit(func(c map[string]any) { c["hidden"] = []int{4} }),
	}
	for name, b := range cases {
		path := filepath.Join(dir, "p.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPolicy(path); err == nil {
			t.Errorf("%s: LoadPolicy gave no error", name)
		}
	}
}

// TestLoadPolicyRefusesHugeSizes: sizes that cannot fit are refused before
// anything is allocated, with the limit in the message (a policy.json with
// obs_dim 1e9 used to end in Go's out-of-memory crash).
func TestLoadPolicyRefusesHugeSizes(t *testing.T) {
	dir := t.TempDir()
	good, err := json.Marshal(testPolicy(8, 4, []int{3}))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) []byte {
		var c map[string]any
		json.Unmarshal(good, &c)
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"obs_dim 1e9", edit(func(c map[string]any) { c["obs_dim"] = 1000000000 }), "at most 65536"},
		{"act_dim 1e9", edit(func(c map[string]any) { c["act_dim"] = 1000000000 }), "at most 65536"},
		{"hidden 1e8", edit(func(c map[string]any) { c["hidden"] = []int{100000000} }), "want 1..65536"},
		{"params", edit(func(c map[string]any) { c["hidden"] = []int{60000, 60000} }), "parameters: at most 8388608"},
		{"infinite action range", edit(func(c map[string]any) {
			c["act_low"].([]any)[0], c["act_high"].([]any)[0] = -1e308, 1e308
		}), "not a finite range"},
		{"layers", edit(func(c map[string]any) { c["hidden"] = make([]int, 1000) }), "at most 64"},
		{"obs_dim as 1e9", []byte(strings.Replace(string(good), `"obs_dim":4`, `"obs_dim":1e9`, 1)), "obs_dim"},
		{"short weights", edit(func(c map[string]any) {
			c["layers"].([]any)[0].(map[string]any)["w"] = []float64{1}
		}), "layer 0"},
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, c := range cases {
		path := filepath.Join(dir, "p.json")
		if err := os.WriteFile(path, c.b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPolicy(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: LoadPolicy: %v, want an error with %q", c.name, err, c.want)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("refusing the files allocated %d MB", grew>>20)
	}
	if err := CheckArchitecture(17, 6, DefaultHidden); err != nil {
		t.Errorf("the default architecture: %v", err)
	}
}

// TestPolicySaveAtomicFile: Save goes through the one atomic writer: a new
// file gets 0666 less the umask (it was always 0644, or 0600 elsewhere),
// a symbolic link is written through, not replaced, and no temporary file
// is left.
func TestPolicySaveAtomicFile(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := testPolicy(3, 4, []int{3})
	path := filepath.Join(dir, "policy.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("policy.json mode %v under umask 077, want 0600", st.Mode().Perm())
	}
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	os.Symlink("real.json", link)
	if err := p.Save(link); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v %v", st.Mode(), err)
	}
	if q, err := LoadPolicy(real); err != nil || q.NumParams() != p.NumParams() {
		t.Errorf("the link's target: %v", err)
	}
	if err := p.Save("/dev/null"); err != nil {
		t.Errorf("save to /dev/null: %v", err)
	}
	if st, _ := os.Lstat("/dev/null"); st.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("/dev/null replaced: %v", st.Mode())
	}
	m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestPolicyActConcurrent(t *testing.T) {
	p := testPolicy(9, 6, []int{32, 32})
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 256
	obs := make([][]float64, n)
	want := make([][]float64, n)
	for i := range obs {
		obs[i] = randObs(rng, 6, 1)
		want[i] = make([]float64, 3)
		p.Act(obs[i], want[i])
	}
	var wg sync.WaitGroup
	errs := make(chan int, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float64, 3)
			for rep := 0; rep < 20; rep++ {
				for i := range obs {
					p.Act(obs[i], got)
					if !equalBits(got, want[i]) {
						errs <- i
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for i := range errs {
		t.Errorf("concurrent Act of observation %d differs from the sequential one", i)
	}
}

// BenchmarkAct measures single-observation inference with the paper's
// architecture (3×128) for HalfCheetah-sized observations and actions.
func BenchmarkAct(b *testing.B) {
	low, high := make([]float64, 6), make([]float64, 6)
	for i := range low {
		low[i], high[i] = -1, 1
	}
	p := NewPolicy(17, low, high, nil, rand.NewPCG(1, 1))
	obs := randObs(rand.New(rand.NewPCG(2, 2)), 17, 1)
	b.Run("serial", func(b *testing.B) {
		dst := make([]float64, 6)
		for b.Loop() {
			p.Act(obs, dst)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			dst := make([]float64, 6)
			for pb.Next() {
				p.Act(obs, dst)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	})
	b.Run("PolicyNet", func(b *testing.B) {
		net := p.Net()
		buf := [2][]float64{make([]float64, net.MaxWidth()), make([]float64, net.MaxWidth())}
		dst := make([]float64, 6)
		for b.Loop() {
			net.Act(obs, dst, &buf)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
	})
}

// TestPolicySaveNonFinite: a diverged policy is not saved, with a message
// that says so (encoding/json said "unsupported value: NaN"), and the old
// file stays.
func TestPolicySaveNonFinite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	p := testPolicy(5, 4, []int{3})
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	p.params[2] = math.NaN()
	err := p.Save(path)
	if err == nil || !strings.Contains(err.Error(), "diverged") || strings.Contains(err.Error(), "unsupported value") {
		t.Errorf("Save of a NaN weight: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(old) {
		t.Error("the old policy.json was replaced")
	}
}
