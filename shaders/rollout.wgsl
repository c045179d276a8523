// rollout.wgsl: batched rollouts of apex's simplified articulated-body
// engine (docs/design/PHYSICS.md) with the planner's cost terms
// (docs/design/PLANNER.md) and the guidance policy, one invocation per
// (problem, sample) world. The Go engine (package batchsim) is the reference;
// this is its f32 port, in the same order of operations.
//
// Per control step t, exactly as batchsim.Env.Act followed by the evaluator:
//   guide += ‖a_t − π(o_t)‖² (o_t observed before the step), norm += ‖a_t‖²,
//   ctrl = offset + scale·a_t, FrameSkip physics steps, main += Σ cost terms.
//
// Bindings (group 0): Model (read-only), then Data in (_in), then Data out
// (_out); shaders.TestBindingConvention checks the order and naming.
// The model is packed by gpu/pack.go: model_i and model_f start with a header
// whose slots (H_*) hold counts and the offsets of each packed field.

// Limits equal to batchsim.MaxBodies, MaxDofs, MaxQpos, MaxActuators and
// MaxContactPairs; gpu tests check that they agree.
const MAX_BODIES: u32 = 32u;
const MAX_DOFS: u32 = 32u;
const MAX_QPOS: u32 = 40u;
const MAX_ACTUATORS: u32 = 32u;
const MAX_CONTACT_PAIRS: u32 = 512u;
// Widest policy layer (input included) and most observation entries.
const MAX_WIDTH: u32 = 256u;
const WORKGROUP_SIZE: u32 = 64u;

// Header slots of model_i.
const H_NQ: u32 = 0u;
const H_NV: u32 = 1u;
const H_NU: u32 = 2u;
const H_NBODY: u32 = 3u;
const H_NJNT: u32 = 4u;
const H_NGEOM: u32 = 5u;
const H_NPAIR: u32 = 6u;
const H_FRAME_SKIP: u32 = 7u;
const H_NTERM: u32 = 8u;
const H_NOBS_SEG: u32 = 9u;
const H_NOBS: u32 = 10u;
// offsets into model_i
const H_TERM_KIND: u32 = 11u;    // (nterm)
const H_TERM_I: u32 = 12u;       // (nterm)
const H_OBS_SEG: u32 = 13u;      // kind, from, to (nobs_seg × 3)
const H_BODY_PARENT: u32 = 14u;  // (nbody)
const H_BODY_JNTADR: u32 = 15u;  // (nbody)
const H_BODY_JNTNUM: u32 = 16u;  // (nbody)
const H_BODY_NODE: u32 = 17u;    // link (dof) moving the body, -1 static (nbody)
const H_BODY_ROOT: u32 = 18u;    // child of the world the body hangs from (nbody)
const H_JNT_TYPE: u32 = 19u;     // (njnt)
const H_JNT_QPOSADR: u32 = 20u;  // (njnt)
const H_JNT_DOFADR: u32 = 21u;   // (njnt)
const H_JNT_LIMITED: u32 = 22u;  // (njnt)
const H_JNT_BODY: u32 = 23u;     // (njnt)
const H_DOF_PARENT: u32 = 24u;   // (nv)
const H_DOF_KIND: u32 = 25u;     // plain 0, free translation 1, free rotation 2 (nv)
const H_DOF_FREEBASE: u32 = 26u; // last translation dof of a free rotation dof (nv)
const H_GEOM_BODY: u32 = 27u;    // (ngeom)
const H_PAIR: u32 = 28u;         // geom1, geom2 ordered by rank, kind (npair × 3)
const H_ACT_TRN: u32 = 29u;      // (nu)
const H_ACT_LIMITED: u32 = 30u;  // (nu)
// offsets into model_f
const H_F_OPT: u32 = 31u;        // timestep, gravity xyz, control dt
const H_F_TERM_X: u32 = 32u;     // (nterm)
const H_F_TERM_W: u32 = 33u;     // (nterm)
const H_F_CTRL_OFS: u32 = 34u;   // (nu)
const H_F_CTRL_SCL: u32 = 35u;   // (nu)
const H_F_BODY_POS: u32 = 36u;   // (nbody × 3)
const H_F_BODY_QUAT: u32 = 37u;  // (nbody × 4)
const H_F_BODY_MASS: u32 = 38u;  // (nbody)
const H_F_BODY_IPOS: u32 = 39u;  // (nbody × 3)
const H_F_BODY_ROTI: u32 = 40u;  // rotational inertia about the COM, body frame, row-major (nbody × 9)
const H_F_JNT_POS: u32 = 41u;    // (njnt × 3)
const H_F_JNT_AXIS: u32 = 42u;   // (njnt × 3)
const H_F_JNT_RANGE: u32 = 43u;  // (njnt × 2)
const H_F_JNT_STIFF: u32 = 44u;  // (njnt)
const H_F_DOF_DAMP: u32 = 45u;   // (nv)
const H_F_DOF_ARM: u32 = 46u;    // (nv)
const H_F_GEOM_POS: u32 = 47u;   // (ngeom × 3)
const H_F_GEOM_MAT: u32 = 48u;   // orientation in the body frame, row-major (ngeom × 9)
const H_F_GEOM_SIZE: u32 = 49u;  // (ngeom × 3)
const H_F_PAIR: u32 = 50u;       // margin, 1 unless both geoms are static, bound radius (npair × PAIR_F)
const H_F_ACT: u32 = 51u;        // gear, gain, bias0, bias1, bias2, ctrl lo, ctrl hi (nu × 7)
const H_F_QPOS0: u32 = 52u;      // (nq)
const H_F_QPOS_SPRING: u32 = 53u; // (nq)
const H_NPARAM: u32 = 54u;       // task parameters per problem, after each start state in start_in
const H_OBS_SITES: u32 = 55u;    // 1 when an observation segment reads site positions
const H_TERM_J: u32 = 56u;       // second index of a term (nterm)
const H_SITE_BODY: u32 = 57u;    // (nsite)
const H_JNT_LOCKJNT: u32 = 58u;  // gate joint of a conditional upper limit, -1 none (njnt)
const H_ACT_TRNTYPE: u32 = 59u;  // 0 joint, 3 tendon (nu)
const H_TENDON: u32 = 60u;       // first wrap, number of wraps (ntendon × 2)
const H_WRAP_JNT: u32 = 61u;     // (nwrap)
const H_CTRL_REL: u32 = 62u;     // 1: ctrl relative to the joint or tendon position (nu)
const H_F_OBS_X: u32 = 63u;      // threshold of an observation segment (nobs_seg)
const H_F_SITE_POS: u32 = 64u;   // (nsite × 3)
const H_F_DOF_FRIC: u32 = 65u;   // friction loss (nv)
const H_F_JNT_LOCK: u32 = 66u;   // locked upper limit, catch, gate low, gate high (njnt × 4)
const H_F_WRAP_COEF: u32 = 67u;  // (nwrap)
const H_NTENDON: u32 = 68u;      // number of fixed tendons
const H_F_EFC_DOF: u32 = 69u;    // soft constraints: dry friction per dof (nv × EFC_DOF_F)
const H_F_EFC_JNT: u32 = 70u;    // joint-limit softness (njnt × EFC_JNT_F)
const H_F_EFC_TEN: u32 = 71u;    // tendon limits (ntendon × EFC_TEN_F)
const H_F_EFC_PAIR: u32 = 72u;   // contact softness per pair (npair × EFC_PAIR_F)
const H_BODY_PARAM: u32 = 73u;   // first of 3 task parameters that place the body (Task.BodyPos), -1 none (nbody)
const H_SIZE: u32 = 80u;
// Floats per pair in H_F_PAIR.
const PAIR_F: u32 = 3u;

// Term kinds, as batchsim.TermKind.
const TERM_QVEL: i32 = 0;
const TERM_QPOS: i32 = 1;
const TERM_QPOS_ABOVE: i32 = 2;
const TERM_QPOS_BELOW: i32 = 3;
const TERM_QPOS_DELTA: i32 = 4;
const TERM_ACTION_SQ: i32 = 5;
const TERM_CONST: i32 = 6;
const TERM_QPOS_SQ_ERR: i32 = 7;
const TERM_QVEL_SQ: i32 = 8;
const TERM_CONTACT_SQ: i32 = 9;
const TERM_QPOS_DIST: i32 = 10;
const TERM_QPOS_DIST_ABOVE: i32 = 11;
const TERM_SITE_DIST: i32 = 12;

struct Dims {
	problems: u32,   // P
	samples: u32,    // N
	horizon: u32,    // h
	world0: u32,     // first world (p*N + n) of this dispatch
	nworlds: u32,    // worlds in this dispatch
	nrecord: u32,    // entries of record_in
	has_policy: u32, // 1: accumulate the guidance cost
	k0: u32,         // first physics step (control step × frame skip + k) of this dispatch
	k1: u32,         // end (exclusive) of this dispatch's physics steps
	closed_loop: u32, // 1: policy worlds (world p is problem p): π acts, its actions go to states_out
	probe: u32,       // iterations of probe_ok's loop (2; 0 turns the probe off)
	pad2: u32,
}

// Model.
@group(0) @binding(0) var<storage, read> model_i: array<i32>;
@group(0) @binding(1) var<storage, read> model_f: array<f32>;
// policy: nlayers, nobs, then per layer (in, out, w offset, b offset) as
// bit-cast u32, then weights; obs mean/std at P_OBS_MEAN/P_OBS_STD and the
// action bounds at P_ACT_LO/P_ACT_HI (header slots, bit-cast offsets).
@group(0) @binding(2) var<storage, read> policy: array<f32>;
// Data in.
@group(0) @binding(3) var<uniform> dims_in: Dims;
@group(0) @binding(4) var<storage, read> start_in: array<f32>;   // qpos, qvel, task parameters (P × (nq+nv+nparam))
@group(0) @binding(5) var<storage, read> actions_in: array<f32>; // (nworlds × h × nu), this dispatch's worlds
@group(0) @binding(6) var<storage, read> record_in: array<i32>;  // worlds whose states to record (nrecord)
// Data out.
// world_out carries each world between dispatches that split the horizon:
// main, guide, norm, dead flag (nworlds × 4), then qpos, qvel and the qpos
// at the start of the control step (nworlds × (2nq+nv)).
@group(0) @binding(7) var<storage, read_write> world_out: array<f32>;
// states_out: the recorded states (nrecord × (h+1) × (nq+nv)); in a
// closed-loop dispatch the policy's actions (P × h × nu), then per problem
// 1 where its rollout failed (a non-finite action or state), else 0.
@group(0) @binding(8) var<storage, read_write> states_out: array<f32>;

const P_NLAYERS: u32 = 0u;
const P_NOBS: u32 = 1u;
const P_OBS_MEAN: u32 = 2u;
const P_OBS_STD: u32 = 3u;
const P_ACT_LO: u32 = 4u;
const P_ACT_HI: u32 = 5u;
const P_LAYERS: u32 = 8u; // 4 entries per layer from here

// Per-world state, private to the invocation.
var<private> qpos: array<f32, MAX_QPOS>;
var<private> qvel: array<f32, MAX_DOFS>;
var<private> qpos_before: array<f32, MAX_QPOS>;
var<private> ctrl: array<f32, MAX_ACTUATORS>;
var<private> act: array<f32, MAX_ACTUATORS>;
var<private> cfrc_ext: array<array<f32, 6>, MAX_BODIES>; // (torque, force) per body, within contacts()
var<private> contact_sq: f32;           // Σ_bodies ‖cfrc_ext‖² of the last contacts()
var<private> nn: array<f32, 512>;       // policy ping-pong buffers, 2 × MAX_WIDTH
var<private> param_base: u32;           // this world's task parameters in start_in
var<private> wgi: u32;                  // the world's workgroup and lane: its place in world_mem
var<private> wli: u32;                  // (the lean kernel, gpu/worldmem.go; unused otherwise)

fn hdr(slot: u32) -> u32 { return u32(model_i[slot]); }
fn mi(field: u32, k: u32) -> i32 { return model_i[hdr(field) + k]; }
fn mf(field: u32, k: u32) -> f32 { return model_f[hdr(field) + k]; }
fn pu(k: u32) -> u32 { return bitcast<u32>(policy[k]); }

// tanh that stays finite for large |x| on every backend.
fn safe_tanh(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }

// observe writes the task's observation of the current state to nn[0:nobs].
// It is batchsim.Task.ObserveParams, one call per entry or 3-vector; site
// segments recompute the body poses.
fn observe() {
	if (hdr(H_OBS_SITES) != 0u) { body_poses(hdr(H_NBODY)); }
	// DRIVER observe
	var k = 0u;
	for (var s = 0u; s < hdr(H_NOBS_SEG); s++) {
		let kind = mi(H_OBS_SEG, 3u * s);
		let i0 = u32(mi(H_OBS_SEG, 3u * s + 1u));
		let i1 = u32(mi(H_OBS_SEG, 3u * s + 2u));
		if (kind == 0 || kind == 1 || kind == 6) {
			for (var i = i0; i < i1; i++) {
				obs_entry(k, kind, i);
				k++;
			}
		} else {
			obs_vec(k, s, kind, i0, i1);
			k += select(3u, 1u, kind == 7);
		}
	}
	// END
}

// obs_entry writes qpos[i] (kind 0), qvel[i] (1) or task parameter i (6) to nn[k].
fn obs_entry(k: u32, kind: i32, i: u32) {
	if (kind == 0) {
		nn[k] = qpos[i];
	} else if (kind == 1) {
		nn[k] = qvel[i];
	} else {
		nn[k] = start_in[param_base + i];
	}
}

// obs_vec writes segment s of kind 2–5 (site position, site − site,
// quaternion Euler angles, qvel − qvel) to nn[k:k+3], or of kind 7 (sign
// of qpos against X) to nn[k].
fn obs_vec(k: u32, s: u32, kind: i32, i0: u32, i1: u32) {
	if (kind == 7) {
		nn[k] = select(-1.0, 1.0, qpos[i0] > mf(H_F_OBS_X, s));
		return;
	}
	var v: vec3<f32>;
	if (kind == 2) {
		v = site_pos(i0);
	} else if (kind == 3) {
		v = site_pos(i0) - site_pos(i1);
	} else if (kind == 4) {
		let w = qpos[i0]; let x = qpos[i0 + 1u]; let y = qpos[i0 + 2u]; let z = qpos[i0 + 3u];
		v = vec3<f32>(
			atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y)),
			asin(clamp(2.0 * (w * y - z * x), -1.0, 1.0)),
			atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)));
	} else {
		v = vec3<f32>(qvel[i0] - qvel[i1], qvel[i0 + 1u] - qvel[i1 + 1u], qvel[i0 + 2u] - qvel[i1 + 2u]);
	}
	nn[k] = v.x; nn[k + 1u] = v.y; nn[k + 2u] = v.z;
}

