package batchsim

import (
	"embed"
	"fmt"
	"math"
	"sort"
	"strings"
)

//go:embed models/*.xml
var modelFiles embed.FS

// taskBuilders makes each task from its embedded model file.
var taskBuilders = map[string]func() (*Task, error){
	"halfcheetah":     HalfCheetah,
	"humanoidstandup": HumanoidStandup,
	"fetchpickplace":  FetchPickPlace,
	"door":            Door,
	"door-unshaped":   DoorUnshaped,
	"door-dense":      DoorDense,
	"door-hook":       DoorHook,
}

// TaskNames lists the tasks, sorted.
func TaskNames() []string {
	var names []string
	for n := range taskBuilders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewTask returns the task called name (see TaskNames).
func NewTask(name string) (*Task, error) {
	b, ok := taskBuilders[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(TaskNames(), ", "))
	}
	return b()
}

func embeddedModel(file string) (*Model, error) {
	data, err := modelFiles.ReadFile("models/" + file)
	if err != nil {
		return nil, fmt.Errorf("embedded model %s: %w", file, err)
	}
	return LoadXML(data, "models/"+file)
}

// HalfCheetah is HalfCheetah Running (docs/design/TASKS.md): gym's model,
// frame skip 5, 1000-step episodes, iCEM's planning cost that forbids
// flipping, and gym's reward.
func HalfCheetah() (*Task, error) {
	m, err := embeddedModel("half_cheetah.xml")
	if err != nil {
		return nil, err
	}
	return HalfCheetahWithModel(m), nil
}

// HalfCheetahWithModel is the HalfCheetah task on a given cheetah model
// (e.g. gym's file itself, for cross-checks).
func HalfCheetahWithModel(m *Model) *Task {
	ones := func(v float64) []float64 {
		s := make([]float64, m.Nu)
		for i := range s {
			s[i] = v
		}
		return s
	}
	return &Task{
		Name: "halfcheetah", Model: m,
		FrameSkip: 5, EpisodeLen: 1000, Beta: 0.25,
		ActLow: ones(-1), ActHigh: ones(1), CtrlOffset: ones(0), CtrlScale: ones(1),
		Obs: []ObsSegment{{Kind: ObsQpos, From: 1, To: m.Nq}, {Kind: ObsQvel, To: m.Nv}},
		Cost: []Term{
			{Kind: TermQvel, I: 0, W: -1},
			{Kind: TermActionSq, W: 0.1},
			{Kind: TermQposAbove, I: 2, X: math.Pi / 2, W: 10},
			{Kind: TermQposBelow, I: 2, X: -math.Pi / 2, W: 10},
		},
		Reward: []Term{
			{Kind: TermQposDelta, I: 0, W: 1},
			{Kind: TermActionSq, W: -0.1},
		},
		ResetQposUniform: 0.1,
		ResetQvelNormal:  0.1,
	}
}
