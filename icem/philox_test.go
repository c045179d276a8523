package icem

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
)

// The three known-answer vectors of Random123's kat_vectors for
// philox4x32 with 10 rounds.
func TestPhiloxKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, [2]uint32{^uint32(0), ^uint32(0)},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		if got := philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("philox4x32(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

// The per-sample streams give standard normal draws: mean 0, variance 1,
// kurtosis 3, and draws of neighbouring samples uncorrelated.
func TestNoiseStreamIsStandardNormal(t *testing.T) {
	const samples, per = 2000, 64
	key := problemKey(1, 0)
	x := make([]float64, 0, samples*per)
	var s noiseStream
	for i := range samples {
		s.reset(key, 3, 1, i)
		for range per {
			x = append(x, s.NormFloat64())
		}
	}
	mean, v := stat.PopMeanVariance(x, nil)
	kurt := stat.ExKurtosis(x, nil) + 3
	if math.Abs(mean) > 0.01 || math.Abs(v-1) > 0.02 || math.Abs(kurt-3) > 0.1 {
		t.Errorf("mean %.4f, variance %.4f, kurtosis %.3f; want 0, 1, 3", mean, v, kurt)
	}
	a, b := make([]float64, samples-1), make([]float64, samples-1)
	for i := range samples - 1 {
		a[i], b[i] = x[i*per], x[(i+1)*per] // first draw of neighbouring samples
	}
	if r := stat.Correlation(a, b, nil); math.Abs(r) > 0.08 {
		t.Errorf("correlation of neighbouring samples' first draws %.3f", r)
	}
}

// The ziggurat's tail: draws beyond ±zigR, and beyond ±2, as often as the
// normal distribution has them (P(|x| > 2) = 0.0455, P(|x| > zigR) =
// 5.76e-4).
func TestNoiseStreamTails(t *testing.T) {
	const n = 2_000_000
	var s noiseStream
	s.reset(problemKey(3, 1), 0, 0, 0)
	var beyond2, beyondR int
	for range n {
		x := math.Abs(s.NormFloat64())
		if x > 2 {
			beyond2++
		}
		if x > zigR {
			beyondR++
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"|x| > 2", float64(beyond2) / n, math.Erfc(2 / math.Sqrt2)},
		{"|x| > zigR", float64(beyondR) / n, math.Erfc(zigR / math.Sqrt2)},
	} {
		if sd := math.Sqrt(c.want / n); math.Abs(c.got-c.want) > 4*sd {
			t.Errorf("%s: fraction %.3g, want %.3g ± %.2g", c.name, c.got, c.want, 4*sd)
		}
	}
}

// Colored noise drawn from the planner's per-sample streams has the
// spectrum and the variance of the colorednoise normalisation, as with
// math/rand (TestColoredNoiseSpectrum, TestColoredNoiseVariance).
func TestColoredNoisePerSampleStreams(t *testing.T) {
	const h, d, n = 30, 2, 3000
	for _, beta := range []float64{0, 0.25, 1, 2, 3} {
		c := NewColoredNoise(beta, h)
		buf := make([]float64, n*h*d)
		var s noiseStream
		for i := range n {
			s.reset(problemKey(7, 2), 0, 0, i)
			c.Sample(buf[i*h*d:(i+1)*h*d], 1, d, &s)
		}
		_, v := stat.PopMeanVariance(buf, nil)
		if want := c.Variance(); math.Abs(v/want-1) > 0.03 {
			t.Errorf("beta=%v: variance %.4f, want %.4f ± 3%%", beta, v, want)
		}
	}
	const hs, draws = 256, 300
	fft := fourier.NewFFT(hs)
	coef := make([]complex128, hs/2+1)
	y := make([]float64, hs)
	for _, beta := range []float64{0, 1, 2, 3} {
		c := NewColoredNoise(beta, hs)
		psd := make([]float64, hs/2+1)
		var s noiseStream
		for i := range draws {
			s.reset(problemKey(9, 0), 0, 0, i)
			c.Sequence(y, &s)
			fft.Coefficients(coef, y)
			for k, x := range coef {
				psd[k] += real(x)*real(x) + imag(x)*imag(x)
			}
		}
		var lf, lp []float64
		for k := 1; k <= hs/2; k++ {
			lf = append(lf, math.Log(float64(k)/hs))
			lp = append(lp, math.Log(psd[k]/draws))
		}
		if _, slope := stat.LinearRegression(lf, lp, nil, false); math.Abs(slope+beta) > 0.15 {
			t.Errorf("beta=%v: periodogram slope %.3f, want %.3f ± 0.15", beta, slope, -beta)
		}
	}
}

// A sample's stream depends on the key and on (step, iteration, sample),
// each of which changes it.
func TestNoiseStreamKeys(t *testing.T) {
	first := func(key [2]uint32, step uint32, i, s int) float64 {
		var n noiseStream
		n.reset(key, step, i, s)
		return n.NormFloat64()
	}
	k := problemKey(1, 0)
	ref := first(k, 0, 0, 0)
	if first(k, 0, 0, 0) != ref {
		t.Fatal("the same counter gives different draws")
	}
	for name, v := range map[string]float64{
		"seed": first(problemKey(2, 0), 0, 0, 0), "problem": first(problemKey(1, 1), 0, 0, 0),
		"step": first(k, 1, 0, 0), "iteration": first(k, 0, 1, 0), "sample": first(k, 0, 0, 1),
	} {
		if v == ref {
			t.Errorf("another %s gives the same draw", name)
		}
	}
}

// lowest returns the first K of a stable sort, NaN last, on values with
// ties and NaN.
func TestLowestIsStableSortPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 300 {
		n := 1 + rng.IntN(80)
		key := make([]float64, n)
		for s := range key {
			switch rng.IntN(6) {
			case 0:
				key[s] = math.NaN()
			case 1:
				key[s] = math.Inf(1)
			default:
				key[s] = float64(rng.IntN(10)) // many ties
			}
		}
		K := 1 + rng.IntN(n)
		want := sortedBy(make([]int, n), key)[:K]
		if got := lowest(make([]int, K), key); !slices.Equal(got, want) {
			t.Fatalf("trial %d: lowest %d of %v = %v, want %v", trial, K, key, got, want)
		}
	}
}