// policy_guide returns ‖a − π(o)‖² for the network's outputs at xo
// (policy_forward) and the action bounds at lo and hi.
fn policy_guide(xo: u32, lo: u32, hi: u32, nu: u32) -> f32 {
	var g = 0.0;
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { g += guide_term(i, lo + i, hi + i, xo + i); }
	// END
	return g;
}

// policy_act sets act to π(o) from the network's outputs at xo
// (policy_forward) and returns false if an action is not finite (icem's
// rolloutPolicy).
fn policy_act(xo: u32, lo: u32, hi: u32, nu: u32) -> bool {
	var ok = true;
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { ok = set_policy_act(i, lo + i, hi + i, xo + i) && ok; }
	// END
	return ok;
}

fn set_policy_act(i: u32, lo: u32, hi: u32, o: u32) -> bool {
	let a = policy_out(lo, hi, o);
	act[i] = a;
	// Before the squash too: clamp and tanh may turn a NaN into a bound.
	return finite(nn[o]) && finite(a);
}

// policy_forward evaluates π's network at the current state as
// batchsim.PolicyNet.Act does before the squash (normalise, dense layers
// with ReLU between them) and returns where its outputs start in nn.
fn policy_forward() -> u32 {
	observe();
	let nobs = pu(P_NOBS);
	let mu = pu(P_OBS_MEAN);
	let sd = pu(P_OBS_STD);
	for (var i = 0u; i < nobs; i++) {
		nn[i] = (nn[i] - policy[mu + i]) / policy[sd + i];
	}
	let nl = pu(P_NLAYERS);
	var xo = 0u;         // input half of nn
	var yo = MAX_WIDTH;  // output half
	for (var l = 0u; l < nl; l++) {
		let base = P_LAYERS + 4u * l;
		let nin = pu(base);
		let nout = pu(base + 1u);
		let wo = pu(base + 2u);
		let bo = pu(base + 3u);
		for (var o = 0u; o < nout; o++) {
			var s = policy[bo + o];
			let row = wo + o * nin;
			// Four products per iteration: llvmpipe caps the loop iterations
			// of an invocation (65535, shared by all loops), see gpu/chunk.go.
			var i = 0u;
			for (; i + 4u <= nin; i += 4u) {
				s += policy[row + i] * nn[xo + i] + policy[row + i + 1u] * nn[xo + i + 1u]
					+ policy[row + i + 2u] * nn[xo + i + 2u] + policy[row + i + 3u] * nn[xo + i + 3u];
			}
			for (; i < nin; i++) {
				s += policy[row + i] * nn[xo + i];
			}
			// ReLU that keeps a NaN (max(NaN, 0) may be 0), so that a
			// broken policy is seen as one, as on the host.
			if (l + 1u < nl) { s = select(s, 0.0, s < 0.0); }
			nn[yo + o] = s;
		}
		let tmp = xo;
		xo = yo;
		yo = tmp;
	}
	return xo;
}

// policy_out is π's action: the output nn[o] tanh-squashed between the
// bounds policy[lo] and policy[hi].
fn policy_out(lo: u32, hi: u32, o: u32) -> f32 {
	return policy[lo] + (safe_tanh(nn[o]) + 1.0) * 0.5 * (policy[hi] - policy[lo]);
}

// guide_term is (a_i − π_i)².
fn guide_term(i: u32, lo: u32, hi: u32, o: u32) -> f32 {
	let d = act[i] - policy_out(lo, hi, o);
	return d * d;
}

// step_value is batchsim.Task.StepValue for the cost terms, one
// term_value per term.
fn step_value(nq: u32, nv: u32, nu: u32, nbody: u32) -> f32 {
	var v = 0.0;
	// DRIVER step_value
	for (var k = 0u; k < hdr(H_NTERM); k++) {
		v += term_value(k, mi(H_TERM_KIND, k), u32(max(mi(H_TERM_I, k), 0)), u32(max(mi(H_TERM_J, k), 0)), nu, nv, nbody);
	}
	// END
	return v;
}

// term_value is term k of kind kind on indices i and j.
fn term_value(k: u32, kind: i32, i: u32, j: u32, nu: u32, nv: u32, nbody: u32) -> f32 {
	let x = mf(H_F_TERM_X, k);
	let w = mf(H_F_TERM_W, k);
	switch kind {
		case 0: { return w * qvel[i]; }
		case 1: { return w * qpos[i]; }
		case 2: { return select(0.0, w, qpos[i] > x); }
		case 3: { return select(0.0, w, qpos[i] < x); }
		case 4: { return w * (qpos[i] - qpos_before[i]) / mf(H_F_OPT, 4u); }
		case 5: { return w * sum_act_sq(nu); }
		case 6: { return w; }
		case 7: { let e = qpos[i] - x; return w * e * e; }
		case 8: { return w * sum_qvel_sq(nv); }
		case 9: { return w * min(contact_sq, x); }
		case 10, 11: {
			let pj = param_base + j;
			let e = vec3<f32>(qpos[i] - start_in[pj], qpos[i + 1u] - start_in[pj + 1u], qpos[i + 2u] - start_in[pj + 2u]);
			let dist = sqrt(dot(e, e));
			if (kind == 10) { return w * dist; }
			return select(0.0, w, dist > x);
		}
		case 12: {
			// TermSiteDist: the sites where the last physics step's
			// kinematics put them (its start), as batchsim's SiteXpos.
			return w * length(site_pos(i) - site_pos(j));
		}
		default: { return 0.0; }
	}
}

fn sum_act_sq(nu: u32) -> f32 {
	var s = 0.0;
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { s += act[i] * act[i]; }
	// END
	return s;
}

fn sum_qvel_sq(nv: u32) -> f32 {
	var s = 0.0;
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { s += qvel[i] * qvel[i]; }
	// END
	return s;
}

fn sum_cfrc_sq(nbody: u32) -> f32 {
	var s = 0.0;
	// DRIVER unroll
	for (var i = 0u; i < nbody; i++) { s += dot6(cfrc_ext[i], cfrc_ext[i]); }
	// END
	return s;
}

// PHYSICS-BEGIN
// The f32 port of batchsim's step (engine.go, kinematics.go, contact.go,
// dynamics.go), stage by stage and in the same order of operations. Spatial
// vectors are array<f32, 6>, angular part first, world axes about each
// tree's reference point (the root body's origin), as in kinematics.go.
// Rotation matrices are WGSL mat3x3 holding the math matrix R (so R * v is
// mulMatVec and column k is geomAxis(r, k)).

const JNT_FREE: i32 = 0;
const JNT_SLIDE: i32 = 2;
const JNT_HINGE: i32 = 3;
const TRN_TENDON: i32 = 3;
const DOF_FREE_TRANS: i32 = 1;
const DOF_FREE_ROT: i32 = 2;
const PAIR_PLANE_SPHERE: i32 = 0;
const PAIR_PLANE_CAPSULE: i32 = 1;
const PAIR_PLANE_BOX: i32 = 2;
const PAIR_SPHERE_SPHERE: i32 = 3;
const PAIR_SPHERE_CAPSULE: i32 = 4;
const PAIR_CAPSULE_CAPSULE: i32 = 5;
const PAIR_SPHERE_BOX: i32 = 6;
const PAIR_CAPSULE_BOX: i32 = 7;
const PAIR_BOX_BOX: i32 = 8;

alias V6 = array<f32, 6>;

var<private> xpos: array<vec3<f32>, MAX_BODIES>;
var<private> xquat: array<vec4<f32>, MAX_BODIES>; // (w, x, y, z)
var<private> xipos: array<vec3<f32>, MAX_BODIES>;
var<private> xaxis: array<vec3<f32>, MAX_DOFS>;   // per joint; njnt ≤ nv
var<private> xanchor: array<vec3<f32>, MAX_DOFS>; // per joint
var<private> cdof: array<V6, MAX_DOFS>;
var<private> cvel: array<V6, MAX_DOFS>;
var<private> cacc: array<V6, MAX_DOFS>;
var<private> fext: array<V6, MAX_DOFS>;
var<private> qfrc: array<f32, MAX_DOFS>;
var<private> diag_extra: array<f32, MAX_DOFS>;
var<private> qacc: array<f32, MAX_DOFS>;
var<private> u6: array<V6, MAX_DOFS>;
var<private> dinv: array<f32, MAX_DOFS>;
var<private> uf: array<f32, MAX_DOFS>;
var<private> sacc: array<V6, MAX_DOFS>;

fn mv3(field: u32, k: u32) -> vec3<f32> {
	let o = hdr(field) + 3u * k;
	return vec3<f32>(model_f[o], model_f[o + 1u], model_f[o + 2u]);
}
fn mq4(field: u32, k: u32) -> vec4<f32> {
	let o = hdr(field) + 4u * k;
	return vec4<f32>(model_f[o], model_f[o + 1u], model_f[o + 2u], model_f[o + 3u]);
}
fn mm9(field: u32, k: u32) -> mat3x3<f32> { // row-major 3×3 in model_f
	let o = hdr(field) + 9u * k;
	return mat3x3<f32>(
		vec3<f32>(model_f[o], model_f[o + 3u], model_f[o + 6u]),
		vec3<f32>(model_f[o + 1u], model_f[o + 4u], model_f[o + 7u]),
		vec3<f32>(model_f[o + 2u], model_f[o + 5u], model_f[o + 8u]));
}

fn mul_quat(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
	return vec4<f32>(
		a.x * b.x - a.y * b.y - a.z * b.z - a.w * b.w,
		a.x * b.y + a.y * b.x + a.z * b.w - a.w * b.z,
		a.x * b.z - a.y * b.w + a.z * b.x + a.w * b.y,
		a.x * b.w + a.y * b.z - a.z * b.y + a.w * b.x);
}
fn normalize_quat(q: vec4<f32>) -> vec4<f32> {
	let n = sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
	if (n < 1e-15) { return vec4<f32>(1.0, 0.0, 0.0, 0.0); }
	return q * (1.0 / n);
}
fn axis_angle_quat(axis: vec3<f32>, angle: f32) -> vec4<f32> {
	let s = sin(angle / 2.0);
	return vec4<f32>(cos(angle / 2.0), axis * s);
}
fn quat_to_mat(q: vec4<f32>) -> mat3x3<f32> {
	let w = q.x; let x = q.y; let y = q.z; let z = q.w;
	let ww = w * w; let xx = x * x; let yy = y * y; let zz = z * z;
	let xy = x * y; let zw = z * w; let xz = x * z; let yw = y * w; let yz = y * z; let xw = x * w;
	// columns of R
	return mat3x3<f32>(
		vec3<f32>(ww + xx - yy - zz, 2.0 * (xy + zw), 2.0 * (xz - yw)),
		vec3<f32>(2.0 * (xy - zw), ww - xx + yy - zz, 2.0 * (yz + xw)),
		vec3<f32>(2.0 * (xz + yw), 2.0 * (yz - xw), ww - xx - yy + zz));
}

// body_mat is body b's orientation matrix, computed from xquat where it is
// needed instead of stored beside it: one orientation state per body, fewer
// live values (the same bits: quat_to_mat of the same quaternion).
fn body_mat(b: u32) -> mat3x3<f32> { return quat_to_mat(xquat[b]); }

fn cross_motion(a: V6, b: V6) -> V6 {
	return V6(
		a[1] * b[2] - a[2] * b[1],
		a[2] * b[0] - a[0] * b[2],
		a[0] * b[1] - a[1] * b[0],
		a[1] * b[5] - a[2] * b[4] + a[4] * b[2] - a[5] * b[1],
		a[2] * b[3] - a[0] * b[5] + a[5] * b[0] - a[3] * b[2],
		a[0] * b[4] - a[1] * b[3] + a[3] * b[1] - a[4] * b[0]);
}
fn cross_force(v: V6, f: V6) -> V6 {
	return V6(
		v[1] * f[2] - v[2] * f[1] + v[4] * f[5] - v[5] * f[4],
		v[2] * f[0] - v[0] * f[2] + v[5] * f[3] - v[3] * f[5],
		v[0] * f[1] - v[1] * f[0] + v[3] * f[4] - v[4] * f[3],
		v[1] * f[5] - v[2] * f[4],
		v[2] * f[3] - v[0] * f[5],
		v[0] * f[4] - v[1] * f[3]);
}
fn dot6(a: V6, b: V6) -> f32 {
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3] + a[4] * b[4] + a[5] * b[5];
}
// Small vector helpers with literal indices only: a private array indexed
// by a loop variable is indexed at run time, which lavapipe does per lane.
fn add6(a: V6, b: V6) -> V6 { return V6(a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5]); }
fn sub6(a: V6, b: V6) -> V6 { return V6(a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4], a[5] - b[5]); }
fn scale6(a: V6, s: f32) -> V6 { return V6(a[0] * s, a[1] * s, a[2] * s, a[3] * s, a[4] * s, a[5] * s); }

// kinematics is kinematics.go's kinematics (body poses) and comPos.
fn kinematics(nbody: u32, njnt: u32) {
	body_poses(nbody);
	com_pos(njnt);
}

// body_pos is body b's position in its parent: the model's, or the world's
// task parameters where the task places the body (Task.BodyPos: the door
// frame of each problem).
fn body_pos(b: u32) -> vec3<f32> {
	let k = mi(H_BODY_PARAM, b);
	if (k < 0) { return mv3(H_F_BODY_POS, b); }
	return param_pos(u32(k));
}

// param_pos is task parameters k, k+1, k+2 of this world's problem.
fn param_pos(k: u32) -> vec3<f32> {
	let o = param_base + k;
	return vec3<f32>(start_in[o], start_in[o + 1u], start_in[o + 2u]);
}

// site_pos is the world position of site s (kinematics.go); it needs body_poses.
fn site_pos(s: u32) -> vec3<f32> {
	let b = site_body(s);
	return body_mat(b) * mv3(H_F_SITE_POS, s) + xpos[b];
}

