//go:build mujoco

package main

import (
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/mjeval"
)

// --backend mujoco: the planner's rollouts on MuJoCo 2.2.2 (internal/mjeval),
// a reference to compare the Go engine's planning with, never the product's
// engine. The model is the task's reference file in models/, run with the
// file's own solver settings; plain iCEM only (no policy).
func init() {
	mujocoOpener = func(workers int) (batchsim.Evaluator, error) {
		return mjeval.NewEvaluator(mjeval.EvaluatorOptions{Workers: workers}), nil
	}
}
