package apex

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metrics is one row of metrics.csv: what one APEX iteration achieved and
// what it cost, like the paper's Table 4 (Pinneri et al. 2021).
type Metrics struct {
	Iteration int `json:"iteration"`
	// The policy alone (no planner), over the evaluation episodes.
	PolicyReturn    float64  `json:"policy_return"`
	PolicyReturnStd float64  `json:"policy_return_std"`
	PolicySuccess   *float64 `json:"policy_success,omitempty"` // nil: the task defines no success
	// The expert (iCEM / iCEMπ) over this iteration's expert rollouts.
	ExpertReturn  float64  `json:"expert_return"`
	ExpertSuccess *float64 `json:"expert_success,omitempty"`
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
	"iteration", "policy_return", "policy_return_std", "policy_success",
	"expert_return", "expert_success",
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
		strconv.Itoa(m.Iteration), fmtF(m.PolicyReturn), fmtF(m.PolicyReturnStd), fmtOpt(m.PolicySuccess),
		fmtF(m.ExpertReturn), fmtOpt(m.ExpertSuccess),
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

// stats returns the mean and the std (ddof 0) of x; 0, 0 when empty.
func stats(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}