// body_poses is the body part of kinematics.go's kinematics: per body,
// body_begin (or body_begin_free for a free joint), body_joint per other
// joint, body_end. The model's constants (frames, axes, qpos0, inertias)
// are arguments of the per-element functions: the generic driver reads them
// from model_f, gpu/specialize.go writes them as literals, so that the
// compiler folds them (a unit axis or an identity frame costs nothing).
fn body_poses(nbody: u32) {
	xpos[0] = vec3<f32>(0.0);
	xquat[0] = vec4<f32>(1.0, 0.0, 0.0, 0.0);
	xipos[0] = vec3<f32>(0.0);
	// DRIVER body_poses
	for (var b = 1u; b < nbody; b++) {
		var jadr = mi(H_BODY_JNTADR, b);
		var jnum = mi(H_BODY_JNTNUM, b);
		if (jnum > 0 && mi(H_JNT_TYPE, u32(jadr)) == JNT_FREE) {
			body_begin_free(b, u32(jadr), u32(mi(H_JNT_QPOSADR, u32(jadr))));
			jadr++;
			jnum--;
		} else {
			body_begin(b, u32(mi(H_BODY_PARENT, b)), body_pos(b), mq4(H_F_BODY_QUAT, b));
		}
		for (var j = jadr; j < jadr + jnum; j++) {
			let ju = u32(j);
			let a = u32(mi(H_JNT_QPOSADR, ju));
			body_joint(ju, a, mi(H_JNT_TYPE, ju), mv3(H_F_JNT_POS, ju), mv3(H_F_JNT_AXIS, ju), mf(H_F_QPOS0, a));
		}
		body_end(b, mv3(H_F_BODY_IPOS, b));
	}
	// END
}

// The pose of the body being placed by body_poses.
var<private> cur_pos: vec3<f32>;
var<private> cur_quat: vec4<f32>;

fn body_begin_free(b: u32, j: u32, a: u32) {
	cur_pos = vec3<f32>(qpos[a], qpos[a + 1u], qpos[a + 2u]);
	cur_quat = normalize_quat(vec4<f32>(qpos[a + 3u], qpos[a + 4u], qpos[a + 5u], qpos[a + 6u]));
	xanchor[j] = cur_pos;
}

// body_begin places body b (frame pos, quat in its parent p) at its parent.
fn body_begin(b: u32, p: u32, pos: vec3<f32>, quat: vec4<f32>) {
	cur_pos = body_mat(p) * pos + xpos[p];
	cur_quat = mul_quat(xquat[p], quat);
}

// body_joint moves the current body by joint j of type t (qpos address a,
// position jp and axis jaxis in the body frame, reference position qpos0).
fn body_joint(j: u32, a: u32, t: i32, jp: vec3<f32>, jaxis: vec3<f32>, qpos0: f32) {
	var r = quat_to_mat(cur_quat);
	let axis = r * jaxis;
	let anchor = r * jp + cur_pos;
	xaxis[j] = axis;
	xanchor[j] = anchor;
	let dq = qpos[a] - qpos0;
	if (t == JNT_SLIDE) {
		cur_pos = cur_pos + axis * dq;
	} else if (t == JNT_HINGE) {
		cur_quat = mul_quat(cur_quat, axis_angle_quat(jaxis, dq));
		r = quat_to_mat(cur_quat);
		cur_pos = anchor - r * jp;
	}
}

// body_end stores the current body as body b (centre of mass ipos in its frame).
fn body_end(b: u32, ipos: vec3<f32>) {
	let bq = normalize_quat(cur_quat);
	xpos[b] = cur_pos;
	xquat[b] = bq;
	xipos[b] = cur_pos + quat_to_mat(bq) * ipos;
}

// com_pos is kinematics.go's comPos: the motion axis of each dof about the
// root's origin, per joint j of type t on body b (first dof da).
fn com_pos(njnt: u32) {
	// DRIVER com_pos
	for (var j = 0u; j < njnt; j++) {
		let b = u32(mi(H_JNT_BODY, j));
		joint_axes(j, mi(H_JNT_TYPE, j), b, u32(mi(H_BODY_ROOT, b)), u32(mi(H_JNT_DOFADR, j)));
	}
	// END
}

fn joint_axes(j: u32, t: i32, b: u32, root: u32, da: u32) {
	let o = xpos[root];
	if (t == JNT_FREE) {
		cdof[da] = V6(0.0, 0.0, 0.0, 1.0, 0.0, 0.0);
		cdof[da + 1u] = V6(0.0, 0.0, 0.0, 0.0, 1.0, 0.0);
		cdof[da + 2u] = V6(0.0, 0.0, 0.0, 0.0, 0.0, 1.0);
		let off = o - xpos[b];
		let r = body_mat(b);
		let l0 = cross(r[0], off);
		let l1 = cross(r[1], off);
		let l2 = cross(r[2], off);
		cdof[da + 3u] = V6(r[0].x, r[0].y, r[0].z, l0.x, l0.y, l0.z);
		cdof[da + 4u] = V6(r[1].x, r[1].y, r[1].z, l1.x, l1.y, l1.z);
		cdof[da + 5u] = V6(r[2].x, r[2].y, r[2].z, l2.x, l2.y, l2.z);
	} else if (t == JNT_SLIDE) {
		let ax = xaxis[j];
		cdof[da] = V6(0.0, 0.0, 0.0, ax.x, ax.y, ax.z);
	} else if (t == JNT_HINGE) {
		let ax = xaxis[j];
		let l = cross(ax, o - xanchor[j]);
		cdof[da] = V6(ax.x, ax.y, ax.z, l.x, l.y, l.z);
	}
}

// com_vel is kinematics.go's comVel, per dof i with parent dof p (-1 for a
// root), kind (DOF_*) and, for a free rotation, its translation dof fb.
fn com_vel(nv: u32) {
	// DRIVER com_vel
	for (var i = 0u; i < nv; i++) {
		dof_vel(i, mi(H_DOF_PARENT, i), mi(H_DOF_KIND, i), u32(max(mi(H_DOF_FREEBASE, i), 0)));
	}
	// END
}

fn dof_vel(i: u32, p: i32, kind: i32, fb: u32) {
	var vp = V6(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
	if (p >= 0) { vp = cvel[p]; }
	let vi = scale6(cdof[i], qvel[i]);
	if (kind == DOF_FREE_TRANS) {
		cacc[i] = V6();
	} else if (kind == DOF_FREE_ROT) {
		cacc[i] = cross_motion(cvel[fb], vi);
	} else {
		cacc[i] = cross_motion(vp, vi);
	}
	cvel[i] = add6(vp, vi);
}

// body_node is the last dof moving body b (-1 for a static body) and
// body_root the child of the world it hangs from; specialize.go writes
// them as constant tables.
fn body_node(b: u32) -> i32 {
	// DRIVER body_node
	return mi(H_BODY_NODE, b);
	// END
}

fn site_body(s: u32) -> u32 {
	// DRIVER site_body
	return u32(mi(H_SITE_BODY, s));
	// END
}

// dof_parent is the parent dof of dof i (-1 for a root).
fn dof_parent(i: u32) -> i32 {
	// DRIVER dof_parent
	return mi(H_DOF_PARENT, i);
	// END
}

fn body_root(b: u32) -> u32 {
	// DRIVER body_root
	return u32(mi(H_BODY_ROOT, b));
	// END
}

// contact applies the force of one contact point of pair pi (contactForces
// of contact.go); detection and force are fused since the contact list
// depends on positions only and the forces are summed in the same order.
// gpu/specialize.go writes it, for a model whose soft constraints it
// writes out (soft_funcs), as a store into the pair's own contact slots.
fn contact(pi: u32, pos: vec3<f32>, n: vec3<f32>, dist: f32) {
	// DRIVER contact
	con_push(pi, pos, n, dist);
	// END
}

fn sgn_bit(v: u32, k: u32) -> f32 {
	if (((v >> k) & 1u) == 1u) { return 1.0; }
	return -1.0;
}

fn plane_sphere(pi: u32, p0: vec3<f32>, n: vec3<f32>, c: vec3<f32>, r: f32, mg: f32) {
	let dist = dot(n, c - p0) - r;
	if (dist >= mg) { return; }
	contact(pi, c + n * (-(r + dist / 2.0)), n, dist);
}

fn sphere_sphere(pi: u32, c1: vec3<f32>, r1: f32, c2: vec3<f32>, r2: f32, mg: f32) {
	let dv = c2 - c1;
	let l = length(dv);
	let dist = l - r1 - r2;
	if (dist >= mg) { return; }
	var n = vec3<f32>(0.0, 0.0, 1.0);
	if (l > 1e-12) { n = dv * (1.0 / l); }
	contact(pi, c1 + n * (r1 + dist / 2.0), n, dist);
}

fn closest_on_segment(c: vec3<f32>, ax: vec3<f32>, hl: f32, p: vec3<f32>) -> vec3<f32> {
	let t = max(-hl, min(hl, dot(p - c, ax)));
	return c + ax * t;
}

// closest_seg_seg is closestSegmentSegment (Ericson 2005, §5.1.9); it
// returns the two points as the columns 0 and 1 of a matrix.
fn closest_seg_seg(c1: vec3<f32>, a1: vec3<f32>, h1: f32, c2: vec3<f32>, a2: vec3<f32>, h2: f32) -> mat2x3<f32> {
	let p1 = c1 + a1 * (-h1);
	let p2 = c2 + a2 * (-h2);
	let d1 = a1 * (2.0 * h1);
	let d2 = a2 * (2.0 * h2);
	let r = p1 - p2;
	let aa = dot(d1, d1);
	let e = dot(d2, d2);
	let f = dot(d2, r);
	var sp = 0.0;
	var tp = 0.0;
	if (aa <= 1e-12 && e <= 1e-12) {
	} else if (aa <= 1e-12) {
		tp = clamp(f / e, 0.0, 1.0);
	} else {
		let c = dot(d1, r);
		if (e <= 1e-12) {
			sp = clamp(-c / aa, 0.0, 1.0);
		} else {
			let b = dot(d1, d2);
			let den = aa * e - b * b;
			if (den > 1e-12) {
				sp = clamp((b * f - c * e) / den, 0.0, 1.0);
			} else {
				sp = 0.5;
			}
			tp = (b * sp + f) / e;
			if (tp < 0.0) {
				tp = 0.0;
				sp = clamp(-c / aa, 0.0, 1.0);
			} else if (tp > 1.0) {
				tp = 1.0;
				sp = clamp((b - c) / aa, 0.0, 1.0);
			}
		}
	}
	return mat2x3<f32>(p1 + d1 * sp, p2 + d2 * tp);
}

struct BoxPt {
	dist: f32,
	n: vec3<f32>,
	q: vec3<f32>,
}

// box_point is boxPoint: signed distance of p to a box, outward normal and
// nearest surface point.
fn box_point(p: vec3<f32>, c: vec3<f32>, r: mat3x3<f32>, sz_: vec3<f32>) -> BoxPt {
	var sz = sz_;
	var l = transpose(r) * (p - c);
	let cl = clamp(l, -sz, sz);
	if (any(cl != l)) {
		let dl = l - cl;
		let dd = length(dl);
		return BoxPt(dd, r * (dl * (1.0 / dd)), r * cl + c);
	}
	var best = 3.0e38;
	var bk = 0u;
	for (var k = 0u; k < 3u; k++) {
		let g = sz[k] - abs(l[k]);
		if (g < best) { best = g; bk = k; }
	}
	var side = 1.0;
	if (l[bk] < 0.0) { side = -1.0; }
	var nl = vec3<f32>(0.0);
	nl[bk] = side;
	var cl2 = l;
	cl2[bk] = side * sz[bk];
	return BoxPt(-best, r * nl, r * cl2 + c);
}

fn sphere_box(pi: u32, p: vec3<f32>, rad: f32, c: vec3<f32>, r: mat3x3<f32>, sz: vec3<f32>, mg: f32, box_first: bool) {
	let bp = box_point(p, c, r, sz);
	let dist = bp.dist - rad;
	if (dist >= mg) { return; }
	let sp = p + bp.n * (-rad);
	let pos = (bp.q + sp) / 2.0;
	var nb = bp.n;
	if (!box_first) { nb = -nb; }
	contact(pi, pos, nb, dist);
}

fn capsule_box(pi: u32, c1: vec3<f32>, r1: mat3x3<f32>, sz1: vec3<f32>, c2: vec3<f32>, r2: mat3x3<f32>, sz2: vec3<f32>, mg: f32) {
	let ax = r1[2];
	let rad = sz1[0];
	let hl = sz1[1];
	let e0 = c1 + ax * (-hl);
	let e1 = c1 + ax * hl;
	let d0 = box_point(e0, c2, r2, sz2).dist;
	let d1 = box_point(e1, c2, r2, sz2).dist;
	let a0 = d0 - rad < mg;
	let a1 = d1 - rad < mg;
	if (a0 && a1) {
		sphere_box(pi, e0, rad, c2, r2, sz2, mg, false);
		sphere_box(pi, e1, rad, c2, r2, sz2, mg, false);
		return;
	}
	var p = closest_on_segment(c1, ax, hl, c2);
	for (var it = 0; it < 6; it++) {
		p = closest_on_segment(c1, ax, hl, box_point(p, c2, r2, sz2).q);
	}
	let dp = box_point(p, c2, r2, sz2).dist;
	if (a0 && dp < d0 - 1e-9) {
		sphere_box(pi, p, rad, c2, r2, sz2, mg, false);
	} else if (a0) {
		sphere_box(pi, e0, rad, c2, r2, sz2, mg, false);
	} else if (a1 && dp < d1 - 1e-9) {
		sphere_box(pi, p, rad, c2, r2, sz2, mg, false);
	} else if (a1) {
		sphere_box(pi, e1, rad, c2, r2, sz2, mg, false);
	} else {
		sphere_box(pi, p, rad, c2, r2, sz2, mg, false);
	}
}

// copysign is math.Copysign for a nonzero or +0 sign.
fn copysign(m: f32, s: f32) -> f32 { return select(-abs(m), abs(m), s >= 0.0); }

// box_box is contact_box.go's boxBox: separating axes over the 3 + 3 face
// normals and the 9 edge cross products, then the incident face clipped by
// the reference face's side planes (at most 8 points) or one edge–edge
// point. Box 1 is the pair's first geom; normals point from box 1 to box 2.
fn box_box(pi: u32, c1: vec3<f32>, r1: mat3x3<f32>, sz1_: vec3<f32>, c2: vec3<f32>, r2: mat3x3<f32>, sz2_: vec3<f32>, mg: f32) {
	var a = r1; // columns: the box axes (naga indexes only variables dynamically)
	var b = r2;
	var sz1 = sz1_;
	var sz2 = sz2_;
	let dc = c2 - c1;
	var ar: array<vec3<f32>, 3>; // ar[i][j] = |a_i·b_j|
	for (var i = 0u; i < 3u; i++) {
		ar[i] = abs(vec3<f32>(dot(a[i], b[0]), dot(a[i], b[1]), dot(a[i], b[2])));
	}
	var best_face = 3.0e38;
	var face_axis = 0u;
	for (var i = 0u; i < 6u; i++) {
		var pen: f32;
		if (i < 3u) {
			pen = sz1[i] + dot(sz2, ar[i]) - abs(dot(dc, a[i]));
		} else {
			let j = i - 3u;
			pen = sz1[0] * ar[0][j] + sz1[1] * ar[1][j] + sz1[2] * ar[2][j] + sz2[j] - abs(dot(dc, b[j]));
		}
		if (pen < -mg) { return; }
		if (pen < best_face) { best_face = pen; face_axis = i; }
	}
	var best_edge = 3.0e38;
	var edge_axis = -1;
	var edge_n = vec3<f32>(0.0);
	for (var i = 0u; i < 3u; i++) {
		for (var j = 0u; j < 3u; j++) {
			var l = cross(a[i], b[j]);
			let ln = length(l);
			if (ln < 1e-6) { continue; } // parallel edges: a face axis covers them
			l = l * (1.0 / ln);
			let ra = sz1[0] * abs(dot(a[0], l)) + sz1[1] * abs(dot(a[1], l)) + sz1[2] * abs(dot(a[2], l));
			let rb = sz2[0] * abs(dot(b[0], l)) + sz2[1] * abs(dot(b[1], l)) + sz2[2] * abs(dot(b[2], l));
			let pen = ra + rb - abs(dot(dc, l));
			if (pen < -mg) { return; }
			if (pen < best_edge) { best_edge = pen; edge_axis = i32(3u * i + j); edge_n = l; }
		}
	}
	if (edge_axis >= 0 && best_edge < best_face - 0.05 * abs(best_face) - 1e-5) {
		let i = u32(edge_axis) / 3u;
		let j = u32(edge_axis) % 3u;
		var n = edge_n;
		if (dot(n, dc) < 0.0) { n = -n; }
		var e1 = c1;
		var e2 = c2;
		for (var k = 0u; k < 3u; k++) {
			if (k != i) { e1 = e1 + a[k] * copysign(sz1[k], dot(a[k], n)); }
			if (k != j) { e2 = e2 + b[k] * (-copysign(sz2[k], dot(b[k], n))); }
		}
		let q = closest_seg_seg(e1, a[i], sz1[i], e2, b[j], sz2[j]);
		let dist = dot(q[1] - q[0], n);
		if (dist >= mg) { return; }
		contact(pi, (q[0] + q[1]) / 2.0, n, dist);
		return;
	}
	// Face contact: reference box R (whose face axis won), incident box I.
	var cr = c1;
	var ci = c2;
	var axr = a;
	var axi = b;
	var szr = sz1;
	var szi = sz2;
	var k = face_axis;
	var flip = false;
	if (face_axis >= 3u) {
		cr = c2; ci = c1; axr = b; axi = a; szr = sz2; szi = sz1; k = face_axis - 3u; flip = true;
	}
	var n = axr[k];
	if (dot(ci - cr, n) < 0.0) { n = -n; }
	// incident face: the face of I most anti-parallel to n
	var m = 0u;
	var dm = 0.0;
	for (var q = 0u; q < 3u; q++) {
		let v = dot(axi[q], n);
		if (abs(v) > abs(dm)) { m = q; dm = v; }
	}
	let fc = ci + axi[m] * (-copysign(szi[m], dm));
	let eu = axi[(m + 1u) % 3u] * szi[(m + 1u) % 3u];
	let ev = axi[(m + 2u) % 3u] * szi[(m + 2u) % 3u];
	var poly: array<vec3<f32>, 8>;
	var tmp: array<vec3<f32>, 8>;
	poly[0] = (fc + eu) + ev;
	poly[1] = (fc - eu) + ev;
	poly[2] = (fc - eu) - ev;
	poly[3] = (fc + eu) - ev;
	var np = 4u;
	// clip against the 4 side planes ±axr[p]·(x − cr) ≤ szr[p], p ≠ k
	for (var side = 0u; side < 4u; side++) {
		let p = (k + 1u + side / 2u) % 3u;
		let ax = axr[p] * select(-1.0, 1.0, side % 2u == 0u);
		let lim = szr[p];
		var nt = 0u;
		for (var q = 0u; q < np; q++) {
			let x0 = poly[q];
			let x1 = poly[(q + 1u) % np];
			let d0 = dot(x0 - cr, ax) - lim;
			let d1 = dot(x1 - cr, ax) - lim;
			if (d0 <= 0.0 && nt < 8u) {
				tmp[nt] = x0;
				nt++;
			}
			if ((d0 < 0.0) != (d1 < 0.0) && d0 != d1 && nt < 8u) {
				tmp[nt] = x0 + (x1 - x0) * (d0 / (d0 - d1));
				nt++;
			}
		}
		poly = tmp;
		np = nt;
		if (np == 0u) { return; }
	}
	var nc = n;
	if (flip) { nc = -n; }
	for (var q = 0u; q < np; q++) {
		let dist = dot(poly[q] - cr, n) - szr[k];
		if (dist >= mg) { continue; }
		contact(pi, poly[q] + n * (-dist / 2.0), nc, dist);
	}
}

// contacts clears the contact forces and applies those of every pair
// (collide and contactForces of contact.go). It needs com_vel.
fn contacts(nv: u32, nbody: u32, npair: u32) {
	zero_fext(nv);
	zero_cfrc(nbody);
	// DRIVER contacts
	for (var pi = 0u; pi < npair; pi++) {
		let g1 = u32(mi(H_PAIR, 3u * pi));
		let g2 = u32(mi(H_PAIR, 3u * pi + 1u));
		let bb1 = u32(mi(H_GEOM_BODY, g1));
		let bb2 = u32(mi(H_GEOM_BODY, g2));
		let g = pair_geoms(pi, g1, g2, bb1, bb2, body_node(bb1), body_node(bb2), body_root(bb1), body_root(bb2), mi(H_PAIR, 3u * pi + 2u) > PAIR_PLANE_BOX,
			mv3(H_F_GEOM_POS, g1), mm9(H_F_GEOM_MAT, g1), mv3(H_F_GEOM_SIZE, g1),
			mv3(H_F_GEOM_POS, g2), mm9(H_F_GEOM_MAT, g2), mv3(H_F_GEOM_SIZE, g2), pair_const(pi));
		if (g.ok) { contact_pair(pi, mi(H_PAIR, 3u * pi + 2u), g); }
	}
	// END
	contact_sq = sum_cfrc_sq(nbody);
}

fn zero_fext(nv: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { fext[i] = V6(); }
	// END
}

fn zero_cfrc(nbody: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nbody; i++) { cfrc_ext[i] = V6(); }
	for (var i = 0u; i < nbody; i++) { scfrc[i] = V6(); }
	// END
}

