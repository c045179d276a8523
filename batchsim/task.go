package batchsim

// TermKind is the kind of one term of a task's step cost or reward. Tasks are
// data: a list of terms that the CPU evaluator and the WGSL kernel interpret
// the same way, so that no task needs a hand-written kernel.
type TermKind int

const (
	// TermQvel: W·qvel[I] after the step.
	TermQvel TermKind = iota
	// TermQpos: W·qpos[I] after the step.
	TermQpos
	// TermQposAbove: W·[qpos[I] > X] after the step.
	TermQposAbove
	// TermQposBelow: W·[qpos[I] < X] after the step.
	TermQposBelow
	// TermQposDelta: W·(qpos[I] after − qpos[I] before)/dt, dt the control step.
	TermQposDelta
	// TermActionSq: W·Σ_i a_i², a the action in task units.
	TermActionSq
	// TermConst: W.
	TermConst
	// TermQposSqErr: W·(qpos[I] − X)² after the step.
	TermQposSqErr
	// TermQvelSq: W·Σ_i qvel_i² after the step.
	TermQvelSq
	// TermContactSq: W·min(Σ_bodies ‖CfrcExt‖², X) after the step.
	TermContactSq
)

// Term is one additive term of a step cost or reward; see TermKind for what
// I, X and W mean for each kind.
type Term struct {
	Kind TermKind
	I    int
	X    float64
	W    float64
}

// ObsKind selects what a segment of the observation vector holds.
type ObsKind int

const (
	ObsQpos ObsKind = iota // qpos[From:To]
	ObsQvel                // qvel[From:To]
)

// ObsSegment is a contiguous slice of the observation vector.
type ObsSegment struct {
	Kind     ObsKind
	From, To int
}

// Task is a model plus everything that turns it into a control problem: the
// control step, episode length, reset distribution, observation, planning
// cost and reported reward (shared/design/TASKS.md).
type Task struct {
	Name       string
	Model      *Model
	FrameSkip  int     // physics steps per control step
	EpisodeLen int     // control steps per episode
	Beta       float64 // colored-noise exponent the planner uses for this task
	NParam     int     // per-problem parameters (e.g. a goal); 0 if none

	// Actions a in [ActLow, ActHigh] map to controls ctrl = CtrlOffset + CtrlScale·a.
	ActLow, ActHigh       []float64 // (nu)
	CtrlOffset, CtrlScale []float64 // (nu)

	Obs    []ObsSegment
	Cost   []Term // planning cost per control step, summed over the horizon
	Reward []Term // reward reported per control step (the original environment's)

	// Reset: qpos = Qpos0 + U(±ResetQposUniform); qvel = ResetQvelNormal·N(0,1)
	// + U(±ResetQvelUniform).
	ResetQposUniform float64
	ResetQvelNormal  float64
	ResetQvelUniform float64
}

// ControlDt is the duration of one control step.
func (t *Task) ControlDt() float64 { return t.Model.Opt.Timestep * float64(t.FrameSkip) }

// ObsDim is the length of the observation vector.
func (t *Task) ObsDim() int {
	n := 0
	for _, s := range t.Obs {
		n += s.To - s.From
	}
	return n
}

// Observe writes the observation of d to dst (ObsDim).
func (t *Task) Observe(d *Data, dst []float64) {
	k := 0
	for _, s := range t.Obs {
		src := d.Qpos
		if s.Kind == ObsQvel {
			src = d.Qvel
		}
		k += copy(dst[k:], src[s.From:s.To])
	}
}

// StepValue evaluates terms for one control step that took the world from
// qposBefore to d under action a.
func (t *Task) StepValue(terms []Term, qposBefore []float64, d *Data, a []float64) float64 {
	v := 0.0
	for _, tm := range terms {
		switch tm.Kind {
		case TermQvel:
			v += tm.W * d.Qvel[tm.I]
		case TermQpos:
			v += tm.W * d.Qpos[tm.I]
		case TermQposAbove:
			if d.Qpos[tm.I] > tm.X {
				v += tm.W
			}
		case TermQposBelow:
			if d.Qpos[tm.I] < tm.X {
				v += tm.W
			}
		case TermQposDelta:
			v += tm.W * (d.Qpos[tm.I] - qposBefore[tm.I]) / t.ControlDt()
		case TermActionSq:
			s := 0.0
			for _, x := range a {
				s += x * x
			}
			v += tm.W * s
		case TermConst:
			v += tm.W
		case TermQposSqErr:
			e := d.Qpos[tm.I] - tm.X
			v += tm.W * e * e
		case TermQvelSq:
			s := 0.0
			for _, x := range d.Qvel {
				s += x * x
			}
			v += tm.W * s
		case TermContactSq:
			s := 0.0
			for _, w := range d.CfrcExt {
				for _, x := range w {
					s += x * x
				}
			}
			v += tm.W * min(s, tm.X)
		}
	}
	return v
}

// SetCtrl maps action a to d.Ctrl.
func (t *Task) SetCtrl(d *Data, a []float64) {
	for i := range d.Ctrl {
		d.Ctrl[i] = t.CtrlOffset[i] + t.CtrlScale[i]*a[i]
	}
}
