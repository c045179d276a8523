package icem

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// Tests on the real engine and CPU evaluator (package batchsim).

// pointMassXML: a 1 kg slider along x driven by a motor with force ±2 N, no
// gravity or contact: the point-mass task of MuJoCo MPC's planner tests.
const pointMassXML = `<mujoco>
  <option timestep="0.01" gravity="0 0 0"/>
  <worldbody>
    <body name="mass">
      <joint name="x" type="slide" axis="1 0 0" damping="0.5"/>
      <inertial pos="0 0 0" mass="1" diaginertia="1e-2 1e-2 1e-2"/>
    </body>
  </worldbody>
  <actuator><motor joint="x" gear="2" ctrlrange="-1 1" ctrllimited="true"/></actuator>
</mujoco>`

// pointMassTask: reach x = 0.5 and stop there; reward = −cost.
func pointMassTask(t *testing.T) *batchsim.Task {
	t.Helper()
	m, err := batchsim.LoadXML([]byte(pointMassXML), "pointmass.xml")
	if err != nil {
		t.Fatalf("LoadXML: %v", err)
	}
	cost := []batchsim.Term{
		{Kind: batchsim.TermQposSqErr, I: 0, X: 0.5, W: 1},
		{Kind: batchsim.TermQvelSq, W: 0.01},
	}
	reward := make([]batchsim.Term, len(cost))
	for i, c := range cost {
		c.W = -c.W
		reward[i] = c
	}
	return &batchsim.Task{
		Name: "pointmass", Model: m, FrameSkip: 5, EpisodeLen: 60,
		ActLow: []float64{-1}, ActHigh: []float64{1}, CtrlOffset: []float64{0}, CtrlScale: []float64{1},
		Obs:  []batchsim.ObsSegment{{Kind: batchsim.ObsQpos, From: 0, To: 1}, {Kind: batchsim.ObsQvel, From: 0, To: 1}},
		Cost: cost, Reward: reward,
	}
}

// TestRunEpisodePointMass: the MPC loop drives the point mass to its target
// and reports every step.
func TestRunEpisodePointMass(t *testing.T) {
	task := pointMassTask(t)
	ev := batchsim.NewCPU(2)
	pl, err := New(task, ev, Config{Horizon: 15, Beta: 2})
	if err != nil {
		t.Fatal(err)
	}
	env := batchsim.NewEnv(task)
	env.Reset(rand.New(rand.NewPCG(1, 1)))
	var seen []int
	ep, err := RunEpisode(context.Background(), pl, env, EpisodeOptions{Seed: 3,
		Progress: func(p Progress) { seen = append(seen, p.Step) },
		Success:  func(e *batchsim.Env) bool { return math.Abs(e.Data.Qpos[0]-0.5) < 0.05 }})
	if err != nil {
		t.Fatal(err)
	}
	n := task.EpisodeLen
	if len(ep.Rewards) != n || len(ep.Actions) != n || len(ep.States) != n+1 || len(ep.Lambda) != n || len(seen) != n || seen[n-1] != n {
		t.Fatalf("recorded %d rewards, %d actions, %d states, %d λ, %d progress calls; want %d steps",
			len(ep.Rewards), len(ep.Actions), len(ep.States), len(ep.Lambda), len(seen), n)
	}
	x, v := env.Data.Qpos[0], env.Data.Qvel[0]
	t.Logf("start x %.3f, final x %.4f v %.4f, return %.3f, %.0f steps/s, %.0f sim steps/s", ep.States[0][0], x, v, ep.Return, ep.StepsPerSec, ep.SimStepsPerSec)
	if math.Abs(x-0.5) > 0.05 || math.Abs(v) > 0.2 || ep.Success == nil || !*ep.Success {
		t.Errorf("final x = %.3f, v = %.3f: want x within 0.05 of 0.5 and |v| < 0.2", x, v)
	}
	sum := 0.0
	for _, r := range ep.Rewards {
		sum += r
	}
	if math.Abs(sum-ep.Return) > 1e-9*math.Abs(sum) || ep.StepsPerSec <= 0 || ep.Simulated != n*(43+32+25) {
		t.Errorf("return %v vs Σ rewards %v, %v steps/s, %d simulated", ep.Return, sum, ep.StepsPerSec, ep.Simulated)
	}
	if ep.States[n][0] != x {
		t.Errorf("last recorded state %v, env at %v", ep.States[n][0], x)
	}
}

// forgetful is a StepPlanner that records the problems it was told to
// forget.
type forgetful struct {
	*Planner
	made, forgotten []*Problem
}

func (f *forgetful) NewProblem(seed uint64, index int) *Problem {
	pr := f.Planner.NewProblem(seed, index)
	f.made = append(f.made, pr)
	return pr
}

func (f *forgetful) Forget(problems ...*Problem) { f.forgotten = append(f.forgotten, problems...) }

