// Package apex implements Adaptive Policy EXtraction (APEX; Pinneri, Sawant,
// Blaes, Martius, "Extracting Strong Policies for Robotics Tasks from
// Zero-Order Trajectory Optimizers", ICLR 2021): a neural policy distilled
// from the iCEMπ planner with DAgger (Ross, Gordon, Bagnell, AISTATS 2011).
//
// The parts the APEX loop builds on:
//
//   - Policy (policy.go): the MLP π(o) with its observation normaliser; it
//     implements icem.Policy, and Net exports it as the batchsim.PolicyNet
//     the evaluators run for the guidance cost. Save/LoadPolicy: policy.json.
//   - Dataset (dataset.go): (observation, expert action) pairs grouped by
//     rollout with their Provenance, keeping the latest Window rollouts.
//   - Trainer (train.go): Adam on MSE + L1 + L2, TrainSteps steps per call.
//   - Run (loop.go): the APEX loop of Alg. 2 with the baselines and
//     ablations of RunConfig (config.go), DAgger relabelling, evaluation of
//     the policy alone (eval.go), and its run folder (runfolder.go:
//     config.json, metrics.csv, checkpoints, resume; plots.go).
//
// Checkpoints: Trainer.Save (policy, Adam moments, step count) and
// Dataset.Save hold the whole training state; with every random stream
// derived from the run seed, a run resumed from them continues bit for bit.
// Every file is written atomically (a temporary file in the same directory,
// fsync, rename), so a kill leaves the previous version intact.
package apex

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sync"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/icem"
	"github.com/apex-robotics/apex/internal/atomicfile"
)

// DefaultHidden are the hidden layer widths of the paper's policy (Table 3:
// three hidden layers of 128 ReLU units).
var DefaultHidden = []int{128, 128, 128}

// StdFloor is the smallest standard deviation the observation normaliser
// uses. An observation component that is constant over the data set gets
// this std, so it normalises to 0 on the data; a later deviation δ from that
// constant enters the network as δ/StdFloor, so tasks with constant
// observation components should expect large inputs off the data.
const StdFloor = 1e-6

// policyVersion is the version of the policy.json format.
const policyVersion = 1

// layer is one dense layer y = W·x + b. W and b are views into the policy's
// flat parameter vector, so that the optimiser updates all of them at once.
type layer struct {
	in, out int
	w       []float64 // weights, index o*in + i (out × in), the batchsim.Dense layout
	b       []float64 // biases (out)
}

// Policy is the APEX policy π(o): the observation normalised by the mean and
// std of the data set, an MLP with ReLU hidden layers, and its output y
// squashed to the action bounds as low + (tanh(y)+1)/2·(high−low). This is
// exactly the inference form of batchsim.PolicyNet, which Net exports.
//
// Act and Net are safe for concurrent use with each other, but not with
// Trainer.Train or SetNormalizer, which change the policy in place.
type Policy struct {
	obsDim, actDim int
	hidden         []int
	params         []float64 // all weights and biases, layer by layer (w then b)
	layers         []layer
	obsMean        []float64 // (obsDim)
	obsStd         []float64 // (obsDim), ≥ StdFloor
	actLow         []float64 // (actDim)
	actHigh        []float64 // (actDim)

	scratch sync.Pool // *[2][]float64 of maxWidth, for Act

	mu  sync.Mutex
	net *batchsim.PolicyNet // snapshot for Net; nil after a change
}

var _ icem.Policy = (*Policy)(nil)

