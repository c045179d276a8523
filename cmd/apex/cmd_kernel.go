package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/gpu"
	"github.com/apex-robotics/apex/internal/atomicfile"
)

func init() {
	register(&command{
		name:    "kernel",
		summary: "Write the WGSL rollout kernel the GPU backend compiles for a task (specialised to its model, --generic, or --kernel lean), e.g. for kernelstats or naga.",
		usage:   "kernel --task NAME [--generic | --kernel specialized|generic|lean] --out F.wgsl",
		run:     runKernel,
	})
}

func runKernel(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["kernel"], stderr)
	taskName := fs.String("task", "halfcheetah", "task name")
	generic := fs.Bool("generic", false, "the model-generic kernel instead of the task's specialised one (--kernel generic)")
	shape := fs.String("kernel", "specialized", "the kernel's shape: specialized, generic or lean (generic with each world's arrays in device memory)")
	out := fs.String("out", "", "output file (- for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	task, err := batchsim.NewTask(strings.ToLower(*taskName))
	if err != nil {
		return usageError{fmt.Errorf("--task: %w", err)}
	}
	k, ok := gpu.Kernels[*shape]
	if !ok || k == gpu.KernelAuto {
		return usagef("--kernel %q: want specialized, generic or lean", *shape)
	}
	if *generic {
		if fs.Changed("kernel") && k != gpu.KernelGeneric {
			return usagef("--generic and --kernel %s contradict each other", *shape)
		}
		k = gpu.KernelGeneric
	}
	src, err := gpu.KernelSource(task, k)
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := io.WriteString(stdout, src)
		return err
	}
	return atomicfile.WriteFile(*out, []byte(src))
}
