package icem

import (
	"math"
	"math/bits"
)

// Philox4x32-10 (Salmon, Moraes, Dror, Shaw 2011, "Parallel random numbers:
// as easy as 1, 2, 3", SC'11; the Random123 library's philox4x32 with 10
// rounds) is a counter-based generator: its output is a pure function of a
// 128-bit counter and a 64-bit key, so every sample of every CEM iteration
// gets its own stream without any state shared between goroutines, and a
// device kernel can compute the same numbers from the same key and counter
// (32-bit multiplies only).
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9 // golden ratio
	philoxW1 = 0xBB67AE85 // √3 − 1
)

// philox4x32 returns Philox4x32-10 of counter c under key k.
func philox4x32(c [4]uint32, k [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 {
			k[0] += philoxW0
			k[1] += philoxW1
		}
		hi0, lo0 := bits.Mul32(philoxM0, c[0])
		hi1, lo1 := bits.Mul32(philoxM1, c[2])
		c = [4]uint32{hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0}
	}
	return c
}

// mix64 is SplitMix64's output function (Steele, Lea, Flood 2014), a
// bijection of 64-bit words that spreads every input bit over the output.
func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// problemKey is the Philox key of problem index of a run with the given
// seed: the same seed and index give the same key, different indices
// unrelated keys.
func problemKey(seed uint64, index int) [2]uint32 {
	k := mix64(mix64(seed) ^ (streamICEM + uint64(index)))
	return [2]uint32{uint32(k), uint32(k >> 32)}
}

// noiseStream is the stream of standard normal draws of one sample: the
// 32-bit words of the Philox4x32-10 blocks of counter (block, sample,
// iteration, step) under the problem's key, block = 0, 1, 2, …, turned into
// normals by Marsaglia and Tsang's ziggurat (2000, "The ziggurat method for
// generating random variables", J. Stat. Softw. 5(8); 128 layers): each
// draw takes one word as its signed value and 8 bits of a separate word as
// its layer (one index word serves four draws; Doornik 2005 showed that
// taking both from one word correlates them), and the 1.2 % of draws that
// fall outside a layer's box take more words. "step" counts the problem's
// Plan calls. The draws of a sample depend only on the key and these
// indices: not on the worker that makes them, nor on other samples. (The
// ziggurat costs a third of Box–Muller's log, sqrt and sincos per draw.)
type noiseStream struct {
	key   [2]uint32
	ctr   [4]uint32
	words [4]uint32
	left  int    // words not yet used
	idx   uint32 // layer bits not yet used, 8 per draw
	nidx  int
}

// reset starts the stream of sample s of iteration i at step step.
func (n *noiseStream) reset(key [2]uint32, step uint32, i, s int) {
	n.key = key
	n.ctr = [4]uint32{0, uint32(s), uint32(i), step}
	n.left, n.nidx = 0, 0
}

// word returns the next 32-bit word of the stream.
func (n *noiseStream) word() uint32 {
	if n.left == 0 {
		n.words = philox4x32(n.ctr, n.key)
		n.ctr[0]++
		n.left = 4
	}
	w := n.words[4-n.left]
	n.left--
	return w
}

// layer returns the next ziggurat layer, 0..127.
func (n *noiseStream) layer() int {
	if n.nidx == 0 {
		n.idx, n.nidx = n.word(), 4
	}
	l := int(n.idx & 127)
	n.idx >>= 8
	n.nidx--
	return l
}

// uniform returns a draw in (0, 1).
func (n *noiseStream) uniform() float64 { return (float64(n.word()) + 0.5) / (1 << 32) }

// NormFloat64 returns the next standard normal draw.
func (n *noiseStream) NormFloat64() float64 {
	for {
		j := int32(n.word())
		i := n.layer()
		x := float64(j) * zigW[i]
		if absInt32(j) < zigK[i] {
			return x // inside the layer's box: 98.8 % of draws
		}
		if i == 0 {
			// The tail beyond zigR (Marsaglia 1964).
			for {
				x = -math.Log(n.uniform()) / zigR
				y := -math.Log(n.uniform())
				if y+y >= x*x {
					break
				}
			}
			if j > 0 {
				return zigR + x
			}
			return -zigR - x
		}
		if zigF[i]+n.uniform()*(zigF[i-1]-zigF[i]) < math.Exp(-0.5*x*x) {
			return x
		}
	}
}

func absInt32(j int32) uint32 {
	if j < 0 {
		return uint32(-j)
	}
	return uint32(j)
}

// The 128-layer ziggurat of the standard normal (Marsaglia & Tsang 2000):
// zigR is the start of the tail, zigV each layer's area.
const (
	zigR = 3.442619855899
	zigV = 9.91256303526217e-3
)

var (
	zigK [128]uint32  // |j| below zigK[i]: inside layer i's box
	zigW [128]float64 // j·zigW[i] is the draw
	zigF [128]float64 // the density exp(−x²/2) at layer i's edge
)

func init() {
	const m = 1 << 31
	dn := zigR
	tn := dn
	q := zigV / math.Exp(-0.5*dn*dn)
	zigK[0] = uint32(dn / q * m)
	zigK[1] = 0
	zigW[0] = q / m
	zigW[127] = dn / m
	zigF[0] = 1
	zigF[127] = math.Exp(-0.5 * dn * dn)
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(zigV/dn+math.Exp(-0.5*dn*dn)))
		zigK[i+1] = uint32(dn / tn * m)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		zigW[i] = dn / m
	}
}
