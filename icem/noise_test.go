package icem

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
)

// TestColoredNoiseIrfft checks that a sequence is numpy's irfft of the drawn
// coefficients divided by σ: y_t = (X_0 + 2Σ_{0<k<h/2} Re(X_k e^{2πikt/h})
// + X_{h/2}(−1)^t)/(hσ), for an even and an odd length.
func TestColoredNoiseIrfft(t *testing.T) {
	for _, h := range []int{8, 9, 30} {
		c := NewColoredNoise(1.5, h)
		rng := rand.New(rand.NewPCG(1, 2))
		y := make([]float64, h)
		c.Sequence(y, rng)
		nf := h/2 + 1
		for tt := 0; tt < h; tt++ {
			v := real(c.coeff[0])
			for k := 1; k < nf; k++ {
				e := cmplx.Exp(complex(0, 2*math.Pi*float64(k*tt)/float64(h)))
				if k == nf-1 && h%2 == 0 {
					v += real(c.coeff[k] * e)
				} else {
					v += 2 * real(c.coeff[k]*e)
				}
			}
			v /= float64(h) * c.sigma
			if math.Abs(v-y[tt]) > 1e-12 {
				t.Fatalf("h=%d t=%d: got %v, direct irfft %v", h, tt, y[tt], v)
			}
		}
		if imag(c.coeff[0]) != 0 || (h%2 == 0 && imag(c.coeff[nf-1]) != 0) {
			t.Errorf("h=%d: imaginary part at f=0 or Nyquist not zero", h)
		}
	}
}

// TestColoredNoiseSpectrum fits the slope of the log-log periodogram,
// averaged over many sequences: it must be −β within 0.15.
func TestColoredNoiseSpectrum(t *testing.T) {
	const (
		h     = 256
		draws = 300
		tol   = 0.15
	)
	fft := fourier.NewFFT(h)
	coef := make([]complex128, h/2+1)
	y := make([]float64, h)
	for _, beta := range []float64{0, 0.25, 1, 2, 3} {
		c := NewColoredNoise(beta, h)
		rng := rand.New(rand.NewPCG(7, uint64(beta*100)))
		psd := make([]float64, h/2+1)
		for range draws {
			c.Sequence(y, rng)
			fft.Coefficients(coef, y)
			for k, x := range coef {
				psd[k] += real(x)*real(x) + imag(x)*imag(x)
			}
		}
		var lf, lp []float64
		for k := 1; k <= h/2; k++ { // f = 0 carries no slope information
			lf = append(lf, math.Log(float64(k)/h))
			lp = append(lp, math.Log(psd[k]/draws))
		}
		_, slope := stat.LinearRegression(lf, lp, nil, false)
		if math.Abs(slope+beta) > tol {
			t.Errorf("beta=%v: periodogram slope %.3f, want %.3f ± %v", beta, slope, -beta, tol)
		}
	}
}

// expectedVariance computes, independently of ColoredNoise, the per-step
// variance that colorednoise's normalisation implies for length h.
func expectedVariance(beta float64, h int) float64 {
	nf := h/2 + 1
	s := make([]float64, nf)
	for k := 1; k < nf; k++ {
		s[k] = math.Pow(float64(k)/float64(h), -beta/2)
	}
	s[0] = s[1]
	w := append([]float64(nil), s[1:]...)
	if h%2 == 0 {
		w[len(w)-1] /= 2
	}
	ss := 0.0
	for _, x := range w {
		ss += x * x
	}
	sigma := 2 * math.Sqrt(ss) / float64(h)
	// Var y_t = Σ_k Var(coefficient k's contribution)/(hσ)²: the DC term and
	// the Nyquist term are real with variance 2s², every other k contributes
	// 2·Re(X_k e^{iθ}) with variance 4s².
	v := 2 * s[0] * s[0]
	for k := 1; k < nf; k++ {
		if h%2 == 0 && k == nf-1 {
			v += 2 * s[k] * s[k]
		} else {
			v += 4 * s[k] * s[k]
		}
	}
	return v / (float64(h) * float64(h) * sigma * sigma)
}

func TestColoredNoiseVariance(t *testing.T) {
	const (
		n   = 4000
		d   = 2
		tol = 0.03 // relative; the estimate over n·d·h correlated values has ≈1% std
	)
	prev := 1.0
	for _, h := range []int{30, 31} {
		prev = 1.0
		for _, beta := range []float64{0, 0.25, 1, 2, 3} {
			want := 1.0
			if beta > 0 {
				want = expectedVariance(beta, h)
				if want <= prev {
					t.Errorf("h=%d beta=%v: expected variance %v not above %v: it must grow with beta", h, beta, want, prev)
				}
				prev = want
			}
			c := NewColoredNoise(beta, h)
			if math.Abs(c.Variance()-want) > 1e-12*want {
				t.Errorf("h=%d beta=%v: Variance() = %v, want %v", h, beta, c.Variance(), want)
			}
			buf := make([]float64, n*h*d)
			c.Sample(buf, n, d, rand.New(rand.NewPCG(3, uint64(h))))
			mean, v := stat.PopMeanVariance(buf, nil)
			if math.Abs(v/want-1) > tol || math.Abs(mean) > 0.05*math.Sqrt(want) {
				t.Errorf("h=%d beta=%v: sample mean %.4f variance %.4f, want 0 and %.4f (±%v rel.)", h, beta, mean, v, want, tol)
			}
			// Every step has the same variance (the process is stationary).
			for _, tt := range []int{0, h / 2, h - 1} {
				var s2 float64
				for i := 0; i < n; i++ {
					x := buf[(i*h+tt)*d]
					s2 += x * x
				}
				if got := s2 / n; math.Abs(got/want-1) > 0.1 {
					t.Errorf("h=%d beta=%v step %d: variance %.4f, want %.4f ± 10%%", h, beta, tt, got, want)
				}
			}
		}
	}
}

func TestColoredNoiseSampleDoesNotAllocate(t *testing.T) {
	c := NewColoredNoise(2, 30)
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]float64, 40*30*6)
	if a := testing.AllocsPerRun(10, func() { c.Sample(buf, 40, 6, rng) }); a != 0 {
		t.Errorf("Sample allocates %v times per call", a)
	}
}

func BenchmarkColoredNoise(b *testing.B) {
	c := NewColoredNoise(2, 30)
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]float64, 100*30*17)
	for b.Loop() {
		c.Sample(buf, 100, 17, rng)
	}
	b.ReportMetric(float64(b.N*100*17)/b.Elapsed().Seconds(), "seq/s")
}
