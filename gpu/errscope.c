// C side of gpu's error capture: go-webgpu v0.17.1 wraps only the
// validation scope of Create* calls and exposes no uncaptured-error
// callback, so these helpers reach the wgpu-native entry points directly.
// The symbols come from the static wgpu-native library that go-webgpu links.
#include <stdint.h>
#include "_cgo_export.h"

typedef void (*gpu_error_cb)(uint32_t type, char const *message, void *userdata);

extern void wgpuDevicePushErrorScope(void *device, uint32_t filter);
extern void wgpuDevicePopErrorScope(void *device, gpu_error_cb callback, void *userdata);
extern void wgpuDeviceSetUncapturedErrorCallback(void *device, gpu_error_cb callback, void *userdata);

static void gpu_error_trampoline(uint32_t type, char const *message, void *userdata) {
	gpuErrorCallbackGo(type, (char *)message, (uintptr_t)userdata);
}

void gpu_push_error_scope(void *device, uint32_t filter) {
	wgpuDevicePushErrorScope(device, filter);
}

void gpu_pop_error_scope(void *device, uintptr_t handle) {
	wgpuDevicePopErrorScope(device, gpu_error_trampoline, (void *)handle);
}

void gpu_set_uncaptured_error_callback(void *device, uintptr_t handle) {
	wgpuDeviceSetUncapturedErrorCallback(device, gpu_error_trampoline, (void *)handle);
}
