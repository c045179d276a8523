package batchsim

import "math"

// Dense is one fully connected layer y = W·x + b.
type Dense struct {
	In, Out int
	W       []float64 // weights, index o*In + i (Out × In)
	B       []float64 // biases (Out)
}

// PolicyNet is a policy network in the form that the evaluators run for the
// guidance cost: normalised input, dense layers with ReLU between them, and
// the output squashed to the action bounds with tanh. The apex package trains
// it; this is the inference side that CPU and GPU share.
type PolicyNet struct {
	ObsMean []float64 // observation normaliser mean (nobs)
	ObsStd  []float64 // observation normaliser std, > 0 (nobs)
	Layers  []Dense
	ActLow  []float64 // (nact)
	ActHigh []float64 // (nact)
}

// Clone returns a deep copy.
func (p *PolicyNet) Clone() *PolicyNet {
	q := &PolicyNet{
		ObsMean: append([]float64(nil), p.ObsMean...),
		ObsStd:  append([]float64(nil), p.ObsStd...),
		ActLow:  append([]float64(nil), p.ActLow...),
		ActHigh: append([]float64(nil), p.ActHigh...),
	}
	for _, l := range p.Layers {
		q.Layers = append(q.Layers, Dense{In: l.In, Out: l.Out,
			W: append([]float64(nil), l.W...), B: append([]float64(nil), l.B...)})
	}
	return q
}

// MaxWidth is the widest layer (input included), the scratch size Act needs.
func (p *PolicyNet) MaxWidth() int {
	w := len(p.ObsMean)
	for _, l := range p.Layers {
		w = max(w, l.Out)
	}
	return w
}

// Act writes π(obs) to dst using buf (two slices of at least MaxWidth) as
// scratch, so that it does not allocate.
func (p *PolicyNet) Act(obs, dst []float64, buf *[2][]float64) {
	x, y := buf[0][:len(obs)], buf[1]
	for i := range obs {
		x[i] = (obs[i] - p.ObsMean[i]) / p.ObsStd[i]
	}
	for li, l := range p.Layers {
		y = y[:l.Out]
		for o := 0; o < l.Out; o++ {
			s := l.B[o]
			row := l.W[o*l.In : (o+1)*l.In]
			for i, v := range row {
				s += v * x[i]
			}
			if li < len(p.Layers)-1 && s < 0 {
				s = 0
			}
			y[o] = s
		}
		x, y = y, x[:cap(x)]
	}
	for i := range dst {
		dst[i] = p.ActLow[i] + (math.Tanh(x[i])+1)*0.5*(p.ActHigh[i]-p.ActLow[i])
	}
}
