//go:build noglfw

package viewer

import "fmt"

// HasWindow reports whether this build has the window (no noglfw tag).
const HasWindow = false

// Show reports that this build has no window: it was built with the tag
// noglfw, which leaves out GLFW and its X11 headers.
func Show(opt WindowOptions) error {
	return fmt.Errorf("%w: this apex was built without the window (build tag noglfw)", ErrNoDisplay)
}
