package viewer

import (
	"errors"

	"github.com/apex-robotics/apex/batchsim"
)

// ErrNoDisplay is wrapped by Show when no window can be opened.
var ErrNoDisplay = errors.New("viewer: cannot open a window (no display); use `apex render` for pictures without one")

// Live is an episode that grows while a controller runs, for the window's
// live mode. Its methods are called from the window's thread and must be
// safe to call while the controller runs.
type Live interface {
	// Traj returns the episode so far; the window does not modify it.
	Traj() *Trajectory
	// Toggle starts or stops the controller (Enter in the window).
	Toggle()
	// Running reports whether the controller runs.
	Running() bool
}

// WindowOptions configure Show.
type WindowOptions struct {
	Model         *batchsim.Model
	Traj          *Trajectory // played back, unless Live is set
	Live          Live
	Camera        *Camera // nil: DefaultCamera
	Width, Height int     // window size; 0: 1280 × 720
	// ScreenshotDir is where Ctrl+P writes PNGs ("" is the working folder).
	ScreenshotDir string
	// MaxFrames, if positive, closes the window after drawing that many
	// frames (tests, scripted captures).
	MaxFrames int
	// Screenshot, if set, is a PNG file the last frame is written to when
	// the window closes.
	Screenshot string
}
