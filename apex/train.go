package apex

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"gonum.org/v1/gonum/mat"
)

// TrainSteps is the number of gradient steps per training call in the paper
// (Pinneri et al. 2021, Table 3).
const TrainSteps = 1000

// TrainConfig holds the training settings of the policy (Pinneri et al.
// 2021, Table 3). The zero value of a field means its default.
type TrainConfig struct {
	LR        float64 // Adam learning rate; default 5e-4
	Beta1     float64 // Adam first-moment decay, in (0, 1); default 0.9
	Beta2     float64 // Adam second-moment decay, in (0, 1); default 0.999
	Eps       float64 // Adam denominator offset; default 1e-8
	BatchSize int     // minibatch size; default 1024 (the whole data set when smaller)
	L1        float64 // weight of Σ|w| over the weights (not biases); default 1e-6, < 0 for none
	L2        float64 // weight of Σw² over the weights (not biases); default 1e-5, < 0 for none
}

// withDefaults fills in the defaults of zero fields.
func (c TrainConfig) withDefaults() TrainConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.LR, 5e-4)
	def(&c.Beta1, 0.9)
	def(&c.Beta2, 0.999)
	def(&c.Eps, 1e-8)
	def(&c.L1, 1e-6)
	def(&c.L2, 1e-5)
	if c.L1 < 0 {
		c.L1 = 0
	}
	if c.L2 < 0 {
		c.L2 = 0
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1024
	}
	return c
}

func (c TrainConfig) validate() error {
	if !(c.LR > 0) || !(c.Beta1 > 0 && c.Beta1 < 1) || !(c.Beta2 > 0 && c.Beta2 < 1) || !(c.Eps > 0) || c.BatchSize <= 0 {
		return fmt.Errorf("apex: bad training config %+v", c)
	}
	return nil
}

// TrainStats summarises one Train call. Losses are those of the minibatch
// of each step, taken before that step's update.
type TrainStats struct {
	Steps     int     // gradient steps taken
	BatchSize int     // pairs per minibatch
	Loss      float64 // total loss (MSE + L1 + L2 terms) of the last step
	MeanLoss  float64 // mean total loss over the steps
	MSE       float64 // mean squared action error of the last step
	MeanMSE   float64 // mean of the MSE over the steps
}

// Trainer fits a Policy to a Dataset by minimising
//
//	mean over the minibatch and action components of (π(o) − a)²
//	  + L1·Σ|w| + L2·Σw²          (w: the weights, not the biases)
//
// with Adam (Kingma & Ba 2015, with bias correction as in PyTorch), the
// training of the APEX paper (Pinneri et al. 2021, Table 3). It trains its
// policy in place. Its whole state (policy, Adam moments, step count) can be
// saved and loaded, so a resumed run continues bit for bit.
//
// The minibatch forward and backward passes are matrix products (gonum
// mat.Dense.Mul, which splits large products over all cores); their
// matrices are reused between steps.
type Trainer struct {
	cfg  TrainConfig
	p    *Policy
	m, v []float64 // Adam moments, laid out like p.params
	grad []float64 // gradient, laid out like p.params
	step int       // Adam steps taken

	ws  *workspace
	idx []int // minibatch indices
}

// NewTrainer returns a trainer of p with fresh Adam moments. It panics on an
// invalid config (a programmer error).
func NewTrainer(p *Policy, cfg TrainConfig) *Trainer {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		panic(err.Error())
	}
	n := len(p.params)
	return &Trainer{cfg: cfg, p: p, m: make([]float64, n), v: make([]float64, n), grad: make([]float64, n)}
}

// Policy returns the policy being trained (the same pointer every time).
func (t *Trainer) Policy() *Policy { return t.p }

// Config returns the configuration with defaults filled in.
func (t *Trainer) Config() TrainConfig { return t.cfg }

// Steps is the number of gradient steps taken over the trainer's life
// (Adam's t).
func (t *Trainer) Steps() int { return t.step }

