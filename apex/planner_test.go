package apex

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// fakePlanner is the host planner dressed as a device planner: it has a
// name, Forget (recorded) and Sequences, whose elites start with marker
// (so that labels made from them are recognisable), and it can be made
// to fail as a lost device would.
type fakePlanner struct {
	*icem.Planner
	marker    float64
	made      []*icem.Problem
	forgotten map[*icem.Problem]int
	// planAfterForget counts problems planned after they were forgotten.
	planAfterForget int
	sequences       int
	failing         bool
	// maxProblems is MaxProblems (the most problems per call);
	// largestCall and maxLive the most problems one call had and the
	// most planned (holding memory) and not yet forgotten at a call.
	maxProblems, largestCall, maxLive, calls int
	planned                                  map[*icem.Problem]bool
}

func (f *fakePlanner) MaxProblems() int { return f.maxProblems }

func (f *fakePlanner) Name() string { return "fake planner" }

func (f *fakePlanner) NewProblem(seed uint64, index int) *icem.Problem {
	pr := f.Planner.NewProblem(seed, index)
	f.made = append(f.made, pr)
	return pr
}

func (f *fakePlanner) Plan(dst [][]float64, problems []*icem.Problem) (icem.Stats, error) {
	for _, pr := range problems {
		if f.forgotten[pr] > 0 {
			f.planAfterForget++
		}
	}
	if f.failing {
		return icem.Stats{}, errors.New("device lost")
	}
	f.calls++
	f.largestCall = max(f.largestCall, len(problems))
	for _, pr := range problems {
		f.planned[pr] = true
	}
	live := 0
	for pr := range f.planned {
		if f.forgotten[pr] == 0 {
			live++
		}
	}
	f.maxLive = max(f.maxLive, live)
	return f.Planner.Plan(dst, problems)
}

func (f *fakePlanner) Forget(problems ...*icem.Problem) {
	for _, pr := range problems {
		f.forgotten[pr]++
	}
}

func (f *fakePlanner) Sequences(pr *icem.Problem) (best []float64, elites [][]float64, err error) {
	f.sequences++
	nu := f.Task().Model.Nu
	for _, s := range pr.Elites() {
		s = slices.Clone(s)
		for j := range nu {
			s[j] = f.marker
		}
		elites = append(elites, s)
	}
	return slices.Clone(pr.Best()), elites, nil
}

// fakeFactory returns a PlannerFactory making fakePlanners, and the ones
// it made.
func fakeFactory(t *testing.T) (PlannerFactory, *[]*fakePlanner) {
	var made []*fakePlanner
	return func(task *batchsim.Task, cfg icem.Config) (icem.StepPlanner, error) {
		hp, err := icem.New(task, batchsim.NewCPU(1), cfg)
		if err != nil {
			return nil, err
		}
		f := &fakePlanner{Planner: hp, marker: 0.375, forgotten: map[*icem.Problem]int{}, maxProblems: 1 << 30, planned: map[*icem.Problem]bool{}}
		made = append(made, f)
		return f, nil
	}, &made
}

// checkForgotten fails unless every problem f made was forgotten exactly
// once and none was planned after it.
func checkForgotten(t *testing.T, f *fakePlanner) {
	t.Helper()
	for k, pr := range f.made {
		if n := f.forgotten[pr]; n != 1 {
			t.Fatalf("problem %d of %d forgotten %d times, want once", k, len(f.made), n)
		}
	}
	if len(f.forgotten) != len(f.made) || f.planAfterForget != 0 {
		t.Fatalf("%d problems forgotten of %d made; %d planned after being forgotten", len(f.forgotten), len(f.made), f.planAfterForget)
	}
}

