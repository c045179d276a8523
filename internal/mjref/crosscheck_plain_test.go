//go:build !mujoco

package mjref

// crossCheck is false in the plain build, which must pass without MuJoCo
// installed; see crosscheck_mujoco_test.go.
const crossCheck = false