// NewPolicy returns a policy for observations of obsDim components and
// actions in [actLow, actHigh] (per component, low < high), with hidden
// layers of the given widths (nil means DefaultHidden). The normaliser starts
// as the identity (mean 0, std 1). Weights are drawn from src: He uniform
// (±√(6/fan_in), He et al. 2015) for the ReLU layers and Glorot uniform
// (±√(6/(fan_in+fan_out)), Glorot & Bengio 2010) for the tanh output layer;
// biases are 0. The same src state gives the same policy.
func NewPolicy(obsDim int, actLow, actHigh []float64, hidden []int, src rand.Source) *Policy {
	if obsDim <= 0 {
		panic(fmt.Sprintf("apex: NewPolicy: obsDim %d ≤ 0", obsDim))
	}
	if len(actLow) == 0 || len(actLow) != len(actHigh) {
		panic(fmt.Sprintf("apex: NewPolicy: action bounds of lengths %d and %d", len(actLow), len(actHigh)))
	}
	for i := range actLow {
		if !(actLow[i] < actHigh[i]) {
			panic(fmt.Sprintf("apex: NewPolicy: action bound %d: low %g ≥ high %g", i, actLow[i], actHigh[i]))
		}
	}
	if hidden == nil {
		hidden = DefaultHidden
	}
	p := newPolicyShape(obsDim, len(actLow), hidden)
	copy(p.actLow, actLow)
	copy(p.actHigh, actHigh)
	for i := range p.obsStd {
		p.obsStd[i] = 1
	}
	rng := rand.New(src)
	for li, l := range p.layers {
		limit := math.Sqrt(6 / float64(l.in)) // He, for ReLU
		if li == len(p.layers)-1 {
			limit = math.Sqrt(6 / float64(l.in+l.out)) // Glorot, for tanh
		}
		for i := range l.w {
			l.w[i] = limit * (2*rng.Float64() - 1)
		}
	}
	return p
}

// Limits of a policy's architecture, checked before anything is allocated
// (CheckArchitecture), so that a typo in --hidden or a corrupt policy.json
// is an error, not an out-of-memory crash. The paper's policies have three
// layers of 128 units and a few thousand parameters.
const (
	// MaxPolicyWidth bounds the observation and action sizes and each
	// hidden layer's width.
	MaxPolicyWidth = 1 << 16
	// MaxPolicyLayers bounds the number of hidden layers.
	MaxPolicyLayers = 64
	// MaxPolicyParams bounds the weights and biases (64 MiB of float64;
	// the trainer keeps a few copies for Adam and its gradients).
	MaxPolicyParams = 1 << 23
	// maxPolicyFileBytes bounds the size of a policy.json LoadPolicy reads
	// (MaxPolicyParams numbers take about 200 MB as JSON); decoding a file
	// this large of short numbers allocates at most about 1 GiB before the
	// lengths are checked.
	maxPolicyFileBytes = 256 << 20
)

// CheckArchitecture reports whether an MLP from obsDim observations through
// the hidden widths to actDim actions is within the limits above (and every
// size ≥ 1), with the limit in the message.
func CheckArchitecture(obsDim, actDim int, hidden []int) error {
	if obsDim < 1 || actDim < 1 {
		return fmt.Errorf("apex: policy of %d observations and %d actions: both must be ≥ 1", obsDim, actDim)
	}
	if obsDim > MaxPolicyWidth || actDim > MaxPolicyWidth {
		return fmt.Errorf("apex: policy of %d observations and %d actions: at most %d each", obsDim, actDim, MaxPolicyWidth)
	}
	if len(hidden) > MaxPolicyLayers {
		return fmt.Errorf("apex: policy of %d hidden layers: at most %d", len(hidden), MaxPolicyLayers)
	}
	for _, h := range hidden {
		if h < 1 || h > MaxPolicyWidth {
			return fmt.Errorf("apex: policy hidden width %d: want 1..%d", h, MaxPolicyWidth)
		}
	}
	// Every width is ≤ 2^16, so each term is ≤ 2^32 + 2^16 and the sum of
	// at most 65 terms cannot overflow an int64.
	var n int64
	prev := int64(obsDim)
	for _, w := range append(append([]int(nil), hidden...), actDim) {
		n += prev*int64(w) + int64(w)
		prev = int64(w)
	}
	if n > MaxPolicyParams {
		return fmt.Errorf("apex: policy %d→%v→%d has %d parameters: at most %d", obsDim, hidden, actDim, n, MaxPolicyParams)
	}
	return nil
}

