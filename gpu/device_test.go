package gpu

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// newTestDevice opens a device or skips the test when the machine has no
// WebGPU adapter at all (CI installs lavapipe, so the tests run there).
func newTestDevice(tb testing.TB) *Device {
	tb.Helper()
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		tb.Setenv("XDG_RUNTIME_DIR", tb.TempDir())
	}
	d, err := NewDevice()
	if errors.Is(err, ErrNoAdapter) {
		tb.Skipf("no WebGPU adapter: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func TestAvailable(t *testing.T) {
	d := newTestDevice(t)
	inf, err := Available()
	if err != nil && !errors.Is(err, ErrSoftwareOnly) {
		t.Fatalf("Available: %v", err)
	}
	if inf.Name != d.Info.Name || inf.Backend != d.Info.Backend {
		t.Errorf("Available reports %v, NewDevice got %v", inf, d.Info)
	}
	if (err == nil) == inf.Software {
		t.Errorf("Available: software=%v but err=%v", inf.Software, err)
	}
	if d.Limits().MaxStorageBuffersPerShaderStage < 8 {
		t.Errorf("device grants %d storage buffers per stage, want >= 8", d.Limits().MaxStorageBuffersPerShaderStage)
	}
	t.Logf("adapter: %v; maxStorageBufferBindingSize %d, maxComputeWorkgroupsPerDimension %d",
		d.Info, d.Limits().MaxStorageBufferBindingSize, d.Limits().MaxComputeWorkgroupsPerDimension)
}

func TestDeviceErrors(t *testing.T) {
	d := newTestDevice(t)
	if _, err := d.CreateShaderModule("bad", "fn main( {"); err == nil {
		t.Error("invalid WGSL compiled without error")
	}
	// MapRead may only be combined with CopyDst: a validation error that our
	// own error scope (not go-webgpu's) must catch.
	_, err := d.CreateBuffer("bad usage", 64, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_Storage)
	if err == nil || !strings.Contains(err.Error(), "bad usage") {
		t.Errorf("invalid buffer usage: err = %v, want a validation error naming the buffer", err)
	}
	if _, err := d.CreateBuffer("huge", d.Limits().MaxBufferSize+1, wgpu.BufferUsage_Storage); err == nil {
		t.Error("buffer above maxBufferSize created without error")
	}
	// The device still works after the errors above.
	b, err := d.CreateBuffer("ok", 16, wgpu.BufferUsage_MapRead|wgpu.BufferUsage_CopyDst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	// Copying past the end of a buffer is a validation error of the encoder.
	err = d.Encode("bad copy", func(enc *wgpu.CommandEncoder) error {
		return enc.CopyBufferToBuffer(b, 0, b, 8, 64)
	})
	if err == nil {
		t.Error("out-of-range copy encoded without error")
	}
	if err := d.Err(); err != nil {
		t.Errorf("uncaptured error left after captured ones: %v", err)
	}
	got := make([]byte, 16)
	if err := d.Read(b, 0, got); err != nil {
		t.Errorf("read after errors: %v", err)
	}
}
