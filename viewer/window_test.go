//go:build !noglfw

package viewer

import (
	"bufio"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apex-robotics/apex/batchsim"
)

// display returns an X display for the window test: $DISPLAY, or a private
// Xvfb that the test starts (and stops at its end). Xvfb picks a free
// display number itself (-displayfd) and reports it once it accepts
// connections: a number chosen here could belong to a display, or to the
// lock and socket a killed Xvfb left behind, and the window would then
// connect to nothing.
func display(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") != "" {
		return
	}
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("no DISPLAY and no Xvfb (Debian: apt-get install xvfb): cannot test the window")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w} // fd 3
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	t.Cleanup(func() {
		// SIGTERM, so that Xvfb removes its lock file and socket
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if n == "" {
			t.Fatal("Xvfb exited without reporting a display")
		}
		t.Setenv("DISPLAY", ":"+n)
	case <-time.After(10 * time.Second):
		t.Fatal("Xvfb did not start within 10 s")
	}
}

// TestWindow opens the window under Xvfb, draws 10 frames of a short
// trajectory, closes, and checks that the screenshot of the last frame
// shows both the floor and the ball.
func TestWindow(t *testing.T) {
	display(t)
	m := loadBall(t)
	tr := &Trajectory{Version: TrajVersion, Model: "ball.xml", Nq: m.Nq, Nv: m.Nv, Dt: 0.02}
	for k := range 20 {
		q := append([]float64(nil), m.Qpos0...)
		q[0] = 0.02 * float64(k)
		tr.Qpos = append(tr.Qpos, q)
	}
	shot := filepath.Join(t.TempDir(), "shot.png")
	cam := Camera{Lookat: batchsim.Vec3{0, 0, 0.5}, Distance: 3, Azimuth: 90, Elevation: -10}
	err := Show(WindowOptions{Model: m, Traj: tr, Camera: &cam, Width: 200, Height: 150, MaxFrames: 10, Screenshot: shot})
	if errors.Is(err, ErrNoAdapter) {
		t.Skipf("no WebGPU adapter for the window: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 150 {
		t.Fatalf("screenshot is %v, want the window's 200×150", b)
	}
	colours := map[[3]uint32]bool{}
	red := 0
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			if r > 2*g && r > 2*b {
				red++
			}
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d distinct colours: blank", len(colours))
	}
	if red < 100 {
		t.Errorf("screenshot has %d red pixels: the ball is missing", red)
	}
}

func TestShowWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	m := loadBall(t)
	tr := &Trajectory{Version: TrajVersion, Nq: m.Nq, Dt: 0.1, Qpos: [][]float64{m.Qpos0}}
	err := Show(WindowOptions{Model: m, Traj: tr})
	if !errors.Is(err, ErrNoDisplay) {
		t.Errorf("Show without a display: %v, want ErrNoDisplay", err)
	}
}
