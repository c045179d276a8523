package batchsim

// Data is the state and scratch space of one world. It is not safe for
// concurrent use; each worker of the CPU evaluator owns its own Data.
type Data struct {
	Time float64   // simulated seconds
	Qpos []float64 // generalized positions (nq)
	Qvel []float64 // generalized velocities (nv)
	Ctrl []float64 // actuator controls, clamped when applied (nu)
	Qacc []float64 // generalized accelerations of the last step (nv)
	// QfrcApplied is a generalized force added at every step (MuJoCo's
	// qfrc_applied), for scripted pushes in tests; zeroed by ResetData. (nv)
	QfrcApplied []float64

	// Results of the position stage, in world coordinates.
	Xpos     []Vec3       // body frame positions (nbody)
	Xquat    []Quat       // body frame orientations (nbody)
	Xipos    []Vec3       // body centres of mass (nbody)
	GeomXpos []Vec3       // geom positions (ngeom)
	GeomXmat [][9]float64 // geom orientations, row-major (ngeom)
	SiteXpos []Vec3       // site positions (nsite)

	// CfrcExt is the contact wrench on each body from the last step, as
	// (torque, force) about the body's centre of mass in world coordinates:
	// the Humanoid Standup reward reads its squared norm. (nbody)
	CfrcExt [][6]float64

	scratch
}
