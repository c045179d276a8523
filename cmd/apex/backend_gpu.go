package main

import (
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/gpu"
)

func init() {
	gpuOpener = func() (batchsim.Evaluator, error) {
		return gpu.NewEvaluator(gpu.Options{})
	}
	gpuProbe = func() (string, error) {
		info, err := gpu.Available()
		if err != nil {
			return "", err
		}
		return info.String(), nil
	}
}
