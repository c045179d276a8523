// Package batchsim is the simplified articulated-body engine of apex: a
// kinematic tree in generalized coordinates (hinge, slide and free joints),
// Featherstone's articulated-body algorithm, MuJoCo's soft constraints for
// contacts between primitives, limits and dry friction (solved by Newton's
// method), and semi-implicit Euler integration, as specified in
// docs/design/PHYSICS.md. It also owns the MJCF loader, the tasks and the
// CPU implementation of the batched Evaluator.
//
// The layout follows MuJoCo's mjModel/mjData: a read-only Model compiled
// once, and a Data scratch struct per world. Field names are MuJoCo's; every
// array field's comment ends with its shape.
package batchsim

// JointType is the kind of a joint. The values follow MuJoCo's mjtJoint.
type JointType int

const (
	JointFree  JointType = 0 // 7 qpos (pos + quat w,x,y,z), 6 dof (lin vel in world frame, ang vel in body frame)
	JointBall  JointType = 1 // reserved; not supported by the loader
	JointSlide JointType = 2 // 1 qpos, 1 dof: translation along the axis
	JointHinge JointType = 3 // 1 qpos, 1 dof: rotation about the axis
)

func (t JointType) String() string {
	switch t {
	case JointFree:
		return "free"
	case JointBall:
		return "ball"
	case JointSlide:
		return "slide"
	case JointHinge:
		return "hinge"
	}
	return "unknown"
}

// TrnType is the kind of an actuator's transmission (MuJoCo's mjtTrn).
type TrnType int

const (
	TrnJoint  TrnType = 0 // a hinge or slide joint
	TrnTendon TrnType = 3 // a fixed tendon (mjTRN_TENDON)
)

// GeomType is the shape of a geom.
type GeomType int

const (
	GeomPlane    GeomType = 0 // infinite plane through the geom frame, normal +z
	GeomSphere   GeomType = 1 // Size[0] radius
	GeomCapsule  GeomType = 2 // Size[0] radius, Size[1] half-length along local z
	GeomBox      GeomType = 3 // Size half-extents
	GeomCylinder GeomType = 4 // Size[0] radius, Size[1] half-length; collides as a capsule
)

func (t GeomType) String() string {
	switch t {
	case GeomPlane:
		return "plane"
	case GeomSphere:
		return "sphere"
	case GeomCapsule:
		return "capsule"
	case GeomBox:
		return "box"
	case GeomCylinder:
		return "cylinder"
	}
	return "unknown"
}

// Limits of one world that the GPU kernel sizes its private arrays by. The
// loader rejects a model above them with an error naming the limit, so that
// the CPU and GPU backends accept the same models.
const (
	MaxBodies       = 32
	MaxDofs         = 32
	MaxQpos         = 40
	MaxActuators    = 32
	MaxGeoms        = 64
	MaxContactPairs = 512
)

// MaxTimestep is the largest physics timestep, in seconds, that the loader
// accepts: MuJoCo's models step at 1–10 ms, and a step of more than a second
// is a typo (1e300 would overflow every state in one step).
const MaxTimestep = 1.0

// MaxModelFileSize is the largest model file, in bytes, that LoadFile reads:
// the reference models are below 20 KiB, and reading a device such as
// /dev/zero whole must not be how a limit is found.
const MaxModelFileSize = 64 << 20

// Vec3 is a 3-vector; Quat a unit quaternion (w, x, y, z), as in MuJoCo.
type (
	Vec3 = [3]float64
	Quat = [4]float64
)

// Options are the global physics settings.
type Options struct {
	Timestep float64 // seconds per physics step (MJCF option/@timestep)
	Gravity  Vec3    // m/s² (MJCF option/@gravity)
	// Integrator is the file's integrator ("Euler" or "RK4"); the engine always
	// runs semi-implicit Euler and the loader warns when the file asked for RK4.
	Integrator string
}