// The bodies and constants (H_F_PAIR's PAIR_F numbers) of the pair being
// collided.
var<private> pair_b1: u32;
var<private> pair_b2: u32;
var<private> pair_n1: i32;         // body_node of pair_b1
var<private> pair_n2: i32;
var<private> pair_o1: vec3<f32>;   // origin of pair_b1's root body (its dofs' reference point)
var<private> pair_o2: vec3<f32>;
alias PairF = array<f32, 3>; // PAIR_F

// pair_const reads pair pi's constants; gpu/specialize.go writes them as
// literals instead.
fn pair_const(pi: u32) -> PairF {
	let o = hdr(H_F_PAIR) + PAIR_F * pi;
	return PairF(model_f[o], model_f[o + 1u], model_f[o + 2u]);
}

// PairGeoms is what the collision functions need of a pair's two geoms.
struct PairGeoms {
	c1: vec3<f32>,
	r1: mat3x3<f32>,
	sz1: vec3<f32>,
	c2: vec3<f32>,
	r2: mat3x3<f32>,
	sz2: vec3<f32>,
	mg: f32,   // margin
	ok: bool,  // false: no contact possible (static pair, or beyond the bounding spheres)
}

// pair_geoms places the geoms g1 (on body bb1; position p1, orientation
// m1 and size s1 in the body frame) and g2 (on bb2; p2, m2, s2) of pair pi
// with constants pf and makes them the current pair (n1, n2: body_node of
// bb1 and bb2, rt1, rt2: body_root); bound asks for the bounding-sphere test. The generic driver reads the geoms' and pair's
// constants from model_f, gpu/specialize.go writes them as literals.
fn pair_geoms(pi: u32, g1: u32, g2: u32, bb1: u32, bb2: u32, n1: i32, n2: i32, rt1: u32, rt2: u32, bound: bool,
		p1: vec3<f32>, m1: mat3x3<f32>, s1: vec3<f32>, p2: vec3<f32>, m2: mat3x3<f32>, s2: vec3<f32>, pf: PairF) -> PairGeoms {
	var g: PairGeoms;
	g.mg = pf[0];
	g.ok = pf[1] != 0.0; // both static: never in contact
	pair_b1 = bb1;
	pair_b2 = bb2;
	pair_n1 = n1;
	pair_n2 = n2;
	pair_o1 = xpos[rt1];
	pair_o2 = xpos[rt2];
	g.c1 = body_mat(bb1) * p1 + xpos[bb1];
	g.c2 = body_mat(bb2) * p2 + xpos[bb2];
	if (bound) {
		// bounding-sphere test, as collide
		let dv = g.c2 - g.c1;
		let rb = pf[2] + g.mg;
		g.ok = g.ok && dot(dv, dv) <= rb * rb;
	}
	g.r1 = body_mat(bb1) * m1;
	g.r2 = body_mat(bb2) * m2;
	g.sz1 = s1;
	g.sz2 = s2;
	return g;
}

// contact_pair finds and applies the contacts of pair pi of kind kind
// (PAIR_*) between the geoms g placed by pair_geoms.
fn contact_pair(pi: u32, kind: i32, g: PairGeoms) {
	switch kind {
		case 0: { collide_0(pi, g); }
		case 1: { collide_1(pi, g); }
		case 2: { collide_2(pi, g); }
		case 3: { collide_3(pi, g); }
		case 4: { collide_4(pi, g); }
		case 5: { collide_5(pi, g); }
		case 6: { collide_6(pi, g); }
		case 7: { collide_7(pi, g); }
		case 8: { collide_8(pi, g); }
		default: {}
	}
}

// collide_K is the collision of a pair of kind K (PAIR_*).
fn collide_0(pi: u32, g: PairGeoms) { // plane–sphere
	plane_sphere(pi, g.c1, g.r1[2], g.c2, g.sz2[0], g.mg);
}
fn collide_1(pi: u32, g: PairGeoms) { // plane–capsule
	let ax = g.r2[2];
	cur_hint = ax; // MuJoCo aligns the friction frame with the capsule
	plane_sphere(pi, g.c1, g.r1[2], g.c2 + ax * g.sz2[1], g.sz2[0], g.mg);
	plane_sphere(pi, g.c1, g.r1[2], g.c2 + ax * (-g.sz2[1]), g.sz2[0], g.mg);
	cur_hint = vec3<f32>(0.0);
}
fn collide_2(pi: u32, g: PairGeoms) { // plane–box
	let c1 = g.c1; let c2 = g.c2; let r2 = g.r2; let sz2 = g.sz2; let mg = g.mg;
	let n = g.r1[2];
	let proj = vec3<f32>(dot(n, r2[0]) * sz2[0], dot(n, r2[1]) * sz2[1], dot(n, r2[2]) * sz2[2]);
	let d0 = dot(n, c2 - c1);
	for (var v = 0u; v < 8u; v++) {
		let sx = sgn_bit(v, 0u);
		let sy = sgn_bit(v, 1u);
		let sz = sgn_bit(v, 2u);
		let dist = d0 + sx * proj[0] + sy * proj[1] + sz * proj[2];
		if (dist >= mg) { continue; }
		let pos = c2 + r2[0] * (sx * sz2[0]) + r2[1] * (sy * sz2[1]) + r2[2] * (sz * sz2[2]) - n * (dist / 2.0);
		contact(pi, pos, n, dist);
	}
}
fn collide_3(pi: u32, g: PairGeoms) { // sphere–sphere
	sphere_sphere(pi, g.c1, g.sz1[0], g.c2, g.sz2[0], g.mg);
}
fn collide_4(pi: u32, g: PairGeoms) { // sphere–capsule
	sphere_sphere(pi, g.c1, g.sz1[0], closest_on_segment(g.c2, g.r2[2], g.sz2[1], g.c1), g.sz2[0], g.mg);
}
fn collide_5(pi: u32, g: PairGeoms) { // capsule–capsule
	let q = closest_seg_seg(g.c1, g.r1[2], g.sz1[1], g.c2, g.r2[2], g.sz2[1]);
	sphere_sphere(pi, q[0], g.sz1[0], q[1], g.sz2[0], g.mg);
}
fn collide_6(pi: u32, g: PairGeoms) { // sphere–box
	sphere_box(pi, g.c1, g.sz1[0], g.c2, g.r2, g.sz2, g.mg, false);
}
fn collide_7(pi: u32, g: PairGeoms) { // capsule–box
	capsule_box(pi, g.c1, g.r1, g.sz1, g.c2, g.r2, g.sz2, g.mg);
}
fn collide_8(pi: u32, g: PairGeoms) { // box–box
	box_box(pi, g.c1, g.r1, g.sz1, g.c2, g.r2, g.sz2, g.mg);
}

