package viewer

import (
	"compress/gzip"
	"math"
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
	nanParam := &Trajectory{Version: TrajVersion, Nq: 1, Qpos: [][]float64{{0}}, Params: []float64{math.NaN()}}
	if err := SaveTraj(filepath.Join(dir, "p.traj"), nanParam); err == nil || !strings.Contains(err.Error(), "task parameter 0") {
		t.Errorf("a NaN task parameter: error %v", err)
	}
}

// writeGzip writes a .traj-like gzip file whose JSON is head, then body
// repeated n times, then tail, and returns its path and compressed size.
func writeGzip(t *testing.T, head, body, tail string, n int) (string, int64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bomb.traj")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat(body, 4096))
	zw.Write([]byte(head))
	for i := 0; i < n; i += 4096 {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	zw.Write([]byte(tail))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, fi.Size()
}

// A gzip bomb of valid frames (issue 12, #9: 48 KB that took 850 MB): 36 MB
// of one-number frames, well under MaxTrajSize but above MaxTrajValues, is
// refused while it is read, with the limit in the message. The old reader
// decoded all nine million frames and accepted the file.
func TestTrajBombRefused(t *testing.T) {
	const frames = 9 << 20
	p, size := writeGzip(t, `{"version":1,"model":"m.xml","nq":1,"nv":0,"dt":0.05,"qpos":[`, "[0],", "[0]]}", frames)
	if size > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed, want a small one", size)
	}
	_, err := LoadTraj(p)
	if err == nil || !strings.Contains(err.Error(), "more than 16777216 JSON values, the limit (MaxTrajValues)") {
		t.Fatalf("LoadTraj of a %d-byte bomb: error %v, want the MaxTrajValues limit", size, err)
	}
}

// Decompressed bytes are counted too: a bomb of whitespace (no values) stops
// at the size limit, lowered here so that the test reads 1 MiB.
func TestTrajSizeLimit(t *testing.T) {
	defer func(old int64) { trajSizeLimit = old }(trajSizeLimit)
	trajSizeLimit = 1 << 20
	p, _ := writeGzip(t, `{"version":1,"nq":1,"qpos":[[0]]`, " ", "}", 2<<20)
	_, err := LoadTraj(p)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes (1 MiB, MaxTrajSize)") {
		t.Fatalf("error %v, want the MaxTrajSize limit", err)
	}
	// The same file under the limit loads.
	trajSizeLimit = 4 << 20
	if _, err := LoadTraj(p); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
}

// SaveTraj refuses what LoadTraj would refuse, and leaves no file.
func TestTrajSaveLimits(t *testing.T) {
	dir := t.TempDir()
	tr := &Trajectory{Version: TrajVersion, Model: "m.xml", Nq: 2, Nv: 2, Dt: 0.05}
	for range 1000 {
		tr.Qpos = append(tr.Qpos, []float64{0.5, 1.5})
	}
	defer func(s, v int64) { trajSizeLimit, trajValueLimit = s, v }(trajSizeLimit, trajValueLimit)
	for _, tc := range []struct {
		size, values int64
		want         string
	}{
		{1 << 10, MaxTrajValues, "larger than the limit of 1024 bytes"},
		{MaxTrajSize, 100, "more than 100 JSON values"},
	} {
		trajSizeLimit, trajValueLimit = tc.size, tc.values
		p := filepath.Join(dir, "big.traj")
		if err := SaveTraj(p, tr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SaveTraj: error %v, want %q", err, tc.want)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a refused save left %s behind", p)
		}
	}
	trajSizeLimit, trajValueLimit = MaxTrajSize, MaxTrajValues
	p := filepath.Join(dir, "ok.traj")
	if err := SaveTraj(p, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTraj(p); err != nil {
		t.Fatal(err)
	}
}

// A declared size above the engine's limits is refused before the frames
// are looked at.
func TestTrajDeclaredSizes(t *testing.T) {
	for _, js := range []string{
		`{"version":1,"nq":1000000000,"nv":1,"qpos":[[0]]}`,
		`{"version":1,"nq":1,"nv":-1,"qpos":[[0]]}`,
		`{"version":1,"nq":1,"nv":1000000000,"qpos":[[0]]}`,
	} {
		p, _ := writeGzip(t, js, "", "", 0)
		_, err := LoadTraj(p)
		if err == nil || !strings.Contains(err.Error(), "above the engine's limits MaxQpos") {
			t.Errorf("%s: error %v, want the engine's limits", js, err)
		}
	}
}