// TestRunEpisodeForgets: a planner that keeps memory per problem
// (Forgetter) is told to forget the episode's problem when RunEpisode
// returns, also when it stops early.
func TestRunEpisodeForgets(t *testing.T) {
	task := pointMassTask(t)
	pl, err := New(task, batchsim.NewCPU(1), Config{Horizon: 5, Population: 8, Iterations: 1, Elites: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, cancel := range []bool{false, true} {
		f := &forgetful{Planner: pl}
		env := batchsim.NewEnv(task)
		env.Reset(rand.New(rand.NewPCG(1, 1)))
		ctx, stop := context.WithCancel(context.Background())
		if cancel {
			stop()
		}
		_, err := RunEpisode(ctx, f, env, EpisodeOptions{Seed: 3, Steps: 2})
		stop()
		if (err != nil) != cancel {
			t.Fatalf("cancelled %v: error %v", cancel, err)
		}
		if len(f.made) != 1 || len(f.forgotten) != 1 || f.forgotten[0] != f.made[0] {
			t.Errorf("cancelled %v: made %d problems, forgot %d, want the one made", cancel, len(f.made), len(f.forgotten))
		}
	}
}

// netPolicy adapts a batchsim.PolicyNet to Policy.
type netPolicy struct{ net *batchsim.PolicyNet }

func (p netPolicy) Act(obs, dst []float64) {
	w := p.net.MaxWidth()
	p.net.Act(obs, dst, &[2][]float64{make([]float64, w), make([]float64, w)})
}
func (p netPolicy) Net() *batchsim.PolicyNet { return p.net }

// linearPolicy returns a network a = tanh(k·x − d·v) scaled to [−1, 1] for
// the point mass, a feedback controller toward x = 0.
func linearPolicy() netPolicy {
	return netPolicy{&batchsim.PolicyNet{
		ObsMean: []float64{0, 0}, ObsStd: []float64{1, 1},
		Layers: []batchsim.Dense{{In: 2, Out: 1, W: []float64{-3, -1}, B: []float64{0}}},
		ActLow: []float64{-1}, ActHigh: []float64{1},
	}}
}

// TestPolicyRolloutAndGuidance: with the real engine, the warm start is π's
// own rollout, the CPU evaluator's guidance cost of that sample is 0, and λ
// adapts.
func TestPolicyRolloutAndGuidance(t *testing.T) {
	task := pointMassTask(t)
	pi := linearPolicy()
	pl, err := New(task, batchsim.NewCPU(1), Config{Horizon: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.SetPolicy(pi); err != nil {
		t.Fatal(err)
	}
	pr := pl.NewProblem(1, 0)
	pr.SetState([]float64{0.3}, []float64{-0.2}, nil)

	// π's rollout, step by step with an Env.
	env := batchsim.NewEnv(task)
	env.SetState(pr.Qpos, pr.Qvel)
	want := make([]float64, 10)
	obs := make([]float64, 2)
	for k := range want {
		env.Observe(obs)
		pi.Act(obs, want[k:k+1])
		if _, _, err := env.Act(want[k : k+1]); err != nil {
			t.Fatal(err)
		}
	}
	checked := false
	pl.hook = func(stage string, i int, p *Problem) {
		if stage == "built" && i == 0 {
			if !slices.Equal(p.mean, want) || !slices.Equal(p.piRoll, want) {
				t.Errorf("warm start μ = %v, π's rollout %v", p.mean, want)
			}
		}
		if stage == "ranked" && i == 0 {
			for s := 0; s < pl.pops[0]; s++ {
				if slices.Equal(pl.seq(p, s), want) {
					checked = true
					if p.costG[s] > 1e-20 {
						t.Errorf("guidance cost of π's own rollout %v, want 0", p.costG[s])
					}
				} else if p.costG[s] <= 0 {
					t.Errorf("sample %d: guidance cost %v, want > 0", s, p.costG[s])
				}
			}
		}
	}
	st, err := pl.Plan([][]float64{{0}}, []*Problem{pr})
	if err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Error("π's rollout is not among the samples")
	}
	if l := st.LambdaOf(0, 0); !(l.Guide > 0 && l.Norm > 0) {
		t.Errorf("λ = %+v, want both > 0 on a non-flat cost", l)
	}
}

// TestCPUDeterminism: HalfCheetah on the CPU evaluator gives the same actions
// on 1 and 2 evaluator and planner workers, with and without a policy.
func TestCPUDeterminism(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates HalfCheetah")
	}
	task, err := batchsim.HalfCheetah()
	if err != nil {
		t.Fatalf("HalfCheetah task: %v", err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	var starts [][2][]float64
	env := batchsim.NewEnv(task)
	for range 3 {
		env.Reset(rng)
		starts = append(starts, [2][]float64{slices.Clone(env.Data.Qpos), slices.Clone(env.Data.Qvel)})
	}
	nobs := task.ObsDim()
	net := &batchsim.PolicyNet{ObsMean: make([]float64, nobs), ObsStd: make([]float64, nobs),
		ActLow: task.ActLow, ActHigh: task.ActHigh}
	l := batchsim.Dense{In: nobs, Out: task.Model.Nu, W: make([]float64, nobs*task.Model.Nu), B: make([]float64, task.Model.Nu)}
	for i := range net.ObsStd {
		net.ObsStd[i] = 1
	}
	for i := range l.W {
		l.W[i] = 0.3 * rng.NormFloat64()
	}
	net.Layers = []batchsim.Dense{l}
	run := func(evalW, planW int, policy bool) [][]float64 {
		pl, err := New(task, batchsim.NewCPU(evalW), Config{Horizon: 8, Population: 20, Iterations: 2, Beta: task.Beta, Workers: planW})
		if err != nil {
			t.Fatal(err)
		}
		if policy {
			if err := pl.SetPolicy(netPolicy{net}); err != nil {
				t.Fatal(err)
			}
		}
		var probs []*Problem
		for k, s := range starts {
			pr := pl.NewProblem(9, k)
			pr.SetState(s[0], s[1], nil)
			probs = append(probs, pr)
		}
		return plan(t, pl, probs, 2)
	}
	for _, policy := range []bool{false, true} {
		a, b := run(1, 1, policy), run(2, 2, policy)
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Errorf("policy=%v: 1 and 2 workers give different actions:\n%v\n%v", policy, a, b)
		}
	}
}