// actuation is dynamics.go's fwdActuation: passive forces per dof and per
// limited or springy hinge and slide, then the actuator forces.
fn actuation(nv: u32, njnt: u32, nu: u32, h: f32) {
	// DRIVER actuation
	for (var i = 0u; i < nv; i++) { dof_passive(i, h); }
	for (var j = 0u; j < njnt; j++) {
		let t = mi(H_JNT_TYPE, j);
		if (t != JNT_HINGE && t != JNT_SLIDE) { continue; }
		let lj = mi(H_JNT_LOCKJNT, j);
		var gate = 0u;
		if (lj >= 0) { gate = u32(mi(H_JNT_QPOSADR, u32(lj))); }
		joint_passive(j, u32(mi(H_JNT_QPOSADR, j)), u32(mi(H_JNT_DOFADR, j)), mi(H_JNT_LIMITED, j) != 0, lj >= 0, gate, h);
	}
	for (var a = 0u; a < nu; a++) {
		let j = u32(mi(H_ACT_TRN, a));
		if (mi(H_ACT_TRNTYPE, a) == TRN_TENDON) {
			let w0 = u32(mi(H_TENDON, 2u * j));
			let w1 = w0 + u32(mi(H_TENDON, 2u * j + 1u));
			tendon_l = 0.0;
			tendon_v = 0.0;
			for (var w = w0; w < w1; w++) {
				let jw = u32(mi(H_WRAP_JNT, w));
				tendon_add(w, u32(mi(H_JNT_QPOSADR, jw)), u32(mi(H_JNT_DOFADR, jw)));
			}
			let f = actuator_force(a, tendon_l, tendon_v);
			for (var w = w0; w < w1; w++) {
				tendon_apply(w, u32(mi(H_JNT_DOFADR, u32(mi(H_WRAP_JNT, w)))), f);
			}
		} else {
			let da = u32(mi(H_JNT_DOFADR, j));
			qfrc[da] += actuator_force(a, qpos[u32(mi(H_JNT_QPOSADR, j))], qvel[da]);
		}
	}
	// END
}

// dof_passive sets dof i's damping and friction loss for a step of h.
fn dof_passive(i: u32, h: f32) {
	let dmp = mf(H_F_DOF_DAMP, i);
	qfrc[i] = -dmp * qvel[i];
	diag_extra[i] = h * dmp;
}

// joint_passive adds the spring and limit forces of hinge or slide j (qpos
// address qa, dof da); a locked joint's upper limit depends on the gate
// joint at qpos address gate.
fn joint_passive(j: u32, qa: u32, da: u32, limited: bool, locked: bool, gate: u32, h: f32) {
	let k = mf(H_F_JNT_STIFF, j);
	if (k != 0.0) { qfrc[da] -= k * (qpos[qa] - mf(H_F_QPOS_SPRING, qa)); }
}

// The length and velocity of the tendon being summed by tendon_add.
var<private> tendon_l: f32;
var<private> tendon_v: f32;

fn tendon_add(w: u32, qa: u32, da: u32) {
	let cf = mf(H_F_WRAP_COEF, w);
	tendon_l += cf * qpos[qa];
	tendon_v += cf * qvel[da];
}

fn tendon_apply(w: u32, da: u32, f: f32) {
	qfrc[da] += mf(H_F_WRAP_COEF, w) * f;
}

// actuator_force is the generalised force of actuator a on a transmission
// of length l and velocity lv: gear × (gain·ctrl + bias).
fn actuator_force(a: u32, l: f32, lv: f32) -> f32 {
	var c = ctrl[a];
	let o = hdr(H_F_ACT) + 7u * a;
	if (mi(H_ACT_LIMITED, a) != 0) {
		c = clamp(c, model_f[o + 5u], model_f[o + 6u]);
	}
	let gear = model_f[o];
	let force = model_f[o + 1u] * c + model_f[o + 2u] + model_f[o + 3u] * gear * l + model_f[o + 4u] * gear * lv;
	return gear * force;
}

// set_ctrl is batchsim.Task.SetCtrl for the action in act, relative to the
// positions at the start of the control step (qpos_before) for relative
// controls.
fn set_ctrl(nu: u32) {
	// DRIVER set_ctrl
	for (var a = 0u; a < nu; a++) {
		ctrl[a] = ctrl_of(a);
		if (mi(H_CTRL_REL, a) != 0) {
			let j = u32(mi(H_ACT_TRN, a));
			if (mi(H_ACT_TRNTYPE, a) == TRN_TENDON) {
				let w0 = u32(mi(H_TENDON, 2u * j));
				let w1 = w0 + u32(mi(H_TENDON, 2u * j + 1u));
				for (var w = w0; w < w1; w++) {
					ctrl_add(a, w, u32(mi(H_JNT_QPOSADR, u32(mi(H_WRAP_JNT, w)))));
				}
			} else {
				ctrl[a] += qpos_before[u32(mi(H_JNT_QPOSADR, j))];
			}
		}
	}
	// END
}

fn ctrl_of(a: u32) -> f32 { return mf(H_F_CTRL_OFS, a) + mf(H_F_CTRL_SCL, a) * act[a]; }

// ctrl_add adds wrap w (on the joint at qpos address qa) of a tendon to
// the relative control a.
fn ctrl_add(a: u32, w: u32, qa: u32) { ctrl[a] += mf(H_F_WRAP_COEF, w) * qpos_before[qa]; }

// Symmetric 6×6 matrices (articulated inertias) are kept as their upper
// triangle row by row, 21 numbers: rows start at 0, 6, 11, 15, 18, 20.
alias S21 = array<f32, 21>;

// sym_mul returns m·x for a symmetric m (indices written out: see add6).
fn sym_mul(m: S21, x: V6) -> V6 {
	return V6(
		m[0] * x[0] + m[1] * x[1] + m[2] * x[2] + m[3] * x[3] + m[4] * x[4] + m[5] * x[5],
		m[1] * x[0] + m[6] * x[1] + m[7] * x[2] + m[8] * x[3] + m[9] * x[4] + m[10] * x[5],
		m[2] * x[0] + m[7] * x[1] + m[11] * x[2] + m[12] * x[3] + m[13] * x[4] + m[14] * x[5],
		m[3] * x[0] + m[8] * x[1] + m[12] * x[2] + m[15] * x[3] + m[16] * x[4] + m[17] * x[5],
		m[4] * x[0] + m[9] * x[1] + m[13] * x[2] + m[16] * x[3] + m[18] * x[4] + m[19] * x[5],
		m[5] * x[0] + m[10] * x[1] + m[14] * x[2] + m[17] * x[3] + m[19] * x[4] + m[20] * x[5]);
}

fn add21(a: S21, b: S21) -> S21 {
	return S21(a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5],
		a[6] + b[6], a[7] + b[7], a[8] + b[8], a[9] + b[9], a[10] + b[10],
		a[11] + b[11], a[12] + b[12], a[13] + b[13], a[14] + b[14],
		a[15] + b[15], a[16] + b[16], a[17] + b[17], a[18] + b[18], a[19] + b[19], a[20] + b[20]);
}

// sub_outer21 returns m − u·uᵀ·s (the ABA projection, u[r]·s·u[c] as in
// dynamics.go).
fn sub_outer21(m: S21, u: V6, s: f32) -> S21 {
	let v = scale6(u, s);
	return S21(m[0] - v[0] * u[0], m[1] - v[0] * u[1], m[2] - v[0] * u[2], m[3] - v[0] * u[3], m[4] - v[0] * u[4], m[5] - v[0] * u[5],
		m[6] - v[1] * u[1], m[7] - v[1] * u[2], m[8] - v[1] * u[3], m[9] - v[1] * u[4], m[10] - v[1] * u[5],
		m[11] - v[2] * u[2], m[12] - v[2] * u[3], m[13] - v[2] * u[4], m[14] - v[2] * u[5],
		m[15] - v[3] * u[3], m[16] - v[3] * u[4], m[17] - v[3] * u[5],
		m[18] - v[4] * u[4], m[19] - v[4] * u[5],
		m[20] - v[5] * u[5]);
}

// Rigid is a rigid-body spatial inertia about a tree's reference point in 10
// numbers: mass m, first moment h = m·c (c the centre of mass) and the
// rotational inertia about the point, io = ic + m(|c|²1 − ccᵀ), symmetric
// (xx, xy, xz, yy, yz, zz). As a 6×6 matrix it is spatial.go's
//
//	[ io      [h]× ]
//	[ [h]×ᵀ   m·1  ]
struct Rigid {
	m: f32,
	h: vec3<f32>,
	io0: vec3<f32>, // xx, xy, xz
	io1: vec3<f32>, // yy, yz, zz
}

// rigid_mul returns the rigid inertia r times the motion x.
fn rigid_mul(r: Rigid, x: V6) -> V6 {
	let w = vec3<f32>(x[0], x[1], x[2]);
	let v = vec3<f32>(x[3], x[4], x[5]);
	let t = cross(r.h, v);
	let f = cross(r.h, w);
	return V6(
		r.io0.x * w.x + r.io0.y * w.y + r.io0.z * w.z + t.x,
		r.io0.y * w.x + r.io1.x * w.y + r.io1.y * w.z + t.y,
		r.io0.z * w.x + r.io1.y * w.y + r.io1.z * w.z + t.z,
		r.m * v.x - f.x, r.m * v.y - f.y, r.m * v.z - f.z);
}

// rigid_sym is r as a symmetric 6×6 matrix.
fn rigid_sym(r: Rigid) -> S21 {
	let h = r.h;
	return S21(r.io0.x, r.io0.y, r.io0.z, 0.0, -h.z, h.y,
		r.io1.x, r.io1.y, h.z, 0.0, -h.x,
		r.io1.z, -h.y, h.x, 0.0,
		r.m, 0.0, 0.0,
		r.m, 0.0,
		r.m);
}

// body_rigid is body b's spatial inertia (mass m, centre of mass c relative
// to the reference point, rotational inertia ic about the centre of mass,
// world axes) as spatial.go's addBodyInertia adds it.
fn body_rigid(m: f32, c: vec3<f32>, ic: mat3x3<f32>) -> Rigid {
	let cc = dot(c, c);
	return Rigid(m, c * m,
		vec3<f32>((ic[0].x - m * c.x * c.x) + m * cc, ic[1].x - m * c.x * c.y, ic[2].x - m * c.x * c.z),
		vec3<f32>((ic[1].y - m * c.y * c.y) + m * cc, ic[2].y - m * c.y * c.z, (ic[2].z - m * c.z * c.z) + m * cc));
}

fn add_rigid(a: Rigid, b: Rigid) -> Rigid {
	return Rigid(a.m + b.m, a.h + b.h, a.io0 + b.io0, a.io1 + b.io1);
}

// Per dof i of ABA (acceleration): rbi[i] the rigid inertia of the bodies
// that dof i moves last (10 numbers, zero for a dof that moves none), pa[i]
// their bias force and, in the backward pass, the bias forces that i's
// children pass up, ia[i] the children's articulated inertias. All start
// at zero: in the specialised kernel the compiler folds the zeros away, so
// that a sum is alive only from its first term to its use.
var<private> rbi: array<Rigid, MAX_DOFS>;
var<private> ia: array<S21, MAX_DOFS>;
var<private> pa: array<V6, MAX_DOFS>;

// acceleration is dynamics.go's fwdAcceleration (ABA), one call per body
// and dof. The loops here are the model-generic driver; gpu/specialize.go
// writes the same calls unrolled, with the model's indices as literals.
fn acceleration(nv: u32, nbody: u32) {
	// DRIVER acceleration
	for (var i = 0u; i < nv; i++) {
		rbi[i] = Rigid();
		ia[i] = S21();
	}
	for (var b = 1u; b < nbody; b++) {
		let n = mi(H_BODY_NODE, b);
		if (n >= 0) { aba_body(b, u32(n), u32(mi(H_BODY_ROOT, b)), mf(H_F_BODY_MASS, b), mm9(H_F_BODY_ROTI, b)); }
	}
	for (var i = 0u; i < nv; i++) { aba_bias(i); }
	for (var ii = i32(nv) - 1; ii >= 0; ii--) {
		aba_back(u32(ii), mi(H_DOF_PARENT, u32(ii)), mf(H_F_DOF_ARM, u32(ii)));
	}
	for (var i = 0u; i < nv; i++) { aba_fwd(i, mi(H_DOF_PARENT, i), vec3<f32>(mf(H_F_OPT, 1u), mf(H_F_OPT, 2u), mf(H_F_OPT, 3u))); }
	// END
}

// aba_body adds body b's inertia (mass, rotational inertia roti about the
// centre of mass, body frame) about its root's origin to rbi[n].
fn aba_body(b: u32, n: u32, root: u32, mass: f32, roti: mat3x3<f32>) {
	let r = body_mat(b);
	let ic = r * roti * transpose(r);
	rbi[n] = add_rigid(rbi[n], body_rigid(mass, xipos[b] - xpos[root], ic));
}

// aba_bias sets pa[i] to the bias force v ×f I·v − f_ext of dof i's bodies.
fn aba_bias(i: u32) {
	let v = cvel[i];
	pa[i] = sub6(cross_force(v, rigid_mul(rbi[i], v)), fext[i]);
}

// aba_back is the backward pass at dof i with parent dof p (-1 for none)
// and armature arm.
fn aba_back(i: u32, p: i32, arm: f32) {
	let m = add21(ia[i], rigid_sym(rbi[i]));
	let pi = pa[i];
	let sd = cdof[i];
	let u = sym_mul(m, sd);
	let dd = dot6(sd, u) + arm + diag_extra[i];
	let di = 1.0 / dd;
	let ui = qfrc[i] - dot6(sd, pi);
	u6[i] = u;
	dinv[i] = di;
	uf[i] = ui;
	if (p < 0) { return; }
	let pu_ = u32(p);
	let c = sub_outer21(m, u, di);
	ia[pu_] = add21(ia[pu_], c);
	pa[pu_] = add6(pa[pu_], add6(add6(pi, sym_mul(c, cacc[i])), scale6(u, ui * di)));
}

// aba_fwd is the forward pass at dof i with parent dof p (-1 for none);
// the world accelerates at −gravity.
fn aba_fwd(i: u32, p: i32, gravity: vec3<f32>) {
	var a = V6(0.0, 0.0, 0.0, -gravity.x, -gravity.y, -gravity.z);
	if (p >= 0) { a = sacc[p]; }
	a = add6(a, cacc[i]);
	let qdd = (uf[i] - dot6(u6[i], a)) * dinv[i];
	qacc[i] = qdd;
	sacc[i] = add6(a, scale6(cdof[i], qdd));
}

