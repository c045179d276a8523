package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apex-robotics/apex/apex"
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
)

// plannerSize is one P × N configuration of apex bench --planner: P
// problems planned together, N samples in the first CEM iteration.
type plannerSize struct{ P, N int }

// plannerRow is the mean cost of one planning step (one Plan call):
// PlanSeconds = DeviceSeconds + HostSeconds, EvaluatorSeconds =
// DeviceSeconds + EvaluatorHostSeconds (see planProfile).
type plannerRow struct {
	Backend              string  `json:"backend"`
	PlanOn               string  `json:"plan_on"` // host, or device (gpu.Planner)
	Problems             int     `json:"problems"`
	Population           int     `json:"population"`
	Samples              int     `json:"samples_per_step"` // all problems and CEM iterations
	Guided               bool    `json:"guided"`
	Steps                int     `json:"steps"`
	PlanSeconds          float64 `json:"plan_seconds"`
	DeviceSeconds        float64 `json:"device_seconds"`
	HostSeconds          float64 `json:"host_seconds"`
	EvaluatorSeconds     float64 `json:"evaluator_seconds"`
	EvaluatorHostSeconds float64 `json:"evaluator_host_seconds"`
	BytesUp              float64 `json:"bytes_up"`
	BytesDown            float64 `json:"bytes_down"`
	SamplesPerSec        float64 `json:"samples_per_sec"`
}

// parsePlannerSizes reads "1x4096,64x100".
func parsePlannerSizes(s string, h, nu int) ([]plannerSize, error) {
	var out []plannerSize
	for _, f := range strings.Split(s, ",") {
		ps, ns, ok := strings.Cut(strings.TrimSpace(f), "x")
		p, err1 := strconv.Atoi(ps)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil || p < 1 || n < 2*icem.DefaultElites {
			return nil, fmt.Errorf("--sizes: %q is not PxN with P ≥ 1 and N ≥ %d", f, 2*icem.DefaultElites)
		}
		if n > icem.MaxPopulation || int64(p)*int64(n)*int64(h)*int64(nu) > maxBenchActions {
			return nil, fmt.Errorf("--sizes %s: N ≤ %d and P × N × horizon × nu ≤ %d", f, icem.MaxPopulation, maxBenchActions)
		}
		out = append(out, plannerSize{p, n})
	}
	return out, nil
}

// benchPlanner measures whole planning steps of iCEM (iCEMπ with a random
// policy when guided) for each size: with the host planner over each
// evaluator (planOn host or both) and with the device planner (planOn
// device or both). P
// problems from the task's reset states, steps Plan calls each after one
// untimed call.
func benchPlanner(w io.Writer, task *batchsim.Task, evs []batchsim.Evaluator, planOn string, sizes []plannerSize, h, steps int, guided, asJSON bool, seed uint64) error {
	if planOn != "host" && planOn != "device" && planOn != "both" {
		return usagef("--plan-on %q: want host, device or both", planOn)
	}
	var rows []plannerRow
	measure := func(pl icem.StepPlanner, name, on string, sz plannerSize) error {
		if guided {
			pol := apex.NewPolicy(task.ObsDim(), task.ActLow, task.ActHigh, nil, rand.NewPCG(seed, 2))
			if err := pl.SetPolicy(pol); err != nil {
				return err
			}
		}
		probs := make([]*icem.Problem, sz.P)
		dst := make([][]float64, sz.P)
		for k := range probs {
			env := batchsim.NewEnv(task)
			env.Reset(rand.New(rand.NewPCG(seed, uint64(k))))
			probs[k] = pl.NewProblem(seed, k)
			probs[k].SetState(env.Data.Qpos, env.Data.Qvel, env.Params)
			dst[k] = make([]float64, task.Model.Nu)
		}
		if _, err := pl.Plan(dst, probs); err != nil { // warm-up: kernel compile, buffers
			return fmt.Errorf("%s: %w", name, err)
		}
		row := plannerRow{Backend: name, PlanOn: on, Problems: sz.P, Population: sz.N, Guided: guided, Steps: steps}
		var plan, eval, evalHost time.Duration
		var up, down int64
		for range steps {
			st, err := pl.Plan(dst, probs)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			plan += st.Elapsed
			eval += st.EvalTime
			evalHost += st.EvalHostTime
			up += st.BytesUp
			down += st.BytesDown
			row.Samples = st.Simulated
		}
		n := float64(steps)
		row.PlanSeconds, row.EvaluatorSeconds, row.EvaluatorHostSeconds = plan.Seconds()/n, eval.Seconds()/n, evalHost.Seconds()/n
		row.DeviceSeconds = (eval - evalHost).Seconds() / n
		row.HostSeconds = (plan - eval + evalHost).Seconds() / n
		row.BytesUp, row.BytesDown = float64(up)/n, float64(down)/n
		row.SamplesPerSec = float64(row.Samples) / row.PlanSeconds
		if !finite([]float64{row.PlanSeconds, row.SamplesPerSec}) {
			return fmt.Errorf("%s %dx%d: a measurement is not finite: %+v", name, sz.P, sz.N, row)
		}
		rows = append(rows, row)
		return nil
	}
	for _, sz := range sizes {
		cfg := icem.Config{Horizon: h, Population: sz.N, Beta: task.Beta}
		if planOn != "device" {
			for _, ev := range evs {
				pl, err := icem.New(task, ev, cfg)
				if err != nil {
					return err
				}
				if err := measure(pl, ev.Name(), "host", sz); err != nil {
					return err
				}
			}
		}
		if planOn != "host" {
			if gpuPlannerOpener == nil {
				return fmt.Errorf("--plan-on %s: this build has no GPU backend", planOn)
			}
			dp, err := gpuPlannerOpener(task, cfg)
			if err != nil {
				return err
			}
			err = measure(dp, dp.Name(), "device", sz)
			dp.Close()
			if err != nil {
				return err
			}
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"task": task.Name, "horizon": h, "planner_rows": rows})
	}
	fmt.Fprintf(w, "task %s: whole planning steps (iCEM, 3 CEM iterations, horizon %d%s), mean of %d steps, GOMAXPROCS %d\n",
		task.Name, h, map[bool]string{true: ", guided by a random policy", false: ""}[guided], steps, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "(step = device + host; host includes the evaluator's own host work, packing and unpacking: \"of it in evaluator\")\n")
	fmt.Fprintf(w, "%9s %7s %12s %10s %10s %10s %7s %14s %12s %12s  %s\n", "P x N", "plan on", "samples/step", "step ms", "device ms", "host ms", "host %", "in evaluator", "bytes up", "bytes down", "backend")
	for _, r := range rows {
		fmt.Fprintf(w, "%9s %7s %12d %10.2f %10.2f %10.2f %7.0f %14.2f %12.0f %12.0f  %s\n", fmt.Sprintf("%dx%d", r.Problems, r.Population), r.PlanOn,
			r.Samples, 1e3*r.PlanSeconds, 1e3*r.DeviceSeconds, 1e3*r.HostSeconds, 100*r.HostSeconds/r.PlanSeconds, 1e3*r.EvaluatorHostSeconds, r.BytesUp, r.BytesDown, r.Backend)
	}
	return nil
}
