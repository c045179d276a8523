package apex

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// Random streams of a run. Every stream is derived from the run seed, its
// kind and its place in the run (iteration, index), so that a run resumed
// after a kill draws exactly what the uninterrupted run would have.
const (
	streamInit        = 1 // policy initialisation
	streamResetExpert = 2 // start states of expert rollouts
	streamPlanExpert  = 3 // planner problems of expert rollouts
	streamResetPolicy = 4 // start state of the DAgger policy rollout
	streamPlanRelabel = 5 // planner problems of the relabelling
	streamTrain       = 6 // minibatches of a training call
	streamEval        = 7 // start states of the policy evaluation
)

// splitmix64 is the finaliser of SplitMix64 (Steele, Lea, Flood 2014), a
// bijective mixer of 64-bit words.
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// SubSeed returns the seed of the stream of a given kind at (iter, idx) of
// a run with the given seed.
func SubSeed(seed uint64, kind, iter, idx int) uint64 {
	return splitmix64(seed ^ splitmix64(uint64(kind)<<56^uint64(iter)<<28^uint64(idx)))
}

// streamRand returns the random stream of a given kind at (iter, idx).
func streamRand(seed uint64, kind, iter, idx int) *rand.Rand {
	return rand.New(rand.NewPCG(SubSeed(seed, kind, iter, idx), uint64(kind)))
}

// PolicyEpisode is a rollout of a policy alone, without the planner.
type PolicyEpisode struct {
	Return  float64
	Rewards []float64   // (steps)
	Actions [][]float64 // (steps × nu)
	// States are qpos then qvel, the start state first ((steps+1) × (nq+nv)).
	States [][]float64
	// Obs are the observations at States[t] from which Actions[t] were
	// taken ((steps) × obsDim).
	Obs [][]float64
	// Params are the episode's task parameters (e.g. a goal; nil if none).
	Params []float64
	// Success: whether the task was solved at the end; nil when the task
	// defines no success.
	Success *bool
	// Diverged: the simulation left the finite state space and the episode
	// ended early (only the steps before are recorded).
	Diverged bool
	ActTime  time.Duration // inside the policy's Act
	Wall     time.Duration
}

// RolloutPolicy runs pi as the controller of env from its current state for
// steps control steps (reset env first). It stops early, without an error,
// if the state becomes non-finite (an untrained policy may drive the
// simulation there), and with ctx's error when ctx is done.
func RolloutPolicy(ctx context.Context, pi icem.Policy, env *batchsim.Env, steps int) (*PolicyEpisode, error) {
	start := time.Now()
	t := env.Task
	ep := &PolicyEpisode{States: [][]float64{stateOf(env)}, Params: append([]float64(nil), env.Params...)}
	for step := 0; step < steps; step++ {
		if step%64 == 0 {
			if err := ctx.Err(); err != nil {
				ep.Wall = time.Since(start)
				return ep, fmt.Errorf("apex: policy rollout stopped at step %d: %w", step, err)
			}
		}
		obs := make([]float64, t.ObsDim())
		env.Observe(obs)
		a := make([]float64, t.Model.Nu)
		t0 := time.Now()
		pi.Act(obs, a)
		ep.ActTime += time.Since(t0)
		r, _, err := env.Act(a)
		if err != nil {
			ep.Diverged = true
			break
		}
		ep.Obs = append(ep.Obs, obs)
		ep.Actions = append(ep.Actions, a)
		ep.Rewards = append(ep.Rewards, r)
		ep.Return += r
		ep.States = append(ep.States, stateOf(env))
	}
	ep.Success = solved(env)
	ep.Wall = time.Since(start)
	return ep, nil
}

// solved asks env whether its task is solved; nil when the task defines no
// success.
func solved(env *batchsim.Env) *bool {
	if len(env.Task.Success) == 0 {
		return nil
	}
	s := env.Solved()
	return &s
}

func stateOf(env *batchsim.Env) []float64 {
	s := make([]float64, 0, len(env.Data.Qpos)+len(env.Data.Qvel))
	return append(append(s, env.Data.Qpos...), env.Data.Qvel...)
}

// EvalResult is the evaluation of a policy alone over several episodes.
type EvalResult struct {
	Returns    []float64 `json:"returns"`
	MeanReturn float64   `json:"mean_return"`
	StdReturn  float64   `json:"std_return"` // ddof 1
	// CI95 is the half-width of the 95 % confidence interval of the mean
	// return (Student's t over the episodes).
	CI95 float64 `json:"ci95"`
	// SuccessRate is nil when the task defines no success.
	SuccessRate *float64 `json:"success_rate,omitempty"`
	Steps       int      `json:"steps"`    // control steps, all episodes together
	Diverged    int      `json:"diverged"` // episodes that ended early
	// ActionsPerSec is the policy's control rate: actions computed per
	// second of time inside Act (one goroutine). EnvStepsPerSec includes the
	// simulation.
	ActionsPerSec  float64 `json:"actions_per_sec"`
	EnvStepsPerSec float64 `json:"env_steps_per_sec"`
	WallSeconds    float64 `json:"wall_seconds"`

	episodes []*PolicyEpisode
}

// Episode returns the recorded episode k.
func (r *EvalResult) Episode(k int) *PolicyEpisode { return r.episodes[k] }

// EvalPolicy runs pi alone on task for the given number of episodes of
// steps control steps each (0: the task's episode length), on up to workers
// goroutines (0: GOMAXPROCS). Episode e starts from the task's reset drawn
// from the evaluation stream of seed, the same start states for every call
// with the same seed, so that policies of different iterations are compared
// on the same episodes; results do not depend on workers.
func EvalPolicy(ctx context.Context, pi icem.Policy, task *batchsim.Task, episodes, steps int, seed uint64, workers int) (*EvalResult, error) {
	if steps <= 0 {
		steps = task.EpisodeLen
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	res := &EvalResult{episodes: make([]*PolicyEpisode, episodes)}
	errs := make([]error, episodes)
	parallel(workers, episodes, func(e int) {
		env := batchsim.NewEnv(task)
		env.Reset(streamRand(seed, streamEval, 0, e))
		res.episodes[e], errs[e] = RolloutPolicy(ctx, pi, env, steps)
		if errs[e] != nil {
			errs[e] = fmt.Errorf("apex: evaluate episode %d: %w", e, errs[e])
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var act time.Duration
	successes, withSuccess := 0, 0
	for _, ep := range res.episodes {
		res.Returns = append(res.Returns, ep.Return)
		res.Steps += len(ep.Actions)
		act += ep.ActTime
		if ep.Diverged {
			res.Diverged++
		}
		if ep.Success != nil {
			withSuccess++
			if *ep.Success {
				successes++
			}
		}
	}
	if withSuccess > 0 {
		rate := float64(successes) / float64(withSuccess)
		res.SuccessRate = &rate
	}
	res.MeanReturn, res.StdReturn = stats(res.Returns)
	res.CI95 = ci95(res.Returns)
	res.WallSeconds = time.Since(start).Seconds()
	if s := act.Seconds(); s > 0 {
		// Act time summed over the goroutines: the rate of one.
		res.ActionsPerSec = float64(res.Steps) / s
	}
	if res.WallSeconds > 0 {
		res.EnvStepsPerSec = float64(res.Steps) / res.WallSeconds
	}
	return res, nil
}
