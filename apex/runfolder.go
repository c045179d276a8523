package apex

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
)

// A run folder (docs/design/ARCHITECTURE.md):
//
//	config.json          every setting (RunConfig), with version and seed
//	metrics.csv          one row per completed iteration (Metrics)
//	policy.json          the latest policy
//	checkpoints/iter-NNN/ trainer.gob, dataset.gob, policy.json, state.json
//	trajectories/*.traj  expert-NNN-E.traj and policy-NNN.traj
//	plots/*.png          returns.png (Fig. 5), lambda.png (Fig. 9)
//
// An iteration is complete once its state.json exists: it is written last,
// after the trainer and data set of that iteration, so a kill at any moment
// leaves either a complete checkpoint or one that resuming ignores. The
// files at the top (metrics.csv, policy.json, plots) are rewritten from the
// latest complete checkpoint on resume, never appended to.
const (
	ConfigFile  = "config.json"
	MetricsFile = "metrics.csv"
	PolicyFile  = "policy.json"
	checkpoints = "checkpoints"
	trajDir     = "trajectories"
	plotDir     = "plots"
	stateFile   = "state.json"
	trainerGob  = "trainer.gob"
	datasetGob  = "dataset.gob"
)

// runFolderFormat names the config.json format.
const runFolderFormat = "apex-run"

// configFile is config.json.
type configFile struct {
	Format string    `json:"format"`
	Config RunConfig `json:"config"`
}

// runState is a checkpoint's state.json: everything besides the trainer
// and the data set that the run needs to continue.
type runState struct {
	Format    string    `json:"format"`
	Iteration int       `json:"iteration"` // the completed iteration
	Rows      []Metrics `json:"rows"`      // metrics of iterations 0..Iteration
	// Lambda holds λ_guide per step (mean over CEM iterations) of the first
	// expert rollout of every iteration, for the λ plot.
	Lambda [][]float64 `json:"lambda"`
}

const stateFormat = "apex-run-state"

func checkpointDir(dir string, iter int) string {
	return filepath.Join(dir, checkpoints, fmt.Sprintf("iter-%03d", iter))
}

// IsRunFolder reports whether dir looks like a run folder: it holds a
// config.json file. The file may still be unreadable or corrupt;
// LoadRunConfig (and so Resume) says what is wrong with it, so that a
// damaged run is reported as damaged, not as "no config.json".
func IsRunFolder(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil && st.Mode().IsRegular()
}

// holdsRun reports whether dir holds a run whose config.json is intact:
// only such a folder is ever deleted to be overwritten.
func holdsRun(dir string) bool {
	b, err := readConfigFile(dir)
	if err != nil {
		return false
	}
	var c configFile
	return json.Unmarshal(b, &c) == nil && c.Format == runFolderFormat
}

// prepareFolder makes dir a new, empty run folder. An existing run folder is
// removed first only when overwrite is set; any other non-empty folder is
// left alone and reported, so that a wrong --out never deletes user files.
func prepareFolder(dir string, overwrite bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("apex: run folder %s: %w", dir, err)
	case len(entries) == 0:
	case holdsRun(dir) && overwrite:
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("apex: remove old run folder %s: %w", dir, err)
		}
	case holdsRun(dir):
		return fmt.Errorf("apex: %s already holds a run (resume it, or overwrite it)", dir)
	default:
		return fmt.Errorf("apex: %s exists and is not a run folder; choose another folder", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, checkpoints), filepath.Join(dir, trajDir), filepath.Join(dir, plotDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("apex: create run folder: %w", err)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	var uv *json.UnsupportedValueError
	if errors.As(err, &uv) {
		return fmt.Errorf("apex: encode %s: a number is %s, which JSON cannot hold (a diverged value reached the record)", path, uv.Str)
	}
	if err != nil {
		return fmt.Errorf("apex: encode %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeConfig(dir string, c RunConfig) error {
	return writeJSON(filepath.Join(dir, ConfigFile), configFile{Format: runFolderFormat, Config: c})
}

// maxConfigBytes bounds the size of a config.json (a real one is < 1 KB).
const maxConfigBytes = 1 << 20

// readConfigFile reads dir's config.json, refusing one over maxConfigBytes.
func readConfigFile(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigBytes)
	}
	return b, nil
}