// integrate is engine.go's integrate (semi-implicit Euler): per dof, then
// per joint.
fn integrate(nv: u32, njnt: u32, h: f32) {
	// DRIVER integrate
	for (var i = 0u; i < nv; i++) { qvel[i] += h * qacc[i]; }
	for (var j = 0u; j < njnt; j++) {
		let qa = u32(mi(H_JNT_QPOSADR, j));
		let da = u32(mi(H_JNT_DOFADR, j));
		if (mi(H_JNT_TYPE, j) == JNT_FREE) {
			integrate_free(qa, da, h);
		} else {
			qpos[qa] += h * qvel[da];
		}
	}
	// END
}

fn integrate_free(qa: u32, da: u32, h: f32) {
	qpos[qa] += h * qvel[da];
	qpos[qa + 1u] += h * qvel[da + 1u];
	qpos[qa + 2u] += h * qvel[da + 2u];
	let w = vec3<f32>(qvel[da + 3u], qvel[da + 4u], qvel[da + 5u]);
	var q = normalize_quat(vec4<f32>(qpos[qa + 3u], qpos[qa + 4u], qpos[qa + 5u], qpos[qa + 6u]));
	let wn = length(w);
	if (wn > 1e-15) {
		q = normalize_quat(mul_quat(q, axis_angle_quat(w * (1.0 / wn), h * wn)));
	}
	qpos[qa + 3u] = q.x; qpos[qa + 4u] = q.y; qpos[qa + 5u] = q.z; qpos[qa + 6u] = q.w;
}

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// state_finite is checkState: false when qpos or qvel holds a NaN or Inf.
fn state_finite(nq: u32, nv: u32) -> bool {
	var ok = true;
	// DRIVER unroll
	for (var i = 0u; i < nq; i++) { ok = ok && finite(qpos[i]); }
	for (var i = 0u; i < nv; i++) { ok = ok && finite(qvel[i]); }
	// END
	return ok;
}

// ---- Soft constraints: batchsim/constraint.go on the device (float32) ----
// contact() lists the step's contacts, make_rows builds the rows (dry
// friction, joint and tendon limits, contact pyramids; the same rows, order
// and softness as makeConstraints), newton minimises the constraint cost
// from the unconstrained acceleration (no warm start: a world's previous
// solution is not kept between dispatches), finish_soft applies MuJoCo's
// implicit damping and sums the contact wrenches. Rows keep their non-zeros
// sparsely, row r at r·EFC_STRIDE. A step with more than MAX_CON contacts or
// MAX_EFC rows ends the world as a non-finite state does (soft_overflow),
// so that it is reported rather than silently truncated.
const MAX_CON: u32 = 64u;
const MAX_EFC: u32 = 128u;
const EFC_STRIDE: u32 = 32u;   // entries per row: MAX_DOFS (the specialised kernel: nv)
const EFC_J_SIZE: u32 = 4096u; // MAX_EFC × EFC_STRIDE (naga wants a literal size)
const M_SIZE: u32 = 1024u;     // MAX_DOFS × MAX_DOFS (the specialised kernel: nv²)
const EFC_PAIR_F: u32 = 12u; // condim, mu, torsion, margin, K, B, tran, solimp × 5
const EFC_JNT_F: u32 = 9u;   // K, B, inverse weight, margin, solimp × 5
const EFC_DOF_F: u32 = 3u;   // frictionloss, B, D
const EFC_TEN_F: u32 = 12u;  // limited, lo, hi, then a joint's record (K, B, inverse weight, margin, solimp × 5)

var<private> ncon: u32;
// Per contact, what its rows and wrenches need of its position p and
// bodies, taken when the contact is found: there the bodies are the pair's
// (literals in the specialised kernel), so that the per-world arrays (xpos,
// xipos, cdof, qvel, qacc, cfrc_ext) are indexed by constants only and
// stay in registers; a run-time index anywhere would move a whole array to
// memory (lavapipe: gathers lane by lane; a GPU: scratch).
var<private> con_r1: array<vec3<f32>, MAX_CON>; // p − origin of b1's root body
var<private> con_r2: array<vec3<f32>, MAX_CON>;
var<private> con_d1: array<vec3<f32>, MAX_CON>; // p − centre of mass of b1
var<private> con_d2: array<vec3<f32>, MAX_CON>;
var<private> con_i1: array<i32, MAX_CON>;       // body_node of b1
var<private> con_i2: array<i32, MAX_CON>;
var<private> con_n: array<vec3<f32>, MAX_CON>;
var<private> con_hint: array<vec3<f32>, MAX_CON>;
var<private> con_dist: array<f32, MAX_CON>;
var<private> con_pair: array<u32, MAX_CON>;
var<private> con_b1: array<u32, MAX_CON>;
var<private> con_b2: array<u32, MAX_CON>;
var<private> con_row0: array<u32, MAX_CON>;
var<private> con_nrow: array<u32, MAX_CON>;
var<private> cur_hint: vec3<f32>; // frame hint of the contacts being found (plane–capsule: the axis)
var<private> soft_overflow: bool;

var<private> nefc: u32;
var<private> efc_nnz: array<u32, MAX_EFC>;
var<private> efc_ind: array<u32, EFC_J_SIZE>;
var<private> efc_j: array<f32, EFC_J_SIZE>;
var<private> efc_fric: array<bool, MAX_EFC>; // dry-friction row (else inequality)
var<private> efc_bound: array<f32, MAX_EFC>;
var<private> efc_aref: array<f32, MAX_EFC>;
var<private> efc_d: array<f32, MAX_EFC>;
var<private> efc_x: array<f32, MAX_EFC>;
var<private> efc_jd: array<f32, MAX_EFC>;
var<private> efc_zone: array<i32, MAX_EFC>;

var<private> mmat: array<f32, M_SIZE>;
var<private> hmat: array<f32, M_SIZE>;
var<private> crb: array<Rigid, MAX_DOFS>;
var<private> sa0: array<f32, MAX_DOFS>;
var<private> smr: array<f32, MAX_DOFS>;
var<private> sg: array<f32, MAX_DOFS>;
var<private> sdir: array<f32, MAX_DOFS>;
var<private> stmp: array<f32, MAX_DOFS>;
var<private> jdof: array<u32, MAX_DOFS>;
var<private> jt: array<vec3<f32>, MAX_DOFS>;
var<private> jr: array<vec3<f32>, MAX_DOFS>;
// The solver's copies of per-world arrays that it indexes at run time
// (see con_r1): cdof and qvel as make_rows starts, the acceleration sq
// (qacc on exit), the contact wrenches per body scfrc (cfrc_ext on exit).
var<private> scdof: array<V6, MAX_DOFS>;
var<private> sqvel: array<f32, MAX_DOFS>;
var<private> sq: array<f32, MAX_DOFS>;
var<private> scfrc: array<V6, MAX_BODIES>;

// con_push records a contact of the pair being collided (contact()).
fn con_push(pi: u32, pos: vec3<f32>, n: vec3<f32>, dist: f32) {
	if (ncon >= MAX_CON) {
		soft_overflow = true;
		return;
	}
	con_n[ncon] = n;
	con_hint[ncon] = cur_hint;
	con_dist[ncon] = dist;
	con_pair[ncon] = pi;
	con_b1[ncon] = pair_b1;
	con_b2[ncon] = pair_b2;
	con_i1[ncon] = pair_n1;
	con_i2[ncon] = pair_n2;
	var r1 = vec3<f32>(0.0);
	var r2 = vec3<f32>(0.0);
	if (pair_n1 >= 0) { r1 = pos - pair_o1; }
	if (pair_n2 >= 0) { r2 = pos - pair_o2; }
	con_r1[ncon] = r1;
	con_r2[ncon] = r2;
	con_d1[ncon] = pos - xipos[pair_b1];
	con_d2[ncon] = pos - xipos[pair_b2];
	ncon++;
}

// impedance is constraint.go's impedance (solimp at o in model_f).
fn impedance(o: u32, pos: f32, margin: f32) -> f32 {
	return impedance_c(model_f[o], model_f[o + 1u], model_f[o + 2u], model_f[o + 3u], model_f[o + 4u], pos, margin);
}

// new_row opens row r = nefc and returns it (false: too many rows). Call it
// in a statement of its own: naga (wgpu 0.17) evaluates both sides of ||,
// so "cond || !new_row()" would open a row whatever cond is.
fn new_row() -> bool {
	if (nefc >= MAX_EFC) {
		soft_overflow = true;
		return false;
	}
	efc_fric[nefc] = false;
	nefc++;
	return true;
}

// rel_jac is efcRows.relJac: the Jacobian of contact ci's point on its
// body b2 minus that on b1 over the dofs moving one but not the other;
// returns their count.
fn rel_jac(ci: u32) -> u32 {
	var i1 = con_i1[ci];
	var i2 = con_i2[ci];
	let r1 = con_r1[ci];
	let r2 = con_r2[ci];
	var n = 0u;
	loop {
		if (i1 == i2) { break; }
		var j = 0u;
		var r = r2;
		var s = 1.0;
		if (i1 > i2) {
			j = u32(i1);
			r = r1;
			s = -1.0;
			i1 = dof_parent(j);
		} else {
			j = u32(i2);
			i2 = dof_parent(j);
		}
		let c = scdof[j];
		let w = vec3<f32>(c[0], c[1], c[2]);
		jdof[n] = j;
		jt[n] = (vec3<f32>(c[3], c[4], c[5]) + cross(w, r)) * s;
		jr[n] = w * s;
		n++;
	}
	return n;
}

// jac_row fills row r from the contact Jacobian: u·jt (+ tors·n·jr).
fn jac_row(r: u32, nj: u32, u: vec3<f32>, tors: f32, n: vec3<f32>) -> f32 {
	let base = r * EFC_STRIDE;
	var vel = 0.0;
	for (var k = 0u; k < nj; k++) {
		let v = dot(u, jt[k]) + tors * dot(n, jr[k]);
		efc_ind[base + k] = jdof[k];
		efc_j[base + k] = v;
		vel += v * sqvel[jdof[k]];
	}
	efc_nnz[r] = nj;
	return vel;
}

// contact_frame is constraint.go's contactFrame: the first tangent.
fn contact_t1(n: vec3<f32>, hint: vec3<f32>) -> vec3<f32> {
	var t = vec3<f32>(0.0, 0.0, 1.0);
	if (length(hint) >= 0.5) {
		t = hint;
	} else if (n.y < 0.5 && n.y > -0.5) {
		t = vec3<f32>(0.0, 1.0, 0.0);
	}
	t = t - n * dot(n, t);
	let l = length(t);
	if (l > 1e-12) { return t / l; }
	return vec3<f32>(1.0, 0.0, 0.0);
}

// limit_row appends a one-sided limit with violation dist and the
// joint-or-tendon softness at o (K, B, inverse weight, margin, solimp ×5);
// the caller fills its Jacobian. vel is J·q̇.
fn limit_row(o: u32, dist: f32, vel: f32) {
	let margin = model_f[o + 3u];
	let imp = impedance(o + 4u, dist, margin);
	let r = nefc - 1u;
	efc_aref[r] = -model_f[o + 1u] * vel - model_f[o] * imp * (dist - margin);
	efc_d[r] = 1.0 / max(1e-15, (1.0 - imp) / imp * model_f[o + 2u]);
}

// make_rows is makeConstraints. Its drivers call one function per dof,
// limited joint and limited tendon; gpu/specialize.go writes the calls
// for the model's dofs and joints only, with their indices as literals.
fn make_rows(nv: u32, njnt: u32) {
	nefc = 0u;
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { scdof[i] = cdof[i]; }
	for (var i = 0u; i < nv; i++) { sqvel[i] = qvel[i]; }
	// END
	// Dry friction.
	// DRIVER dry_rows
	for (var i = 0u; i < nv; i++) {
		let o = hdr(H_F_EFC_DOF) + EFC_DOF_F * i;
		dry_row(i, model_f[o], model_f[o + 1u], model_f[o + 2u]);
	}
	// END
	// Joint limits.
	// DRIVER limit_rows
	for (var j = 0u; j < njnt; j++) {
		let t = mi(H_JNT_TYPE, j);
		if (mi(H_JNT_LIMITED, j) == 0 || (t != JNT_HINGE && t != JNT_SLIDE)) { continue; }
		let lj = mi(H_JNT_LOCKJNT, j);
		var gate = 0u;
		if (lj >= 0) { gate = u32(mi(H_JNT_QPOSADR, u32(lj))); }
		joint_limit_rows(j, u32(mi(H_JNT_QPOSADR, j)), u32(mi(H_JNT_DOFADR, j)), lj >= 0, gate);
	}
	// END
	// Tendon limits.
	// DRIVER tendon_rows
	for (var t = 0u; t < hdr(H_NTENDON); t++) {
		if (model_f[hdr(H_F_EFC_TEN) + EFC_TEN_F * t] == 0.0) { continue; }
		let w0 = u32(mi(H_TENDON, 2u * t));
		let w1 = w0 + u32(mi(H_TENDON, 2u * t + 1u));
		tendon_l = 0.0;
		tendon_v = 0.0;
		for (var w = w0; w < w1; w++) {
			let jw = u32(mi(H_WRAP_JNT, w));
			tendon_add(w, u32(mi(H_JNT_QPOSADR, jw)), u32(mi(H_JNT_DOFADR, jw)));
		}
		tendon_limit_rows(t);
	}
	// END
	contact_rows();
}

// dry_row adds dof i's dry-friction row (friction loss fl, B, D).
fn dry_row(i: u32, fl: f32, b: f32, d: f32) {
	if (fl <= 0.0) { return; }
	if (!new_row()) { return; }
	let r = nefc - 1u;
	efc_nnz[r] = 1u;
	efc_ind[r * EFC_STRIDE] = i;
	efc_j[r * EFC_STRIDE] = 1.0;
	efc_fric[r] = true;
	efc_bound[r] = fl;
	efc_aref[r] = -b * qvel[i];
	efc_d[r] = d;
}

