//go:build mujoco

package mjref

/*
#include <mujoco/mujoco.h>
*/
import "C"

import "unsafe"

// Writable fields for task-level cross-checks (issue 15: the Adroit door's
// environment moves the door frame and pushes on the hinge).

// SetQfrcApplied sets qfrc_applied, a generalized force added at every step
// until changed (nv).
func (s *Sim) SetQfrcApplied(f []float64) {
	s.check()
	set(s.d.qfrc_applied, s.Nv(), f, "qfrc_applied")
}

// SetBodyPos sets body_pos of body b, its position in the parent frame, as
// gym's environments do at reset (the model's, not the state's).
func (s *Sim) SetBodyPos(b int, pos [3]float64) {
	s.check()
	if b < 0 || b >= s.Nbody() {
		panic("mjref: SetBodyPos: body out of range")
	}
	p := unsafe.Slice(s.m.body_pos, 3*s.Nbody())
	for i := range pos {
		p[3*b+i] = C.mjtNum(pos[i])
	}
}

// NoslipIterations returns opt.noslip_iterations: sweeps of MuJoCo's
// no-slip post-processing of friction forces after the main solver (0: off).
func (s *Sim) NoslipIterations() int { s.check(); return int(s.m.opt.noslip_iterations) }

// SetNoslipIterations sets opt.noslip_iterations (0 switches the no-slip
// solver off, leaving the main solver's forces).
func (s *Sim) SetNoslipIterations(n int) { s.check(); s.m.opt.noslip_iterations = C.int(n) }

// Contact is one of MuJoCo's contacts of the last step (mjContact).
type Contact struct {
	Geom1, Geom2 int
	Dist         float64
	Pos          [3]float64
	Frame        [9]float64 // normal, then the two tangents (rows)
	Dim          int        // condim
	EfcAddress   int
}

// Contacts returns the contacts of the last step (ncon).
func (s *Sim) Contacts() []Contact {
	s.check()
	out := make([]Contact, s.Ncon())
	for i, c := range unsafe.Slice(s.d.contact, s.Ncon()) {
		out[i] = Contact{Geom1: int(c.geom1), Geom2: int(c.geom2), Dist: float64(c.dist), Dim: int(c.dim), EfcAddress: int(c.efc_address)}
		for k := range 3 {
			out[i].Pos[k] = float64(c.pos[k])
		}
		for k := range 9 {
			out[i].Frame[k] = float64(c.frame[k])
		}
	}
	return out
}
