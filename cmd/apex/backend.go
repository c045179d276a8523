package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/spf13/pflag"
)

// gpuOpener opens the GPU evaluator; backend_gpu.go sets it so that a build
// without the GPU backend still has every other command.
var gpuOpener func() (batchsim.Evaluator, error)

// gpuKernel is the GPU rollout kernel's shape, a key of gpu.Kernels: the
// --kernel flag of bench, plan and train sets it (kernelFlag).
var gpuKernel = "auto"

// gpuKernels lists the shapes --kernel takes; backend_gpu.go sets it.
var gpuKernels func() []string

// kernelFlag adds --kernel (the GPU rollout kernel's shape) to fs; the
// returned function, called after parsing, sets it.
func kernelFlag(fs *pflag.FlagSet) func() error {
	k := fs.String("kernel", "auto", "GPU rollout kernel: auto (per task: lean on a GPU; on a software adapter specialized where one physics step fits its loop limit, else lean), specialized, generic or lean")
	return func() error {
		if *k == "auto" { // also undoes an earlier call's (in-process tests)
			gpuKernel = "auto"
			return nil
		}
		return setGPUKernel(*k)
	}
}

// setGPUKernel checks and sets --kernel.
func setGPUKernel(k string) error {
	if gpuKernels == nil {
		return usagef("--kernel %q: this build has no GPU backend", k)
	}
	ks := gpuKernels()
	if !slices.Contains(ks, k) {
		return usagef("--kernel %q: want one of %s", k, strings.Join(ks, ", "))
	}
	gpuKernel = k
	return nil
}

// gpuProbe reports whether a hardware GPU adapter exists, and why not.
var gpuProbe func() (string, error)

// mujocoOpener opens the MuJoCo reference evaluator (internal/mjeval); the
// build tag mujoco's backend_mujoco.go sets it.
var mujocoOpener func(workers int) (batchsim.Evaluator, error)

// openBackend returns the evaluator for --backend cpu|gpu|auto|mujoco and
// says, on stderr through slog, which it chose and why.
func openBackend(name string, workers int) (batchsim.Evaluator, error) {
	switch name {
	case "cpu":
		return batchsim.NewCPU(workers), nil
	case "mujoco":
		if mujocoOpener == nil {
			return nil, fmt.Errorf("--backend mujoco: this build has no MuJoCo backend; build with -tags mujoco")
		}
		return mujocoOpener(workers)
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
	return nil, usagef("--backend %q: want cpu, gpu, auto or mujoco", name)
}

// devicePlanner is a planner that runs whole planning steps on a device
// (gpu.Planner) and holds it until closed.
type devicePlanner interface {
	icem.StepPlanner
	Name() string
	Close() error
}

// gpuPlannerOpener opens the device planner; backend_gpu.go sets it.
var gpuPlannerOpener func(task *batchsim.Task, cfg icem.Config) (devicePlanner, error)

// planOnValues are the values of --plan-on.
const planOnValues = "host or device"

// openPlanner returns the planner for --plan-on host|device and a name for
// its backend: host plans on the CPU with rollouts on --backend's
// evaluator; device runs the whole planning step on the GPU device
// (gpu.Planner, iCEM and iCEMπ), where --backend may only be gpu or auto.
// close releases what it opened.
func openPlanner(planOn, backend string, workers int, task *batchsim.Task, cfg icem.Config) (pl icem.StepPlanner, name string, close func(), err error) {
	switch planOn {
	case "host":
		ev, err := openBackend(backend, workers)
		if err != nil {
			return nil, "", nil, err
		}
		hp, err := icem.New(task, ev, cfg)
		if err != nil {
			ev.Close()
			return nil, "", nil, err
		}
		return hp, ev.Name(), func() { ev.Close() }, nil
	case "device":
		if err := checkPlanOnDevice(backend); err != nil {
			return nil, "", nil, err
		}
		dp, err := gpuPlannerOpener(task, cfg)
		if err != nil {
			return nil, "", nil, err
		}
		return dp, dp.Name(), func() { dp.Close() }, nil
	}
	return nil, "", nil, usagef("--plan-on %q: want %s", planOn, planOnValues)
}

// checkPlanOnDevice refuses --plan-on device where it cannot run: a
// --backend other than gpu or auto, or a build without the GPU backend.
func checkPlanOnDevice(backend string) error {
	if backend != "gpu" && backend != "auto" {
		return usagef("--plan-on device runs the rollouts on the GPU device: --backend %q must be gpu or auto", backend)
	}
	if gpuPlannerOpener == nil {
		return fmt.Errorf("--plan-on device: this build has no GPU backend")
	}
	return nil
}

// devicePlannerFactory is openPlanner's --plan-on device for a caller that
// makes its planner later, as apex train does inside apex.Create and
// apex.Resume: the same rules for --backend, checked now, and a factory
// that opens the device planner. close closes every planner it opened.
func devicePlannerFactory(backend string) (open func(*batchsim.Task, icem.Config) (icem.StepPlanner, error), close func(), err error) {
	if err := checkPlanOnDevice(backend); err != nil {
		return nil, nil, err
	}
	var opened []devicePlanner
	open = func(task *batchsim.Task, cfg icem.Config) (icem.StepPlanner, error) {
		dp, err := gpuPlannerOpener(task, cfg)
		if err != nil {
			return nil, err
		}
		opened = append(opened, dp)
		return dp, nil
	}
	close = func() {
		for _, dp := range opened {
			dp.Close()
		}
		opened = nil
	}
	return open, close, nil
}
