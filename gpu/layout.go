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
	shaderConstsMu  sync.Mutex
	shaderConstsMap = map[string]map[string]int{}
)

// shaderConsts returns the u32 constants declared at the top level of a
// kernel of shaders/, read once per file.
func shaderConsts(file string) map[string]int {
	shaderConstsMu.Lock()
	defer shaderConstsMu.Unlock()
	if c, ok := shaderConstsMap[file]; ok {
		return c
	}
	c := map[string]int{}
	for _, m := range constRE.FindAllStringSubmatch(shaders.MustSource(file), -1) {
		v, err := strconv.Atoi(m[2])
		if err != nil {
			panic("gpu: " + err.Error()) // the regexp admits digits only
		}
		c[m[1]] = v
	}
	shaderConstsMap[file] = c
	return c
}

// shaderConst returns one constant of a kernel; a missing name is a
// programmer error.
func shaderConst(file, name string) int {
	v, ok := shaderConsts(file)[name]
	if !ok {
		panic(fmt.Sprintf("gpu: %s declares no const %s", file, name))
	}
	return v
}

// kconst returns one constant of the rollout kernel.
func kconst(name string) int { return shaderConst(rolloutShader, name) }
