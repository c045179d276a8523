package main

import (
	"slices"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/gpu"
	"github.com/apex-robotics/apex/icem"
)

func init() {
	gpuOpener = func() (batchsim.Evaluator, error) {
		return gpu.NewEvaluator(gpu.Options{Kernel: gpu.Kernels[gpuKernel]})
	}
	gpuPlannerOpener = func(task *batchsim.Task, cfg icem.Config) (devicePlanner, error) {
		return gpu.NewPlanner(task, cfg, gpu.Options{Kernel: gpu.Kernels[gpuKernel]})
	}
	gpuKernels = func() []string {
		var ks []string
		for k := range gpu.Kernels {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	gpuProbe = func() (string, error) {
		info, err := gpu.Available()
		if err != nil {
			return "", err
		}
		return info.String(), nil
	}
}
