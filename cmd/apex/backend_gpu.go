package main

import (
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/gpu"
	"github.com/apex-robotics/apex/icem"
)

func init() {
	gpuOpener = func() (batchsim.Evaluator, error) {
		return gpu.NewEvaluator(gpu.Options{})
	}
	gpuPlannerOpener = func(task *batchsim.Task, cfg icem.Config) (devicePlanner, error) {
		return gpu.NewPlanner(task, cfg, gpu.Options{})
	}
	gpuProbe = func() (string, error) {
		info, err := gpu.Available()
		if err != nil {
			return "", err
		}
		return info.String(), nil
	}
}
