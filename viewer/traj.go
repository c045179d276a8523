// Package viewer shows trajectories: the .traj file format, an off-screen
// WebGPU renderer of a model's geoms (PNG and GIF output), and, unless built
// with the tag noglfw, a GLFW window that plays trajectories or live
// planning.
package viewer

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/atomicfile"
)

// TrajVersion is the version of the .traj format that Save writes.
const TrajVersion = 1

// Limits of a .traj file, checked while it is read and before it is written,
// so that a small gzip bomb (issue 12, #9: 48 KB that took 850 MB) is
// refused up front instead of exhausting memory.
const (
	// MaxTrajSize is the largest decompressed .traj, in bytes.
	MaxTrajSize = 256 << 20
	// MaxTrajValues is the most JSON values (numbers, strings, arrays,
	// objects) a .traj may hold. A 1000-step Humanoid episode with the
	// planner's paths holds about 1.5 M; decoding 16 M takes at most a few
	// hundred MB.
	MaxTrajValues = 16 << 20
)

// maxJSONNumber is the longest float64 that encoding/json writes:
// -2.2250738585072014e-308.
const maxJSONNumber = 24

// CheckTrajSize reports an error, with the limits, unless a trajectory of
// frames frames of nq positions, nv velocities, nu actions and a reward is
// certain to fit in MaxTrajSize and MaxTrajValues whatever its numbers (each
// counted at the longest JSON number), so that a caller can refuse a run
// whose .traj could not be written before the run starts. Planned paths
// are not counted.
func CheckTrajSize(frames, nq, nv, nu int) error {
	if frames < 0 || nq < 0 || nv < 0 || nu < 0 {
		return fmt.Errorf("trajectory of %d frames of nq = %d, nv = %d, nu = %d: negative size", frames, nq, nv, nu)
	}
	numbers := float64(nq + nv + nu + 1)
	// Per frame: the numbers, the commas between them, the brackets and
	// commas of the qpos, qvel and actions rows (what trajScanner counts).
	values := float64(frames) * (numbers + 4)
	size := float64(frames)*(numbers*(maxJSONNumber+1)+6) + trajHeaderBytes
	if values > float64(trajValueLimit) || size > float64(trajSizeLimit) {
		return fmt.Errorf("a trajectory of %d frames of %d numbers may need %.0f MiB and %.0f values as JSON, above the limits of %d MiB (MaxTrajSize) and %d values (MaxTrajValues)",
			frames, nq+nv+nu+1, size/(1<<20), values, trajSizeLimit>>20, trajValueLimit)
	}
	return nil
}

// trajHeaderBytes bounds the JSON of a trajectory besides its frames
// (version, task, model path, sizes, dt, field names).
const trajHeaderBytes = 8 << 10

// trajSizeLimit and trajValueLimit are MaxTrajSize and MaxTrajValues; tests
// lower them.
var (
	trajSizeLimit  int64 = MaxTrajSize
	trajValueLimit int64 = MaxTrajValues
)