// The run plans with the factory's planner (named in the config), tells it
// of every problem it is done with (the expert's after its episode, the
// relabelling ones after relabelling), and makes elite-mean labels from
// the planner's Sequences, in both relabel modes. A planner that takes at
// most 3 problems per call (MaxProblems) gets calls of 3 at most, and
// fresh relabelling forgets each call's problems before the next.
func TestPlannerFactory(t *testing.T) {
	for _, mode := range RelabelModes {
		for _, label := range LabelModes {
			t.Run(mode+"/"+label, func(t *testing.T) {
				cfg := tinyConfig()
				cfg.Relabel, cfg.Label, cfg.DAggerRollouts, cfg.PlanOn = mode, label, 2, PlanOnDevice
				factory, made := fakeFactory(t)
				r, err := Create(t.TempDir(), cfg, nil, false, OpenOptions{Planner: factory})
				if err != nil {
					t.Fatal(err)
				}
				if len(*made) != 1 {
					t.Fatalf("factory called %d times", len(*made))
				}
				f := (*made)[0]
				f.maxProblems = 3
				if r.Config.Backend != "fake planner" || r.PlannerName() != "fake planner" {
					t.Fatalf("backend %q, planner %q", r.Config.Backend, r.PlannerName())
				}
				expertDone := -1
				err = r.Train(context.Background(), RunOptions{StopAfter: 1, Workers: 1, Progress: func(e Event) {
					if e.Stage == StagePolicy && expertDone < 0 {
						expertDone = len(f.forgotten)
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				if expertDone != 1 {
					t.Fatalf("%d problems forgotten after the expert rollout, want its one", expertDone)
				}
				pairs := r.Rows()[0].DAggerPairs
				wantMade := 1 + cfg.DAggerRollouts
				if mode == RelabelFresh {
					wantMade = 1 + pairs
				}
				if len(f.made) != wantMade || pairs != 2*cfg.EpisodeLen {
					t.Fatalf("%d problems made, want %d (%d DAgger pairs)", len(f.made), wantMade, pairs)
				}
				checkForgotten(t, f)
				if f.largestCall > 3 || f.maxLive > 3 {
					t.Fatalf("a call of %d problems with %d not forgotten, want at most MaxProblems = 3", f.largestCall, f.maxLive)
				}
				if mode == RelabelFresh && f.calls < 1+(pairs+2)/3 {
					t.Fatalf("%d Plan calls for %d fresh problems in calls of at most 3 (and the expert's)", f.calls, pairs)
				}
				// Elite-mean labels are the mean of Sequences' elites (the
				// marker), every one; no other action is.
				ds := r.Dataset()
				for k := range ds.NumRollouts() {
					ro := ds.Rollout(k)
					marked := 0
					for _, a := range ro.Act {
						if a == f.marker {
							marked++
						}
					}
					want := 0
					if ro.Prov.Source == SourceDAgger && label == LabelEliteMean {
						want = len(ro.Act)
					}
					if marked != want {
						t.Fatalf("%s rollout %d: %d of %d actions from Sequences' elites, want %d", ro.Prov.Source, ro.Prov.Episode, marked, len(ro.Act), want)
					}
				}
				wantSeq := 0
				if label == LabelEliteMean {
					wantSeq = pairs
				}
				if f.sequences != wantSeq {
					t.Fatalf("Sequences called %d times, want %d", f.sequences, wantSeq)
				}
			})
		}
	}
}

// A planner error in the middle of an iteration (a lost device) stops the
// run with an error naming the iteration and the stage; the run folder
// keeps the complete iterations, every problem made is forgotten, and
// Resume (planning where config.json says) continues to the same results
// as a run without the error.
func TestPlannerErrorResumes(t *testing.T) {
	cfg := tinyConfig()
	cfg.Iterations, cfg.DAggerRollouts, cfg.PlanOn = 2, 2, PlanOnDevice
	ctx := context.Background()
	factory, _ := fakeFactory(t)
	dirA := t.TempDir()
	a, err := Create(dirA, cfg, nil, false, OpenOptions{Planner: factory})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Train(ctx, RunOptions{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	want := metricsWithoutTime(t, dirA)

	for _, stage := range []string{StageExpert, StageRelabel} {
		t.Run(stage, func(t *testing.T) {
			factory, made := fakeFactory(t)
			dir := filepath.Join(t.TempDir(), "run")
			r, err := Create(dir, cfg, nil, false, OpenOptions{Planner: factory})
			if err != nil {
				t.Fatal(err)
			}
			f := (*made)[0]
			err = r.Train(ctx, RunOptions{Workers: 1, Progress: func(e Event) {
				if e.Iteration == 1 && e.Stage == stage {
					f.failing = true
				}
			}})
			if err == nil || !strings.Contains(err.Error(), "iteration 1: "+stage) || !strings.Contains(err.Error(), "device lost") {
				t.Fatalf("error %v: want iteration 1, stage %s and the planner's error", err, stage)
			}
			if r.Completed() != 1 {
				t.Fatalf("%d complete iterations after the error, want 1", r.Completed())
			}
			checkForgotten(t, f)

			// config.json says device: a resume needs the device planner.
			if _, err := Resume(dir, batchsim.NewCPU(1)); err == nil || !strings.Contains(err.Error(), "plan_on device") {
				t.Fatalf("resume without the device planner: %v", err)
			}
			r, err = Resume(dir, nil, OpenOptions{Planner: factory})
			if err != nil {
				t.Fatal(err)
			}
			if r.Completed() != 1 || r.Config.PlanOn != PlanOnDevice || len(*made) != 2 {
				t.Fatalf("resumed at %d complete iterations, plan_on %q, %d planners made", r.Completed(), r.Config.PlanOn, len(*made))
			}
			if err := r.Train(ctx, RunOptions{Workers: 1}); err != nil {
				t.Fatal(err)
			}
			checkForgotten(t, (*made)[1])
			got := metricsWithoutTime(t, dir)
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for k := range want {
				if !slices.Equal(got[k], want[k]) {
					t.Fatalf("row %d after the error and resume:\n%v\nwant\n%v", k, got[k], want[k])
				}
			}
		})
	}
}

// plan_on is host by default and in config.json, an older config.json
// without it loads as host, a bad value is refused by name, and a
// device-planned run is a group of its own in comparisons.
func TestPlanOnConfig(t *testing.T) {
	cfg := tinyConfig().WithDefaults()
	if cfg.PlanOn != PlanOnHost {
		t.Fatalf("default plan_on %q", cfg.PlanOn)
	}
	bad := cfg
	bad.PlanOn = "tpu"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `plan_on "tpu"`) {
		t.Fatalf("plan_on tpu: %v", err)
	}
	dir := t.TempDir()
	if _, err := Create(dir, tinyConfig(), batchsim.NewCPU(1), false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Format string         `json:"format"`
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Config["plan_on"] != PlanOnHost {
		t.Fatalf("config.json: %s", b)
	}
	delete(raw.Config, "plan_on")
	if b, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadRunConfig(dir); err != nil || c.PlanOn != PlanOnHost {
		t.Fatalf("config.json without plan_on: %q, %v", c.PlanOn, err)
	}
	if r, err := Resume(dir, batchsim.NewCPU(1)); err != nil || r.Config.PlanOn != PlanOnHost {
		t.Fatalf("resume without plan_on: %v", err)
	}
	dev := cfg
	dev.PlanOn = PlanOnDevice
	if _, err := Create(t.TempDir(), dev, batchsim.NewCPU(1), false); err == nil || !strings.Contains(err.Error(), "plan_on device") {
		t.Fatalf("plan_on device without a device planner: %v", err)
	}
	if g := GroupName(dev); g != "apex plan_on=device" || GroupName(cfg) != "apex" {
		t.Fatalf("group names %q, %q", g, GroupName(cfg))
	}
}