// newPolicyShape allocates a zero policy of the given architecture, which
// must pass CheckArchitecture.
func newPolicyShape(obsDim, actDim int, hidden []int) *Policy {
	if err := CheckArchitecture(obsDim, actDim, hidden); err != nil {
		panic(err.Error())
	}
	p := &Policy{
		obsDim:  obsDim,
		actDim:  actDim,
		hidden:  append([]int(nil), hidden...),
		obsMean: make([]float64, obsDim),
		obsStd:  make([]float64, obsDim),
		actLow:  make([]float64, actDim),
		actHigh: make([]float64, actDim),
	}
	widths := append(append([]int{obsDim}, hidden...), actDim)
	n := 0
	for i := 1; i < len(widths); i++ {
		n += widths[i]*widths[i-1] + widths[i]
	}
	p.params = make([]float64, n)
	off := 0
	for i := 1; i < len(widths); i++ {
		in, out := widths[i-1], widths[i]
		l := layer{in: in, out: out}
		l.w = p.params[off : off+in*out : off+in*out]
		off += in * out
		l.b = p.params[off : off+out : off+out]
		off += out
		p.layers = append(p.layers, l)
	}
	mw := slicesMax(widths)
	p.scratch.New = func() any {
		return &[2][]float64{make([]float64, mw), make([]float64, mw)}
	}
	return p
}

func slicesMax(s []int) int {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return m
}

// ObsDim is the number of observation components.
func (p *Policy) ObsDim() int { return p.obsDim }

// ActDim is the number of action components.
func (p *Policy) ActDim() int { return p.actDim }

// Hidden returns a copy of the hidden layer widths.
func (p *Policy) Hidden() []int { return append([]int(nil), p.hidden...) }

// NumParams is the number of weights and biases.
func (p *Policy) NumParams() int { return len(p.params) }

// Bounds returns copies of the action bounds.
func (p *Policy) Bounds() (low, high []float64) {
	return append([]float64(nil), p.actLow...), append([]float64(nil), p.actHigh...)
}

// Normalizer returns copies of the observation normaliser's mean and std.
func (p *Policy) Normalizer() (mean, std []float64) {
	return append([]float64(nil), p.obsMean...), append([]float64(nil), p.obsStd...)
}

// SetNormalizer sets the observation normaliser; std is floored at StdFloor.
// Trainer.Train calls it with the statistics of the data set.
func (p *Policy) SetNormalizer(mean, std []float64) {
	if len(mean) != p.obsDim || len(std) != p.obsDim {
		panic(fmt.Sprintf("apex: SetNormalizer: lengths %d, %d, want %d", len(mean), len(std), p.obsDim))
	}
	copy(p.obsMean, mean)
	for i, s := range std {
		if s < StdFloor { // NaN stays NaN, so that bad data shows
			s = StdFloor
		}
		p.obsStd[i] = s
	}
	p.changed()
}

// changed drops the Net snapshot after the parameters or normaliser change.
func (p *Policy) changed() {
	p.mu.Lock()
	p.net = nil
	p.mu.Unlock()
}

// Act writes π(obs) to dst. It runs the evaluators' own inference
// (batchsim.PolicyNet.Act on the Net snapshot), so the planner, the policy
// rollouts and the guidance cost see bitwise identical actions. It does not
// allocate (after warm-up and after each change of the weights) and is safe
// for concurrent use.
func (p *Policy) Act(obs, dst []float64) {
	if len(obs) != p.obsDim || len(dst) != p.actDim {
		panic(fmt.Sprintf("apex: Act: obs %d, dst %d, want %d, %d", len(obs), len(dst), p.obsDim, p.actDim))
	}
	buf := p.scratch.Get().(*[2][]float64)
	p.Net().Act(obs, dst, buf)
	p.scratch.Put(buf)
}

// Net returns the policy in the layout the evaluators run (batchsim.Dense:
// W indexed o*In + i). The result is a snapshot shared between calls until
// the policy changes, after which Net returns a new one; the old snapshot
// stays as it was, so an evaluator may compare pointers to know whether to
// upload the weights again. Callers must not modify it.
func (p *Policy) Net() *batchsim.PolicyNet {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.net == nil {
		n := &batchsim.PolicyNet{
			ObsMean: append([]float64(nil), p.obsMean...),
			ObsStd:  append([]float64(nil), p.obsStd...),
			ActLow:  append([]float64(nil), p.actLow...),
			ActHigh: append([]float64(nil), p.actHigh...),
		}
		for _, l := range p.layers {
			n.Layers = append(n.Layers, batchsim.Dense{In: l.in, Out: l.out,
				W: append([]float64(nil), l.w...), B: append([]float64(nil), l.b...)})
		}
		p.net = n
	}
	return p.net
}