// Model is a compiled model: read-only during simulation and shared by all
// worlds. Body 0 is the world. Index formulas for flat per-world arrays are
// given on Data.
type Model struct {
	Name string // model name (mujoco/@model)
	File string // file the model was loaded from, "" if built in code

	Nq    int // number of generalized coordinates
	Nv    int // number of degrees of freedom
	Nu    int // number of actuators
	Nbody int // number of bodies, world included
	Njnt  int // number of joints
	Ngeom int // number of geoms
	Nsite int // number of sites
	Npair int // number of candidate contact pairs

	Opt Options

	// Bodies.
	BodyName     []string  // (nbody)
	BodyParentID []int     // id of body's parent; -1 for the world (nbody)
	BodyPos      []Vec3    // position of the body frame in the parent frame (nbody)
	BodyQuat     []Quat    // orientation of the body frame in the parent frame (nbody)
	BodyMass     []float64 // mass (nbody)
	BodyIpos     []Vec3    // centre of mass in the body frame (nbody)
	BodyIquat    []Quat    // orientation of the principal inertia frame in the body frame (nbody)
	BodyInertia  []Vec3    // principal moments of inertia about the COM (nbody)
	BodyJntAdr   []int     // first joint of the body, -1 if none (nbody)
	BodyJntNum   []int     // number of joints of the body (nbody)
	BodyDofAdr   []int     // first dof of the body, -1 if none (nbody)
	BodyDofNum   []int     // number of dofs of the body (nbody)

	// Joints.
	JntName      []string     // (njnt)
	JntType      []JointType  // (njnt)
	JntBodyID    []int        // body the joint belongs to (njnt)
	JntQposAdr   []int        // first qpos of the joint (njnt)
	JntDofAdr    []int        // first dof of the joint (njnt)
	JntPos       []Vec3       // joint anchor in the body frame (njnt)
	JntAxis      []Vec3       // unit axis in the body frame, hinge and slide (njnt)
	JntLimited   []bool       // whether Range applies (njnt)
	JntRange     [][2]float64 // lower, upper limit: radians or metres (njnt)
	JntStiffness []float64    // passive spring stiffness (njnt)
	JntSolref    [][2]float64 // limit softness: time constant, damping ratio (njnt)
	// JntSolimp is the limit's impedance (MJCF joint/@solimplimit: dmin, dmax,
	// width, midpoint, power); nil means MuJoCo's default for every joint. (njnt)
	JntSolimp [][5]float64
	// JntMargin is the distance from a limit at which it becomes active
	// (MJCF joint/@margin); nil means 0. (njnt)
	JntMargin []float64
	// Conditional upper limits (an apex extension, read from MJCF
	// <custom><text name="apex:jointlock..." data="joint gate upper catch lo hi"/>):
	// joint j's upper limit is JntLock[j][0] while the position of joint
	// JntLockJnt[j] (the gate) is below JntLock[j][2], JntRange[j][1] above
	// JntLock[j][3], linear in between; the lowered limit acts only while
	// q < JntLock[j][1] (the catch), so that an open door is not snapped shut.
	// Nil or -1 when the joint has none. The door latch uses it.
	JntLockJnt []int        // gate joint, -1 if none (njnt)
	JntLock    [][4]float64 // locked upper limit, catch, gate low, gate high (njnt)

	// Dofs.
	DofBodyID   []int     // body the dof moves (nv)
	DofJntID    []int     // joint the dof belongs to (nv)
	DofParentID []int     // previous dof in the tree, -1 at a root (nv)
	DofDamping  []float64 // joint damping, integrated implicitly (nv)
	DofArmature []float64 // armature inertia added to the joint-space inertia (nv)
	// DofFrictionloss is the dry friction of the dof (MJCF joint/@frictionloss),
	// a regularised Coulomb force, see fwdActuation; nil means none. (nv)
	DofFrictionloss []float64
	// Softness of the dry-friction constraint (MJCF joint/@solreffriction,
	// @solimpfriction); nil means MuJoCo's defaults. (nv)
	DofSolrefFriction [][2]float64
	DofSolimpFriction [][5]float64

	// Geoms.
	GeomName        []string     // (ngeom)
	GeomType        []GeomType   // (ngeom)
	GeomBodyID      []int        // (ngeom)
	GeomPos         []Vec3       // position in the body frame (ngeom)
	GeomQuat        []Quat       // orientation in the body frame (ngeom)
	GeomSize        []Vec3       // type-dependent sizes, see GeomType (ngeom)
	GeomFriction    []float64    // sliding friction coefficient (ngeom)
	GeomContype     []uint32     // contact type bitmask (ngeom)
	GeomConaffinity []uint32     // contact affinity bitmask (ngeom)
	GeomSolref      [][2]float64 // contact softness: time constant, damping ratio (ngeom)
	GeomSolimp      [][5]float64 // contact impedance; nil means MuJoCo's default (ngeom)
	GeomCondim      []int        // contact dimensionality 1, 3, 4 or 6; nil means 3 (ngeom)
	GeomMargin      []float64    // distance at which contact becomes active (ngeom)
	GeomRGBA        [][4]float32 // colour for the viewer (ngeom)
	// GeomMeshID is the mesh a GeomMesh geom draws, -1 for other geoms;
	// nil in a model built in code without meshes. (ngeom)
	GeomMeshID []int

	// Meshes (MJCF <asset><mesh>, binary STL), for drawing only: vertices in
	// the mesh file's frame times its scale, which is the frame of the geoms
	// that use it; triangles as vertex indices relative to MeshVertAdr.
	Nmesh       int
	MeshName    []string     // (nmesh)
	MeshVertAdr []int        // first vertex of the mesh in MeshVert (nmesh)
	MeshVertNum []int        // number of vertices (nmesh)
	MeshFaceAdr []int        // first triangle of the mesh in MeshFace (nmesh)
	MeshFaceNum []int        // number of triangles (nmesh)
	MeshVert    [][3]float32 // vertex positions (nmeshvert)
	MeshFace    [][3]int32   // counter-clockwise triangles seen from outside (nmeshface)

	// Candidate contact pairs, listed once at compile time (see PHYSICS.md).
	PairGeom1 []int // first geom of the pair (npair)
	PairGeom2 []int // second geom of the pair (npair)
	// Per-pair contact parameters, mixed from the two geoms when the model is
	// compiled: friction = max of the two (condim is not modelled),
	// solref = mean, margin = max.
	PairFriction []float64    // sliding friction coefficient (npair)
	PairSolref   [][2]float64 // time constant, damping ratio (npair)
	PairMargin   []float64    // contact activation distance (npair)
	// PairSolimp is the pair's impedance (dmin, dmax, width, midpoint,
	// power), the geoms' mean or the <pair>'s own; nil means MuJoCo's default. (npair)
	PairSolimp [][5]float64
	// PairCondim is the pair's contact dimensionality: 1 frictionless, 3
	// sliding friction, 4 also torsional (the larger of the two geoms', or
	// the <pair>'s); nil means 3. (npair)
	PairCondim []int
	// PairTorsion is the torsional friction coefficient used when condim ≥ 4;
	// nil means 0. (npair)
	PairTorsion []float64

	// Sites.
	SiteName   []string // (nsite)
	SiteBodyID []int    // (nsite)
	SitePos    []Vec3   // position in the body frame (nsite)
	SiteQuat   []Quat   // orientation in the body frame (nsite)

	// Actuators. Every actuator acts on one joint through a gear; its scalar
	// force is MuJoCo's general form
	//   force = GainPrm·ctrl + BiasPrm[0] + BiasPrm[1]·length + BiasPrm[2]·velocity
	// with length = gear·q and velocity = gear·q̇, and the generalized force on
	// the joint's dof is gear·force. A motor has GainPrm = 1, BiasPrm = 0; a
	// position servo GainPrm = kp, BiasPrm = (0, −kp, 0).
	ActName        []string     // (nu)
	ActTrnType     []TrnType    // joint or tendon; nil means all joints (nu)
	ActTrnID       []int        // joint (or tendon, see ActTrnType) the actuator drives (nu)
	ActGear        []float64    // (nu)
	ActGainPrm     []float64    // (nu)
	ActBiasPrm     []Vec3       // (nu)
	ActCtrlLimited []bool       // whether ctrl is clamped to CtrlRange (nu)
	ActCtrlRange   [][2]float64 // (nu)

	// Fixed tendons that actuators drive (MJCF <tendon><fixed>): the length
	// of tendon t is Σ WrapCoef[w]·q[WrapJntID[w]] over w in
	// [TendonAdr[t], TendonAdr[t]+TendonNum[t]); an actuator on it uses that
	// length (and its rate) in place of q and applies WrapCoef[w]·gear·force to
	// each joint's dof. Tendons no actuator uses are not kept.
	Ntendon    int
	TendonName []string  // (ntendon)
	TendonAdr  []int     // first wrap of the tendon (ntendon)
	TendonNum  []int     // number of wraps (ntendon)
	WrapJntID  []int     // hinge or slide joint of the wrap (nwrap)
	WrapCoef   []float64 // coefficient of the joint in the length (nwrap)
	// Tendon limits (MJCF fixed/@limited, @range, @solreflimit, @solimplimit,
	// @margin), constraints of the solver like joint limits; nil means no
	// tendon is limited. (ntendon)
	TendonLimited   []bool
	TendonRange     [][2]float64
	TendonSolrefLim [][2]float64
	TendonSolimpLim [][5]float64
	TendonMargin    []float64

	Qpos0      []float64 // default pose: joints at 0, free joints at the body's pose (nq)
	QposSpring []float64 // spring reference pose (nq)

	// Warnings are facts about the file that the engine treats differently from
	// MuJoCo (an RK4 integrator run as Euler, solver settings that do not apply
	// to the engine's Newton solve). `apex model` prints them.
	Warnings []string
}
