package batchsim

import (
	"math"
	"math/rand/v2"
)

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
	// TermQposDist: W·‖qpos[I:I+3] − params[J:J+3]‖ after the step (e.g. a
	// free body's distance to a goal that is a task parameter).
	TermQposDist
	// TermQposDistAbove: W·[‖qpos[I:I+3] − params[J:J+3]‖ > X] after the step.
	TermQposDistAbove
	// TermSiteDist: W·‖site I − site J‖ in the world, at the site poses the
	// last physics step computed (those of its start, as MuJoCo's site_xpos
	// after mj_step, which gym's rewards read).
	TermSiteDist
)

// Term is one additive term of a step cost or reward; see TermKind for what
// I, X and W mean for each kind.
type Term struct {
	Kind TermKind
	I    int
	X    float64
	W    float64
	J    int // second index: the first task parameter of TermQposDist*
}

// ObsKind selects what a segment of the observation vector holds.
type ObsKind int

const (
	ObsQpos      ObsKind = iota // qpos[From:To]
	ObsQvel                     // qvel[From:To]
	ObsSitePos                  // world position of site From (3)
	ObsSiteRel                  // site From's position − site To's (3)
	ObsQuatEuler                // roll, pitch, yaw (x, y, z) of the quaternion at qpos[From:From+4] (3)
	ObsQvelRel                  // qvel[From:From+3] − qvel[To:To+3] (3)
	ObsParam                    // params[From:To]
	ObsQposSign                 // +1 if qpos[From] > X else −1 (1)
)

// ObsSegment is a contiguous slice of the observation vector; see ObsKind
// for what From, To and X mean.
type ObsSegment struct {
	Kind     ObsKind
	From, To int
	X        float64
}

// Len is the number of observation entries of the segment.
func (s ObsSegment) Len() int {
	switch s.Kind {
	case ObsSitePos, ObsSiteRel, ObsQuatEuler, ObsQvelRel:
		return 3
	case ObsQposSign:
		return 1
	}
	return s.To - s.From
}

// Task is a model plus everything that turns it into a control problem: the
// control step, episode length, reset distribution, observation, planning
// cost and reported reward (docs/design/TASKS.md).
type Task struct {
	Name       string
	Model      *Model
	FrameSkip  int     // physics steps per control step
	EpisodeLen int     // control steps per episode
	Beta       float64 // colored-noise exponent the planner uses for this task
	NParam     int     // per-problem parameters (e.g. a goal); 0 if none

	// Actions a in [ActLow, ActHigh] map to controls ctrl = CtrlOffset + CtrlScale·a,
	// plus, where CtrlRelative is set, the position of the actuated joint (or tendon length)
	// (gym-robotics' ctrl_set_action for position servos: the target is
	// relative to where the joint is now); ctrl is then clamped to the
	// actuator's range when applied.
	ActLow, ActHigh       []float64 // (nu)
	CtrlOffset, CtrlScale []float64 // (nu)
	CtrlRelative          []bool    // nil: none (nu)

	Obs    []ObsSegment
	Cost   []Term // planning cost per control step, summed over the horizon
	Reward []Term // reward reported per control step (the original environment's)

	// Reset: qpos = Qpos0 + U(±ResetQposUniform); qvel = ResetQvelNormal·N(0,1)
	// + U(±ResetQvelUniform).
	ResetQposUniform float64
	ResetQvelNormal  float64
	ResetQvelUniform float64
	// ResetHook, when set, finishes a reset on the CPU: it may change the
	// sampled qpos and qvel and must fill params (NParam), e.g. with a goal.
	ResetHook func(rng *rand.Rand, m *Model, qpos, qvel, params []float64)

	// Success, if not empty, defines success at the end of an episode: the
	// terms' value (evaluated like a step's) is positive. See Solved.
	Success []Term

	// BodyPos moves bodies per problem: body BodyPos[k].Body sits at
	// params[BodyPos[k].Param : +3] in its parent's frame instead of the
	// model's BodyPos (gym's model.body_pos set at reset, e.g. the Adroit
	// door's frame). ModelFor gives the model a problem runs on.
	BodyPos []BodyParam
}

// BodyParam places a body at three task parameters (Task.BodyPos).
type BodyParam struct {
	Body  int // body id
	Param int // first of its three task parameters: x, y, z in the parent frame
}

// ModelFor returns the model of a problem with task parameters params: the
// task's model itself when the task moves no body (Task.BodyPos), else
// scratch, made a copy of it that shares every array but BodyPos. A worker
// keeps one scratch and calls ModelFor before each problem.
func (t *Task) ModelFor(params []float64, scratch *Model) *Model {
	if len(t.BodyPos) == 0 {
		return t.Model
	}
	bp := scratch.BodyPos
	if len(bp) != len(t.Model.BodyPos) || &bp[0] == &t.Model.BodyPos[0] {
		bp = make([]Vec3, len(t.Model.BodyPos))
	}
	*scratch = *t.Model
	copy(bp, t.Model.BodyPos)
	for _, b := range t.BodyPos {
		bp[b.Body] = Vec3{params[b.Param], params[b.Param+1], params[b.Param+2]}
	}
	scratch.BodyPos = bp
	return scratch
}

