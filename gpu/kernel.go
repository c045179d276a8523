package gpu

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/shaders"
)

// KernelSource returns the WGSL rollout kernel a hardware GPU's evaluator
// compiles for task in the given shape (KernelAuto: the specialised one).
// Offline tools (naga, kernelstats) can compile it without a GPU.
func KernelSource(task *batchsim.Task, k Kernel) (string, error) {
	pk, err := packTask(task)
	if err != nil {
		return "", err
	}
	src, _, err := kernelSource(pk, k, false)
	return src, err
}

// kernelSource writes the rollout kernel of shape k for a packed task, and
// the bytes of world_mem one workgroup needs (0 but for KernelLean). The
// constraint arrays are sized to the model (lavapipe runs the private
// arrays of a kernel with the generic maxima many times slower), except in
// the lean kernel on a software adapter (software): there they keep the
// kernel's maxima, so that one source, compiled once (llvmpipe takes
// minutes over it, and caches it on disk), serves every task; a GPU
// compiles it in seconds and gets it sized, for fewer bytes of world_mem
// per workgroup.
func kernelSource(pk *packed, k Kernel, software bool) (string, uint64, error) {
	src := shaders.MustSource(rolloutShader)
	switch k {
	case KernelAuto, KernelSpecialized:
		s, err := specialize(src, pk)
		return s, 0, err
	case KernelGeneric:
		return sizeConstraintArrays(src, pk), 0, nil
	case KernelLean:
		if software {
			return worldMemory(src)
		}
		return worldMemory(sizeConstraintArrays(src, pk))
	}
	return "", 0, fmt.Errorf("gpu: no kernel shape %v", k)
}
