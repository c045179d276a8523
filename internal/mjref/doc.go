// Package mjref wraps the MuJoCo C library (Debian libmujoco-dev, version
// 2.2.x) as the reference that the batchsim engine is checked against and
// measured by. It is never the product's engine: every file that needs cgo
// carries the build tag `mujoco`, so that the module builds and tests without
// MuJoCo installed; testspeed.go, which only runs MuJoCo's benchmark program,
// has no tag.
//
// The cgo API mirrors the small part of MuJoCo's mjModel/mjData that the
// cross-checks read (see the MuJoCo 2.2 API reference,
// https://mujoco.readthedocs.io/en/2.2.2/APIreference.html): load a model,
// set qpos/qvel/ctrl, step with mj_step, read back the state and a few
// compiled model fields.
package mjref
