package gpu

/*
#include <stdint.h>
void gpu_push_error_scope(void *device, uint32_t filter);
void gpu_pop_error_scope(void *device, uintptr_t handle);
void gpu_set_uncaptured_error_callback(void *device, uintptr_t handle);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// errorSink receives the errors that wgpu-native reports through a callback.
type errorSink func(typ wgpu.ErrorType, message string)

//export gpuErrorCallbackGo
func gpuErrorCallbackGo(typ C.uint32_t, message *C.char, handle C.uintptr_t) {
	if sink, ok := cgo.Handle(handle).Value().(errorSink); ok {
		sink(wgpu.ErrorType(typ), C.GoString(message))
	}
}

// deviceRef returns the WGPUDevice behind a *wgpu.Device. go-webgpu v0.17.1
// declares Device as struct{ ref C.WGPUDevice }: one C pointer, which is
// what this reads. The version is pinned in go.mod; TestDeviceErrors fails
// loudly if the layout ever changes (errors would stop being captured).
func deviceRef(d *wgpu.Device) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(d))
}

// ErrDeviceLost is wrapped by every error after the device was lost.
var ErrDeviceLost = errors.New("gpu: device lost")

// scopeError runs f inside validation and out-of-memory error scopes of dev
// and returns the first error either scope caught, naming op.
func scopeError(dev *wgpu.Device, op string, f func() error) error {
	ref := deviceRef(dev)
	var captured []error
	var sink errorSink = func(typ wgpu.ErrorType, msg string) {
		if typ == wgpu.ErrorType_NoError {
			return
		}
		captured = append(captured, wrapWGPUError(typ, msg))
	}
	h := cgo.NewHandle(sink)
	defer h.Delete()
	C.gpu_push_error_scope(ref, C.uint32_t(wgpu.ErrorFilter_OutOfMemory))
	C.gpu_push_error_scope(ref, C.uint32_t(wgpu.ErrorFilter_Validation))
	ferr := f()
	C.gpu_pop_error_scope(ref, C.uintptr_t(h))
	C.gpu_pop_error_scope(ref, C.uintptr_t(h))
	if ferr != nil {
		captured = append([]error{ferr}, captured...)
	}
	if len(captured) == 0 {
		return nil
	}
	return fmt.Errorf("gpu: %s: %w", op, errors.Join(captured...))
}

// wrapWGPUError turns a callback's report into a Go error.
func wrapWGPUError(typ wgpu.ErrorType, msg string) error {
	err := &wgpu.Error{Type: typ, Message: msg}
	if typ == wgpu.ErrorType_DeviceLost {
		return fmt.Errorf("%w: %w", ErrDeviceLost, err)
	}
	return err
}

// setUncaptured installs sink as dev's uncaptured-error callback; the
// returned handle must live as long as the device.
func setUncaptured(dev *wgpu.Device, sink errorSink) cgo.Handle {
	h := cgo.NewHandle(sink)
	C.gpu_set_uncaptured_error_callback(deviceRef(dev), C.uintptr_t(h))
	return h
}
