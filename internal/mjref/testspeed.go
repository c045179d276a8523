package mjref

// This file needs no cgo: it runs MuJoCo's own benchmark program, so the CLI
// can report MuJoCo's single-core speed wherever the program is installed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// ErrNoTestspeed is returned (wrapped) when neither mujoco-testspeed
// (Debian's libmujoco-samples) nor testspeed (upstream's name) is on PATH.
var ErrNoTestspeed = errors.New("mujoco-testspeed not found on PATH (Debian package libmujoco-samples)")

// testspeedNames are the program's names in the Debian package and upstream.
var testspeedNames = []string{"mujoco-testspeed", "testspeed"}

// stepsPerSecRE matches testspeed's line " Steps per second     : 161105"
// (MuJoCo 2.2 sample/testspeed.cc).
var stepsPerSecRE = regexp.MustCompile(`(?m)^\s*Steps per second\s*:\s*([0-9.eE+-]+)`)

// TestspeedPath returns the path of the MuJoCo testspeed program, or an error
// wrapping ErrNoTestspeed.
func TestspeedPath() (string, error) {
	for _, name := range testspeedNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mjref: %w", ErrNoTestspeed)
}

// TestSpeed runs `mujoco-testspeed modelPath nstep 1 0` (one thread, no
// control noise) and returns the steps per second it reports: MuJoCo's
// single-core speed on this machine, the anchor the batchsim engine is
// compared with.
func TestSpeed(modelPath string, nstep int) (stepsPerSec float64, err error) {
	return TestSpeedContext(context.Background(), modelPath, nstep)
}

// TestSpeedContext is TestSpeed with a context that can stop the program.
func TestSpeedContext(ctx context.Context, modelPath string, nstep int) (float64, error) {
	if nstep <= 0 {
		return 0, fmt.Errorf("mjref: testspeed: nstep %d must be positive", nstep)
	}
	bin, err := TestspeedPath()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, bin, modelPath, strconv.Itoa(nstep), "1", "0")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("mjref: %s %s: %w: %s", bin, modelPath, err, tail(out.Bytes()))
	}
	return parseTestspeed(out.Bytes())
}

// parseTestspeed extracts the steps per second from testspeed's output.
// testspeed prints its load error and exits 0 on some failures, so a missing
// line is an error that quotes the output.
func parseTestspeed(out []byte) (float64, error) {
	m := stepsPerSecRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("mjref: testspeed printed no \"Steps per second\" line: %s", tail(out))
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("mjref: testspeed: bad steps per second %q", m[1])
	}
	return v, nil
}

// tail returns the last few hundred bytes of a program's output for an error.
func tail(b []byte) string {
	const n = 400
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
