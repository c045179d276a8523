package apex

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// tinyConfig is an APEX run small enough for unit tests: 8-step episodes,
// budget 20 (one CEM iteration), horizon 4, a 8×8 policy, 4 gradient steps.
func tinyConfig() RunConfig {
	return RunConfig{Task: "halfcheetah", Seed: 7, Iterations: 3, EpisodeLen: 8, Budget: 20, Horizon: 4,
		Hidden: []int{8, 8}, TrainSteps: 4, BatchSize: 16, EvalEpisodes: 2}
}

func TestSwitches(t *testing.T) {
	cases := []struct {
		method   Method
		ablation Ablation
		want     Switches
	}{
		{MethodAPEX, AblationNone, Switches{Guided: true, DAgger: true}},
		{MethodICEMBC, AblationNone, Switches{}},
		{MethodICEMDAgger, AblationNone, Switches{DAgger: true}},
		{MethodICEMPiGPS, AblationNone, Switches{Guided: true, LambdaFixed: true}},
		{MethodAPEX, AblationLambdaFixed, Switches{Guided: true, DAgger: true, LambdaFixed: true}},
		{MethodAPEX, AblationNoDAgger, Switches{Guided: true}},
		{MethodAPEX, AblationNoWarmStart, Switches{Guided: true, DAgger: true, NoWarmStart: true}},
		{MethodAPEX, AblationNoPolicySamples, Switches{Guided: true, DAgger: true, NoPolicySample: true}},
	}
	for _, c := range cases {
		name := string(c.method) + "/" + string(c.ablation)
		cfg := RunConfig{Task: "halfcheetah", Method: c.method, Ablation: c.ablation}.WithDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := cfg.Switches(); got != c.want {
			t.Errorf("%s: switches %+v, want %+v", name, got, c.want)
		}
		pc, err := cfg.PlannerConfig(0.25)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pc.NoWarmStart != c.want.NoWarmStart || pc.NoPolicySample != c.want.NoPolicySample {
			t.Errorf("%s: planner warm start off %v, policy sample off %v", name, pc.NoWarmStart, pc.NoPolicySample)
		}
		wantLambda := icem.LambdaAdaptive
		if c.want.LambdaFixed {
			wantLambda = icem.LambdaFixed
			l := DefaultFixedLambda("halfcheetah")
			if pc.FixedGuide != l.Guide || pc.FixedNorm != l.Norm || pc.FixedGuide <= 0 {
				t.Errorf("%s: fixed λ (%v, %v), want %+v", name, pc.FixedGuide, pc.FixedNorm, l)
			}
		}
		if pc.Lambda != wantLambda {
			t.Errorf("%s: λ mode %v, want %v", name, pc.Lambda, wantLambda)
		}
		if pc.Population != 25 || pc.Iterations != 2 || pc.Beta != 0.25 {
			t.Errorf("%s: budget 45 gave N %d × I %d, β %v", name, pc.Population, pc.Iterations, pc.Beta)
		}
	}
	for _, bad := range []RunConfig{
		{Task: "halfcheetah", Method: "sac"},
		{Task: "halfcheetah", Method: MethodICEMBC, Ablation: AblationNoDAgger},
		{Task: "halfcheetah", Ablation: "no-brain"},
		{Task: "halfcheetah", Relabel: "parallel"},
		{Task: "halfcheetah", Relabel: "batched"},
		{Task: "halfcheetah", Label: "median"},
		{Task: "halfcheetah", Budget: 5},
	} {
		if err := bad.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// trajCounter is a TrajWriter that writes a marker file and counts calls.
type trajCounter struct{ names []string }

func (c *trajCounter) write(path string, task *batchsim.Task, rec *TrajRecord) error {
	if len(rec.States) != len(rec.Actions)+1 || len(rec.Rewards) != len(rec.Actions) {
		return errors.New("inconsistent record")
	}
	c.names = append(c.names, filepath.Base(path))
	return os.WriteFile(path, []byte(rec.Kind), 0o644)
}

func TestDAggerAddsRelabelledPolicyStates(t *testing.T) {
	for _, mode := range RelabelModes {
		for _, label := range LabelModes {
			t.Run(mode+"/"+label, func(t *testing.T) { testDAgger(t, mode, label) })
		}
	}
}

// testDAgger runs iteration 0 with two DAgger rollouts and checks that the
// data set holds the policy's states with the relabelling planner's actions.
func testDAgger(t *testing.T, mode, label string) {
	cfg := tinyConfig()
	cfg.Relabel, cfg.Label, cfg.DAggerRollouts = mode, label, 2
	r, err := Create(t.TempDir(), cfg, batchsim.NewCPU(1), false)
	if err != nil {
		t.Fatal(err)
	}
	// Snapshot the policy that rolls out for DAgger (after the first
	// training call of iteration 0).
	var rolled *Policy
	opt := RunOptions{StopAfter: 1, Progress: func(e Event) {
		if e.Stage == StagePolicy && rolled == nil {
			rolled = r.Policy().Clone()
		}
	}}
	if err := r.Train(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	if rolled == nil {
		t.Fatal("no policy rollout reported")
	}
	ds := r.Dataset()
	if ds.NumRollouts() != 3 {
		t.Fatalf("%d rollouts, want 1 expert + 2 DAgger", ds.NumRollouts())
	}
	exp := ds.Rollout(0)
	if exp.Prov.Source != SourceExpert {
		t.Fatalf("provenance %+v", exp.Prov)
	}
	if err := r.planner.SetPolicy(rolled); err != nil {
		t.Fatal(err)
	}
	m, nu := r.Task().Model, r.Task().Model.Nu
	seed := SubSeed(cfg.Seed, streamPlanRelabel, 0, 0)
	var allPolicy, allLabels []float64
	for e := range 2 {
		dag := ds.Rollout(1 + e)
		if dag.Prov.Source != SourceDAgger || dag.Prov.Iteration != 0 || dag.Prov.Episode != e {
			t.Fatalf("DAgger rollout %d: provenance %+v", e, dag.Prov)
		}
		// The DAgger observations are the states the policy visits.
		env := batchsim.NewEnv(r.Task())
		env.Reset(streamRand(cfg.Seed, streamResetPolicy, 0, e))
		pe, err := RolloutPolicy(context.Background(), rolled, env, cfg.EpisodeLen)
		if err != nil {
			t.Fatal(err)
		}
		if !equalBits(flatten(pe.Obs), dag.Obs) {
			t.Fatalf("rollout %d: DAgger observations are not those of the policy rollout", e)
		}
		if equalBits(dag.Obs[:r.Task().ObsDim()], exp.Obs[:r.Task().ObsDim()]) {
			t.Fatal("DAgger rollout starts at the expert's state")
		}
		// Its labels are those of the planner, planned here by hand: with
		// memory, one problem (index e) follows the rollout step by step,
		// alone, as the paper's sequential DAgger; fresh, a new problem
		// per state.
		want := make([]float64, len(pe.Actions)*nu)
		var pr *icem.Problem
		for k, s := range pe.States[:len(pe.Actions)] {
			if mode == RelabelFresh {
				pr = r.planner.NewProblem(seed, e*(cfg.EpisodeLen+1)+k)
			} else if k == 0 {
				pr = r.planner.NewProblem(seed, e)
			}
			pr.SetState(s[:m.Nq], s[m.Nq:], pe.Params)
			dst := want[k*nu : (k+1)*nu]
			if _, err := r.planner.Plan([][]float64{dst}, []*icem.Problem{pr}); err != nil {
				t.Fatal(err)
			}
			if label == LabelEliteMean {
				el := pr.Elites()
				for j := range dst {
					var s float64
					for _, x := range el {
						s += x[j]
					}
					dst[j] = s / float64(len(el))
				}
			}
		}
		if !equalBits(want, dag.Act) {
			t.Fatalf("rollout %d: DAgger labels are not the relabelling planner's actions", e)
		}
		allPolicy = append(allPolicy, flatten(pe.Actions)...)
		allLabels = append(allLabels, dag.Act...)
	}
	if equalBits(allPolicy, allLabels) {
		t.Fatal("DAgger labels equal the policy's own actions")
	}
	row := r.Rows()[0]
	if row.DAggerPairs != 2*cfg.EpisodeLen || row.DatasetPairs != 3*cfg.EpisodeLen || row.DatasetRollouts != 3 {
		t.Fatalf("metrics row %+v", row)
	}
}

// The DAgger rollouts default to the expert rollouts of the task: Fetch 25,
// Door 10, HalfCheetah and Humanoid 1.
func TestDAggerRolloutsDefaultToExpertRollouts(t *testing.T) {
	for task, n := range map[string]int{"halfcheetah": 1, "humanoidstandup": 1, "fetchpickplace": 25, "door": 10} {
		c := RunConfig{Task: task}.WithDefaults()
		if c.ExpertRollouts != n || c.DAggerRollouts != n {
			t.Errorf("%s: %d expert and %d DAgger rollouts, want %d", task, c.ExpertRollouts, c.DAggerRollouts, n)
		}
	}
	if c := (RunConfig{Task: "door", ExpertRollouts: 3}).WithDefaults(); c.DAggerRollouts != 3 {
		t.Errorf("door with 3 expert rollouts: %d DAgger rollouts", c.DAggerRollouts)
	}
}

func TestNoDAggerKeepsGradientSteps(t *testing.T) {
	for _, c := range []struct {
		method   Method
		ablation Ablation
	}{{MethodAPEX, AblationNoDAgger}, {MethodICEMBC, AblationNone}} {
		cfg := tinyConfig()
		cfg.Method, cfg.Ablation = c.method, c.ablation
		r, err := Create(t.TempDir(), cfg, batchsim.NewCPU(1), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Train(context.Background(), RunOptions{StopAfter: 1}); err != nil {
			t.Fatal(err)
		}
		ds := r.Dataset()
		for k := range ds.NumRollouts() {
			if ds.Rollout(k).Prov.Source != SourceExpert {
				t.Errorf("%s %s: rollout %d from %v", c.method, c.ablation, k, ds.Rollout(k).Prov.Source)
			}
		}
		if got := r.Rows()[0].GradientSteps; got != 2*cfg.TrainSteps {
			t.Errorf("%s %s: %d gradient steps, want %d", c.method, c.ablation, got, 2*cfg.TrainSteps)
		}
	}
}

// metricsWithoutTime reads a run's metrics.csv without its wall-clock
// columns.
func metricsWithoutTime(t *testing.T, dir string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	header, recs, err := ReadMetricsCSV(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(header, MetricsHeader) {
		t.Fatalf("header %v", header)
	}
	var out [][]string
	for _, rec := range recs {
		var keep []string
		for k, v := range rec {
			if !IsWallClockColumn(header[k]) {
				keep = append(keep, v)
			}
		}
		out = append(out, keep)
	}
	return out
}

func TestResumeMatchesUninterrupted(t *testing.T) {
	cfg := tinyConfig()
	ctx := context.Background()

	dirA := t.TempDir()
	a, err := Create(dirA, cfg, batchsim.NewCPU(1), false)
	if err != nil {
		t.Fatal(err)
	}
	var trajA trajCounter
	if err := a.Train(ctx, RunOptions{SaveTraj: trajA.write}); err != nil {
		t.Fatal(err)
	}
	want := metricsWithoutTime(t, dirA)
	if len(want) != cfg.Iterations {
		t.Fatalf("%d rows, want %d", len(want), cfg.Iterations)
	}
	wantNames := []string{"expert-000-0.traj", "policy-000.traj", "expert-001-0.traj", "policy-001.traj", "expert-002-0.traj", "policy-002.traj"}
	if !slices.Equal(trajA.names, wantNames) {
		t.Fatalf("trajectories %v, want %v", trajA.names, wantNames)
	}

	// The same run, interrupted in every way a kill can interrupt it.
	dirB := filepath.Join(t.TempDir(), "run")
	b, err := Create(dirB, cfg, batchsim.NewCPU(2), false) // other worker count: same results
	if err != nil {
		t.Fatal(err)
	}
	// 1. Stopped between iterations.
	if err := b.Train(ctx, RunOptions{StopAfter: 1}); err != nil {
		t.Fatal(err)
	}
	// 2. Cancelled in the middle of iteration 1's relabelling, and again
	// in the middle of its training.
	for _, stage := range []string{StageRelabel, StageTrain} {
		b, err = Resume(dirB, batchsim.NewCPU(1))
		if err != nil {
			t.Fatal(err)
		}
		if b.Completed() != 1 {
			t.Fatalf("resumed at %d complete iterations, want 1", b.Completed())
		}
		cctx, cancel := context.WithCancel(ctx)
		err = b.Train(cctx, RunOptions{Progress: func(e Event) {
			if e.Iteration == 1 && e.Stage == stage && e.Step > 0 {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled in %s: error %v", stage, err)
		}
	}
	// 3. Killed while writing iteration 2's checkpoint: its trainer and
	// data set are on disk but not its state.json, and metrics.csv has a
	// stale extra row.
	b, err = Resume(dirB, batchsim.NewCPU(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Train(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(checkpointDir(dirB, 2), stateFile)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dirB, MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("99,1,2,,3\n")
	f.Close()
	b, err = Resume(dirB, batchsim.NewCPU(1))
	if err != nil {
		t.Fatal(err)
	}
	if b.Completed() != 2 || len(metricsWithoutTime(t, dirB)) != 2 {
		t.Fatalf("after losing iteration 2's state: %d complete, metrics.csv has %d rows", b.Completed(), len(metricsWithoutTime(t, dirB)))
	}
	if err := b.Train(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}

	got := metricsWithoutTime(t, dirB)
	if len(got) != len(want) {
		t.Fatalf("%d rows after resuming, want %d", len(got), len(want))
	}
	for k := range want {
		if !slices.Equal(got[k], want[k]) {
			t.Errorf("row %d:\n got  %v\n want %v", k, got[k], want[k])
		}
	}
	pa, _ := os.ReadFile(filepath.Join(dirA, PolicyFile))
	pb, _ := os.ReadFile(filepath.Join(dirB, PolicyFile))
	if len(pa) == 0 || !bytes.Equal(pa, pb) {
		t.Error("policy.json differs between the resumed and the uninterrupted run")
	}
	for _, p := range PlotFiles {
		if st, err := os.Stat(filepath.Join(dirB, p)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", p, err)
		}
	}
	// No temporary files left behind by the atomic writes.
	filepath.WalkDir(dirB, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file %s left", path)
		}
		return nil
	})
}

func TestCreateRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, tinyConfig(), batchsim.NewCPU(1), true); err == nil {
		t.Fatal("Create overwrote a folder that is not a run")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal("user file removed")
	}
	run := filepath.Join(dir, "run")
	if _, err := Create(run, tinyConfig(), batchsim.NewCPU(1), false); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(run, tinyConfig(), batchsim.NewCPU(1), false); err == nil {
		t.Fatal("Create reused a run folder without overwrite")
	}
	if _, err := Create(run, tinyConfig(), batchsim.NewCPU(1), true); err != nil {
		t.Fatalf("overwrite a run folder: %v", err)
	}
	got, err := LoadRunConfig(run)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seed != 7 || got.Version != Version || got.TrainSteps != 4 || got.Method != MethodAPEX || got.Backend == "" {
		t.Fatalf("config.json holds %+v", got)
	}
}

func TestEvalPolicyDeterministic(t *testing.T) {
	task, err := batchsim.NewTask("halfcheetah")
	if err != nil {
		t.Fatal(err)
	}
	pol := NewPolicy(task.ObsDim(), task.ActLow, task.ActHigh, []int{16}, rand.NewPCG(3, 1))
	res1, err := EvalPolicy(context.Background(), pol, task, 5, 20, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := EvalPolicy(context.Background(), pol, task, 5, 20, 5, 3) // the same on 3 workers
	if err != nil {
		t.Fatal(err)
	}
	if !equalBits(res1.Returns, res2.Returns) || res1.Steps != 100 || res1.CI95 != res2.CI95 {
		t.Fatalf("returns %v vs %v, %d steps", res1.Returns, res2.Returns, res1.Steps)
	}
	if res1.Returns[0] == res1.Returns[1] {
		t.Fatal("two evaluation episodes from the same start state")
	}
	// 95 % CI of the mean of 5: t(0.975, 4) = 2.7764451 times s/√5.
	if want := 2.7764451 * res1.StdReturn / math.Sqrt(5); math.Abs(res1.CI95-want) > 1e-6*want || !(want > 0) {
		t.Fatalf("CI95 %v, want %v", res1.CI95, want)
	}
	if !(res1.ActionsPerSec > 0) || !(res1.EnvStepsPerSec > 0) || res1.ActionsPerSec < res1.EnvStepsPerSec {
		t.Fatalf("rates: %v actions/s, %v env steps/s", res1.ActionsPerSec, res1.EnvStepsPerSec)
	}
}

func TestStatsAndCI95(t *testing.T) {
	m, s := stats([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(s-math.Sqrt(5.0/3)) > 1e-15 {
		t.Fatalf("stats: mean %v, std %v, want 2.5, %v", m, s, math.Sqrt(5.0/3))
	}
	// t(0.975, 9) = 2.2621572: a textbook value.
	x := []float64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	_, s = stats(x)
	if got, want := ci95(x), 2.2621572*s/math.Sqrt(10); math.Abs(got-want) > 1e-6*want {
		t.Fatalf("ci95 %v, want %v", got, want)
	}
	if ci95([]float64{7}) != 0 || ci95(nil) != 0 {
		t.Fatal("ci95 of fewer than two values is not 0")
	}
}

func TestVerdict(t *testing.T) {
	row := func(i int, mean, ci float64) Metrics {
		return Metrics{Iteration: i, PolicyReturn: mean, PolicyReturnCI95: ci}
	}
	up := []Metrics{row(0, 10, 5), row(1, 40, 5), row(2, 80, 10), row(3, 90, 10), row(4, 95, 10), row(5, 100, 10)}
	if v := Verdict(up); !strings.Contains(v, "learned") || !strings.Contains(v, "iterations 4–5") {
		t.Errorf("rising curve: %q", v)
	}
	flat := []Metrics{row(0, 10, 30), row(1, 20, 30), row(2, 15, 30)}
	if v := Verdict(flat); !strings.Contains(v, "not distinguishable") {
		t.Errorf("flat curve: %q", v)
	}
	down := []Metrics{row(0, 100, 5), row(1, 10, 5)}
	if v := Verdict(down); !strings.Contains(v, "worse") {
		t.Errorf("falling curve: %q", v)
	}
	if Verdict(up[:1]) != "" {
		t.Error("verdict from one row")
	}
}

// A run folder made by apex 0.1.0 is refused with the reason.
func TestResumeRefusesOldVersion(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, tinyConfig(), batchsim.NewCPU(1), false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Replace(b, []byte(`"version": "`+Version+`"`), []byte(`"version": "0.1.0"`), 1)
	if bytes.Equal(old, b) {
		t.Fatalf("config.json has no version field: %s", b)
	}
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Resume(dir, batchsim.NewCPU(1))
	if err == nil || !strings.Contains(err.Error(), "0.1.0") || !strings.Contains(err.Error(), "relabels") {
		t.Fatalf("resume of a 0.1.0 run folder: %v", err)
	}
}

// Sizes that cannot fit are refused before anything is allocated, and a
// resumed run cannot be cut below its complete iterations.
func TestRunConfigLimits(t *testing.T) {
	for _, c := range []RunConfig{
		{Task: "halfcheetah", Hidden: []int{100000000}},
		{Task: "halfcheetah", Hidden: make([]int, MaxHiddenLayers+1)},
		{Task: "halfcheetah", Budget: math.MaxInt},
		{Task: "halfcheetah", Iterations: MaxIterations + 1},
		{Task: "halfcheetah", BatchSize: MaxBatchSize + 1},
		{Task: "halfcheetah", EvalEpisodes: MaxRollouts + 1},
	} {
		if err := c.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	cfg := tinyConfig()
	cfg.Iterations = 2
	dir := t.TempDir()
	r, err := Create(dir, cfg, batchsim.NewCPU(1), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), RunOptions{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetIterations(1); err == nil || !strings.Contains(err.Error(), "2 complete iterations") {
		t.Fatalf("cutting a 2-iteration run to 1: %v", err)
	}
	if err := r.SetIterations(3); err != nil || r.Config.Iterations != 3 {
		t.Fatalf("extending to 3: %v", err)
	}
}

// A checkpoint whose state.json claims another iteration (or iteration −1)
// is refused on resume.
func TestResumeRefusesInconsistentState(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig()
	cfg.Iterations = 1
	r, err := Create(dir, cfg, batchsim.NewCPU(1), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background(), RunOptions{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(checkpointDir(dir, 0), stateFile)
	for _, body := range []string{
		`{"format":"apex-run-state","iteration":-1,"rows":[]}`,
		`{"format":"apex-run-state","iteration":1,"rows":[{},{}]}`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Resume(dir, batchsim.NewCPU(1)); err == nil {
			t.Errorf("resume with state %s: no error", body)
		}
	}
}
