package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The lean kernel (KernelLean) keeps each world's arrays in device memory.
//
// rollout.wgsl declares a world's state (poses, the constraint rows, M, the
// Newton iterate, ...) as module-scope private arrays. Where the compiler
// can index them by constants (the specialised kernel) it keeps them in
// registers, and on a hardware GPU they do not fit: the cheetah's kernel
// spills 2,821 VGPRs on RDNA3, the humanoid's did not compile within 30
// minutes (BENCHMARKS.md). Indexed at run time (the generic kernel) they
// live in scratch, and RADV turns a dynamically indexed private array into
// code that took it over an hour to compile.
//
// worldMemory moves those arrays into one storage buffer, world_mem, laid
// out as [workgroup][element][lane]: the 64 lanes of a workgroup reading the
// same element touch consecutive addresses, as a GPU's memory system wants.
// Nothing else changes: a private array `x: array<T, N>` becomes a field
// `x: array<array<T, 64>, N>` of the workgroup's struct WorldMem and every
// `x[i]` becomes `world_mem[wgi].x[i][wli]`, where rollout() sets wgi and
// wli from the world's invocation. The generic kernel so rewritten spills no
// register on RDNA3 for any task and compiles in about 2 s (BENCHMARKS.md).
// Arrays of bool (not storable in a buffer) stay private; they are small.
// So would arrays of matrices (the kernel has none since body_mat): a
// mat3x3 stored into a storage array read back wrong on lavapipe (Mesa
// 22.3.6 with wgpu-native v0.17.1; a scratch kernel storing a whole matrix,
// then reading it whole or by columns).

// privateArrayRE matches a module-scope private array declaration; the
// kernel's style puts each on its own line.
var privateArrayRE = regexp.MustCompile(`(?m)^[ \t]*var<private>\s+(\w+)\s*:\s*(array<.*>)\s*;[^\n]*$`)

// worldMemory rewrites the rollout kernel src so that its private arrays
// live in world_mem, and returns the rewritten source and the bytes of one
// workgroup's WorldMem.
func worldMemory(src string) (string, uint64, error) {
	wg := strconv.Itoa(kconst("WORKGROUP_SIZE"))
	var names, fields []string
	var err error
	src = privateArrayRE.ReplaceAllStringFunc(src, func(decl string) string {
		m := privateArrayRE.FindStringSubmatch(decl)
		name, typ := m[1], m[2]
		elem, n, ok := splitArray(typ)
		if !ok {
			err = fmt.Errorf("gpu: world memory: cannot read the array type %q of %s", typ, name)
			return decl
		}
		if strings.Contains(elem, "bool") || strings.HasPrefix(elem, "mat") {
			return decl
		}
		names = append(names, name)
		fields = append(fields, fmt.Sprintf("\t%s: array<array<%s, %s>, %s>,", name, elem, wg, n))
		return "// " + name + ": in world_mem"
	})
	if err != nil {
		return "", 0, err
	}
	if len(names) == 0 {
		return "", 0, fmt.Errorf("gpu: world memory: the kernel has no private array to move")
	}
	// The rewrite is textual: a local or parameter of a moved array's name
	// would have its uses rewritten too.
	shadow := regexp.MustCompile(`\b(?:let|var)\s+(` + strings.Join(names, "|") + `)\b|[(,]\s*(` + strings.Join(names, "|") + `)\s*:`)
	if m := shadow.FindStringSubmatch(src); m != nil {
		return "", 0, fmt.Errorf("gpu: world memory: %q names a private array and a local or parameter; rename the local", m[0])
	}
	src, err = indexWorldMem(src, worldMemUse(names))
	if err != nil {
		return "", 0, err
	}
	decl := "struct WorldMem {\n" + strings.Join(fields, "\n") + "\n}\n\n" +
		fmt.Sprintf("@group(0) @binding(%d) var<storage, read_write> world_mem: array<WorldMem>;\n", bWorldMem)
	at := strings.Index(src, "\nfn ")
	if at < 0 {
		return "", 0, fmt.Errorf("gpu: world memory: the kernel has no function")
	}
	src = src[:at+1] + decl + src[at:]
	size, err := newLayout(src).sizeOf("WorldMem")
	if err != nil {
		return "", 0, err
	}
	return src, size, nil
}

