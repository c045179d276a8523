package apex

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadPolicy feeds LoadPolicy arbitrary policy.json files and checks
// that it never panics, and that a policy it accepts has the shapes it
// declares, acts within its bounds, and is saved and loaded back bit for
// bit. Its seed corpus runs in plain go test; make fuzz runs it for a
// bounded time.
func FuzzLoadPolicy(f *testing.F) {
	for _, p := range []*Policy{testPolicy(1, 4, []int{3}), testPolicy(2, 2, []int{}), testPolicy(3, 5, []int{4, 2})} {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		ind, err := json.MarshalIndent(p, "", " ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ind)
	}
	for _, s := range []string{
		``, `{`, `null`, `[]`, `{"format":"apex-policy","version":1}`,
		`{"format":"apex-policy","version":1,"obs_dim":1000000000,"act_dim":1,"hidden":[]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[100000000,100000000]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[],"obs_mean":[0],"obs_std":[1],"act_low":[-1],"act_high":[1],"layers":[{"in":1,"out":1,"w":[2],"b":[0.5]}]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[],"obs_mean":[0],"obs_std":[0],"act_low":[-1],"act_high":[1],"layers":[{"in":1,"out":1,"w":[2],"b":[0.5]}]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[],"obs_mean":[0],"obs_std":[1],"act_low":[1],"act_high":[-1],"layers":[{"in":1,"out":1,"w":[2],"b":[0.5]}]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[-1],"layers":[]}`,
		`{"format":"apex-policy","version":1,"obs_dim":1,"act_dim":1,"hidden":[],"obs_mean":[0],"obs_std":[1],"act_low":[-1],"act_high":[1],"layers":[{"in":1,"out":1,"w":[1e309],"b":[0]}]}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := os.CreateTemp(dir, "in-*.json")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(in.Name())
		if _, err := in.Write(data); err != nil {
			t.Fatal(err)
		}
		in.Close()
		p, err := LoadPolicy(in.Name())
		if err != nil {
			if p != nil {
				t.Fatalf("LoadPolicy returned a policy with error %v", err)
			}
			return
		}
		// The declared shapes are the real ones, within the limits.
		if err := CheckArchitecture(p.ObsDim(), p.ActDim(), p.Hidden()); err != nil {
			t.Fatalf("accepted a policy beyond the limits: %v", err)
		}
		net := p.Net()
		if len(net.Layers) != len(p.Hidden())+1 || net.Layers[0].In != p.ObsDim() || net.Layers[len(net.Layers)-1].Out != p.ActDim() {
			t.Fatalf("accepted a policy whose layers do not match obs %d, hidden %v, act %d", p.ObsDim(), p.Hidden(), p.ActDim())
		}
		// It acts without panicking, within its bounds where they are
		// representable (a range wider than MaxFloat64 overflows; see the
		// report of issue 12).
		obs, act := make([]float64, p.ObsDim()), make([]float64, p.ActDim())
		p.Act(obs, act)
		low, high := p.Bounds()
		for i, a := range act {
			if w := high[i] - low[i]; !math.IsInf(w, 0) && !math.IsNaN(a) && (a < low[i] || a > high[i]) {
				t.Fatalf("action %d = %g outside [%g, %g]", i, a, low[i], high[i])
			}
		}
		// Save and load it back, bit for bit.
		out := filepath.Join(dir, "out.json")
		defer os.Remove(out)
		if err := p.Save(out); err != nil {
			t.Fatalf("an accepted policy cannot be saved: %v", err)
		}
		q, err := LoadPolicy(out)
		if err != nil {
			t.Fatalf("a saved policy cannot be loaded: %v", err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(q)
		if !bytes.Equal(a, b) {
			t.Fatalf("save and load changed the policy:\n%s\n%s", a, b)
		}
	})
}
