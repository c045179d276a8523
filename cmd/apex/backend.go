package main

import (
	"fmt"
	"log/slog"

	"github.com/apex-robotics/apex/batchsim"
)

// gpuOpener opens the GPU evaluator; backend_gpu.go sets it so that a build
// without the GPU backend still has every other command.
var gpuOpener func() (batchsim.Evaluator, error)

// gpuProbe reports whether a hardware GPU adapter exists, and why not.
var gpuProbe func() (string, error)

// openBackend returns the evaluator for --backend cpu|gpu|auto and says,
// on stderr through slog, which it chose and why.
func openBackend(name string, workers int) (batchsim.Evaluator, error) {
	switch name {
	case "cpu":
		return batchsim.NewCPU(workers), nil
	case "gpu":
		if gpuOpener == nil {
			return nil, fmt.Errorf("--backend gpu: this build has no GPU backend")
		}
		return gpuOpener()
	case "auto":
		if gpuProbe == nil || gpuOpener == nil {
			slog.Info("backend: cpu", "reason", "this build has no GPU backend")
			return batchsim.NewCPU(workers), nil
		}
		desc, err := gpuProbe()
		if err != nil {
			slog.Info("backend: cpu", "reason", err.Error())
			return batchsim.NewCPU(workers), nil
		}
		ev, err := gpuOpener()
		if err != nil {
			slog.Info("backend: cpu", "reason", "the GPU could not be opened: "+err.Error())
			return batchsim.NewCPU(workers), nil
		}
		slog.Info("backend: gpu", "adapter", desc)
		return ev, nil
	}
	return nil, usagef("--backend %q: want cpu, gpu or auto", name)
}
