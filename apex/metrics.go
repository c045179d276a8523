package apex

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
)

// Metrics is one row of metrics.csv: what one APEX iteration achieved and
// what it cost, like the paper's Table 4 (Pinneri et al. 2021).
type Metrics struct {
	Iteration int `json:"iteration"`
	// The policy alone (no planner), over the evaluation episodes.
	// Mean return, its std (ddof 1) and the half-width of the 95 %
	// confidence interval of the mean (Student's t).
	PolicyReturn     float64  `json:"policy_return"`
	PolicyReturnStd  float64  `json:"policy_return_std"`
	PolicyReturnCI95 float64  `json:"policy_return_ci95"`
	PolicySuccess    *float64 `json:"policy_success,omitempty"` // nil: the task defines no success
	// The expert (iCEM / iCEMπ) over this iteration's expert rollouts.
	ExpertReturn     float64  `json:"expert_return"`
	ExpertReturnStd  float64  `json:"expert_return_std"`
	ExpertReturnCI95 float64  `json:"expert_return_ci95"`
	ExpertSuccess    *float64 `json:"expert_success,omitempty"`
	// λ_guide over every step and CEM iteration of the expert rollouts, and
	// the mean λ_norm (0 for an unguided expert).
	LambdaMean     float64 `json:"lambda_mean"`
	LambdaMin      float64 `json:"lambda_min"`
	LambdaMax      float64 `json:"lambda_max"`
	LambdaNormMean float64 `json:"lambda_norm_mean"`
	// Data set after the iteration.
	DatasetPairs    int `json:"dataset_pairs"`
	DatasetRollouts int `json:"dataset_rollouts"`
	DAggerPairs     int `json:"dagger_pairs"` // relabelled pairs added this iteration
	// Training: total gradient steps so far and the last minibatch's MSE.
	GradientSteps int     `json:"gradient_steps"`
	TrainMSE      float64 `json:"train_mse"`
	// Wall-clock seconds (the only columns that differ between two runs
	// with the same seed).
	ExpertSeconds    float64 `json:"expert_seconds"`
	DAggerSeconds    float64 `json:"dagger_seconds"` // policy rollout + relabelling
	TrainSeconds     float64 `json:"train_seconds"`
	EvalSeconds      float64 `json:"eval_seconds"`
	IterationSeconds float64 `json:"iteration_seconds"`
}

// MetricsHeader are the columns of metrics.csv.
var MetricsHeader = []string{
	"iteration", "policy_return", "policy_return_std", "policy_return_ci95", "policy_success",
	"expert_return", "expert_return_std", "expert_return_ci95", "expert_success",
	"lambda_mean", "lambda_min", "lambda_max", "lambda_norm_mean",
	"dataset_pairs", "dataset_rollouts", "dagger_pairs", "gradient_steps", "train_mse",
	"expert_seconds", "dagger_seconds", "train_seconds", "eval_seconds", "iteration_seconds",
}

// IsWallClockColumn reports whether a metrics.csv column measures time, so
// that it differs between runs with the same seed.
func IsWallClockColumn(name string) bool { return strings.HasSuffix(name, "_seconds") }

// fmtF writes a float64 in its shortest exact form.
func fmtF(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func fmtOpt(x *float64) string {
	if x == nil {
		return ""
	}
	return fmtF(*x)
}

// Record returns the row's fields in MetricsHeader's order.
func (m Metrics) Record() []string {
	return []string{
		strconv.Itoa(m.Iteration), fmtF(m.PolicyReturn), fmtF(m.PolicyReturnStd), fmtF(m.PolicyReturnCI95), fmtOpt(m.PolicySuccess),
		fmtF(m.ExpertReturn), fmtF(m.ExpertReturnStd), fmtF(m.ExpertReturnCI95), fmtOpt(m.ExpertSuccess),
		fmtF(m.LambdaMean), fmtF(m.LambdaMin), fmtF(m.LambdaMax), fmtF(m.LambdaNormMean),
		strconv.Itoa(m.DatasetPairs), strconv.Itoa(m.DatasetRollouts), strconv.Itoa(m.DAggerPairs),
		strconv.Itoa(m.GradientSteps), fmtF(m.TrainMSE),
		fmtF(m.ExpertSeconds), fmtF(m.DAggerSeconds), fmtF(m.TrainSeconds), fmtF(m.EvalSeconds), fmtF(m.IterationSeconds),
	}
}

// MetricsCSV renders rows as metrics.csv.
func MetricsCSV(rows []Metrics) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(MetricsHeader) // a bytes.Buffer does not fail
	for _, r := range rows {
		_ = w.Write(r.Record())
	}
	w.Flush()
	return b.Bytes()
}

// ReadMetricsCSV parses metrics.csv into its header and records.
func ReadMetricsCSV(data []byte) (header []string, records [][]string, err error) {
	all, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("apex: read metrics.csv: %w", err)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("apex: read metrics.csv: no header")
	}
	return all[0], all[1:], nil
}

// stats returns the mean and the sample std (ddof 1; 0 for fewer than two
// values) of x; 0, 0 when empty.
func stats(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// ci95 returns the half-width of the 95 % confidence interval of the mean
// of x, t_{0.975, n−1}·s/√n (Student's t); 0 for fewer than two values.
func ci95(x []float64) float64 {
	n := len(x)
	if n < 2 {
		return 0
	}
	_, s := stats(x)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return t * s / math.Sqrt(float64(n))
}

// Verdict compares the policy's mean return over the last iterations (the
// last third, at least one) with its first iteration's, each with its 95 %
// confidence interval, in one sentence; "" with fewer than two rows. The
// interval of an average of k iteration means is √(Σ ci²)/k (independent
// evaluations).
func Verdict(rows []Metrics) string {
	if len(rows) < 2 {
		return ""
	}
	k := max(1, len(rows)/3)
	first, last := rows[0], rows[len(rows)-k:]
	var mean, v float64
	for _, r := range last {
		mean += r.PolicyReturn
		v += r.PolicyReturnCI95 * r.PolicyReturnCI95
	}
	mean /= float64(k)
	ci := math.Sqrt(v) / float64(k)
	span := fmt.Sprintf("iteration %d", last[0].Iteration)
	if k > 1 {
		span = fmt.Sprintf("iterations %d–%d", last[0].Iteration, last[k-1].Iteration)
	}
	verdict := "not distinguishable from its start within the 95 % confidence intervals"
	switch {
	case mean-ci > first.PolicyReturn+first.PolicyReturnCI95:
		verdict = "the policy learned: clearly above its start (the 95 % confidence intervals do not overlap)"
	case mean+ci < first.PolicyReturn-first.PolicyReturnCI95:
		verdict = "the policy got worse: clearly below its start (the 95 % confidence intervals do not overlap)"
	}
	return fmt.Sprintf("Policy return: %.1f ± %.1f at iteration %d, %.1f ± %.1f over %s: %s.",
		first.PolicyReturn, first.PolicyReturnCI95, first.Iteration, mean, ci, span, verdict)
}