// ControlDt is the duration of one control step.
func (t *Task) ControlDt() float64 { return t.Model.Opt.Timestep * float64(t.FrameSkip) }

// ObsDim is the length of the observation vector.
func (t *Task) ObsDim() int {
	n := 0
	for _, s := range t.Obs {
		n += s.Len()
	}
	return n
}

// Observe writes the observation of d to dst (ObsDim) for a task without
// parameters.
func (t *Task) Observe(d *Data, dst []float64) { t.ObserveParams(d, nil, dst) }

// ObserveParams writes the observation of d under task parameters params
// (NParam) to dst (ObsDim). Site segments recompute the body poses from qpos
// (on ModelFor(params): a task that moves bodies allocates a model copy per
// call; ObserveModel reuses one).
func (t *Task) ObserveParams(d *Data, params, dst []float64) {
	m := t.Model
	if len(t.BodyPos) > 0 {
		m = t.ModelFor(params, new(Model))
	}
	t.ObserveModel(m, d, params, dst)
}

// ObserveModel is ObserveParams on m, the model of the problem
// (ModelFor(params)).
func (t *Task) ObserveModel(m *Model, d *Data, params, dst []float64) {
	for _, s := range t.Obs {
		if s.Kind == ObsSitePos || s.Kind == ObsSiteRel {
			kinematics(m, d)
			break
		}
	}
	k := 0
	for _, s := range t.Obs {
		switch s.Kind {
		case ObsQpos:
			k += copy(dst[k:], d.Qpos[s.From:s.To])
		case ObsQvel:
			k += copy(dst[k:], d.Qvel[s.From:s.To])
		case ObsSitePos:
			k += copy(dst[k:], d.SiteXpos[s.From][:])
		case ObsSiteRel:
			r := sub3(&d.SiteXpos[s.From], &d.SiteXpos[s.To])
			k += copy(dst[k:], r[:])
		case ObsQuatEuler:
			q := Quat(d.Qpos[s.From : s.From+4])
			e := quatEuler(&q)
			k += copy(dst[k:], e[:])
		case ObsQvelRel:
			for i := 0; i < 3; i++ {
				dst[k+i] = d.Qvel[s.From+i] - d.Qvel[s.To+i]
			}
			k += 3
		case ObsParam:
			k += copy(dst[k:], params[s.From:s.To])
		case ObsQposSign:
			dst[k] = -1
			if d.Qpos[s.From] > s.X {
				dst[k] = 1
			}
			k++
		}
	}
}

// quatEuler returns the roll, pitch and yaw (rotations about x, y, z,
// applied in the order z, y, x) of a unit quaternion (w, x, y, z).
func quatEuler(q *Quat) Vec3 {
	w, x, y, z := q[0], q[1], q[2], q[3]
	roll := math.Atan2(2*(w*x+y*z), 1-2*(x*x+y*y))
	pitch := math.Asin(math.Max(-1, math.Min(1, 2*(w*y-z*x))))
	yaw := math.Atan2(2*(w*z+x*y), 1-2*(y*y+z*z))
	return Vec3{roll, pitch, yaw}
}

// StepValue evaluates terms for one control step that took the world from
// qposBefore to d under action a, for a task without parameters.
func (t *Task) StepValue(terms []Term, qposBefore []float64, d *Data, a []float64) float64 {
	return t.StepValueParams(terms, qposBefore, d, a, nil)
}

// Solved reports whether d, at the end of an episode under params, counts
// as success (Task.Success); false when the task defines none.
func (t *Task) Solved(d *Data, params []float64) bool {
	return len(t.Success) > 0 && t.StepValueParams(t.Success, d.Qpos, d, nil, params) > 0
}

// StepValueParams is StepValue under task parameters params (NParam).
func (t *Task) StepValueParams(terms []Term, qposBefore []float64, d *Data, a, params []float64) float64 {
	v := 0.0
	for _, tm := range terms {
		switch tm.Kind {
		case TermQposDist, TermQposDistAbove:
			s := 0.0
			for i := 0; i < 3; i++ {
				e := d.Qpos[tm.I+i] - params[tm.J+i]
				s += e * e
			}
			if dist := math.Sqrt(s); tm.Kind == TermQposDist {
				v += tm.W * dist
			} else if dist > tm.X {
				v += tm.W
			}
		case TermSiteDist:
			r := sub3(&d.SiteXpos[tm.I], &d.SiteXpos[tm.J])
			v += tm.W * math.Sqrt(r[0]*r[0]+r[1]*r[1]+r[2]*r[2])
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
	m := t.Model
	for i := range d.Ctrl {
		d.Ctrl[i] = t.CtrlOffset[i] + t.CtrlScale[i]*a[i]
		if t.CtrlRelative != nil && t.CtrlRelative[i] {
			if m.ActTrnType != nil && m.ActTrnType[i] == TrnTendon {
				l, _ := tendonState(m, d, m.ActTrnID[i])
				d.Ctrl[i] += l
			} else {
				d.Ctrl[i] += d.Qpos[m.JntQposAdr[m.ActTrnID[i]]]
			}
		}
	}
}
