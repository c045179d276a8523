package icem

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Normal is a source of standard normal draws: a *rand.Rand, or the
// planner's per-sample Philox stream.
type Normal interface {
	NormFloat64() float64
}

// ColoredNoise draws Gaussian sequences of length h whose power spectral
// density falls as 1/f^β, by the method of Timmer & König (1995, "On
// generating power law noise", A&A 300:707): random Fourier coefficients with
// amplitudes f^(−β/2), transformed back to the time domain. iCEM (Pinneri et
// al. 2020, CoRL) samples its action sequences from it so that the actions of
// a sample are correlated in time (β = 0: white noise, β = 2: Brownian-like).
//
// The normalisation is that of the Python package colorednoise ≥ 2.1
// (powerlaw_psd_gaussian with fmin = 0), which the iCEM reference code uses:
// with f = rfftfreq(h) and s = f^(−β/2), s[0] = s[1];
// Re X_k ~ N(0, s_k²), Im X_k ~ N(0, s_k²), Im X_0 = 0 and Re X_0 ·= √2 (also
// at the Nyquist frequency when h is even); y = irfft(X, h)/σ with
// σ = 2·√(Σ_{k≥1} w_k²)/h, w = s[1:] with its last entry halved when h is
// even. The per-step variance of y is then slightly above 1 and grows with β
// (see Variance). For β = 0 (and for h = 1, where the spectrum is
// undefined) the sequences are plain standard normal draws, as in the iCEM
// reference code.
//
// A ColoredNoise holds FFT scratch space: it is not safe for concurrent use.
type ColoredNoise struct {
	beta  float64
	h     int
	fft   *fourier.FFT // nil for white noise
	scale []float64    // s_k, k = 0..h/2
	sigma float64
	coeff []complex128 // (h/2+1)
	seq   []float64    // (h)
}

// NewColoredNoise returns a sampler of length-h sequences with exponent beta.
// It panics if h < 1 or beta is negative or not finite: Config.validate
// reports those as errors before a planner is built.
func NewColoredNoise(beta float64, h int) *ColoredNoise {
	if h < 1 || !(beta >= 0) || math.IsInf(beta, 0) {
		panic(fmt.Sprintf("icem: colored noise with h=%d, beta=%v", h, beta))
	}
	c := &ColoredNoise{beta: beta, h: h}
	if beta == 0 || h == 1 {
		return c
	}
	nf := h/2 + 1
	c.fft = fourier.NewFFT(h)
	c.scale = make([]float64, nf)
	c.coeff = make([]complex128, nf)
	c.seq = make([]float64, h)
	for k := 1; k < nf; k++ {
		f := float64(k) / float64(h) // rfftfreq(h)[k]
		c.scale[k] = math.Pow(f, -beta/2)
	}
	c.scale[0] = c.scale[1] // fmin = 1/h: frequencies below it take its amplitude
	var sw float64
	for k := 1; k < nf; k++ {
		w := c.scale[k]
		if k == nf-1 && h%2 == 0 {
			w /= 2 // the Nyquist term appears once in the two-sided spectrum
		}
		sw += w * w
	}
	c.sigma = 2 * math.Sqrt(sw) / float64(h)
	return c
}

// Beta is the spectral exponent β.
func (c *ColoredNoise) Beta() float64 { return c.beta }

// Len is the sequence length h.
func (c *ColoredNoise) Len() int { return c.h }

// Variance is the expected variance of every element of a sequence: 1 for
// white noise, and for β > 0 the value implied by the normalisation,
// (2s_0² + 4Σ_{0<k<h/2} s_k² + 2[h even]s_{h/2}²) / (h²σ²).
func (c *ColoredNoise) Variance() float64 {
	if c.fft == nil {
		return 1
	}
	nf := len(c.scale)
	v := 2 * c.scale[0] * c.scale[0]
	for k := 1; k < nf; k++ {
		s2 := c.scale[k] * c.scale[k]
		if k == nf-1 && c.h%2 == 0 {
			v += 2 * s2 // real Nyquist coefficient, variance 2s²
		} else {
			v += 4 * s2 // conjugate pair: 2·(Re² + Im²) terms
		}
	}
	hf := float64(c.h)
	return v / (hf * hf * c.sigma * c.sigma)
}

// Sequence writes one sequence of length h to dst (len h) using rng.
func (c *ColoredNoise) Sequence(dst []float64, rng Normal) {
	if len(dst) != c.h {
		panic(fmt.Sprintf("icem: noise sequence of length %d, want %d", len(dst), c.h))
	}
	if c.fft == nil {
		for t := range dst {
			dst[t] = rng.NormFloat64()
		}
		return
	}
	nf := len(c.coeff)
	c.coeff[0] = complex(math.Sqrt2*c.scale[0]*rng.NormFloat64(), 0)
	for k := 1; k < nf; k++ {
		s := c.scale[k]
		if k == nf-1 && c.h%2 == 0 {
			c.coeff[k] = complex(math.Sqrt2*s*rng.NormFloat64(), 0)
			continue
		}
		re := s * rng.NormFloat64()
		im := s * rng.NormFloat64()
		c.coeff[k] = complex(re, im)
	}
	c.fft.Sequence(dst, c.coeff)
	// gonum's inverse is unnormalised: irfft = Sequence/h.
	inv := 1 / (float64(c.h) * c.sigma)
	for t := range dst {
		dst[t] *= inv
	}
}

// Sample fills dst, of shape (n × h × d) with index (i*h + t)*d + j, with n·d
// independent sequences: one along t for every sample i and dimension j. It
// does not allocate. The draws are taken from rng sample by sample (within a
// sample: white noise in dst's order, colored noise one dimension's
// sequence after another).
func (c *ColoredNoise) Sample(dst []float64, n, d int, rng Normal) {
	h := c.h
	if len(dst) != n*h*d {
		panic(fmt.Sprintf("icem: noise buffer of length %d, want %d×%d×%d", len(dst), n, h, d))
	}
	if c.fft == nil {
		for i := range dst {
			dst[i] = rng.NormFloat64()
		}
		return
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			c.Sequence(c.seq, rng)
			for t, v := range c.seq {
				dst[(i*h+t)*d+j] = v
			}
		}
	}
}
