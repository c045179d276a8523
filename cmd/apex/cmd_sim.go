package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/apex-robotics/apex/batchsim"
	"github.com/apex-robotics/apex/internal/atomicfile"
	"github.com/apex-robotics/apex/viewer"
)

func init() {
	register(&command{
		name:    "sim",
		summary: "Simulate a model or task under given controls and write one JSON state per control step.",
		usage:   "sim (--model PATH.xml | --task NAME) --steps N [--frame-skip K] [--init-qpos v,v,...] [--init-qvel v,v,...] [--ctrl-file F.csv | --ctrl zero] [--seed S] --out F.jsonl [--save-traj F.traj]",
		run:     runSim,
	})
}

type simLine struct {
	T      float64   `json:"t"`
	Qpos   []float64 `json:"qpos"`
	Qvel   []float64 `json:"qvel"`
	Reward *float64  `json:"reward,omitempty"`
}

// finite reports whether every value is a finite number (JSON holds no
// others).
func finite(vs ...[]float64) bool {
	for _, v := range vs {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
	}
	return true
}

// simStepHook, when set (by tests), is called after each control step.
var simStepHook func(step int)

func runSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(commands["sim"], stderr)
	modelPath := fs.String("model", "", "MJCF model file")
	taskName := fs.String("task", "", "task name (its frame skip and reset apply; lines carry the reward)")
	steps := fs.Int("steps", 100, "control steps to simulate")
	frameSkip := fs.Int("frame-skip", 0, "physics steps per control step (default: the task's, or 1)")
	initQpos := fs.String("init-qpos", "", "initial qpos as comma-separated values (default: the model's pose or the task's reset)")
	initQvel := fs.String("init-qvel", "", "initial qvel as comma-separated values")
	ctrlFile := fs.String("ctrl-file", "", "CSV file with one row of nu controls (task: actions) per control step")
	ctrl := fs.String("ctrl", "zero", "controls when no --ctrl-file is given: zero")
	seed := fs.Uint64("seed", 1, "random seed of the task's reset")
	out := fs.String("out", "", "output file (JSON lines; - for standard output), written atomically")
	saveTraj := fs.String("save-traj", "", "also write the run as a .traj file for apex view / apex render")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*modelPath == "") == (*taskName == "") {
		return usagef("give exactly one of --model and --task")
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if *steps < 0 {
		return usagef("--steps %d: must be at least 0", *steps)
	}
	if *frameSkip < 0 || *frameSkip > batchsimMaxFrameSkip {
		return usagef("--frame-skip %d: want 1..%d", *frameSkip, batchsimMaxFrameSkip)
	}
	if *ctrlFile == "" && *ctrl != "zero" {
		return usagef("--ctrl %q: the only built-in control is zero; use --ctrl-file", *ctrl)
	}
	if err := sameOutput("out", *out, "save-traj", *saveTraj); err != nil {
		return err
	}
	var task *batchsim.Task
	var m *batchsim.Model
	if *taskName != "" {
		t, err := batchsim.NewTask(*taskName)
		if err != nil {
			return usageError{fmt.Errorf("--task: %w", err)}
		}
		task, m = t, t.Model
	} else {
		mm, err := batchsim.LoadFile(*modelPath)
		if err != nil {
			return err
		}
		m = mm
		task = &batchsim.Task{Name: "model", Model: m, FrameSkip: 1, EpisodeLen: math.MaxInt}
		task.CtrlOffset = make([]float64, m.Nu)
		task.CtrlScale = make([]float64, m.Nu)
		for i := range task.CtrlScale {
			task.CtrlScale[i] = 1
		}
	}
	if *frameSkip > 0 {
		task.FrameSkip = *frameSkip
	}
	// --save-traj keeps the run in memory for its .traj file, which must
	// fit the .traj limits (viewer.CheckTrajSize: about 425 000 HalfCheetah
	// steps); the JSON lines of --out are streamed and have no limit.
	if *saveTraj != "" {
		if err := viewer.CheckTrajSize(*steps+1, m.Nq, m.Nv, m.Nu); err != nil {
			return usagef("--save-traj with --steps %d: %v; write --out alone, which is streamed, or fewer --steps", *steps, err)
		}
	}
	var controls *controlReader
	if *ctrlFile != "" {
		var err error
		if controls, err = openControls(*ctrlFile, m.Nu, *steps); err != nil {
			return err
		}
		defer controls.Close()
	}
	env := batchsim.NewEnv(task)
	if *taskName != "" {
		env.Reset(rand.New(rand.NewPCG(*seed, 0)))
	}
	if *initQpos != "" {
		q, err := parseFloats("init-qpos", *initQpos)
		if err != nil {
			return err
		}
		if len(q) != m.Nq {
			return usagef("--init-qpos: %d values, the model has nq = %d", len(q), m.Nq)
		}
		copy(env.Data.Qpos, q)
		batchsim.NormalizeQuats(m, env.Data.Qpos)
	}
	if *initQvel != "" {
		v, err := parseFloats("init-qvel", *initQvel)
		if err != nil {
			return err
		}
		if len(v) != m.Nv {
			return usagef("--init-qvel: %d values, the model has nv = %d", len(v), m.Nv)
		}
		copy(env.Data.Qvel, v)
	}
	env.SetState(env.Data.Qpos, env.Data.Qvel)

	// The outputs are opened (their temporary files created) before the
	// work, so that a path that cannot be written fails at once; they
	// replace the old files only once both are complete.
	ctx, stop := interruptContext()
	defer stop()
	outF, err := createOutput("out", *out, stdout)
	if err != nil {
		return err
	}
	defer outF.Abort()
	var trajF *atomicfile.File
	var tr *viewer.Trajectory
	if *saveTraj != "" {
		if trajF, err = createOutput("save-traj", *saveTraj, stdout); err != nil {
			return err
		}
		defer trajF.Abort()
		tr = &viewer.Trajectory{Version: viewer.TrajVersion, Model: m.File, Nq: m.Nq, Nv: m.Nv,
			Dt: m.Opt.Timestep * float64(task.FrameSkip)}
		if *taskName != "" {
			tr.Task = task.Name
		}
	}
	frame := func() {
		if tr != nil {
			tr.Qpos = append(tr.Qpos, append([]float64(nil), env.Data.Qpos...))
			tr.Qvel = append(tr.Qvel, append([]float64(nil), env.Data.Qvel...))
		}
	}
	frame()
	w := bufio.NewWriter(outF)
	enc := json.NewEncoder(w)
	if err := enc.Encode(simLine{T: env.Data.Time, Qpos: env.Data.Qpos, Qvel: env.Data.Qvel}); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	a := make([]float64, m.Nu)
	for s := 0; s < *steps; s++ {
		if ctx.Err() != nil {
			return errInterrupted(ctx)
		}
		if controls != nil {
			if err := controls.next(a, s, *steps); err != nil {
				return err
			}
		}
		r, _, err := env.Act(a)
		if err != nil {
			return err
		}
		// JSON holds no NaN or infinity: a diverged state is an error that
		// says where, not encoding/json's "unsupported value".
		if !finite(env.Data.Qpos, env.Data.Qvel, []float64{r}) {
			where := ""
			if controls != nil {
				where = fmt.Sprintf(" under the controls of %s", controls.pos())
			}
			return fmt.Errorf("step %d: the simulation diverged (state or reward not finite)%s", s+1, where)
		}
		frame()
		line := simLine{T: env.Data.Time, Qpos: env.Data.Qpos, Qvel: env.Data.Qvel}
		if *taskName != "" {
			line.Reward = &r
		}
		if tr != nil {
			tr.Actions = append(tr.Actions, append([]float64(nil), a...))
			tr.Rewards = append(tr.Rewards, r)
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if simStepHook != nil {
			simStepHook(s)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if trajF != nil {
		if err := viewer.EncodeTraj(trajF, tr); err != nil {
			return fmt.Errorf("--save-traj: %w", err)
		}
	}
	if ctx.Err() != nil {
		return errInterrupted(ctx)
	}
	return atomicfile.CommitAll(outF, trajF)
}

// batchsimMaxFrameSkip bounds --frame-skip (physics steps per control step).
const batchsimMaxFrameSkip = 1 << 20

// controlReader streams the rows of a controls CSV file, one per control
// step, so that a long run does not hold the file in memory.
type controlReader struct {
	path string
	f    *os.File
	r    *csv.Reader
	nu   int
	line int // line of the last row read
}

// openControls opens a CSV file of nu columns per row; errors name
// file:line. A regular file is checked first, up to the row of the last of
// steps control steps, so that a bad or short file fails before the run
// starts; a pipe is checked as it is read.
func openControls(path string, nu, steps int) (*controlReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--ctrl-file: %w", err)
	}
	c := newControlReader(path, f, nu)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		a := make([]float64, nu)
		for s := 0; s < steps; s++ {
			if err := c.next(a, s, steps); err != nil {
				f.Close()
				return nil, err
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("--ctrl-file: %w", err)
		}
		c = newControlReader(path, f, nu)
	}
	return c, nil
}

// maxControlLine bounds a line of the controls CSV, so that a file without
// line breaks (/dev/zero) is an error, not unbounded memory.
const maxControlLine = 1 << 20

// lineLimiter fails a read once a line grows beyond max bytes.
type lineLimiter struct {
	r    io.Reader
	path string
	max  int
	cur  int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.cur = 0
			continue
		}
		if l.cur++; l.cur > l.max {
			return i, fmt.Errorf("%s: a line longer than %d bytes: not a controls CSV", l.path, l.max)
		}
	}
	return n, err
}

func newControlReader(path string, f *os.File, nu int) *controlReader {
	r := csv.NewReader(bufio.NewReader(&lineLimiter{r: f, path: path, max: maxControlLine}))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.ReuseRecord = true
	return &controlReader{path: path, f: f, r: r, nu: nu}
}

func (c *controlReader) Close() error { return c.f.Close() }

func (c *controlReader) pos() string { return fmt.Sprintf("%s:%d", c.path, c.line) }

// next reads the controls of step s (of steps) into a.
func (c *controlReader) next(a []float64, s, steps int) error {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %d rows of controls for %d steps", c.path, s, steps)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	c.line, _ = c.r.FieldPos(0)
	return parseControlRow(c.path, c.line, rec, a)
}

// parseControlRow reads one CSV row of len(a) finite numbers into a.
func parseControlRow(path string, line int, rec []string, a []float64) error {
	if len(rec) != len(a) {
		return fmt.Errorf("%s:%d: %d columns, the model has nu = %d actuators", path, line, len(rec), len(a))
	}
	for i, s := range rec {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%s:%d: column %d: %q is not a number", path, line, i+1, s)
		}
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s:%d: column %d: %q is not finite", path, line, i+1, s)
		}
		a[i] = v
	}
	return nil
}