// Train sets the policy's observation normaliser to the data set's
// statistics (Dataset.ObsStats) and takes steps Adam steps (the paper:
// TrainSteps per call) on minibatches of Config().BatchSize pairs drawn
// uniformly with replacement by rng, or on the whole data set in order when
// it holds no more pairs than that. The result is a function of the
// trainer's state, the data set and rng's state only; to resume identically
// after a kill, restore the trainer (LoadTrainer) and the data set, and
// derive rng from the run seed and the call's position in the run (or
// restore a saved rand.PCG).
//
// It returns an error, leaving the policy in its diverged state, if the loss
// becomes NaN or infinite.
func (t *Trainer) Train(ds *Dataset, steps int, rng *rand.Rand) (TrainStats, error) {
	p := t.p
	if ds.ObsDim() != p.obsDim || ds.ActDim() != p.actDim {
		return TrainStats{}, fmt.Errorf("apex: train: data set pairs %d→%d, policy %d→%d",
			ds.ObsDim(), ds.ActDim(), p.obsDim, p.actDim)
	}
	n := ds.Len()
	if n == 0 {
		return TrainStats{}, errors.New("apex: train: empty data set")
	}
	if steps < 0 {
		panic(fmt.Sprintf("apex: Train: steps %d < 0", steps))
	}
	p.SetNormalizer(ds.ObsStats())
	defer p.changed()

	b := min(t.cfg.BatchSize, n)
	if t.ws == nil || t.ws.batch != b {
		t.ws = newWorkspace(p, b)
		t.idx = make([]int, b)
	}
	if b == n {
		for i := range t.idx {
			t.idx[i] = i
		}
		t.ws.fill(p, ds, t.idx)
	}
	st := TrainStats{Steps: steps, BatchSize: b}
	for s := 0; s < steps; s++ {
		if b < n {
			ds.Sample(rng, t.idx)
			t.ws.fill(p, ds, t.idx)
		}
		loss, mse := t.lossGrad()
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return st, fmt.Errorf("apex: train: loss %g at step %d", loss, t.step)
		}
		t.adam()
		st.Loss, st.MSE = loss, mse
		st.MeanLoss += loss
		st.MeanMSE += mse
	}
	if steps > 0 {
		st.MeanLoss /= float64(steps)
		st.MeanMSE /= float64(steps)
	}
	return st, nil
}

// adam takes one Adam step with t.grad.
func (t *Trainer) adam() {
	t.step++
	c := t.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(t.step))
	bc2 := 1 - math.Pow(c.Beta2, float64(t.step))
	th, m, v := t.p.params, t.m, t.v
	for i, g := range t.grad {
		m[i] = c.Beta1*m[i] + (1-c.Beta1)*g
		v[i] = c.Beta2*v[i] + (1-c.Beta2)*g*g
		th[i] -= c.LR * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + c.Eps)
	}
}

// workspace holds the matrices of one minibatch size.
type workspace struct {
	batch  int
	x      *mat.Dense   // normalised observations (batch × obsDim)
	target *mat.Dense   // expert actions (batch × actDim)
	a      []*mat.Dense // a[l]: output of layer l, ReLU applied for hidden layers (batch × out_l)
	delta  []*mat.Dense // delta[l]: ∂loss/∂(pre-activation of layer l) (batch × out_l)
	w      []*mat.Dense // views of the weights (out_l × in_l)
	gw     []*mat.Dense // views of the weight gradients (out_l × in_l)
}

func newWorkspace(p *Policy, batch int) *workspace {
	ws := &workspace{
		batch:  batch,
		x:      mat.NewDense(batch, p.obsDim, nil),
		target: mat.NewDense(batch, p.actDim, nil),
	}
	for _, l := range p.layers {
		ws.a = append(ws.a, mat.NewDense(batch, l.out, nil))
		ws.delta = append(ws.delta, mat.NewDense(batch, l.out, nil))
	}
	return ws
}

