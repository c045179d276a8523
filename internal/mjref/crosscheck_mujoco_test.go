//go:build mujoco

package mjref

// crossCheck is true in the cross-check build (tag mujoco, `make test`):
// there MuJoCo's programs are required, and a test that cannot find them
// fails instead of skipping.
const crossCheck = true
