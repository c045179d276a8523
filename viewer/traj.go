// Package viewer shows trajectories: the .traj file format, and (in later
// files) the window and the off-screen renderer.
package viewer

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// TrajVersion is the version of the .traj format that Save writes.
const TrajVersion = 1

// Trajectory is a recorded episode. On disk, a .traj file is gzip-compressed
// JSON of this struct (field names as tagged), so any language can read it:
//
//	{"version": 1, "task": "halfcheetah", "model": "models/half_cheetah.xml",
//	 "nq": 9, "nv": 9, "dt": 0.05,
//	 "qpos": [[...nq], ...frames], "qvel": [[...nv], ...],
//	 "actions": [[...nu], ...frames-1], "rewards": [...frames-1],
//	 "planned": [[[x, y, z], ...], ...]}   (optional)
//
// Frame 0 is the start state; frame k+1 follows actions[k], which earned
// rewards[k].
type Trajectory struct {
	Version int     `json:"version"`
	Task    string  `json:"task,omitempty"` // task name, if the episode ran a task
	Model   string  `json:"model"`          // model file (or the embedded task model's name)
	Nq      int     `json:"nq"`
	Nv      int     `json:"nv"`
	Dt      float64 `json:"dt"` // seconds between frames

	Qpos    [][]float64 `json:"qpos"`              // (frames × nq)
	Qvel    [][]float64 `json:"qvel,omitempty"`    // (frames × nv)
	Actions [][]float64 `json:"actions,omitempty"` // (frames−1 × nu)
	Rewards []float64   `json:"rewards,omitempty"` // (frames−1)
	// Planned optionally holds, per step, body paths of the planner's
	// samples (elites faint, best bold in the viewer).
	Planned [][][3]float64 `json:"planned,omitempty"`
}

// Validate checks the shapes.
func (t *Trajectory) Validate() error {
	if t.Version != TrajVersion {
		return fmt.Errorf("trajectory version %d, want %d", t.Version, TrajVersion)
	}
	if t.Nq < 1 || len(t.Qpos) == 0 {
		return errors.New("trajectory has no frames")
	}
	for k, q := range t.Qpos {
		if len(q) != t.Nq {
			return fmt.Errorf("frame %d: %d qpos values, want nq = %d", k, len(q), t.Nq)
		}
	}
	if len(t.Rewards) > 0 && len(t.Rewards) != len(t.Qpos)-1 {
		return fmt.Errorf("%d rewards for %d frames", len(t.Rewards), len(t.Qpos))
	}
	return nil
}

// SaveTraj writes t to path atomically (a temporary file, then a rename).
func SaveTraj(path string, t *Trajectory) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if err := json.NewEncoder(zw).Encode(t); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// LoadTraj reads a .traj file.
func LoadTraj(path string) (*Trajectory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load trajectory: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: not a .traj file (gzip JSON): %w", path, err)
	}
	var t Trajectory
	if err := json.NewDecoder(zr).Decode(&t); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("load %s: corrupt trajectory: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return &t, nil
}