// bind points the weight views at the policy's and the gradient's storage.
func (ws *workspace) bind(p *Policy, grad []float64) {
	if ws.w != nil && &ws.w[0].RawMatrix().Data[0] == &p.layers[0].w[0] &&
		&ws.gw[0].RawMatrix().Data[0] == &grad[0] {
		return
	}
	ws.w, ws.gw = ws.w[:0], ws.gw[:0]
	off := 0
	for _, l := range p.layers {
		ws.w = append(ws.w, mat.NewDense(l.out, l.in, l.w))
		ws.gw = append(ws.gw, mat.NewDense(l.out, l.in, grad[off:off+l.in*l.out]))
		off += l.in*l.out + l.out
	}
}

// fill loads the pairs idx into x (normalised like Policy.Act does) and target.
func (ws *workspace) fill(p *Policy, ds *Dataset, idx []int) {
	x := ws.x.RawMatrix()
	tg := ws.target.RawMatrix()
	for r, i := range idx {
		o, a := ds.Pair(i)
		row := x.Data[r*x.Stride : r*x.Stride+p.obsDim]
		for j := range o {
			row[j] = (o[j] - p.obsMean[j]) / p.obsStd[j]
		}
		copy(tg.Data[r*tg.Stride:r*tg.Stride+p.actDim], a)
	}
}

// forward computes the layer outputs of the minibatch in ws.x; ws.a's last
// entry holds the pre-squash outputs y.
func (ws *workspace) forward(p *Policy) {
	in := ws.x
	last := len(p.layers) - 1
	for li, l := range p.layers {
		a := ws.a[li]
		a.Mul(in, ws.w[li].T())
		raw := a.RawMatrix()
		for r := 0; r < raw.Rows; r++ {
			row := raw.Data[r*raw.Stride : r*raw.Stride+l.out]
			for o, bo := range l.b {
				s := row[o] + bo
				if li < last && s < 0 {
					s = 0
				}
				row[o] = s
			}
		}
		in = a
	}
}

// lossGrad computes the loss of the minibatch loaded in the workspace and
// its gradient with respect to the parameters into t.grad. It returns the
// total loss and its MSE part.
func (t *Trainer) lossGrad() (loss, mse float64) {
	p, ws := t.p, t.ws
	ws.bind(p, t.grad)
	ws.forward(p)

	// Output: act = low + (tanh(y)+1)/2·(high−low), MSE over batch × actDim.
	last := len(p.layers) - 1
	y := ws.a[last].RawMatrix()
	tg := ws.target.RawMatrix()
	dy := ws.delta[last].RawMatrix()
	scale := 2 / float64(ws.batch*p.actDim)
	for r := 0; r < ws.batch; r++ {
		for j := 0; j < p.actDim; j++ {
			th := math.Tanh(y.Data[r*y.Stride+j])
			half := 0.5 * (p.actHigh[j] - p.actLow[j])
			e := p.actLow[j] + (th+1)*half - tg.Data[r*tg.Stride+j]
			mse += e * e
			dy.Data[r*dy.Stride+j] = scale * e * (1 - th*th) * half
		}
	}
	mse /= float64(ws.batch * p.actDim)

	// Backward through the layers.
	off := len(t.grad)
	for li := last; li >= 0; li-- {
		l := p.layers[li]
		off -= l.in*l.out + l.out
		d := ws.delta[li]
		in := ws.x
		if li > 0 {
			in = ws.a[li-1]
		}
		ws.gw[li].Mul(d.T(), in)
		gb := t.grad[off+l.in*l.out : off+l.in*l.out+l.out]
		clear(gb)
		dr := d.RawMatrix()
		for r := 0; r < dr.Rows; r++ {
			for o, v := range dr.Data[r*dr.Stride : r*dr.Stride+l.out] {
				gb[o] += v
			}
		}
		if li > 0 {
			prev := ws.delta[li-1]
			prev.Mul(d, ws.w[li])
			// ReLU: a > 0 exactly where the pre-activation is > 0.
			pr, ar := prev.RawMatrix(), ws.a[li-1].RawMatrix()
			for r := 0; r < pr.Rows; r++ {
				prow := pr.Data[r*pr.Stride : r*pr.Stride+pr.Cols]
				arow := ar.Data[r*ar.Stride : r*ar.Stride+pr.Cols]
				for j, av := range arow {
					if av <= 0 {
						prow[j] = 0
					}
				}
			}
		}
	}

	// Weight penalties (weights only).
	loss = mse
	c := t.cfg
	off = 0
	for _, l := range p.layers {
		g := t.grad[off : off+len(l.w)]
		for i, w := range l.w {
			loss += c.L1*math.Abs(w) + c.L2*w*w
			sgn := 0.0
			if w > 0 {
				sgn = 1
			} else if w < 0 {
				sgn = -1
			}
			g[i] += c.L1*sgn + 2*c.L2*w
		}
		off += len(l.w) + len(l.b)
	}
	return loss, mse
}