// Clone returns a deep copy.
func (p *Policy) Clone() *Policy {
	q := newPolicyShape(p.obsDim, p.actDim, p.hidden)
	copy(q.params, p.params)
	copy(q.obsMean, p.obsMean)
	copy(q.obsStd, p.obsStd)
	copy(q.actLow, p.actLow)
	copy(q.actHigh, p.actHigh)
	return q
}

// policyJSON is the policy.json format. encoding/json writes a float64 in
// its shortest form that parses back to the same value (strconv with
// precision −1), so a saved policy loads bitwise identical.
type policyJSON struct {
	Format  string      `json:"format"`
	Version int         `json:"version"`
	ObsDim  int         `json:"obs_dim"`
	ActDim  int         `json:"act_dim"`
	Hidden  []int       `json:"hidden"`
	ObsMean []float64   `json:"obs_mean"`
	ObsStd  []float64   `json:"obs_std"`
	ActLow  []float64   `json:"act_low"`
	ActHigh []float64   `json:"act_high"`
	Layers  []layerJSON `json:"layers"`
}

type layerJSON struct {
	In  int       `json:"in"`
	Out int       `json:"out"`
	W   []float64 `json:"w"` // index o*in + i (out × in)
	B   []float64 `json:"b"` // (out)
}

const policyFormat = "apex-policy"

func (p *Policy) toJSON() policyJSON {
	j := policyJSON{
		Format: policyFormat, Version: policyVersion,
		ObsDim: p.obsDim, ActDim: p.actDim, Hidden: p.hidden,
		ObsMean: p.obsMean, ObsStd: p.obsStd, ActLow: p.actLow, ActHigh: p.actHigh,
	}
	for _, l := range p.layers {
		j.Layers = append(j.Layers, layerJSON{In: l.in, Out: l.out, W: l.w, B: l.b})
	}
	return j
}

func policyFromJSON(j *policyJSON) (*Policy, error) {
	if j.Format != policyFormat {
		return nil, fmt.Errorf("apex: not a policy file (format %q)", j.Format)
	}
	if j.Version != policyVersion {
		return nil, fmt.Errorf("apex: policy format version %d, want %d", j.Version, policyVersion)
	}
	// Every size is checked against the limits and the arrays' lengths
	// against the sizes before the policy is allocated.
	if err := CheckArchitecture(j.ObsDim, j.ActDim, j.Hidden); err != nil {
		return nil, err
	}
	if len(j.ObsMean) != j.ObsDim || len(j.ObsStd) != j.ObsDim ||
		len(j.ActLow) != j.ActDim || len(j.ActHigh) != j.ActDim {
		return nil, fmt.Errorf("apex: policy normaliser or bounds of lengths %d, %d, %d, %d, want %d, %d, %d, %d",
			len(j.ObsMean), len(j.ObsStd), len(j.ActLow), len(j.ActHigh), j.ObsDim, j.ObsDim, j.ActDim, j.ActDim)
	}
	widths := append(append([]int{j.ObsDim}, j.Hidden...), j.ActDim)
	if len(j.Layers) != len(widths)-1 {
		return nil, fmt.Errorf("apex: policy has %d layers, architecture needs %d", len(j.Layers), len(widths)-1)
	}
	for i, jl := range j.Layers {
		in, out := widths[i], widths[i+1]
		if jl.In != in || jl.Out != out || len(jl.W) != in*out || len(jl.B) != out {
			return nil, fmt.Errorf("apex: policy layer %d: shape %d×%d with %d weights, %d biases, want %d×%d",
				i, jl.Out, jl.In, len(jl.W), len(jl.B), out, in)
		}
	}
	p := newPolicyShape(j.ObsDim, j.ActDim, j.Hidden)
	for i, l := range p.layers {
		copy(l.w, j.Layers[i].W)
		copy(l.b, j.Layers[i].B)
	}
	copy(p.obsMean, j.ObsMean)
	copy(p.obsStd, j.ObsStd)
	copy(p.actLow, j.ActLow)
	copy(p.actHigh, j.ActHigh)
	for i, s := range p.obsStd {
		if !(s > 0) {
			return nil, fmt.Errorf("apex: policy normaliser std[%d] = %g, want > 0", i, s)
		}
	}
	for i := range p.actLow {
		if !(p.actLow[i] < p.actHigh[i]) || math.IsInf(p.actHigh[i]-p.actLow[i], 0) {
			return nil, fmt.Errorf("apex: policy action bound %d: [%g, %g] is not a finite range", i, p.actLow[i], p.actHigh[i])
		}
	}
	for _, v := range [][]float64{p.params, p.obsMean, p.obsStd} {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("apex: policy holds a non-finite weight or normaliser value (%g)", x)
			}
		}
	}
	return p, nil
}