// Trajectory is a recorded episode. On disk, a .traj file is gzip-compressed
// JSON of this struct (field names as tagged), so any language can read it:
//
//	{"version": 1, "task": "halfcheetah", "model": "models/half_cheetah.xml",
//	 "nq": 9, "nv": 9, "dt": 0.05,
//	 "qpos": [[...nq], ...frames], "qvel": [[...nv], ...],
//	 "actions": [[...nu], ...frames-1], "rewards": [...frames-1],
//	 "planned": [[[x, y, z], ...], ...],   (optional)
//	 "paths": [[{"body": "torso", "best": true, "points": [[x, y, z], ...]}, ...], ...]}   (optional)
//
// Frame 0 is the start state; frame k+1 follows actions[k], which earned
// rewards[k]. Readers ignore fields they do not know, so optional fields
// (such as paths) were added without a new version.
type Trajectory struct {
	Version int     `json:"version"`
	Task    string  `json:"task,omitempty"` // task name, if the episode ran a task
	Model   string  `json:"model"`          // model file (or the embedded task model's name)
	Nq      int     `json:"nq"`
	Nv      int     `json:"nv"`
	Dt      float64 `json:"dt"` // seconds between frames
	// Params are the episode's task parameters (Task.NParam: a goal, the
	// door frame's position), so that the viewer can draw the episode's
	// own model (ModelFor); absent for a task without them.
	Params []float64 `json:"params,omitempty"`

	Qpos    [][]float64 `json:"qpos"`              // (frames × nq)
	Qvel    [][]float64 `json:"qvel,omitempty"`    // (frames × nv)
	Actions [][]float64 `json:"actions,omitempty"` // (frames−1 × nu)
	Rewards []float64   `json:"rewards,omitempty"` // (frames−1)
	// Planned optionally holds, per step, body paths of the planner's
	// samples (elites faint, best bold in the viewer).
	// Planned[k] is read as one best path for frame k (as version 1 first
	// defined it); Paths is the fuller form.
	Planned [][][3]float64 `json:"planned,omitempty"`
	// Paths optionally holds, per frame, the paths a body would take under
	// the planner's action sequences at that step: elites, and the best one
	// marked. (≤ frames × paths)
	Paths [][]PlannedPath `json:"paths,omitempty"`
}

// PlannedPath is the path of one body under one planned action sequence,
// in world coordinates.
type PlannedPath struct {
	Body   string       `json:"body,omitempty"` // body name
	Best   bool         `json:"best,omitempty"` // the sequence the planner chose
	Points [][3]float64 `json:"points"`
}

// Colours of planned paths: elites faint, the best one bold.
var (
	EliteColor = [4]float32{0.15, 0.35, 0.95, 0.35}
	BestColor  = [4]float32{0.95, 0.25, 0.1, 0.95}
)

// Widths of planned paths in metres.
const (
	EliteWidth = 0.01
	BestWidth  = 0.03
)

// PathsAt returns the planned paths of frame k to draw (none when the
// file has none), elites first so that the best path is drawn on top.
func (t *Trajectory) PathsAt(k int) []Path {
	var out, best []Path
	add := func(pts [][3]float64, isBest bool) {
		p := Path{Points: make([]batchsim.Vec3, len(pts)), Color: EliteColor, Width: EliteWidth}
		for i, q := range pts {
			p.Points[i] = q
		}
		if isBest {
			p.Color, p.Width = BestColor, BestWidth
			best = append(best, p)
			return
		}
		out = append(out, p)
	}
	if k >= 0 && k < len(t.Paths) {
		for _, p := range t.Paths[k] {
			add(p.Points, p.Best)
		}
	}
	if k >= 0 && k < len(t.Planned) && len(t.Planned[k]) > 0 {
		add(t.Planned[k], true)
	}
	return append(out, best...)
}

// Return is the sum of the rewards of the first k steps.
func (t *Trajectory) Return(k int) float64 {
	var r float64
	for i := 0; i < k && i < len(t.Rewards); i++ {
		r += t.Rewards[i]
	}
	return r
}

// Validate checks the shapes and that nq and nv are within the engine's
// limits (MaxQpos, MaxDofs).
func (t *Trajectory) Validate() error {
	if t.Version != TrajVersion {
		return fmt.Errorf("trajectory version %d, want %d", t.Version, TrajVersion)
	}
	if t.Nq > batchsim.MaxQpos || t.Nv < 0 || t.Nv > batchsim.MaxDofs {
		return fmt.Errorf("trajectory declares nq = %d, nv = %d: above the engine's limits MaxQpos = %d, MaxDofs = %d", t.Nq, t.Nv, batchsim.MaxQpos, batchsim.MaxDofs)
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
	if len(t.Planned) > len(t.Qpos) || len(t.Paths) > len(t.Qpos) {
		return fmt.Errorf("planned paths for %d frames but the trajectory has %d", max(len(t.Planned), len(t.Paths)), len(t.Qpos))
	}
	for k, q := range t.Qpos {
		for _, v := range q {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("frame %d: qpos is not finite", k)
			}
		}
	}
	for i, v := range t.Params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("task parameter %d is not finite", i)
		}
	}
	return nil
}

