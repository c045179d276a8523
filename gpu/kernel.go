package gpu

import (
	"fmt"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/shaders"
)

// KernelSource returns the WGSL rollout kernel the evaluator compiles for
// task in the given shape (KernelAuto: the specialised one). Offline tools
// (naga, kernelstats) can compile it without a GPU.
func KernelSource(task *batchsim.Task, k Kernel) (string, error) {
	pk, err := packTask(task)
	if err != nil {
		return "", err
	}
	src, _, err := kernelSource(pk, k)
	return src, err
}

// kernelSource writes the rollout kernel of shape k for a packed task, and
// the bytes of world_mem one workgroup needs (0 but for KernelLean). Every
// shape sizes the constraint arrays to the model (lavapipe runs a kernel
// with the generic maxima many times slower).
func kernelSource(pk *packed, k Kernel) (string, uint64, error) {
	src := shaders.MustSource(rolloutShader)
	switch k {
	case KernelAuto, KernelSpecialized:
		s, err := specialize(src, pk)
		return s, 0, err
	case KernelGeneric:
		return sizeConstraintArrays(src, pk), 0, nil
	case KernelLean:
		return worldMemory(sizeConstraintArrays(src, pk))
	}
	return "", 0, fmt.Errorf("gpu: no kernel shape %v", k)
}
