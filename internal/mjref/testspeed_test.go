package mjref

import (
	"errors"
	"math"
	"os"
	"testing"
)

func TestMjrefParseTestspeed(t *testing.T) {
	// Output of MuJoCo 2.2.2's testspeed on the half cheetah.
	out := []byte(`
Running 2000 steps at dt = 0.01 ...

 Simulation time      : 0.01 s
 Steps per second     : 161105
 Realtime factor      : 1611.05 x
 Time per step        : 0.0062 ms
`)
	v, err := parseTestspeed(out)
	if err != nil {
		t.Fatal(err)
	}
	if v != 161105 {
		t.Errorf("steps/s = %g, want 161105", v)
	}
	// What testspeed prints (with exit status 0) for a missing model.
	if _, err := parseTestspeed([]byte("XML parse error 3:\nError=XML_ERROR_FILE_NOT_FOUND")); err == nil {
		t.Error("no error for output without a steps-per-second line")
	}
}

func TestMjrefTestSpeed(t *testing.T) {
	if _, err := TestspeedPath(); err != nil {
		if !errors.Is(err, ErrNoTestspeed) {
			t.Fatalf("TestspeedPath error %v does not wrap ErrNoTestspeed", err)
		}
		if crossCheck {
			t.Fatalf("the cross-check needs MuJoCo's testspeed (make deps): %v", err)
		}
		t.Skip("mujoco-testspeed not installed (Debian libmujoco-samples); the cross-check build (-tags mujoco) fails here")
	}
	const model = "../../models/half_cheetah.xml"
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("reference model missing (it belongs to the repository, see models/README.md): %v", err)
	}
	v, err := TestSpeed(model, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		t.Errorf("steps/s = %g, want a positive finite number", v)
	}
	t.Logf("MuJoCo testspeed, half cheetah, 1 thread: %.0f steps/s", v)

	if _, err := TestSpeed("does-not-exist.xml", 10); err == nil {
		t.Error("no error for a missing model file")
	}
}