// limitWriter passes the JSON of a trajectory on and fails a write that
// would take it above the limits LoadTraj applies.
type limitWriter struct {
	w  io.Writer
	n  int64
	sc trajScanner
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > trajSizeLimit {
		return 0, errTrajSize()
	}
	l.n += int64(len(p))
	if l.sc.scan(p); l.sc.values > trajValueLimit {
		return 0, errTrajValues()
	}
	return l.w.Write(p)
}

func errTrajSize() error {
	return fmt.Errorf("trajectory's JSON (decompressed) larger than the limit of %d bytes (%d MiB, MaxTrajSize)", trajSizeLimit, trajSizeLimit>>20)
}

func errTrajValues() error {
	return fmt.Errorf("trajectory holds more than %d JSON values, the limit (MaxTrajValues)", trajValueLimit)
}

// SaveTraj writes t to path in the .traj format (see EncodeTraj) through
// internal/atomicfile: a temporary file beside the target renamed over it
// only when complete, symbolic links followed, devices and pipes written
// directly, new files with the umask's permissions. A trajectory that
// LoadTraj would refuse (a wrong shape, a non-finite number, above
// MaxTrajSize or MaxTrajValues) is not written and the old file is kept.
func SaveTraj(path string, t *Trajectory) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := checkFinite(t); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return writeTraj(w, t) }); err != nil {
		return fmt.Errorf("save trajectory: %w", err)
	}
	return nil
}

// writeTraj writes t as gzip-compressed JSON to w, failing as soon as the
// JSON exceeds the limits LoadTraj applies (MaxTrajSize, MaxTrajValues).
func writeTraj(w io.Writer, t *Trajectory) error {
	zw := gzip.NewWriter(w)
	if err := json.NewEncoder(&limitWriter{w: zw}).Encode(t); err != nil {
		return err
	}
	return zw.Close()
}

// LoadTraj reads a .traj file. The decompressed JSON is read up to
// MaxTrajSize bytes and its values counted as they arrive; a file above
// either limit is refused before it is decoded.
func LoadTraj(path string) (*Trajectory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load trajectory: %w", err)
	}
	defer f.Close()
	t, err := readTraj(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return t, nil
}

// readTraj decodes and validates a .traj stream (see LoadTraj).
func readTraj(r io.Reader) (*Trajectory, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a .traj file (gzip JSON): %w", err)
	}
	data, err := readTrajJSON(zr)
	if err != nil {
		return nil, err
	}
	var t Trajectory
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("corrupt trajectory: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// readTrajJSON reads the decompressed JSON of a .traj, failing as soon as
// it exceeds trajSizeLimit bytes or trajValueLimit values.
func readTrajJSON(r io.Reader) ([]byte, error) {
	var (
		data []byte
		sc   trajScanner
		buf  = make([]byte, 256<<10)
	)
	for {
		n, err := r.Read(buf)
		if int64(len(data))+int64(n) > trajSizeLimit {
			return nil, errTrajSize()
		}
		if sc.scan(buf[:n]); sc.values > trajValueLimit {
			return nil, errTrajValues()
		}
		data = append(data, buf[:n]...)
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, fmt.Errorf("corrupt trajectory: %w", err)
		}
	}
}

// trajScanner counts an upper bound of the JSON values in a stream without
// decoding it: each value but the first in an array or object follows a
// comma, and each array or object opens with a bracket, so commas plus
// opening brackets bound the number of values, and with it the memory
// json.Unmarshal allocates for them. Brackets and commas inside strings are
// skipped.
type trajScanner struct {
	values        int64
	inString, esc bool
}

func (s *trajScanner) scan(p []byte) {
	for _, c := range p {
		switch {
		case s.esc:
			s.esc = false
		case s.inString:
			switch c {
			case '\\':
				s.esc = true
			case '"':
				s.inString = false
			}
		case c == '"':
			s.inString = true
		case c == '[' || c == '{' || c == ',':
			s.values++
		}
	}
}
