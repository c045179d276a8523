package apex

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apex-robotics/apex/batchsim"
)

// fakeRunFolder writes a run folder with config (as config.json) and, when
// ckptHidden is not nil, one complete checkpoint whose policy has those
// hidden widths.
func fakeRunFolder(t *testing.T, c RunConfig, ckptHidden []int) string {
	t.Helper()
	dir := t.TempDir()
	if err := prepareFolder(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	if ckptHidden != nil {
		task, err := batchsim.NewTask(c.Task)
		if err != nil {
			t.Fatal(err)
		}
		cp := checkpointDir(dir, 0)
		if err := os.MkdirAll(cp, 0o755); err != nil {
			t.Fatal(err)
		}
		p := NewPolicy(task.ObsDim(), task.ActLow, task.ActHigh, ckptHidden, rand.NewPCG(1, 2))
		if err := p.Save(filepath.Join(cp, PolicyFile)); err != nil {
			t.Fatal(err)
		}
		st := runState{Format: stateFormat, Iteration: 0, Rows: []Metrics{{}}}
		if err := writeJSON(filepath.Join(cp, stateFile), st); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunFolderCorruptConfig: a run folder whose config.json is corrupt is
// still a run folder, and loading its config says the file is unreadable
// and why (it used to read "not a run folder (no config.json)").
func TestRunFolderCorruptConfig(t *testing.T) {
	c := RunConfig{Task: "halfcheetah"}.WithDefaults()
	dir := fakeRunFolder(t, c, nil)
	path := filepath.Join(dir, ConfigFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)/2], 0o644) // cut off by a crash, say
	if !IsRunFolder(dir) {
		t.Error("IsRunFolder: a folder with a corrupt config.json is a (damaged) run folder")
	}
	_, err := LoadRunConfig(dir)
	if err == nil || !strings.Contains(err.Error(), "config.json is unreadable") || strings.Contains(err.Error(), "no config.json") {
		t.Errorf("corrupt config.json: %v; want it called unreadable, with the reason", err)
	}
	os.WriteFile(path, []byte("{\n \"format\": \"apex-run\",\n \"config\": {\"iterations\": \"four\"}}\n"), 0o644)
	if _, err := LoadRunConfig(dir); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("config.json with a string for a number: %v; want the line", err)
	}
	// A corrupt run folder is never deleted to be overwritten.
	if err := prepareFolder(dir, true); err == nil {
		t.Error("prepareFolder(overwrite) removed a folder whose config.json is corrupt")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("config.json is gone: %v", err)
	}
	empty := t.TempDir()
	if IsRunFolder(empty) {
		t.Error("an empty folder is not a run folder")
	}
	if _, err := LoadRunConfig(empty); err == nil || !strings.Contains(err.Error(), "no config.json") {
		t.Errorf("empty folder: %v", err)
	}
}

// TestRunFolderEditedHidden: a config.json whose hidden widths were edited
// after the run checkpointed is refused with a message (resuming used to
// keep the checkpoint's widths silently); huge widths are refused before
// anything is allocated.
func TestRunFolderEditedHidden(t *testing.T) {
	c := RunConfig{Task: "halfcheetah"}.WithDefaults()
	dir := fakeRunFolder(t, c, DefaultHidden)
	if got, err := LoadRunConfig(dir); err != nil || got.Task != "halfcheetah" {
		t.Fatalf("intact run folder: %+v, %v", got, err)
	}
	edited := c
	edited.Hidden = []int{64, 64}
	if err := writeConfig(dir, edited); err != nil {
		t.Fatal(err)
	}
	_, err := LoadRunConfig(dir)
	if err == nil || !strings.Contains(err.Error(), "hidden [64 64]") || !strings.Contains(err.Error(), "[128 128 128]") {
		t.Errorf("edited hidden: %v; want both architectures named", err)
	}
	edited.Hidden = []int{100000000}
	writeConfig(dir, edited)
	if _, err := LoadRunConfig(dir); err == nil || !strings.Contains(err.Error(), "65536") {
		t.Errorf("hidden 1e8: %v; want the limit", err)
	}
	edited = c
	edited.Task = "door"
	writeConfig(dir, edited)
	if _, err := LoadRunConfig(dir); err == nil || !strings.Contains(err.Error(), "task cannot change") {
		t.Errorf("edited task: %v", err)
	}
}

// TestWriteJSONNonFinite: a non-finite number in a record is an error that
// says so, and nothing is written.
func TestWriteJSONNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	err := writeJSON(path, runState{Format: stateFormat, Lambda: [][]float64{{math.Inf(-1)}}})
	if err == nil || !strings.Contains(err.Error(), "-Inf") || !strings.Contains(err.Error(), "JSON cannot hold") {
		t.Errorf("writeJSON of -Inf: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a file was written")
	}
}
