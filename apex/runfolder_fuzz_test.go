package apex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/apex-robotics/apex/batchsim"
)

// FuzzLoadRunConfig feeds LoadRunConfig (what apex train --resume reads
// first) arbitrary config.json files, in a run folder without checkpoints
// and in one with a complete HalfCheetah checkpoint, and checks that it
// never panics or hangs; that a config accepted beside a checkpoint is accepted
// without one; that an accepted config is written back and read to the same
// value; and that validating it and deriving the planner's settings do not
// panic either. Its seed corpus runs in plain go test; make fuzz runs it
// for a bounded time.
func FuzzLoadRunConfig(f *testing.F) {
	for _, c := range []RunConfig{
		RunConfig{Task: "halfcheetah"}.WithDefaults(),
		RunConfig{Task: "halfcheetah", Iterations: 2, Hidden: []int{8, 8}}.WithDefaults(),
		RunConfig{Task: "door", Method: MethodICEMPiGPS}.WithDefaults(),
		RunConfig{Task: "humanoidstandup", Ablation: AblationLambdaFixed}.WithDefaults(),
		{Task: "halfcheetah"},
	} {
		b, err := json.MarshalIndent(configFile{Format: runFolderFormat, Config: c}, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{`, `null`, `{"format":"apex-run"}`, `{"format":"apex-run","config":{"task":"nosuchtask"}}`,
		`{"format":"apex-run","config":{"task":"halfcheetah","hidden":[100000000,100000000]}}`,
		`{"format":"apex-run","config":{"task":"halfcheetah","budget":9223372036854775807,"horizon":-1}}`,
		`{"format":"apex-run","config":{"task":"halfcheetah","iterations":"four"}}`,
		`{"format":"apex-run","config":{"task":"halfcheetah","fixed_lambda":{"guide":-1}}}`,
		`{"format":"other","config":{}}`,
	} {
		f.Add([]byte(s))
	}

	// Two run folders: one without checkpoints, one with a complete
	// checkpoint of a HalfCheetah run with the default policy.
	root := f.TempDir()
	bare, withCkpt := filepath.Join(root, "bare"), filepath.Join(root, "ckpt")
	for _, d := range []string{bare, withCkpt} {
		if err := prepareFolder(d, false); err != nil {
			f.Fatal(err)
		}
	}
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		f.Fatal(err)
	}
	cp := checkpointDir(withCkpt, 0)
	if err := os.MkdirAll(cp, 0o755); err != nil {
		f.Fatal(err)
	}
	p := NewPolicy(task.ObsDim(), task.ActLow, task.ActHigh, nil, rand.NewPCG(1, 2))
	if err := p.Save(filepath.Join(cp, PolicyFile)); err != nil {
		f.Fatal(err)
	}
	if err := writeJSON(filepath.Join(cp, stateFile), runState{Format: stateFormat, Iteration: 0, Rows: []Metrics{{}}}); err != nil {
		f.Fatal(err)
	}
	again := filepath.Join(root, "again")
	if err := prepareFolder(again, false); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too (a budget of 2^63-1 once looped for ever).
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				panic(fmt.Sprintf("loading or validating the config hangs on %q", data))
			}
		}()
		for _, d := range []string{bare, withCkpt} {
			if err := os.WriteFile(filepath.Join(d, ConfigFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := LoadRunConfig(bare)
		_, errCkpt := LoadRunConfig(withCkpt)
		if errCkpt == nil && err != nil {
			t.Fatalf("accepted beside a checkpoint (%v) but not without one: %v", c, err)
		}
		if err != nil {
			return
		}
		if err := writeConfig(again, c); err != nil {
			t.Fatalf("an accepted config cannot be written: %v", err)
		}
		back, err := LoadRunConfig(again)
		if err != nil {
			t.Fatalf("a written config cannot be read: %v", err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("write and read changed the config:\n%+v\n%+v", c, back)
		}
		// What Resume does next with it must not panic.
		_ = c.Validate()
		_ = c.WithDefaults().Validate()
		_, _ = c.PlannerConfig(0)
	})
}

// FuzzLoadState feeds loadState (a checkpoint's state.json, read when a
// run resumes) arbitrary files and checks that it never panics or hangs;
// that a state it accepts is consistent (a completed iteration ≥ 0, one
// metrics row per completed iteration) and is written back and read to the
// same JSON; and that what Resume then writes from it (metrics.csv and the
// two plots) does not panic or hang either. Its seed corpus runs in plain go
// test; make fuzz runs it for a bounded time.
func FuzzLoadState(f *testing.F) {
	one := 0.5
	for _, s := range []runState{
		{Format: stateFormat, Iteration: 0, Rows: []Metrics{{}}},
		{Format: stateFormat, Iteration: 1, Rows: []Metrics{{Iteration: 0, PolicyReturn: -3.5, PolicySuccess: &one}, {Iteration: 1, LambdaMax: 2}},
			Lambda: [][]float64{{0.1, 0.2}, {}}},
	} {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `{`, `null`,
		`{"format":"apex-run-state","iteration":9223372036854775807,"rows":[{}]}`,
		`{"format":"apex-run-state","iteration":0,"rows":[{"policy_return":1e309}]}`,
		`{"format":"apex-run-state","iteration":0,"rows":[null],"lambda":[null,[1]]}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	cfg := RunConfig{Task: "halfcheetah"}.WithDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				panic(fmt.Sprintf("loading or plotting the state hangs on %q", data))
			}
		}()
		path := filepath.Join(dir, stateFile)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := loadState(path)
		if err != nil {
			if s != nil {
				t.Fatalf("loadState returned a state with error %v", err)
			}
			return
		}
		if s.Format != stateFormat || s.Iteration < 0 || len(s.Rows) != s.Iteration+1 {
			t.Fatalf("accepted an inconsistent state: format %q, iteration %d, %d rows", s.Format, s.Iteration, len(s.Rows))
		}
		again := filepath.Join(dir, "again.json")
		if err := writeJSON(again, s); err != nil {
			t.Fatalf("an accepted state cannot be written: %v", err)
		}
		back, err := loadState(again)
		if err != nil {
			t.Fatalf("a written state cannot be read: %v", err)
		}
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(back)
		if !bytes.Equal(a, b) {
			t.Fatalf("write and read changed the state:\n%s\n%s", a, b)
		}
		// What Resume writes from the state (Run.writeTop) may fail, not panic.
		_ = MetricsCSV(s.Rows)
		_ = PlotReturns(filepath.Join(dir, "returns.png"), s.Rows, cfg)
		_ = PlotLambda(filepath.Join(dir, "lambda.png"), s.Lambda, 0.05)
	})
}