// joint_limit_rows adds the limit rows of hinge or slide j (qpos address
// qa, dof da); a locked joint's upper limit depends on the gate joint at
// qpos address gate.
fn joint_limit_rows(j: u32, qa: u32, da: u32, locked: bool, gate: u32) {
	let q = qpos[qa];
	let lo = mf(H_F_JNT_RANGE, 2u * j);
	var hi = mf(H_F_JNT_RANGE, 2u * j + 1u);
	if (locked) {
		// dynamics.go's lockedUpper
		let lk = hdr(H_F_JNT_LOCK) + 4u * j;
		if (q < model_f[lk + 1u]) {
			let g = qpos[gate];
			let tl = clamp((g - model_f[lk + 2u]) / (model_f[lk + 3u] - model_f[lk + 2u]), 0.0, 1.0);
			hi = model_f[lk] + tl * (hi - model_f[lk]);
		}
	}
	let o = hdr(H_F_EFC_JNT) + EFC_JNT_F * j;
	let margin = model_f[o + 3u];
	for (var side = 0u; side < 2u; side++) {
		var dist = q - lo;
		var s = -1.0;
		if (side == 1u) {
			dist = hi - q;
			s = 1.0;
		}
		if (dist >= margin) { continue; }
		if (!new_row()) { continue; }
		let r = nefc - 1u;
		efc_nnz[r] = 1u;
		efc_ind[r * EFC_STRIDE] = da;
		efc_j[r * EFC_STRIDE] = -s;
		limit_row(o, dist, -s * qvel[da]);
	}
}

// tendon_limit_rows adds the limit rows of tendon t, whose length and
// velocity tendon_add summed in tendon_l and tendon_v.
fn tendon_limit_rows(t: u32) {
	let o = hdr(H_F_EFC_TEN) + EFC_TEN_F * t;
	let w0 = u32(mi(H_TENDON, 2u * t));
	let w1 = w0 + u32(mi(H_TENDON, 2u * t + 1u));
	let l = tendon_l;
	let v = tendon_v;
	for (var side = 0u; side < 2u; side++) {
		var dist = l - model_f[o + 1u];
		var s = -1.0;
		if (side == 1u) {
			dist = model_f[o + 2u] - l;
			s = 1.0;
		}
		if (dist >= model_f[o + 6u]) { continue; }
		if (!new_row()) { continue; }
		let r = nefc - 1u;
		var k = 0u;
		for (var w = w0; w < w1; w++) {
			efc_ind[r * EFC_STRIDE + k] = u32(mi(H_JNT_DOFADR, u32(mi(H_WRAP_JNT, w))));
			efc_j[r * EFC_STRIDE + k] = -s * mf(H_F_WRAP_COEF, w);
			k++;
		}
		efc_nnz[r] = k;
		limit_row(o + 3u, dist, -s * v);
	}
}

// contact_rows adds each contact's rows (condim 1: the normal; 3 and
// more: the pyramid's four edges, 6: and two torsional rows).
fn contact_rows() {
	for (var ci = 0u; ci < ncon; ci++) {
		let o = hdr(H_F_EFC_PAIR) + EFC_PAIR_F * con_pair[ci];
		let nj = rel_jac(ci);
		con_row0[ci] = nefc;
		con_nrow[ci] = 0u;
		if (nj == 0u) { continue; }
		let condim = u32(model_f[o]);
		let mu = model_f[o + 1u];
		let margin = model_f[o + 3u];
		let dist = con_dist[ci];
		let imp = impedance(o + 7u, dist, margin);
		let off = -model_f[o + 4u] * imp * (dist - margin);
		let b = model_f[o + 5u];
		let tran = model_f[o + 6u];
		let n = con_n[ci];
		if (condim == 1u) {
			if (!new_row()) { continue; }
			let r = nefc - 1u;
			efc_aref[r] = -b * jac_row(r, nj, n, 0.0, n) + off;
			efc_d[r] = 1.0 / max(1e-15, (1.0 - imp) / imp * tran);
			con_nrow[ci] = 1u;
			continue;
		}
		let dpy = 1.0 / (2.0 * mu * mu * max(1e-15, (1.0 - imp) / imp * (tran + mu * mu * tran)));
		let t1 = contact_t1(n, con_hint[ci]);
		let t2 = cross(n, t1);
		var rows = 4u;
		if (condim >= 4u) { rows = 6u; }
		for (var k = 0u; k < rows; k++) {
			if (!new_row()) { break; }
			let r = nefc - 1u;
			let sgn = select(-1.0, 1.0, (k & 1u) == 0u);
			var u = n;
			var tors = 0.0;
			if (k < 2u) {
				u = n + t1 * (sgn * mu);
			} else if (k < 4u) {
				u = n + t2 * (sgn * mu);
			} else {
				tors = sgn * model_f[o + 2u];
			}
			efc_aref[r] = -b * jac_row(r, nj, u, tors, n) + off;
			efc_d[r] = dpy;
		}
		con_nrow[ci] = rows;
	}
}

// row_deriv is efcRows.rowDeriv: s'(x), with the zone in row_zone.
var<private> row_zone: i32;
fn row_deriv(r: u32, x: f32) -> f32 {
	let dx = efc_d[r] * x;
	if (!efc_fric[r]) {
		if (x < 0.0) {
			row_zone = 0;
			return dx;
		}
		row_zone = 1;
		return 0.0;
	}
	let b = efc_bound[r];
	if (dx > b) {
		row_zone = 1;
		return b;
	}
	if (dx < -b) {
		row_zone = -1;
		return -b;
	}
	row_zone = 0;
	return dx;
}

// crba writes M + diag(armature) into mmat from the link inertias rbi that
// acceleration() left (efcRows.crba).
// gpu/specialize.go writes it out for the model's tree, indices and
// armatures as literals.
fn crba(nv: u32) {
	// DRIVER crba
	for (var i = 0u; i < nv; i++) { crb[i] = rbi[i]; }
	for (var ii = i32(nv) - 1; ii >= 0; ii--) {
		let p = mi(H_DOF_PARENT, u32(ii));
		if (p >= 0) { crb[p] = add_rigid(crb[p], crb[ii]); }
	}
	for (var i = 0u; i < nv * nv; i++) { mmat[i] = 0.0; }
	for (var i = 0u; i < nv; i++) {
		let f = crba_diag(i, nv, mf(H_F_DOF_ARM, i));
		var j = mi(H_DOF_PARENT, i);
		loop {
			if (j < 0) { break; }
			crba_off(i, u32(j), nv, f);
			j = mi(H_DOF_PARENT, u32(j));
		}
	}
	// END
}

// crba_diag sets M[i][i] (armature arm) and returns the force of dof i's
// composite inertia moving along its axis; crba_off sets M[i][j] and
// M[j][i] for its ancestor dof j.
fn crba_diag(i: u32, nv: u32, arm: f32) -> V6 {
	let f = rigid_mul(crb[i], cdof[i]);
	mmat[i * nv + i] = dot6(cdof[i], f) + arm;
	return f;
}

fn crba_off(i: u32, j: u32, nv: u32, f: V6) {
	let v = dot6(cdof[j], f);
	mmat[i * nv + j] = v;
	mmat[j * nv + i] = v;
}

// cholesky factors hmat (n×n) in place into L; false if not positive definite.
fn cholesky(n: u32) -> bool {
	for (var j = 0u; j < n; j++) {
		var dd = hmat[j * n + j];
		for (var k = 0u; k < j; k++) { dd -= hmat[j * n + k] * hmat[j * n + k]; }
		if (!(dd > 0.0)) { return false; }
		dd = sqrt(dd);
		hmat[j * n + j] = dd;
		let inv = 1.0 / dd;
		for (var i = j + 1u; i < n; i++) {
			var v = hmat[i * n + j];
			for (var k = 0u; k < j; k++) { v -= hmat[i * n + k] * hmat[j * n + k]; }
			hmat[i * n + j] = v * inv;
		}
	}
	return true;
}

// chol_solve solves L·Lᵀ·x = b in place in sdir.
fn chol_solve(n: u32) {
	for (var i = 0u; i < n; i++) {
		var v = sdir[i];
		for (var k = 0u; k < i; k++) { v -= hmat[i * n + k] * sdir[k]; }
		sdir[i] = v / hmat[i * n + i];
	}
	for (var ii = i32(n) - 1; ii >= 0; ii--) {
		let i = u32(ii);
		var v = sdir[i];
		for (var k = i + 1u; k < n; k++) { v -= hmat[k * n + i] * sdir[k]; }
		sdir[i] = v / hmat[i * n + i];
	}
}

// mul_m returns (M·v)[i] for v in stmp.
fn mul_m_row(i: u32, nv: u32) -> f32 {
	var v = 0.0;
	for (var k = 0u; k < nv; k++) { v += mmat[i * nv + k] * stmp[k]; }
	return v;
}

// newton is solveConstraints without the warm start: sq from sa0.
fn newton(nv: u32) -> bool {
	for (var i = 0u; i < nv; i++) { sq[i] = sa0[i]; }
	for (var r = 0u; r < nefc; r++) {
		efc_x[r] = row_dot_qacc(r) - efc_aref[r];
		_ = row_deriv(r, efc_x[r]);
		efc_zone[r] = row_zone;
	}
	for (var it = 0u; it < 30u; it++) {
		for (var i = 0u; i < nv; i++) { stmp[i] = sq[i] - sa0[i]; }
		for (var i = 0u; i < nv; i++) {
			smr[i] = mul_m_row(i, nv);
			sg[i] = smr[i];
		}
		for (var i = 0u; i < nv * nv; i++) { hmat[i] = mmat[i]; }
		for (var r = 0u; r < nefc; r++) {
			let sd = row_deriv(r, efc_x[r]);
			let base = r * EFC_STRIDE;
			let nz = efc_nnz[r];
			for (var k = 0u; k < nz; k++) { sg[efc_ind[base + k]] += sd * efc_j[base + k]; }
			if (row_zone != 0) { continue; }
			// Four entries per iteration: this product is most of the loop
			// iterations of a step with many dense rows (the humanoid on the
			// floor), which llvmpipe caps (65535 per invocation, shared by
			// all loops: gpu/chunk.go).
			let dr = efc_d[r];
			for (var k = 0u; k < nz; k++) {
				let hk = efc_ind[base + k] * nv;
				let vk = dr * efc_j[base + k];
				var l = 0u;
				for (; l + 4u <= nz; l += 4u) {
					let b = base + l;
					hmat[hk + efc_ind[b]] += vk * efc_j[b];
					hmat[hk + efc_ind[b + 1u]] += vk * efc_j[b + 1u];
					hmat[hk + efc_ind[b + 2u]] += vk * efc_j[b + 2u];
					hmat[hk + efc_ind[b + 3u]] += vk * efc_j[b + 3u];
				}
				for (; l < nz; l++) { hmat[hk + efc_ind[base + l]] += vk * efc_j[base + l]; }
			}
		}
		if (!cholesky(nv)) { return false; }
		for (var i = 0u; i < nv; i++) { sdir[i] = -sg[i]; }
		chol_solve(nv);
		var same = true;
		for (var r = 0u; r < nefc; r++) {
			efc_jd[r] = row_dot_dir(r);
			_ = row_deriv(r, efc_x[r] + efc_jd[r]);
			if (row_zone != efc_zone[r]) { same = false; }
		}
		var alpha = 1.0;
		if (!same) { alpha = line_search(nv); }
		var small = true;
		for (var i = 0u; i < nv; i++) {
			sq[i] += alpha * sdir[i];
			if (abs(alpha * sdir[i]) > 1e-6 * (1.0 + abs(sq[i]))) { small = false; }
		}
		for (var r = 0u; r < nefc; r++) {
			efc_x[r] += alpha * efc_jd[r];
			_ = row_deriv(r, efc_x[r]);
			efc_zone[r] = row_zone;
		}
		if (same || small) { break; }
	}
	return true;
}

fn row_dot_qacc(r: u32) -> f32 {
	var acc = 0.0;
	let base = r * EFC_STRIDE;
	for (var k = 0u; k < efc_nnz[r]; k++) { acc += efc_j[base + k] * sq[efc_ind[base + k]]; }
	return acc;
}

fn row_dot_dir(r: u32) -> f32 {
	var acc = 0.0;
	let base = r * EFC_STRIDE;
	for (var k = 0u; k < efc_nnz[r]; k++) { acc += efc_j[base + k] * sdir[efc_ind[base + k]]; }
	return acc;
}

// line_search is efcRows.lineSearch (safeguarded Newton on the derivative).
fn line_search(nv: u32) -> f32 {
	for (var i = 0u; i < nv; i++) { stmp[i] = sdir[i]; }
	var dmd = 0.0;
	var dmr = 0.0;
	for (var i = 0u; i < nv; i++) {
		dmd += sdir[i] * mul_m_row(i, nv);
		dmr += sdir[i] * smr[i];
	}
	var d0 = dmr;
	for (var r = 0u; r < nefc; r++) { d0 += row_deriv(r, efc_x[r]) * efc_jd[r]; }
	let scale = abs(d0) + 1e-30;
	var lo = 0.0;
	var hi = 3.0e38;
	var al = 1.0;
	for (var k = 0u; k < 50u; k++) {
		var d1 = al * dmd + dmr;
		var d2 = dmd;
		for (var r = 0u; r < nefc; r++) {
			let jd = efc_jd[r];
			d1 += row_deriv(r, efc_x[r] + al * jd) * jd;
			if (row_zone == 0) { d2 += efc_d[r] * jd * jd; }
		}
		if (abs(d1) <= 1e-6 * scale) { break; }
		if (d1 < 0.0) { lo = al; } else { hi = al; }
		var next = al - d1 / d2;
		if (!(next > lo && next < hi)) {
			if (hi >= 3.0e38) { next = 2.0 * al; } else { next = 0.5 * (lo + hi); }
		}
		al = next;
	}
	return al;
}

