package apex

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"runtime"

	"github.com/apex-robotics/apex/internal/openblas"
	"github.com/apex-robotics/apex/internal/par"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
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
// The minibatch forward and backward passes are matrix products (Dgemm of
// OpenBLAS when it can be loaded, else gonum's pure-Go one; see
// SetCompute) over chunks of trainChunk rows, run on the trainer's workers;
// their matrices are reused between steps.
type Trainer struct {
	cfg  TrainConfig
	p    *Policy
	m, v []float64 // Adam moments, laid out like p.params
	grad []float64 // gradient, laid out like p.params
	step int       // Adam steps taken

	workers int
	mm      dgemmer
	blas    string

	ws  *workspace
	idx []int // minibatch indices
}

// dgemmer is the matrix product of gonum's blas.Float64Level3.
type dgemmer interface {
	Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int,
		b []float64, ldb int, beta float64, c []float64, ldc int)
}

// Matrix-product backends of the training (SetCompute).
const (
	BLASAuto     = "auto"     // OpenBLAS when it loads, else Go
	BLASOpenBLAS = "openblas" // OpenBLAS (libopenblas.so.0), single-threaded per worker
	BLASGo       = "go"       // gonum's pure-Go Dgemm
)

// SetCompute sets the goroutines of the training (0: GOMAXPROCS) and its
// matrix-product backend (BLASAuto, BLASOpenBLAS or BLASGo). Neither
// changes the result on one backend: the work is cut into fixed chunks.
// The backends differ in rounding (summation order), not in the method.
func (t *Trainer) SetCompute(workers int, backend string) error {
	if workers < 0 {
		return fmt.Errorf("apex: training workers %d < 0", workers)
	}
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	switch backend {
	case BLASAuto, "":
		if _, err := openblas.Load(); err == nil {
			t.mm, t.blas = openblas.Impl{}, BLASOpenBLAS
		} else {
			t.mm, t.blas = gonum.Implementation{}, BLASGo
		}
	case BLASOpenBLAS:
		if _, err := openblas.Load(); err != nil {
			return fmt.Errorf("apex: training backend: %w", err)
		}
		t.mm, t.blas = openblas.Impl{}, BLASOpenBLAS
	case BLASGo:
		t.mm, t.blas = gonum.Implementation{}, BLASGo
	default:
		return fmt.Errorf("apex: training backend %q: want %s, %s or %s", backend, BLASAuto, BLASOpenBLAS, BLASGo)
	}
	t.workers = workers
	return nil
}

// BLAS is the name of the matrix-product backend in use (BLASOpenBLAS or
// BLASGo).
func (t *Trainer) BLAS() string { return t.blas }

// NewTrainer returns a trainer of p with fresh Adam moments. It panics on an
// invalid config (a programmer error).
func NewTrainer(p *Policy, cfg TrainConfig) *Trainer {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		panic(err.Error())
	}
	n := len(p.params)
	t := &Trainer{cfg: cfg, p: p, m: make([]float64, n), v: make([]float64, n), grad: make([]float64, n)}
	t.SetCompute(0, BLASAuto) // cannot fail
	return t
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

// trainChunk is the number of minibatch rows in one unit of parallel work.
// It is fixed, not derived from the worker count, and chunk gradients are
// summed in chunk order, so results do not depend on the number of workers.
const trainChunk = 256

// chunk holds the activations of up to trainChunk rows of a minibatch and
// their share of the gradient. Matrices are row-major with stride = columns.
type chunk struct {
	rows      int
	x, target []float64   // normalised observations (rows × obsDim), expert actions (rows × actDim)
	a         [][]float64 // a[l]: output of layer l, ReLU applied for hidden layers (rows × out_l)
	delta     [][]float64 // delta[l]: ∂loss/∂(pre-activation of layer l) (rows × out_l)
	grad      []float64   // this chunk's gradient, laid out like the policy's params
	sse       float64     // Σ squared action errors of the rows
}

// workspace holds the chunks of one minibatch size.
type workspace struct {
	batch  int
	chunks []*chunk
}

func newWorkspace(p *Policy, batch int) *workspace {
	ws := &workspace{batch: batch}
	for r := 0; r < batch; r += trainChunk {
		n := min(trainChunk, batch-r)
		c := &chunk{rows: n, x: make([]float64, n*p.obsDim), target: make([]float64, n*p.actDim),
			grad: make([]float64, len(p.params))}
		for _, l := range p.layers {
			c.a = append(c.a, make([]float64, n*l.out))
			c.delta = append(c.delta, make([]float64, n*l.out))
		}
		ws.chunks = append(ws.chunks, c)
	}
	return ws
}

// fill loads the pairs idx into the chunks' x (normalised like Policy.Act
// does) and target.
func (ws *workspace) fill(p *Policy, ds *Dataset, idx []int) {
	for ci, c := range ws.chunks {
		for r, i := range idx[ci*trainChunk : ci*trainChunk+c.rows] {
			o, a := ds.Pair(i)
			row := c.x[r*p.obsDim : (r+1)*p.obsDim]
			for j := range o {
				row[j] = (o[j] - p.obsMean[j]) / p.obsStd[j]
			}
			copy(c.target[r*p.actDim:(r+1)*p.actDim], a)
		}
	}
}

