package apex

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A run folder (shared/design/ARCHITECTURE.md):
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

// IsRunFolder reports whether dir holds a run (its config.json).
func IsRunFolder(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
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
	case IsRunFolder(dir) && overwrite:
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("apex: remove old run folder %s: %w", dir, err)
		}
	case IsRunFolder(dir):
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
	if err != nil {
		return fmt.Errorf("apex: encode %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func writeConfig(dir string, c RunConfig) error {
	return writeJSON(filepath.Join(dir, ConfigFile), configFile{Format: runFolderFormat, Config: c})
}

// LoadRunConfig reads the config.json of a run folder.
func LoadRunConfig(dir string) (RunConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return RunConfig{}, fmt.Errorf("apex: load run config: %w", err)
	}
	var c configFile
	if err := json.Unmarshal(b, &c); err != nil {
		return RunConfig{}, fmt.Errorf("apex: load run config %s: %w", dir, err)
	}
	if c.Format != runFolderFormat {
		return RunConfig{}, fmt.Errorf("apex: %s: not a run folder config (format %q)", dir, c.Format)
	}
	return c.Config, nil
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

func loadState(path string) (*runState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apex: load checkpoint state: %w", err)
	}
	var s runState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("apex: load checkpoint state %s: %w", path, err)
	}
	if s.Format != stateFormat || len(s.Rows) != s.Iteration+1 {
		return nil, fmt.Errorf("apex: checkpoint state %s: format %q with %d rows for iteration %d", path, s.Format, len(s.Rows), s.Iteration)
	}
	return &s, nil
}