// Brackets and commas inside strings are not values; the planner's paths
// round-trip.
func TestTrajScannerAndPaths(t *testing.T) {
	var sc trajScanner
	sc.scan([]byte(`{"a":"[,{\"[,","b":[1,2,[]]}`))
	if sc.values != 6 { // { , [ , , [
		t.Errorf("scanner counted %d values, want 6", sc.values)
	}
	tr := &Trajectory{Version: TrajVersion, Task: "halfcheetah", Model: "m \"[x],\".xml", Nq: 1, Nv: 1, Dt: 0.05,
		Qpos: [][]float64{{0}, {1}}, Planned: [][][3]float64{{{1, 2, 3}}},
		Paths: [][]PlannedPath{{{Body: "torso", Best: true, Points: [][3]float64{{0, 0, 1}, {0.1, 0, 1}}}}}}
	p := filepath.Join(t.TempDir(), "p.traj")
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

// SaveTraj writes through a symbolic link instead of replacing it (issue
// 12, #1: plan --save-traj replaced the link with a regular file), and a
// failed save keeps the old file.
func TestTrajSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.traj"), filepath.Join(dir, "link.traj")
	tr := &Trajectory{Version: TrajVersion, Model: "m.xml", Nq: 1, Nv: 1, Dt: 0.05, Qpos: [][]float64{{0}, {1}}}
	if err := SaveTraj(real, tr); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.traj", link); err != nil {
		t.Fatal(err)
	}
	tr.Qpos = append(tr.Qpos, []float64{2})
	if err := SaveTraj(link, tr); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symbolic link (%v)", link, err)
	}
	got, err := LoadTraj(real)
	if err != nil || len(got.Qpos) != 3 {
		t.Fatalf("the link's target was not written: %v, %v", got, err)
	}
	bad := &Trajectory{Version: TrajVersion, Nq: 1, Qpos: [][]float64{{0}, {1, 2}}}
	if err := SaveTraj(link, bad); err == nil {
		t.Fatal("saving a malformed trajectory succeeded")
	}
	if got, err := LoadTraj(real); err != nil || len(got.Qpos) != 3 {
		t.Errorf("a failed save changed the old file: %v, %v", got, err)
	}
}

// CheckTrajSize promises only what SaveTraj can write: the largest
// trajectory it accepts, with the longest JSON numbers, is saved and loaded;
// one frame more is refused.
func TestCheckTrajSize(t *testing.T) {
	defer func(s, v int64) { trajSizeLimit, trajValueLimit = s, v }(trajSizeLimit, trajValueLimit)
	const nq, nv, nu = 3, 2, 1
	for _, lim := range []struct{ size, values int64 }{{256 << 10, MaxTrajValues}, {MaxTrajSize, 20000}} {
		trajSizeLimit, trajValueLimit = lim.size, lim.values
		frames := 0
		for CheckTrajSize(frames+1, nq, nv, nu) == nil {
			frames++
		}
		if frames < 100 {
			t.Fatalf("limits %+v: only %d frames fit", lim, frames)
		}
		err := CheckTrajSize(frames+1, nq, nv, nu)
		if err == nil || !strings.Contains(err.Error(), "MaxTrajSize") || !strings.Contains(err.Error(), "MaxTrajValues") {
			t.Errorf("error %v does not state the limits", err)
		}
		const long = -2.2250738585072014e-308 // 24 characters as JSON
		row := func(n int) []float64 {
			r := make([]float64, n)
			for i := range r {
				r[i] = long
			}
			return r
		}
		tr := &Trajectory{Version: TrajVersion, Task: "halfcheetah", Model: strings.Repeat("m", 4000), Nq: nq, Nv: nv, Dt: long}
		for k := 0; k < frames; k++ {
			tr.Qpos, tr.Qvel = append(tr.Qpos, row(nq)), append(tr.Qvel, row(nv))
			if k > 0 {
				tr.Actions, tr.Rewards = append(tr.Actions, row(nu)), append(tr.Rewards, long)
			}
		}
		p := filepath.Join(t.TempDir(), "max.traj")
		if err := SaveTraj(p, tr); err != nil {
			t.Fatalf("limits %+v: %d frames fit by CheckTrajSize but SaveTraj: %v", lim, frames, err)
		}
		if _, err := LoadTraj(p); err != nil {
			t.Fatalf("limits %+v: %v", lim, err)
		}
	}
	if err := CheckTrajSize(1, -1, 0, 0); err == nil {
		t.Error("negative size accepted")
	}
}
