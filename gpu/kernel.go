package gpu

import (
	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/shaders"
)

// KernelSource returns the WGSL rollout kernel the evaluator compiles for
// task: specialised to the task's model (its driver loops unrolled with the
// model's indices as literals), or the model-generic kernel (its constraint
// arrays sized to the model) when generic is set, as Options.Generic runs it. Offline tools (naga, kernelstats) can
// compile it without a GPU.
func KernelSource(task *batchsim.Task, generic bool) (string, error) {
	src := shaders.MustSource(rolloutShader)
	pk, err := packTask(task)
	if err != nil {
		return "", err
	}
	if generic {
		return sizeConstraintArrays(src, pk), nil
	}
	return specialize(src, pk)
}
