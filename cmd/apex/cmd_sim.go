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
	out := fs.String("out", "", "output file (JSON lines)")
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
	if *frameSkip < 0 {
		return usagef("--frame-skip %d: must be at least 1", *frameSkip)
	}
	if *ctrlFile == "" && *ctrl != "zero" {
		return usagef("--ctrl %q: the only built-in control is zero; use --ctrl-file", *ctrl)
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
	var controls [][]float64
	if *ctrlFile != "" {
		var err error
		if controls, err = readControls(*ctrlFile, m.Nu); err != nil {
			return err
		}
		if len(controls) < *steps {
			return fmt.Errorf("%s: %d rows of controls for %d steps", *ctrlFile, len(controls), *steps)
		}
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
	a := make([]float64, m.Nu)
	tr := &viewer.Trajectory{Version: viewer.TrajVersion, Model: m.File, Nq: m.Nq, Nv: m.Nv,
		Dt: m.Opt.Timestep * float64(task.FrameSkip)}
	if *taskName != "" {
		tr.Task = task.Name
	}
	frame := func() {
		tr.Qpos = append(tr.Qpos, append([]float64(nil), env.Data.Qpos...))
		tr.Qvel = append(tr.Qvel, append([]float64(nil), env.Data.Qvel...))
	}
	frame()
	err := writeAtomic(*out, func(f *os.File) error {
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		if err := enc.Encode(simLine{T: env.Data.Time, Qpos: env.Data.Qpos, Qvel: env.Data.Qvel}); err != nil {
			return err
		}
		for s := 0; s < *steps; s++ {
			if controls != nil {
				copy(a, controls[s])
			}
			r, _, err := env.Act(a)
			if err != nil {
				return err
			}
			frame()
			tr.Actions = append(tr.Actions, append([]float64(nil), a...))
			tr.Rewards = append(tr.Rewards, r)
			line := simLine{T: env.Data.Time, Qpos: env.Data.Qpos, Qvel: env.Data.Qvel}
			if *taskName != "" {
				line.Reward = &r
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return w.Flush()
	})
	if err != nil || *saveTraj == "" {
		return err
	}
	return viewer.SaveTraj(*saveTraj, tr)
}

// readControls reads a CSV file of nu columns; errors name file:line.
func readControls(path string, nu int) ([][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--ctrl-file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	var rows [][]float64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != nu {
			return nil, fmt.Errorf("%s:%d: %d columns, the model has nu = %d actuators", path, line, len(rec), nu)
		}
		row := make([]float64, nu)
		for i, s := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %q is not a number", path, line, i+1, s)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: column %d: %q is not finite", path, line, i+1, s)
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}
