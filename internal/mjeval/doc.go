// Package mjeval is a batchsim.Evaluator on MuJoCo 2.2.2 (through
// internal/mjref's Sim): `apex plan --backend mujoco` in a build with the tag
// `mujoco` plans with its rollouts on MuJoCo's physics, a reference to
// compare batchsim's planning with. It is never the product's engine: every
// file that needs cgo carries the build tag, and without it the package is
// this comment only.
package mjeval