// MSE is the mean squared error of p's actions against the expert actions of
// ds, over all pairs and action components.
func (p *Policy) MSE(ds *Dataset) float64 {
	if ds.ObsDim() != p.obsDim || ds.ActDim() != p.actDim {
		panic(fmt.Sprintf("apex: MSE: data set pairs %d→%d, policy %d→%d", ds.ObsDim(), ds.ActDim(), p.obsDim, p.actDim))
	}
	n := ds.Len()
	if n == 0 {
		return 0
	}
	out := make([]float64, p.actDim)
	var s float64
	for i := 0; i < n; i++ {
		o, a := ds.Pair(i)
		p.Act(o, out)
		for j, v := range out {
			e := v - a[j]
			s += e * e
		}
	}
	return s / float64(n*p.actDim)
}

// trainerFile is the trainer checkpoint format (encoding/gob, exact float64).
type trainerFile struct {
	Format  string
	Version int
	Policy  policyJSON
	Config  TrainConfig
	Step    int
	M, V    []float64
}

const (
	trainerFormat  = "apex-trainer"
	trainerVersion = 1
)

// Save writes the trainer's whole state (policy, config, Adam moments, step
// count) to path (encoding/gob), atomically.
func (t *Trainer) Save(path string) error {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(trainerFile{
		Format: trainerFormat, Version: trainerVersion,
		Policy: t.p.toJSON(), Config: t.cfg, Step: t.step, M: t.m, V: t.v,
	})
	if err != nil {
		return fmt.Errorf("apex: save trainer %s: %w", path, err)
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("apex: save trainer: %w", err)
	}
	return nil
}

// LoadTrainer reads a trainer written by Save; training it further gives the
// same results as training the saved one would have.
func LoadTrainer(path string) (*Trainer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apex: load trainer: %w", err)
	}
	defer f.Close()
	var tf trainerFile
	if err := gob.NewDecoder(f).Decode(&tf); err != nil {
		return nil, fmt.Errorf("apex: load trainer %s: %w", path, err)
	}
	if tf.Format != trainerFormat || tf.Version != trainerVersion {
		return nil, fmt.Errorf("apex: load trainer %s: format %q version %d, want %q version %d",
			path, tf.Format, tf.Version, trainerFormat, trainerVersion)
	}
	p, err := policyFromJSON(&tf.Policy)
	if err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	if err := tf.Config.validate(); err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	n := len(p.params)
	if len(tf.M) != n || len(tf.V) != n || tf.Step < 0 {
		return nil, fmt.Errorf("apex: load trainer %s: %d and %d Adam moments for %d parameters, step %d",
			path, len(tf.M), len(tf.V), n, tf.Step)
	}
	return &Trainer{cfg: tf.Config, p: p, m: tf.M, v: tf.V, grad: make([]float64, n), step: tf.Step}, nil
}