// MarshalJSON encodes the policy in the policy.json format (weights,
// normaliser, bounds and architecture).
func (p *Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.toJSON())
}

// UnmarshalJSON decodes the policy.json format into p, replacing it.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var j policyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("apex: decode policy: %w", err)
	}
	q, err := policyFromJSON(&j)
	if err != nil {
		return err
	}
	p.obsDim, p.actDim, p.hidden, p.params, p.layers = q.obsDim, q.actDim, q.hidden, q.params, q.layers
	p.obsMean, p.obsStd, p.actLow, p.actHigh = q.obsMean, q.obsStd, q.actLow, q.actHigh
	p.scratch = sync.Pool{New: q.scratch.New}
	p.changed()
	return nil
}

// Save writes the policy to path as JSON, atomically (see writeFileAtomic):
// a reader sees the old file or the new one, never a partial one.
func (p *Policy) Save(path string) error {
	// JSON holds no NaN or infinity: say which parameter diverged instead
	// of encoding/json's "unsupported value".
	for _, v := range [][]float64{p.params, p.obsMean, p.obsStd, p.actLow, p.actHigh} {
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("apex: save policy %s: a value is %g (index %d of the %s): the policy diverged", path, x, i, policyPart(p, v))
			}
		}
	}
	b, err := json.MarshalIndent(p.toJSON(), "", " ")
	if err != nil {
		return fmt.Errorf("apex: save policy %s: %w", path, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("apex: save policy: %w", err)
	}
	return nil
}

// policyPart names the slice v of p for messages.
func policyPart(p *Policy, v []float64) string {
	switch {
	case len(v) > 0 && &v[0] == &p.obsMean[0]:
		return "normaliser mean"
	case len(v) > 0 && &v[0] == &p.obsStd[0]:
		return "normaliser std"
	case len(v) > 0 && (&v[0] == &p.actLow[0] || &v[0] == &p.actHigh[0]):
		return "action bounds"
	}
	return "weights and biases"
}

// LoadPolicy reads a policy written by Save. Files over 1 GiB and
// architectures beyond CheckArchitecture's limits are refused.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apex: load policy: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("apex: load policy %s: is a directory", path)
	}
	// Read at most one byte past the limit, so that a device or a pipe
	// (/dev/zero) cannot grow the buffer without bound either.
	b, err := io.ReadAll(io.LimitReader(f, maxPolicyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("apex: load policy %s: %w", path, err)
	}
	if len(b) > maxPolicyFileBytes {
		return nil, fmt.Errorf("apex: load policy %s: larger than %d bytes", path, maxPolicyFileBytes)
	}
	var j policyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("apex: load policy %s: %w", path, err)
	}
	p, err := policyFromJSON(&j)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

// writeFileAtomic writes data to path so that a crash or an interrupt
// leaves either the old file or the new one (internal/atomicfile: a
// temporary file in the target's directory, fsync, rename over a regular
// file, directory fsync). Symbolic links are written through, a device or
// pipe is written directly, a new file gets 0666 less the umask and a
// replaced one keeps its mode.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data)
}