// forward computes the layer outputs of the chunk's rows; c.a's last entry
// holds the pre-squash outputs y.
func (c *chunk) forward(p *Policy, mm dgemmer) {
	in, inDim := c.x, p.obsDim
	last := len(p.layers) - 1
	for li, l := range p.layers {
		a := c.a[li]
		mm.Dgemm(blas.NoTrans, blas.Trans, c.rows, l.out, inDim, 1, in, inDim, l.w, l.in, 0, a, l.out)
		for r := 0; r < c.rows; r++ {
			row := a[r*l.out : (r+1)*l.out]
			for o, bo := range l.b {
				s := row[o] + bo
				if li < last && s < 0 {
					s = 0
				}
				row[o] = s
			}
		}
		in, inDim = a, l.out
	}
}

// lossGrad computes the chunk's squared error and its gradient (without the
// weight penalties) with respect to the parameters into c.grad; scale is
// ∂MSE/∂(squared error) of the whole minibatch.
func (c *chunk) lossGrad(p *Policy, mm dgemmer, scale float64) {
	c.forward(p, mm)
	// Output: act = low + (tanh(y)+1)/2·(high−low).
	last := len(p.layers) - 1
	y, dy := c.a[last], c.delta[last]
	c.sse = 0
	for r := 0; r < c.rows; r++ {
		for j := 0; j < p.actDim; j++ {
			th := math.Tanh(y[r*p.actDim+j])
			half := 0.5 * (p.actHigh[j] - p.actLow[j])
			e := p.actLow[j] + (th+1)*half - c.target[r*p.actDim+j]
			c.sse += e * e
			dy[r*p.actDim+j] = scale * e * (1 - th*th) * half
		}
	}
	// Backward through the layers.
	off := len(c.grad)
	for li := last; li >= 0; li-- {
		l := p.layers[li]
		off -= l.in*l.out + l.out
		d := c.delta[li]
		in := c.x
		if li > 0 {
			in = c.a[li-1]
		}
		mm.Dgemm(blas.Trans, blas.NoTrans, l.out, l.in, c.rows, 1, d, l.out, in, l.in, 0, c.grad[off:off+l.in*l.out], l.in)
		gb := c.grad[off+l.in*l.out : off+l.in*l.out+l.out]
		clear(gb)
		for r := 0; r < c.rows; r++ {
			for o, v := range d[r*l.out : (r+1)*l.out] {
				gb[o] += v
			}
		}
		if li > 0 {
			prev, act := c.delta[li-1], c.a[li-1]
			mm.Dgemm(blas.NoTrans, blas.NoTrans, c.rows, l.in, l.out, 1, d, l.out, l.w, l.in, 0, prev, l.in)
			// ReLU: a > 0 exactly where the pre-activation is > 0.
			for j, av := range act[:c.rows*l.in] {
				if av <= 0 {
					prev[j] = 0
				}
			}
		}
	}
}

// lossGrad computes the loss of the minibatch loaded in the workspace and
// its gradient with respect to the parameters into t.grad. It returns the
// total loss and its MSE part. Chunks run on the trainer's workers; their
// gradients are summed in chunk order.
func (t *Trainer) lossGrad() (loss, mse float64) {
	p, ws := t.p, t.ws
	scale := 2 / float64(ws.batch*p.actDim)
	parallel(t.workers, len(ws.chunks), func(ci int) { ws.chunks[ci].lossGrad(p, t.mm, scale) })
	copy(t.grad, ws.chunks[0].grad)
	sse := ws.chunks[0].sse
	for _, c := range ws.chunks[1:] {
		for i, g := range c.grad {
			t.grad[i] += g
		}
		sse += c.sse
	}
	mse = sse / float64(ws.batch*p.actDim)

	// Weight penalties (weights only).
	loss = mse
	cfg := t.cfg
	off := 0
	for _, l := range p.layers {
		g := t.grad[off : off+len(l.w)]
		for i, w := range l.w {
			loss += cfg.L1*math.Abs(w) + cfg.L2*w*w
			sgn := 0.0
			if w > 0 {
				sgn = 1
			} else if w < 0 {
				sgn = -1
			}
			g[i] += cfg.L1*sgn + 2*cfg.L2*w
		}
		off += len(l.w) + len(l.b)
	}
	return loss, mse
}

// parallel runs fn(k) for k in [0, n) on up to workers goroutines.
func parallel(workers, n int, fn func(k int)) { par.For(workers, n, func(_, k int) { fn(k) }) }

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
	t := &Trainer{cfg: tf.Config, p: p, m: tf.M, v: tf.V, grad: make([]float64, n), step: tf.Step}
	t.SetCompute(0, BLASAuto) // cannot fail
	return t, nil
}