// LoadRunConfig reads the config.json of a run folder. The config must
// describe the folder's checkpoints: a config.json that cannot be read or
// parsed is reported with the reason, and one whose policy architecture
// (hidden widths, or the task's observation and action sizes) differs from
// that of the latest complete checkpoint is refused, as resuming would
// silently keep the checkpoint's.
func LoadRunConfig(dir string) (RunConfig, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := readConfigFile(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return RunConfig{}, fmt.Errorf("apex: %s is not a run folder (no %s)", dir, ConfigFile)
	}
	if err != nil {
		return RunConfig{}, fmt.Errorf("apex: %s is unreadable: %w", path, err)
	}
	var c configFile
	if err := json.Unmarshal(b, &c); err != nil {
		return RunConfig{}, fmt.Errorf("apex: %s is unreadable: %w", path, describeJSONError(b, err))
	}
	if c.Format != runFolderFormat {
		return RunConfig{}, fmt.Errorf("apex: %s: not a run folder config (format %q, want %q)", path, c.Format, runFolderFormat)
	}
	if err := checkConfigAgainstCheckpoint(dir, c.Config); err != nil {
		return RunConfig{}, err
	}
	if c.Config.PlanOn == "" { // written before plan_on existed: on the host
		c.Config.PlanOn = PlanOnHost
	}
	return c.Config, nil
}

// describeJSONError adds the line and column of a syntax or type error.
func describeJSONError(b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return err
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// policyShape is the architecture part of a policy.json.
type policyShape struct {
	ObsDim int   `json:"obs_dim"`
	ActDim int   `json:"act_dim"`
	Hidden []int `json:"hidden"`
}

// checkConfigAgainstCheckpoint refuses a config whose policy cannot be the
// one of the latest complete checkpoint of dir: its hidden widths (which
// must also be within CheckArchitecture's limits) and its task's
// observation and action sizes. A folder without a complete checkpoint,
// or a checkpoint whose policy.json cannot be read (Resume then reports the
// checkpoint itself), is not checked against.
func checkConfigAgainstCheckpoint(dir string, c RunConfig) error {
	path := filepath.Join(dir, ConfigFile)
	hidden := c.Hidden
	if hidden == nil {
		hidden = DefaultHidden
	}
	task, err := batchsim.NewTask(c.Task)
	if err != nil {
		return fmt.Errorf("apex: %s: %w", path, err)
	}
	if err := CheckArchitecture(task.ObsDim(), task.Model.Nu, hidden); err != nil {
		return fmt.Errorf("apex: %s: %w", path, err)
	}
	its, err := completedIterations(dir)
	if err != nil || len(its) == 0 {
		return nil
	}
	cp := checkpointDir(dir, its[len(its)-1])
	f, err := os.Open(filepath.Join(cp, PolicyFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	var shape policyShape
	if err := json.NewDecoder(io.LimitReader(f, maxPolicyFileBytes)).Decode(&shape); err != nil {
		return nil
	}
	if !slices.Equal(shape.Hidden, hidden) {
		return fmt.Errorf("apex: %s says hidden %v but the checkpoint %s holds a policy with hidden %v: "+
			"the architecture cannot change on resume (restore config.json, or start a new run)", path, hidden, cp, shape.Hidden)
	}
	if shape.ObsDim != task.ObsDim() || shape.ActDim != task.Model.Nu {
		return fmt.Errorf("apex: %s names task %s (%d observations, %d actions) but the checkpoint %s holds a policy for %d and %d: "+
			"the task cannot change on resume", path, task.Name, task.ObsDim(), task.Model.Nu, cp, shape.ObsDim, shape.ActDim)
	}
	return nil
}

// completedIterations lists the iterations of dir with a complete
// checkpoint, ascending.
func completedIterations(dir string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Join(dir, checkpoints))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apex: list checkpoints: %w", err)
	}
	var its []int
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "iter-")
		if !ok || !e.IsDir() {
			continue
		}
		k, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, checkpoints, e.Name(), stateFile)); err == nil {
			its = append(its, k)
		}
	}
	sort.Ints(its)
	return its, nil
}

// maxStateBytes bounds a checkpoint's state.json (metrics rows and λ per
// step of each iteration: kilobytes to a few megabytes).
const maxStateBytes = 1 << 28

func loadState(path string) (*runState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apex: load checkpoint state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("apex: load checkpoint state %s: %w", path, err)
	}
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("apex: load checkpoint state %s: larger than %d bytes", path, maxStateBytes)
	}
	var s runState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("apex: load checkpoint state %s: %w", path, err)
	}
	if s.Format != stateFormat || s.Iteration < 0 || len(s.Rows) != s.Iteration+1 {
		return nil, fmt.Errorf("apex: checkpoint state %s: format %q with %d rows for iteration %d", path, s.Format, len(s.Rows), s.Iteration)
	}
	return &s, nil
}
