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
// Philox4x32-10 blocks of counter (block, sample, iteration, step) under the
// problem's key, block = 0, 1, 2, …, each block's four 32-bit words turned
// into four normals by the Box–Muller transform (words 0, 1 → the first
// pair, 2, 3 → the second; u = (x + ½)·2⁻³², so u ∈ (0, 1)). "step" counts
// the problem's Plan calls. The draws of a sample depend only on the key and
// these indices: not on the worker that makes them, nor on other samples.
type noiseStream struct {
	key  [2]uint32
	ctr  [4]uint32
	buf  [4]float64
	left int // draws of buf not yet returned
}

// reset starts the stream of sample s of iteration i at step step.
func (n *noiseStream) reset(key [2]uint32, step uint32, i, s int) {
	n.key = key
	n.ctr = [4]uint32{0, uint32(s), uint32(i), step}
	n.left = 0
}

// NormFloat64 returns the next standard normal draw.
func (n *noiseStream) NormFloat64() float64 {
	if n.left == 0 {
		x := philox4x32(n.ctr, n.key)
		n.ctr[0]++
		n.buf[0], n.buf[1] = boxMuller(x[0], x[1])
		n.buf[2], n.buf[3] = boxMuller(x[2], x[3])
		n.left = 4
	}
	v := n.buf[4-n.left]
	n.left--
	return v
}

// boxMuller maps two uniform 32-bit words to two independent standard
// normals: √(−2 ln u1)·(cos 2πu2, sin 2πu2).
func boxMuller(a, b uint32) (float64, float64) {
	const scale = 1.0 / (1 << 32)
	u1 := (float64(a) + 0.5) * scale
	u2 := (float64(b) + 0.5) * scale
	r := math.Sqrt(-2 * math.Log(u1))
	s, c := math.Sincos(2 * math.Pi * u2)
	return r * c, r * s
}