// finish_soft is finishConstrained: (M + h·diag(b))·q̈ = M·a, then the
// contact wrenches.
fn finish_soft(nv: u32, nbody: u32, h: f32) -> bool {
	var damped = false;
	// DRIVER damped
	for (var i = 0u; i < nv; i++) { damped = damped || mf(H_F_DOF_DAMP, i) > 0.0; }
	// END
	if (damped) {
		for (var i = 0u; i < nv; i++) { stmp[i] = sq[i]; }
		for (var i = 0u; i < nv; i++) { sdir[i] = mul_m_row(i, nv); }
		for (var i = 0u; i < nv * nv; i++) { hmat[i] = mmat[i]; }
		for (var i = 0u; i < nv; i++) { hmat[i * nv + i] += h * mf(H_F_DOF_DAMP, i); }
		if (!cholesky(nv)) { return false; }
		chol_solve(nv);
		for (var i = 0u; i < nv; i++) { sq[i] = sdir[i]; }
	}
	for (var ci = 0u; ci < ncon; ci++) {
		let nr = con_nrow[ci];
		if (nr == 0u) { continue; }
		let o = hdr(H_F_EFC_PAIR) + EFC_PAIR_F * con_pair[ci];
		let n = con_n[ci];
		let r0 = con_row0[ci];
		var f = vec3<f32>(0.0);
		var tq = vec3<f32>(0.0);
		if (nr == 1u) {
			f = n * -row_deriv(r0, efc_x[r0]);
		} else {
			let mu = model_f[o + 1u];
			let t1 = contact_t1(n, con_hint[ci]);
			let t2 = cross(n, t1);
			f = (n + t1 * mu) * -row_deriv(r0, efc_x[r0])
				+ (n - t1 * mu) * -row_deriv(r0 + 1u, efc_x[r0 + 1u])
				+ (n + t2 * mu) * -row_deriv(r0 + 2u, efc_x[r0 + 2u])
				+ (n - t2 * mu) * -row_deriv(r0 + 3u, efc_x[r0 + 3u]);
			if (nr == 6u) {
				let fa = -row_deriv(r0 + 4u, efc_x[r0 + 4u]);
				let fb = -row_deriv(r0 + 5u, efc_x[r0 + 5u]);
				f = f + n * (fa + fb);
				tq = n * (model_f[o + 2u] * (fa - fb));
			}
		}
		add_wrench(con_b2[ci], con_i2[ci], con_d2[ci], f, tq, 1.0);
		add_wrench(con_b1[ci], con_i1[ci], con_d1[ci], f, tq, -1.0);
	}
	return true;
}

// add_wrench adds force f and torque tq (times sgn) at a contact to body
// b's (dof node node, −1 static) wrench; d is the contact point minus b's
// centre of mass.
fn add_wrench(b: u32, node: i32, d: vec3<f32>, f: vec3<f32>, tq: vec3<f32>, sgn: f32) {
	if (node < 0) { return; }
	let fs = f * sgn;
	let tc = cross(d, fs) + tq * sgn;
	scfrc[b] = add6(scfrc[b], V6(tc.x, tc.y, tc.z, fs.x, fs.y, fs.z));
}

// physics_step is one batchsim.Step with soft constraints (engine.go's
// stepSoft); it returns false when the state is no longer finite or the
// step had more contacts or rows than the kernel holds.
fn physics_step(nq: u32, nv: u32, nu: u32, nbody: u32) -> bool {
	// DRIVER step_counts
	let njnt = hdr(H_NJNT);
	let npair = hdr(H_NPAIR);
	let h = mf(H_F_OPT, 0u);
	// END
	ncon = 0u;
	soft_overflow = false;
	// DRIVER soft_reset
	// END
	kinematics(nbody, njnt);
	com_vel(nv);
	contacts(nv, nbody, npair);
	actuation(nv, njnt, nu, h);
	// DRIVER soft_rows
	make_rows(nv, njnt);
	// END
	// One call of acceleration for both cases: lavapipe runs both sides of
	// an if (masked), so a call in each would run ABA twice per step.
	let soft = nefc != 0u;
	if (soft) { zero_diag_extra(nv); }
	acceleration(nv, nbody);
	if (soft) {
		save_sa0(nv);
		crba(nv);
		// DRIVER soft_solve
		if (!newton(nv)) { return false; }
		if (!finish_soft(nv, nbody, h)) { return false; }
		// END
		soft_out(nv, nbody);
	}
	contact_sq = sum_cfrc_sq(nbody);
	integrate(nv, njnt, h);
	return state_finite(nq, nv) && !soft_overflow;
}

// The soft constraints written out for the model (gpu/specialize.go,
// softStatic): every row the model can have in a fixed slot, its Jacobian's
// non-zeros, the Newton iteration, the line search and the Cholesky factor
// over the structural non-zeros only, all indexed by literals; a row that
// is not active has a zero Jacobian and aref and D = 0, so it adds exact
// zeros. The generic kernel has none of it.
// DRIVER soft_funcs
// END

// impedance_c is impedance with solimp (d0, d1, width, mid, power) given.
fn impedance_c(d0: f32, d1: f32, width: f32, mid: f32, p: f32, pos: f32, margin: f32) -> f32 {
	if (d0 == d1 || width <= 1e-15) { return 0.5 * (d0 + d1); }
	let x = abs((pos - margin) / width);
	if (x >= 1.0) { return d1; }
	if (x <= 0.0) { return d0; }
	var y = x;
	if (p != 1.0) {
		if (x <= mid) {
			y = pow(x, p) / pow(mid, p - 1.0);
		} else {
			y = 1.0 - pow(1.0 - x, p) / pow(1.0 - mid, p - 1.0);
		}
	}
	return d0 + y * (d1 - d0);
}

// con_set fills contact slot s (bodies b1, b2; their roots' origins o1, o2
// where they move, has1/has2) as con_push fills contact ncon.
fn con_set(s: u32, b1: u32, b2: u32, has1: bool, has2: bool, rt1: u32, rt2: u32, pos: vec3<f32>, n: vec3<f32>, dist: f32) {
	con_on[s] = true;
	con_n[s] = n;
	con_hint[s] = cur_hint;
	con_dist[s] = dist;
	con_r1[s] = select(vec3<f32>(0.0), pos - xpos[rt1], has1);
	con_r2[s] = select(vec3<f32>(0.0), pos - xpos[rt2], has2);
	con_d1[s] = pos - xipos[b1];
	con_d2[s] = pos - xipos[b2];
}
var<private> con_on: array<bool, MAX_CON>;

fn zero_diag_extra(nv: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { diag_extra[i] = 0.0; }
	// END
}

// soft_out copies the solver's acceleration and contact wrenches out.
fn soft_out(nv: u32, nbody: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { qacc[i] = sq[i]; }
	for (var i = 0u; i < nbody; i++) { cfrc_ext[i] = scfrc[i]; }
	// END
}

fn save_sa0(nv: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nv; i++) { sa0[i] = qacc[i]; }
	// END
}
// PHYSICS-END

fn record_state(slot: i32, t: u32, nq: u32, nv: u32) {
	if (slot < 0) { return; }
	let ns = nq + nv;
	let base = (u32(slot) * (dims_in.horizon + 1u) + t) * ns;
	// DRIVER unroll
	for (var i = 0u; i < nq; i++) { states_out[base + i] = qpos[i]; }
	for (var i = 0u; i < nv; i++) { states_out[base + nq + i] = qvel[i]; }
	// END
}

fn load_start(s0: u32, nq: u32, nv: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nq; i++) { qpos[i] = start_in[s0 + i]; }
	for (var i = 0u; i < nv; i++) { qvel[i] = start_in[s0 + nq + i]; }
	// END
}

// load_world and store_world carry a world's state between dispatches.
// Loops to nqb cover qpos_before: the generic kernel passes nq, and
// gpu/specialize.go unrolls them over the entries the kernel reads only
// (relative controls, qpos-delta terms), so that no other is kept alive.
fn load_world(sbase: u32, nq: u32, nv: u32, nqb: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nq; i++) { qpos[i] = world_out[sbase + i]; }
	for (var i = 0u; i < nv; i++) { qvel[i] = world_out[sbase + nq + i]; }
	for (var i = 0u; i < nqb; i++) { qpos_before[i] = world_out[sbase + nq + nv + i]; }
	// END
}

fn store_world(sbase: u32, nq: u32, nv: u32, nqb: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nq; i++) { world_out[sbase + i] = qpos[i]; }
	for (var i = 0u; i < nv; i++) { world_out[sbase + nq + i] = qvel[i]; }
	for (var i = 0u; i < nqb; i++) { world_out[sbase + nq + nv + i] = qpos_before[i]; }
	// END
}

// load_action reads the action at a0 and returns its squared norm.
fn load_action(a0: u32, nu: u32) -> f32 {
	var s = 0.0;
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { act[i] = actions_in[a0 + i]; }
	for (var i = 0u; i < nu; i++) { s += act[i] * act[i]; }
	// END
	return s;
}

fn save_qpos_before(nqb: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nqb; i++) { qpos_before[i] = qpos[i]; }
	// END
}

@compute @workgroup_size(64) // = WORKGROUP_SIZE (naga wants a literal)
fn rollout(@builtin(global_invocation_id) gid: vec3<u32>) {
	let local = gid.x;
	if (local >= dims_in.nworlds) { return; }
	wgi = local / WORKGROUP_SIZE;
	wli = local % WORKGROUP_SIZE;
	let world = dims_in.world0 + local;
	let p = world / dims_in.samples;
	// DRIVER counts
	let nq = hdr(H_NQ);
	let nv = hdr(H_NV);
	let nu = hdr(H_NU);
	let nbody = hdr(H_NBODY);
	let skip = hdr(H_FRAME_SKIP);
	// END
	let h = dims_in.horizon;

	var slot = -1;
	for (var k = 0u; k < dims_in.nrecord; k++) {
		if (u32(record_in[k]) == world) { slot = i32(k); }
	}
	let cbase = 4u * local;
	let sbase = 4u * dims_in.nworlds + local * (2u * nq + nv);
	let s0 = p * (nq + nv + hdr(H_NPARAM));
	param_base = s0 + nq + nv;
	var main_cost = 0.0;
	var guide = 0.0;
	var norm = 0.0;
	var dead = false;
	var cut = false; // an earlier dispatch of this world was cut short
	if (dims_in.k0 == 0u) {
		load_start(s0, nq, nv);
		record_state(slot, 0u, nq, nv);
	} else {
		load_world(sbase, nq, nv, nq);
		main_cost = world_out[cbase];
		guide = world_out[cbase + 1u];
		norm = world_out[cbase + 2u];
		dead = world_out[cbase + 3u] != 0.0;
		cut = world_out[cbase + 3u] == 2.0;
	}
	contact_sq = 0.0;

	// One iteration per physics step g = t·skip + k of control step t, so
	// that a dispatch may end inside a control step (gpu/chunk.go). The
	// open-loop worlds take their actions from actions_in; a closed-loop
	// dispatch (Dims.closed_loop) runs problem p's policy world instead:
	// π's own h-step rollout from the start state (icem's rolloutPolicy,
	// for iCEMπ's warm start and policy sample), its actions written to
	// states_out. At control step t the policy acts on the state; the last
	// action is not simulated. After a non-finite action (replaced by the
	// middle of the policy's bounds) or state the world is dead and the
	// remaining actions repeat the last one. The planner's closed-loop
	// dispatches cover physics steps [0, (h − 1)·skip + 1).
	// Both kinds share one loop and one physics_step call: lavapipe runs
	// both sides of an if (masked), even on a uniform condition, so a
	// second call site would cost a second physics step per dispatch.
	let closed = dims_in.closed_loop != 0u;
	let ab = local * h * nu; // closed loop: local is the problem p
	for (var g = dims_in.k0; g < dims_in.k1; g++) {
		let t = g / skip;
		let k = g - t * skip;
		let a0 = ab + t * nu;
		if (closed) {
			if (k == 0u && dead) {
				copy_policy_act(a0, a0 - nu, nu);
			} else if (k != 0u && !dead) {
				load_policy_act(a0, nu);
			}
		} else {
			let an = load_action(a0, nu);
			if (k == 0u) { norm += an; }
		}
		if (k == 0u && !dead) {
			if (closed || dims_in.has_policy != 0u) {
				let xo = policy_forward();
				let lo = pu(P_ACT_LO);
				let hi = pu(P_ACT_HI);
				if (closed) {
					if (!policy_act(xo, lo, hi, nu)) {
						mid_policy_act(nu);
						dead = true;
					}
					store_policy_act(a0, nu);
				} else {
					guide += policy_guide(xo, lo, hi, nu);
				}
			}
			save_qpos_before(nq);
		}
		if (!dead && (!closed || t + 1u < h)) {
			set_ctrl(nu);
			if (!physics_step(nq, nv, nu, nbody)) {
				dead = true;
				main_cost = bitcast<f32>(0x7fc00000u); // NaN, as the CPU evaluator
			}
		}
		if (!closed && k + 1u == skip) {
			if (!dead) {
				main_cost += step_value(nq, nv, nu, nbody);
			}
			record_state(slot, t + 1u, nq, nv);
		}
	}
	if (cut || !probe_ok()) {
		main_cost = bitcast<f32>(0x7fc00000u); // NaN: no cost of a cut world counts
		cut = true;
	}
	if (closed) {
		// A policy world cut short counts as a failed rollout (2).
		states_out[dims_in.problems * h * nu + local] = select(select(0.0, 1.0, dead), 2.0, cut);
		store_costs(cbase, 0.0, 0.0, 0.0, dead || cut, cut);
	} else {
		store_costs(cbase, main_cost, guide, norm, dead, cut);
	}
	store_world(sbase, nq, nv, nq);
}

// store_costs writes a world's costs and its state flag: 0 alive, 1 dead
// (a non-finite state), 2 cut short (probe_ok).
fn store_costs(cbase: u32, main_cost: f32, guide: f32, norm: f32, dead: bool, cut: bool) {
	world_out[cbase] = main_cost;
	world_out[cbase + 1u] = guide;
	world_out[cbase + 2u] = norm;
	world_out[cbase + 3u] = select(select(0.0, 1.0, dead), 2.0, cut);
}

// probe_ok reports whether this invocation's loops all ran to their ends.
// llvmpipe (lavapipe) stops every loop of an invocation once its loops
// together have run 65535 iterations (gpu/chunk.go): a loop cut short
// before leaves this one short too. Its bound is a uniform (Dims.probe),
// so no compiler unrolls it away. The host turns a cut world into an error
// (gpu/evaluator.go), never into numbers.
fn probe_ok() -> bool {
	var ran = 0u;
	for (var i = 0u; i < dims_in.probe; i++) { ran++; }
	return ran == dims_in.probe;
}

fn store_policy_act(a0: u32, nu: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { states_out[a0 + i] = act[i]; }
	// END
}

fn load_policy_act(a0: u32, nu: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { act[i] = states_out[a0 + i]; }
	// END
}

fn copy_policy_act(a0: u32, src: u32, nu: u32) {
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { states_out[a0 + i] = states_out[src + i]; }
	// END
}

fn mid_policy_act(nu: u32) {
	let lo = pu(P_ACT_LO);
	let hi = pu(P_ACT_HI);
	// DRIVER unroll
	for (var i = 0u; i < nu; i++) { act[i] = 0.5 * (policy[lo + i] + policy[hi + i]); }
	// END
}
