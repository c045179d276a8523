package viewer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
)

// FuzzReadTraj feeds the .traj reader arbitrary JSON (gzip-compressed here,
// so that the fuzzer explores the JSON rather than the deflate format) and
// checks that it never panics, and that a trajectory it accepts is written
// back by writeTraj and read again to the same JSON. Its seed corpus runs in
// plain go test; make fuzz runs it for a bounded time.
func FuzzReadTraj(f *testing.F) {
	seeds := []*Trajectory{
		{Version: TrajVersion, Task: "halfcheetah", Model: "models/half_cheetah.xml", Nq: 2, Nv: 2, Dt: 0.05,
			Qpos: [][]float64{{0, 1}, {0.1, 1.1}}, Qvel: [][]float64{{0, 0}, {1, 2}},
			Actions: [][]float64{{0.5}}, Rewards: []float64{3.25}},
		{Version: TrajVersion, Model: "m.xml", Nq: 1, Nv: 1, Dt: 0.1, Qpos: [][]float64{{0}, {1}},
			Planned: [][][3]float64{{{1, 2, 3}, {4, 5, 6}}},
			Paths:   [][]PlannedPath{{{Body: "torso", Best: true, Points: [][3]float64{{0, 0, 1}}}, {Points: [][3]float64{{1, 1, 1}}}}}},
	}
	for _, s := range seeds {
		js, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"version":1}`, `{"version":1,"nq":1,"qpos":[[0]]} trailing`,
		`{"version":1,"nq":1,"qpos":[[1e309]]}`, `{"version":1,"nq":3,"qpos":[[1,2]]}`,
		`{"version":1,"nq":1,"qpos":[[0],[1]],"rewards":[1,2,3]}`,
		`{"version":1,"nq":1000000000,"qpos":[[0]]}`, `{"version":1,"nq":1,"qpos":[[0]],"planned":[[[1,2]],[[3]]]}`,
		`{"version":1,"nq":1,"qpos":[[0]],"paths":[[{"points":[[1,2,3,4]]}]]}`,
		`{"version":1,"nq":1,"qpos":[[0]],"model":"\"[,{"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(js)
		zw.Close()
		tr, err := readTraj(&gz)
		if err != nil {
			if tr != nil {
				t.Fatalf("readTraj returned a trajectory with error %v", err)
			}
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("readTraj accepted a trajectory that Validate refuses: %v", err)
		}
		var out bytes.Buffer
		if err := writeTraj(&out, tr); err != nil {
			t.Fatalf("an accepted trajectory cannot be written: %v", err)
		}
		back, err := readTraj(&out)
		if err != nil {
			t.Fatalf("a written trajectory cannot be read back: %v", err)
		}
		a, _ := json.Marshal(tr)
		b, _ := json.Marshal(back)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the trajectory:\n%s\n%s", a, b)
		}
	})
}
