package viewer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTrajRoundTrip(t *testing.T) {
	tr := &Trajectory{Version: TrajVersion, Task: "halfcheetah", Model: "m.xml", Nq: 2, Nv: 2, Dt: 0.05,
		Qpos: [][]float64{{0, 1}, {0.1, 1.1}}, Qvel: [][]float64{{0, 0}, {1, 2}},
		Actions: [][]float64{{0.5}}, Rewards: []float64{3.25}}
	p := filepath.Join(t.TempDir(), "a.traj")
	if err := SaveTraj(p, tr); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTraj(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Errorf("round trip: got %+v, want %+v", got, tr)
	}
}

func TestTrajBadInput(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "bad.traj")
	os.WriteFile(corrupt, []byte("not gzip"), 0o644)
	if _, err := LoadTraj(corrupt); err == nil || !strings.Contains(err.Error(), "not a .traj file") {
		t.Errorf("corrupt file: error %v", err)
	}
	bad := &Trajectory{Version: TrajVersion, Nq: 3, Qpos: [][]float64{{1, 2}}}
	if err := SaveTraj(filepath.Join(dir, "x.traj"), bad); err == nil {
		t.Error("saving a trajectory with wrong nq succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.traj")); !os.IsNotExist(err) {
		t.Error("a failed save left a file behind")
	}
}