// worldMemUse matches a use name[ of one of names, not a field x.name[.
func worldMemUse(names []string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^\w.])(` + strings.Join(names, "|") + `)\[`)
}

// indexWorldMem replaces every use name[i] matched by use with
// world_mem[wgi].name[i][wli], index expressions included.
func indexWorldMem(src string, use *regexp.Regexp) (string, error) {
	var b strings.Builder
	for {
		loc := use.FindStringSubmatchIndex(src)
		if loc == nil {
			b.WriteString(src)
			return b.String(), nil
		}
		nameAt, open := loc[4], loc[1] // the name's start; just past '['
		depth, end := 1, open
		for ; end < len(src) && depth > 0; end++ {
			switch src[end] {
			case '[':
				depth++
			case ']':
				depth--
			}
		}
		if depth != 0 {
			return "", fmt.Errorf("gpu: world memory: unclosed index after %q", src[nameAt:open])
		}
		inner, err := indexWorldMem(src[open:end-1], use)
		if err != nil {
			return "", err
		}
		b.WriteString(src[:nameAt])
		fmt.Fprintf(&b, "world_mem[wgi].%s[%s][wli]", src[nameAt:open-1], inner)
		src = src[end:]
	}
}

// splitArray splits "array<E, N>" into E and N.
func splitArray(typ string) (elem, n string, ok bool) {
	if !strings.HasPrefix(typ, "array<") || !strings.HasSuffix(typ, ">") {
		return "", "", false
	}
	in := typ[len("array<") : len(typ)-1]
	depth, cut := 0, -1
	for i, c := range in {
		switch c {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut < 0 {
		return "", "", false
	}
	return strings.TrimSpace(in[:cut]), strings.TrimSpace(in[cut+1:]), true
}

// wgslLayout computes WGSL's host-shareable layout (size and alignment, the
// storage address space's rules) of the types a kernel source declares: its
// u32 constants, aliases and structs.
type wgslLayout struct {
	consts  map[string]int
	aliases map[string]string
	structs map[string][][2]string // fields: name, type
}

var (
	layoutConstRE  = regexp.MustCompile(`(?m)^const\s+(\w+)\s*:\s*u32\s*=\s*(\d+)u;`)
	layoutAliasRE  = regexp.MustCompile(`(?m)^alias\s+(\w+)\s*=\s*([^;]+);`)
	layoutStructRE = regexp.MustCompile(`(?ms)^struct\s+(\w+)\s*\{(.*?)^\}`)
	layoutFieldRE  = regexp.MustCompile(`(?m)^\s*(\w+)\s*:\s*(.+?),\s*(?://.*)?$`)
)

func newLayout(src string) *wgslLayout {
	l := &wgslLayout{consts: map[string]int{}, aliases: map[string]string{}, structs: map[string][][2]string{}}
	for _, m := range layoutConstRE.FindAllStringSubmatch(src, -1) {
		if v, err := strconv.Atoi(m[2]); err == nil {
			l.consts[m[1]] = v
		}
	}
	for _, m := range layoutAliasRE.FindAllStringSubmatch(src, -1) {
		l.aliases[m[1]] = strings.TrimSpace(m[2])
	}
	for _, m := range layoutStructRE.FindAllStringSubmatch(src, -1) {
		var fs [][2]string
		for _, f := range layoutFieldRE.FindAllStringSubmatch(m[2], -1) {
			fs = append(fs, [2]string{f[1], strings.TrimSpace(f[2])})
		}
		l.structs[m[1]] = fs
	}
	return l
}

// sizeOf returns a type's size in bytes.
func (l *wgslLayout) sizeOf(typ string) (uint64, error) {
	s, _, err := l.of(typ)
	return s, err
}

func roundUp(k, n uint64) uint64 { return (n + k - 1) / k * k }

// of returns a type's size and alignment.
func (l *wgslLayout) of(typ string) (size, align uint64, err error) {
	typ = strings.TrimSpace(typ)
	switch typ {
	case "f32", "i32", "u32":
		return 4, 4, nil
	case "vec2<f32>", "vec2<i32>", "vec2<u32>":
		return 8, 8, nil
	case "vec3<f32>", "vec3<i32>", "vec3<u32>":
		return 12, 16, nil
	case "vec4<f32>", "vec4<i32>", "vec4<u32>":
		return 16, 16, nil
	case "mat3x3<f32>":
		return 48, 16, nil
	case "mat2x3<f32>":
		return 32, 16, nil
	}
	if a, ok := l.aliases[typ]; ok {
		return l.of(a)
	}
	if fs, ok := l.structs[typ]; ok {
		var off, al uint64 = 0, 1
		for _, f := range fs {
			s, a, err := l.of(f[1])
			if err != nil {
				return 0, 0, fmt.Errorf("%s.%s: %w", typ, f[0], err)
			}
			off = roundUp(a, off) + s
			al = max(al, a)
		}
		return roundUp(al, off), al, nil
	}
	if elem, n, ok := splitArray(typ); ok {
		count, err := strconv.Atoi(strings.TrimSuffix(n, "u"))
		if err != nil {
			v, found := l.consts[n]
			if !found {
				return 0, 0, fmt.Errorf("gpu: world memory: array length %q is not a known constant", n)
			}
			count = v
		}
		s, a, err := l.of(elem)
		if err != nil {
			return 0, 0, err
		}
		return uint64(count) * roundUp(a, s), a, nil
	}
	return 0, 0, fmt.Errorf("gpu: world memory: no layout for type %q", typ)
}
