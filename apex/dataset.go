package apex

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
)

// Source says which part of APEX (Pinneri et al. 2021, Alg. 2) produced a
// rollout's labels.
type Source int

const (
	// SourceExpert: states visited and actions chosen by the iCEMπ expert.
	SourceExpert Source = iota
	// SourceDAgger: states visited by the policy, relabelled by the expert
	// (Ross et al. 2011).
	SourceDAgger
)

func (s Source) String() string {
	switch s {
	case SourceExpert:
		return "expert"
	case SourceDAgger:
		return "dagger"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Provenance says where a rollout came from.
type Provenance struct {
	Source    Source
	Iteration int    // APEX iteration that produced it
	Episode   int    // episode index within the iteration (e.g. which of Fetch's 25 settings)
	Seed      uint64 // the seed that reset the task to this episode's setting
}

// Rollout is one episode's (observation, expert action) pairs, in time order.
type Rollout struct {
	Prov Provenance
	Obs  []float64 // observations, index t*obsDim + i (T × obsDim)
	Act  []float64 // expert actions, index t*actDim + i (T × actDim)
}

// Dataset is APEX's training set: (observation, expert action) pairs grouped
// by rollout, holding only the latest Window rollouts (the paper trains on
// the latest 50 HalfCheetah, 100 Humanoid, 150·25 Fetch and 100·10 Door
// rollouts); adding one more drops the oldest.
//
// A Dataset is not safe for concurrent use.
type Dataset struct {
	obsDim, actDim, window int
	rollouts               []Rollout // oldest first
	cum                    []int     // cum[k] = pairs in rollouts[:k+1]
	added                  int       // rollouts ever added
}

// NewDataset returns an empty data set of pairs with the given dimensions
// that keeps the latest window rollouts (window ≥ 1).
func NewDataset(obsDim, actDim, window int) *Dataset {
	if obsDim <= 0 || actDim <= 0 || window <= 0 {
		panic(fmt.Sprintf("apex: NewDataset(%d, %d, %d): want all > 0", obsDim, actDim, window))
	}
	return &Dataset{obsDim: obsDim, actDim: actDim, window: window}
}

// ObsDim is the number of observation components.
func (d *Dataset) ObsDim() int { return d.obsDim }

// ActDim is the number of action components.
func (d *Dataset) ActDim() int { return d.actDim }

// Window is the number of latest rollouts kept.
func (d *Dataset) Window() int { return d.window }

// NumRollouts is the number of rollouts held (≤ Window).
func (d *Dataset) NumRollouts() int { return len(d.rollouts) }

// Added is the number of rollouts ever added, dropped ones included.
func (d *Dataset) Added() int { return d.added }

// Len is the number of (observation, action) pairs held.
func (d *Dataset) Len() int {
	if len(d.cum) == 0 {
		return 0
	}
	return d.cum[len(d.cum)-1]
}

// Rollout returns rollout k, 0 being the oldest held. Its slices are the
// data set's own: do not modify them.
func (d *Dataset) Rollout(k int) Rollout { return d.rollouts[k] }

// Add appends a rollout of T pairs: obs (T × obsDim) and act (T × actDim),
// row-major; it copies both. If the data set then holds more than Window
// rollouts, the oldest is dropped.
func (d *Dataset) Add(prov Provenance, obs, act []float64) {
	if len(obs)%d.obsDim != 0 || len(act)%d.actDim != 0 || len(obs)/d.obsDim != len(act)/d.actDim {
		panic(fmt.Sprintf("apex: Dataset.Add: %d observation and %d action values do not make pairs of %d and %d",
			len(obs), len(act), d.obsDim, d.actDim))
	}
	d.rollouts = append(d.rollouts, Rollout{
		Prov: prov,
		Obs:  append([]float64(nil), obs...),
		Act:  append([]float64(nil), act...),
	})
	d.added++
	if len(d.rollouts) > d.window {
		n := copy(d.rollouts, d.rollouts[len(d.rollouts)-d.window:])
		clear(d.rollouts[n:]) // let the dropped arrays be collected
		d.rollouts = d.rollouts[:n]
	}
	d.reindex()
}

func (d *Dataset) reindex() {
	d.cum = d.cum[:0]
	n := 0
	for k := range d.rollouts {
		n += len(d.rollouts[k].Act) / d.actDim
		d.cum = append(d.cum, n)
	}
}

// Pair returns the i-th pair (0 ≤ i < Len), counting from the oldest
// rollout's first step. The slices are the data set's own.
func (d *Dataset) Pair(i int) (obs, act []float64) {
	if i < 0 || i >= d.Len() {
		panic(fmt.Sprintf("apex: Dataset.Pair(%d) of %d", i, d.Len()))
	}
	k := sort.SearchInts(d.cum, i+1)
	t := i
	if k > 0 {
		t -= d.cum[k-1]
	}
	r := &d.rollouts[k]
	return r.Obs[t*d.obsDim : (t+1)*d.obsDim], r.Act[t*d.actDim : (t+1)*d.actDim]
}

// Sample fills dst with indices of pairs drawn uniformly with replacement,
// for a minibatch; see Pair.
func (d *Dataset) Sample(rng *rand.Rand, dst []int) {
	n := d.Len()
	if n == 0 {
		panic("apex: Dataset.Sample on an empty data set")
	}
	for i := range dst {
		dst[i] = rng.IntN(n)
	}
}

// ObsStats returns the mean and the standard deviation (ddof 0, floored at
// StdFloor) of the observations held: the normaliser Trainer.Train gives the
// policy. Because the data set is a window, these are the statistics of
// exactly the data the policy is trained on.
func (d *Dataset) ObsStats() (mean, std []float64) {
	mean = make([]float64, d.obsDim)
	std = make([]float64, d.obsDim)
	n := d.Len()
	if n == 0 {
		for i := range std {
			std[i] = 1
		}
		return mean, std
	}
	// Two passes: the mean first, then squared deviations, which does not
	// cancel like Σx² − n·mean² would for large offsets.
	for k := range d.rollouts {
		o := d.rollouts[k].Obs
		for j, v := range o {
			mean[j%d.obsDim] += v
		}
	}
	for i := range mean {
		mean[i] /= float64(n)
	}
	for k := range d.rollouts {
		o := d.rollouts[k].Obs
		for j, v := range o {
			e := v - mean[j%d.obsDim]
			std[j%d.obsDim] += e * e
		}
	}
	for i := range std {
		std[i] = max(math.Sqrt(std[i]/float64(n)), StdFloor)
	}
	return mean, std
}

// datasetFile is the dataset checkpoint format (encoding/gob, which stores
// float64 bits exactly).
type datasetFile struct {
	Format                 string
	Version                int
	ObsDim, ActDim, Window int
	Added                  int
	Rollouts               []Rollout
}

const (
	datasetFormat  = "apex-dataset"
	datasetVersion = 1
)

// Save writes the data set to path (encoding/gob), atomically.
func (d *Dataset) Save(path string) error {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(datasetFile{
		Format: datasetFormat, Version: datasetVersion,
		ObsDim: d.obsDim, ActDim: d.actDim, Window: d.window,
		Added: d.added, Rollouts: d.rollouts,
	})
	if err != nil {
		return fmt.Errorf("apex: save dataset %s: %w", path, err)
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("apex: save dataset: %w", err)
	}
	return nil
}

// LoadDataset reads a data set written by Save.
func LoadDataset(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apex: load dataset: %w", err)
	}
	defer f.Close()
	var df datasetFile
	if err := gob.NewDecoder(f).Decode(&df); err != nil {
		return nil, fmt.Errorf("apex: load dataset %s: %w", path, err)
	}
	if df.Format != datasetFormat || df.Version != datasetVersion {
		return nil, fmt.Errorf("apex: load dataset %s: format %q version %d, want %q version %d",
			path, df.Format, df.Version, datasetFormat, datasetVersion)
	}
	if df.ObsDim <= 0 || df.ActDim <= 0 || df.Window <= 0 || len(df.Rollouts) > df.Window || df.Added < len(df.Rollouts) {
		return nil, fmt.Errorf("apex: load dataset %s: bad header (obs %d, act %d, window %d, %d rollouts, %d added)",
			path, df.ObsDim, df.ActDim, df.Window, len(df.Rollouts), df.Added)
	}
	d := &Dataset{obsDim: df.ObsDim, actDim: df.ActDim, window: df.Window, added: df.Added, rollouts: df.Rollouts}
	for k, r := range d.rollouts {
		if len(r.Obs)%d.obsDim != 0 || len(r.Act)%d.actDim != 0 || len(r.Obs)/d.obsDim != len(r.Act)/d.actDim {
			return nil, fmt.Errorf("apex: load dataset %s: rollout %d has %d observation and %d action values",
				path, k, len(r.Obs), len(r.Act))
		}
	}
	d.reindex()
	return d, nil
}
