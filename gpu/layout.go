package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/apex-robotics/apex/shaders"
)

// The kernel's constants (limits, header slots, workgroup size) are written
// once, in shaders/rollout.wgsl; the host reads them from the source so that
// the two sides cannot disagree.

const rolloutShader = "rollout.wgsl"

var constRE = regexp.MustCompile(`(?m)^const\s+(\w+)\s*:\s*u32\s*=\s*(\d+)u;`)

var (
	kernelConstsOnce sync.Once
	kernelConstsMap  map[string]int
)

// kernelConsts returns the u32 constants declared at the top level of the
// rollout kernel.
func kernelConsts() map[string]int {
	kernelConstsOnce.Do(func() {
		kernelConstsMap = map[string]int{}
		for _, m := range constRE.FindAllStringSubmatch(shaders.MustSource(rolloutShader), -1) {
			v, err := strconv.Atoi(m[2])
			if err != nil {
				panic("gpu: " + err.Error()) // the regexp admits digits only
			}
			kernelConstsMap[m[1]] = v
		}
	})
	return kernelConstsMap
}

// kconst returns one kernel constant; a missing name is a programmer error.
func kconst(name string) int {
	v, ok := kernelConsts()[name]
	if !ok {
		panic(fmt.Sprintf("gpu: %s declares no const %s", rolloutShader, name))
	}
	return v
}
