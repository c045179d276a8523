// rollout.wgsl: batched rollouts of apex's simplified articulated-body
// engine (shared/design/PHYSICS.md) with the planner's cost terms
// (shared/design/PLANNER.md) and the guidance policy, one invocation per
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
const MAX_ACTUATORS: u32 = 24u;
const MAX_CONTACT_PAIRS: u32 = 256u;
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
const H_SUBSTEPS: u32 = 7u;
const H_FRAME_SKIP: u32 = 8u;
const H_NTERM: u32 = 9u;
const H_NOBS_SEG: u32 = 10u;
const H_NOBS: u32 = 11u;
// offsets into model_i
const H_TERM_KIND: u32 = 12u;    // (nterm)
const H_TERM_I: u32 = 13u;       // (nterm)
const H_OBS_SEG: u32 = 14u;      // kind, from, to (nobs_seg × 3)
const H_BODY_PARENT: u32 = 15u;  // (nbody)
const H_BODY_JNTADR: u32 = 16u;  // (nbody)
const H_BODY_JNTNUM: u32 = 17u;  // (nbody)
const H_BODY_NODE: u32 = 18u;    // link (dof) moving the body, -1 static (nbody)
const H_BODY_ROOT: u32 = 19u;    // child of the world the body hangs from (nbody)
const H_JNT_TYPE: u32 = 20u;     // (njnt)
const H_JNT_QPOSADR: u32 = 21u;  // (njnt)
const H_JNT_DOFADR: u32 = 22u;   // (njnt)
const H_JNT_LIMITED: u32 = 23u;  // (njnt)
const H_JNT_BODY: u32 = 24u;     // (njnt)
const H_DOF_PARENT: u32 = 25u;   // (nv)
const H_DOF_KIND: u32 = 26u;     // plain 0, free translation 1, free rotation 2 (nv)
const H_DOF_FREEBASE: u32 = 27u; // last translation dof of a free rotation dof (nv)
const H_GEOM_BODY: u32 = 28u;    // (ngeom)
const H_PAIR: u32 = 29u;         // geom1, geom2 ordered by rank, kind (npair × 3)
const H_ACT_TRN: u32 = 30u;      // (nu)
const H_ACT_LIMITED: u32 = 31u;  // (nu)
// offsets into model_f
const H_F_OPT: u32 = 32u;        // timestep, gravity xyz, control dt, sub-step h, friction-loss velocity
const H_F_TERM_X: u32 = 33u;     // (nterm)
const H_F_TERM_W: u32 = 34u;     // (nterm)
const H_F_CTRL_OFS: u32 = 35u;   // (nu)
const H_F_CTRL_SCL: u32 = 36u;   // (nu)
const H_F_BODY_POS: u32 = 37u;   // (nbody × 3)
const H_F_BODY_QUAT: u32 = 38u;  // (nbody × 4)
const H_F_BODY_MASS: u32 = 39u;  // (nbody)
const H_F_BODY_IPOS: u32 = 40u;  // (nbody × 3)
const H_F_BODY_ROTI: u32 = 41u;  // rotational inertia about the COM, body frame, row-major (nbody × 9)
const H_F_JNT_POS: u32 = 42u;    // (njnt × 3)
const H_F_JNT_AXIS: u32 = 43u;   // (njnt × 3)
const H_F_JNT_RANGE: u32 = 44u;  // (njnt × 2)
const H_F_JNT_STIFF: u32 = 45u;  // (njnt)
const H_F_JNT_LIMGAIN: u32 = 46u; // limit k, c for the whole step, then for the sub-step (njnt × 4)
const H_F_DOF_DAMP: u32 = 47u;   // (nv)
const H_F_DOF_ARM: u32 = 48u;    // (nv)
const H_F_GEOM_POS: u32 = 49u;   // (ngeom × 3)
const H_F_GEOM_MAT: u32 = 50u;   // orientation in the body frame, row-major (ngeom × 9)
const H_F_GEOM_SIZE: u32 = 51u;  // (ngeom × 3)
const H_F_PAIR: u32 = 52u;       // margin, mu, mp, mpt, bound radius, ω², γ' (whole step), ω², γ' (sub-step) (npair × PAIR_F)
const H_F_ACT: u32 = 53u;        // gear, gain, bias0, bias1, bias2, ctrl lo, ctrl hi (nu × 7)
const H_F_QPOS0: u32 = 54u;      // (nq)
const H_F_QPOS_SPRING: u32 = 55u; // (nq)
const H_NPARAM: u32 = 56u;       // task parameters per problem, after each start state in start_in
const H_OBS_SITES: u32 = 57u;    // 1 when an observation segment reads site positions
const H_TERM_J: u32 = 58u;       // second index of a term (nterm)
const H_SITE_BODY: u32 = 59u;    // (nsite)
const H_JNT_LOCKJNT: u32 = 60u;  // gate joint of a conditional upper limit, -1 none (njnt)
const H_ACT_TRNTYPE: u32 = 61u;  // 0 joint, 3 tendon (nu)
const H_TENDON: u32 = 62u;       // first wrap, number of wraps (ntendon × 2)
const H_WRAP_JNT: u32 = 63u;     // (nwrap)
const H_CTRL_REL: u32 = 64u;     // 1: ctrl relative to the joint or tendon position (nu)
const H_F_OBS_X: u32 = 65u;      // threshold of an observation segment (nobs_seg)
const H_F_SITE_POS: u32 = 66u;   // (nsite × 3)
const H_F_DOF_FRIC: u32 = 67u;   // friction loss (nv)
const H_F_JNT_LOCK: u32 = 68u;   // locked upper limit, catch, gate low, gate high (njnt × 4)
const H_F_WRAP_COEF: u32 = 69u;  // (nwrap)
const H_SIZE: u32 = 80u;
// Floats per pair in H_F_PAIR.
const PAIR_F: u32 = 9u;

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
	pad0: u32,
	pad1: u32,
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
@group(0) @binding(8) var<storage, read_write> states_out: array<f32>; // (nrecord × (h+1) × (nq+nv))

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
var<private> cfrc_ext: array<f32, 192>; // (torque, force) per body, MAX_BODIES × 6
var<private> nn: array<f32, 512>;       // policy ping-pong buffers, 2 × MAX_WIDTH
var<private> param_base: u32;           // this world's task parameters in start_in

fn hdr(slot: u32) -> u32 { return u32(model_i[slot]); }
fn mi(field: u32, k: u32) -> i32 { return model_i[hdr(field) + k]; }
fn mf(field: u32, k: u32) -> f32 { return model_f[hdr(field) + k]; }
fn pu(k: u32) -> u32 { return bitcast<u32>(policy[k]); }

// tanh that stays finite for large |x| on every backend.
fn safe_tanh(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }

// observe writes the task's observation of the current state to nn[0:nobs].
// It is batchsim.Task.ObserveParams; site segments recompute the body poses.
fn observe() {
	if (hdr(H_OBS_SITES) != 0u) { body_poses(hdr(H_NBODY)); }
	let nseg = hdr(H_NOBS_SEG);
	var k = 0u;
	for (var s = 0u; s < nseg; s++) {
		let kind = mi(H_OBS_SEG, 3u * s);
		let i0 = u32(mi(H_OBS_SEG, 3u * s + 1u));
		let i1 = u32(mi(H_OBS_SEG, 3u * s + 2u));
		switch kind {
			case 0, 1, 6: { // qpos, qvel, params
				for (var i = i0; i < i1; i++) {
					if (kind == 0) {
						nn[k] = qpos[i];
					} else if (kind == 1) {
						nn[k] = qvel[i];
					} else {
						nn[k] = start_in[param_base + i];
					}
					k++;
				}
			}
			case 2, 3, 4, 5: { // site pos, site − site, quaternion Euler angles, qvel − qvel
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
				k += 3u;
			}
			case 7: { // sign of qpos against X
				nn[k] = select(-1.0, 1.0, qpos[i0] > mf(H_F_OBS_X, s));
				k++;
			}
			default: {}
		}
	}
}

// policy_guide returns ‖a − π(o)‖² for the observation of the current
// state, as batchsim.PolicyNet.Act: normalise, dense layers with ReLU
// between them, tanh squashed to the action bounds.
fn policy_guide(nu: u32) -> f32 {
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
			if (l + 1u < nl) { s = max(s, 0.0); }
			nn[yo + o] = s;
		}
		let tmp = xo;
		xo = yo;
		yo = tmp;
	}
	let lo = pu(P_ACT_LO);
	let hi = pu(P_ACT_HI);
	var g = 0.0;
	for (var i = 0u; i < nu; i++) {
		let pi = policy[lo + i] + (safe_tanh(nn[xo + i]) + 1.0) * 0.5 * (policy[hi + i] - policy[lo + i]);
		let d = act[i] - pi;
		g += d * d;
	}
	return g;
}

// step_value is batchsim.Task.StepValue for the cost terms.
fn step_value(nq: u32, nv: u32, nu: u32, nbody: u32) -> f32 {
	let nterm = hdr(H_NTERM);
	let cdt = mf(H_F_OPT, 4u);
	var v = 0.0;
	for (var k = 0u; k < nterm; k++) {
		let kind = mi(H_TERM_KIND, k);
		let i = u32(max(mi(H_TERM_I, k), 0));
		let x = mf(H_F_TERM_X, k);
		let w = mf(H_F_TERM_W, k);
		switch kind {
			case 0: { v += w * qvel[i]; }
			case 1: { v += w * qpos[i]; }
			case 2: { if (qpos[i] > x) { v += w; } }
			case 3: { if (qpos[i] < x) { v += w; } }
			case 4: { v += w * (qpos[i] - qpos_before[i]) / cdt; }
			case 5: {
				var s = 0.0;
				for (var j = 0u; j < nu; j++) { s += act[j] * act[j]; }
				v += w * s;
			}
			case 6: { v += w; }
			case 7: { let e = qpos[i] - x; v += w * e * e; }
			case 8: {
				var s = 0.0;
				for (var j = 0u; j < nv; j++) { s += qvel[j] * qvel[j]; }
				v += w * s;
			}
			case 9: {
				var s = 0.0;
				for (var j = 0u; j < 6u * nbody; j++) { s += cfrc_ext[j] * cfrc_ext[j]; }
				v += w * min(s, x);
			}
			case 10, 11: {
				let pj = param_base + u32(max(mi(H_TERM_J, k), 0));
				let e = vec3<f32>(qpos[i] - start_in[pj], qpos[i + 1u] - start_in[pj + 1u], qpos[i + 2u] - start_in[pj + 2u]);
				let dist = sqrt(dot(e, e));
				if (kind == 10) {
					v += w * dist;
				} else if (dist > x) {
					v += w;
				}
			}
			default: {}
		}
	}
	return v;
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
var<private> xmat: array<mat3x3<f32>, MAX_BODIES>;
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
var<private> ia: array<array<f32, 36>, MAX_DOFS>;
var<private> pa: array<V6, MAX_DOFS>;
var<private> u6: array<V6, MAX_DOFS>;
var<private> dinv: array<f32, MAX_DOFS>;
var<private> uf: array<f32, MAX_DOFS>;
var<private> sacc: array<V6, MAX_DOFS>;
// gain_sel picks the contact and limit gains of the step length being taken:
// 0 for the whole timestep, 2 for the sub-step (see physics_step).
var<private> gain_sel: u32;
var<private> contact_found: bool; // contacts() met a contact closer than its margin

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
// ia_mul returns ia[i]·x.
fn ia_mul(i: u32, x: V6) -> V6 {
	var y: V6;
	for (var r = 0u; r < 6u; r++) {
		let o = 6u * r;
		y[r] = ia[i][o] * x[0] + ia[i][o + 1u] * x[1] + ia[i][o + 2u] * x[2] + ia[i][o + 3u] * x[3] + ia[i][o + 4u] * x[4] + ia[i][o + 5u] * x[5];
	}
	return y;
}

// kinematics is kinematics.go's kinematics (body poses) and comPos.
fn kinematics(nbody: u32, njnt: u32) {
	body_poses(nbody);
	com_pos(njnt);
}

// site_pos is the world position of site s (kinematics.go); it needs body_poses.
fn site_pos(s: u32) -> vec3<f32> {
	let b = u32(mi(H_SITE_BODY, s));
	return xmat[b] * mv3(H_F_SITE_POS, s) + xpos[b];
}

// body_poses is the body part of kinematics.go's kinematics.
fn body_poses(nbody: u32) {
	xpos[0] = vec3<f32>(0.0);
	xquat[0] = vec4<f32>(1.0, 0.0, 0.0, 0.0);
	xmat[0] = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
	xipos[0] = vec3<f32>(0.0);
	for (var b = 1u; b < nbody; b++) {
		let p = u32(mi(H_BODY_PARENT, b));
		var jadr = mi(H_BODY_JNTADR, b);
		var jnum = mi(H_BODY_JNTNUM, b);
		var bp: vec3<f32>;
		var bq: vec4<f32>;
		if (jnum > 0 && mi(H_JNT_TYPE, u32(jadr)) == JNT_FREE) {
			let a = u32(mi(H_JNT_QPOSADR, u32(jadr)));
			bp = vec3<f32>(qpos[a], qpos[a + 1u], qpos[a + 2u]);
			bq = normalize_quat(vec4<f32>(qpos[a + 3u], qpos[a + 4u], qpos[a + 5u], qpos[a + 6u]));
			xanchor[jadr] = bp;
			jadr++;
			jnum--;
		} else {
			bp = xmat[p] * mv3(H_F_BODY_POS, b) + xpos[p];
			bq = mul_quat(xquat[p], mq4(H_F_BODY_QUAT, b));
		}
		for (var j = jadr; j < jadr + jnum; j++) {
			let ju = u32(j);
			var r = quat_to_mat(bq);
			let jp = mv3(H_F_JNT_POS, ju);
			let axis = r * mv3(H_F_JNT_AXIS, ju);
			let anchor = r * jp + bp;
			xaxis[ju] = axis;
			xanchor[ju] = anchor;
			let a = u32(mi(H_JNT_QPOSADR, ju));
			let t = mi(H_JNT_TYPE, ju);
			let dq = qpos[a] - mf(H_F_QPOS0, a);
			if (t == JNT_SLIDE) {
				bp = bp + axis * dq;
			} else if (t == JNT_HINGE) {
				bq = mul_quat(bq, axis_angle_quat(mv3(H_F_JNT_AXIS, ju), dq));
				r = quat_to_mat(bq);
				bp = anchor - r * jp;
			}
		}
		bq = normalize_quat(bq);
		xpos[b] = bp;
		xquat[b] = bq;
		xmat[b] = quat_to_mat(bq);
		xipos[b] = bp + xmat[b] * mv3(H_F_BODY_IPOS, b);
	}
}

// com_pos is kinematics.go's comPos.
fn com_pos(njnt: u32) {
	for (var j = 0u; j < njnt; j++) {
		let b = u32(mi(H_JNT_BODY, j));
		let o = xpos[u32(mi(H_BODY_ROOT, b))];
		let da = u32(mi(H_JNT_DOFADR, j));
		let t = mi(H_JNT_TYPE, j);
		if (t == JNT_FREE) {
			// Explicit values: naga initialises a local declared without a
			// value once per call, not per loop iteration.
			cdof[da] = V6(0.0, 0.0, 0.0, 1.0, 0.0, 0.0);
			cdof[da + 1u] = V6(0.0, 0.0, 0.0, 0.0, 1.0, 0.0);
			cdof[da + 2u] = V6(0.0, 0.0, 0.0, 0.0, 0.0, 1.0);
			let off = o - xpos[b];
			for (var k = 0u; k < 3u; k++) {
				let ax = xmat[b][k];
				let l = cross(ax, off);
				cdof[da + 3u + k] = V6(ax.x, ax.y, ax.z, l.x, l.y, l.z);
			}
		} else if (t == JNT_SLIDE) {
			let ax = xaxis[j];
			cdof[da] = V6(0.0, 0.0, 0.0, ax.x, ax.y, ax.z);
		} else if (t == JNT_HINGE) {
			let ax = xaxis[j];
			let l = cross(ax, o - xanchor[j]);
			cdof[da] = V6(ax.x, ax.y, ax.z, l.x, l.y, l.z);
		}
	}
}

// com_vel is kinematics.go's comVel.
fn com_vel(nv: u32) {
	for (var i = 0u; i < nv; i++) {
		var vp = V6(0.0, 0.0, 0.0, 0.0, 0.0, 0.0); // a root: reset in every iteration
		let p = mi(H_DOF_PARENT, i);
		if (p >= 0) { vp = cvel[p]; }
		var sq = cdof[i];
		let q = qvel[i];
		for (var k = 0u; k < 6u; k++) { sq[k] *= q; }
		let kind = mi(H_DOF_KIND, i);
		if (kind == DOF_FREE_TRANS) {
			cacc[i] = V6();
		} else if (kind == DOF_FREE_ROT) {
			cacc[i] = cross_motion(cvel[mi(H_DOF_FREEBASE, i)], sq);
		} else {
			cacc[i] = cross_motion(vp, sq);
		}
		for (var k = 0u; k < 6u; k++) { vp[k] += sq[k]; }
		cvel[i] = vp;
	}
}

// point_vel is scratch.pointVel: the world velocity of point pt fixed to body b.
fn point_vel(b: u32, pt: vec3<f32>) -> vec3<f32> {
	let n = mi(H_BODY_NODE, b);
	if (n < 0) { return vec3<f32>(0.0); }
	let v = cvel[n];
	let r = pt - xpos[u32(mi(H_BODY_ROOT, b))];
	let wr = cross(vec3<f32>(v[0], v[1], v[2]), r);
	return vec3<f32>(v[3], v[4], v[5]) + wr;
}

// apply_force is scratch.applyForce.
fn apply_force(b: u32, pos: vec3<f32>, f: vec3<f32>, sgn: f32) {
	let n = mi(H_BODY_NODE, b);
	if (n < 0) { return; }
	let fs = f * sgn;
	let t = cross(pos - xpos[u32(mi(H_BODY_ROOT, b))], fs);
	fext[n][0] += t.x; fext[n][1] += t.y; fext[n][2] += t.z;
	fext[n][3] += fs.x; fext[n][4] += fs.y; fext[n][5] += fs.z;
	let tc = cross(pos - xipos[b], fs);
	let o = 6u * b;
	cfrc_ext[o] += tc.x; cfrc_ext[o + 1u] += tc.y; cfrc_ext[o + 2u] += tc.z;
	cfrc_ext[o + 3u] += fs.x; cfrc_ext[o + 4u] += fs.y; cfrc_ext[o + 5u] += fs.z;
}

// contact applies the force of one contact point of pair pi (contactForces
// of contact.go); detection and force are fused since the contact list
// depends on positions only and the forces are summed in the same order.
fn contact(pi: u32, pos: vec3<f32>, n: vec3<f32>, dist: f32) {
	let g1 = u32(mi(H_PAIR, 3u * pi));
	let g2 = u32(mi(H_PAIR, 3u * pi + 1u));
	let o = hdr(H_F_PAIR) + PAIR_F * pi;
	let margin = model_f[o];
	let mu = model_f[o + 1u];
	let mp = model_f[o + 2u];
	let mpt = model_f[o + 3u];
	contact_found = true;
	let w2 = model_f[o + 5u + gain_sel];
	let gimp = model_f[o + 6u + gain_sel];
	let b1 = u32(mi(H_GEOM_BODY, g1));
	let b2 = u32(mi(H_GEOM_BODY, g2));
	let vr = point_vel(b2, pos) - point_vel(b1, pos);
	let vn = dot(vr, n);
	let pen = margin - dist;
	let fn_ = mp * (w2 * pen - gimp * vn);
	if (fn_ <= 0.0) { return; }
	var f = n * fn_;
	let vt = vr - n * vn;
	let vtn = length(vt);
	if (vtn > 1e-12) {
		let ft = min(mu * fn_, mpt * gimp * vtn);
		f = f + vt * (-ft / vtn);
	}
	apply_force(b2, pos, f, 1.0);
	apply_force(b1, pos, f, -1.0);
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
	var sg = 1.0;
	if (l[bk] < 0.0) { sg = -1.0; }
	var nl = vec3<f32>(0.0);
	nl[bk] = sg;
	var cl2 = l;
	cl2[bk] = sg * sz[bk];
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
	for (var i = 0u; i < nv; i++) { fext[i] = V6(); }
	for (var i = 0u; i < 6u * nbody; i++) { cfrc_ext[i] = 0.0; }
	for (var pi = 0u; pi < npair; pi++) {
		let po = hdr(H_F_PAIR) + PAIR_F * pi;
		let mg = model_f[po];
		if (model_f[po + 2u] == 0.0) { continue; } // mp = 0: both static
		let g1 = u32(mi(H_PAIR, 3u * pi));
		let g2 = u32(mi(H_PAIR, 3u * pi + 1u));
		let kind = mi(H_PAIR, 3u * pi + 2u);
		let bb1 = u32(mi(H_GEOM_BODY, g1));
		let bb2 = u32(mi(H_GEOM_BODY, g2));
		let c1 = xmat[bb1] * mv3(H_F_GEOM_POS, g1) + xpos[bb1];
		let c2 = xmat[bb2] * mv3(H_F_GEOM_POS, g2) + xpos[bb2];
		if (kind > PAIR_PLANE_BOX) {
			// bounding-sphere test, as collide
			let dv = c2 - c1;
			let rb = model_f[po + 4u] + mg;
			if (dot(dv, dv) > rb * rb) { continue; }
		}
		let r1 = xmat[bb1] * mm9(H_F_GEOM_MAT, g1);
		let r2 = xmat[bb2] * mm9(H_F_GEOM_MAT, g2);
		let sz1 = mv3(H_F_GEOM_SIZE, g1);
		let sz2 = mv3(H_F_GEOM_SIZE, g2);
		switch kind {
			case 0: { // plane–sphere
				plane_sphere(pi, c1, r1[2], c2, sz2[0], mg);
			}
			case 1: { // plane–capsule
				let ax = r2[2];
				plane_sphere(pi, c1, r1[2], c2 + ax * sz2[1], sz2[0], mg);
				plane_sphere(pi, c1, r1[2], c2 + ax * (-sz2[1]), sz2[0], mg);
			}
			case 2: { // plane–box
				let n = r1[2];
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
			case 3: {
				sphere_sphere(pi, c1, sz1[0], c2, sz2[0], mg);
			}
			case 4: {
				sphere_sphere(pi, c1, sz1[0], closest_on_segment(c2, r2[2], sz2[1], c1), sz2[0], mg);
			}
			case 5: {
				let q = closest_seg_seg(c1, r1[2], sz1[1], c2, r2[2], sz2[1]);
				sphere_sphere(pi, q[0], sz1[0], q[1], sz2[0], mg);
			}
			case 6: {
				sphere_box(pi, c1, sz1[0], c2, r2, sz2, mg, false);
			}
			case 7: {
				capsule_box(pi, c1, r1, sz1, c2, r2, sz2, mg);
			}
			case 8: {
				box_box(pi, c1, r1, sz1, c2, r2, sz2, mg);
			}
			default: {}
		}
	}
}

// actuation is dynamics.go's fwdActuation.
fn actuation(nv: u32, njnt: u32, nu: u32, h: f32) {
	for (var i = 0u; i < nv; i++) {
		let dmp = mf(H_F_DOF_DAMP, i);
		qfrc[i] = -dmp * qvel[i];
		diag_extra[i] = h * dmp;
		// Regularised Coulomb friction: an implicit damper fl/FrictionlossVel
		// below that speed, a constant force against the motion above it.
		let fl = mf(H_F_DOF_FRIC, i);
		if (fl > 0.0) {
			let v = qvel[i];
			let b = fl / mf(H_F_OPT, 6u);
			if (abs(v) * b <= fl) {
				qfrc[i] -= b * v;
				diag_extra[i] += h * b;
			} else {
				qfrc[i] -= copysign(fl, v);
			}
		}
	}
	for (var j = 0u; j < njnt; j++) {
		let t = mi(H_JNT_TYPE, j);
		if (t != JNT_HINGE && t != JNT_SLIDE) { continue; }
		let qa = u32(mi(H_JNT_QPOSADR, j));
		let da = u32(mi(H_JNT_DOFADR, j));
		let q = qpos[qa];
		let k = mf(H_F_JNT_STIFF, j);
		if (k != 0.0) { qfrc[da] -= k * (q - mf(H_F_QPOS_SPRING, qa)); }
		if (mi(H_JNT_LIMITED, j) == 0) { continue; }
		var x = 0.0;
		var sgn = 0.0;
		let lo = mf(H_F_JNT_RANGE, 2u * j);
		var hi = mf(H_F_JNT_RANGE, 2u * j + 1u);
		let lj = mi(H_JNT_LOCKJNT, j);
		if (lj >= 0) {
			// dynamics.go's lockedUpper
			let lk = hdr(H_F_JNT_LOCK) + 4u * j;
			if (q < model_f[lk + 1u]) {
				let g = qpos[u32(mi(H_JNT_QPOSADR, u32(lj)))];
				let tl = clamp((g - model_f[lk + 2u]) / (model_f[lk + 3u] - model_f[lk + 2u]), 0.0, 1.0);
				hi = model_f[lk] + tl * (hi - model_f[lk]);
			}
		}
		if (q < lo) {
			x = lo - q;
			sgn = 1.0;
		} else if (q > hi) {
			x = q - hi;
			sgn = -1.0;
		} else {
			continue;
		}
		let gk = mf(H_F_JNT_LIMGAIN, 4u * j + gain_sel);
		let gc = mf(H_F_JNT_LIMGAIN, 4u * j + 1u + gain_sel);
		let f = gk * x - gc * sgn * qvel[da];
		if (f > 0.0) {
			qfrc[da] += sgn * f;
			diag_extra[da] += h * gc;
		}
	}
	for (var a = 0u; a < nu; a++) {
		var c = ctrl[a];
		let o = hdr(H_F_ACT) + 7u * a;
		if (mi(H_ACT_LIMITED, a) != 0) {
			c = clamp(c, model_f[o + 5u], model_f[o + 6u]);
		}
		let j = u32(mi(H_ACT_TRN, a));
		let gear = model_f[o];
		if (mi(H_ACT_TRNTYPE, a) == TRN_TENDON) {
			let w0 = u32(mi(H_TENDON, 2u * j));
			let w1 = w0 + u32(mi(H_TENDON, 2u * j + 1u));
			var l = 0.0;
			var lv = 0.0;
			for (var w = w0; w < w1; w++) {
				let jw = u32(mi(H_WRAP_JNT, w));
				let cf = mf(H_F_WRAP_COEF, w);
				l += cf * qpos[u32(mi(H_JNT_QPOSADR, jw))];
				lv += cf * qvel[u32(mi(H_JNT_DOFADR, jw))];
			}
			let force = model_f[o + 1u] * c + model_f[o + 2u] + model_f[o + 3u] * gear * l + model_f[o + 4u] * gear * lv;
			for (var w = w0; w < w1; w++) {
				let jw = u32(mi(H_WRAP_JNT, w));
				qfrc[u32(mi(H_JNT_DOFADR, jw))] += mf(H_F_WRAP_COEF, w) * gear * force;
			}
			continue;
		}
		let qa = u32(mi(H_JNT_QPOSADR, j));
		let da = u32(mi(H_JNT_DOFADR, j));
		let force = model_f[o + 1u] * c + model_f[o + 2u] + model_f[o + 3u] * gear * qpos[qa] + model_f[o + 4u] * gear * qvel[da];
		qfrc[da] += gear * force;
	}
}

// set_ctrl is batchsim.Task.SetCtrl for the action in act, relative to the
// positions at the start of the control step (qpos_before).
fn set_ctrl(nu: u32) {
	for (var a = 0u; a < nu; a++) {
		var c = mf(H_F_CTRL_OFS, a) + mf(H_F_CTRL_SCL, a) * act[a];
		if (mi(H_CTRL_REL, a) != 0) {
			let j = u32(mi(H_ACT_TRN, a));
			if (mi(H_ACT_TRNTYPE, a) == TRN_TENDON) {
				let w0 = u32(mi(H_TENDON, 2u * j));
				let w1 = w0 + u32(mi(H_TENDON, 2u * j + 1u));
				for (var w = w0; w < w1; w++) {
					c += mf(H_F_WRAP_COEF, w) * qpos_before[u32(mi(H_JNT_QPOSADR, u32(mi(H_WRAP_JNT, w))))];
				}
			} else {
				c += qpos_before[u32(mi(H_JNT_QPOSADR, j))];
			}
		}
		ctrl[a] = c;
	}
}

// add_body_inertia is spatial.go's addBodyInertia on ia[n].
fn add_body_inertia(n: u32, m: f32, c_: vec3<f32>, ic_: mat3x3<f32>) {
	var c = c_; // naga indexes only variables dynamically
	var ic = ic_;
	let cc = dot(c, c);
	for (var i = 0u; i < 3u; i++) {
		for (var j = 0u; j < 3u; j++) {
			var v = ic[j][i] - m * c[i] * c[j];
			if (i == j) { v += m * cc; }
			ia[n][6u * i + j] += v;
		}
	}
	let mx = m * c.x;
	let my = m * c.y;
	let mz = m * c.z;
	ia[n][4] += -mz; ia[n][5] += my; ia[n][9] += mz;
	ia[n][11] += -mx; ia[n][15] += -my; ia[n][16] += mx;
	ia[n][19] += mz; ia[n][20] += -my; ia[n][24] += -mz;
	ia[n][26] += mx; ia[n][30] += my; ia[n][31] += -mx;
	ia[n][21] += m; ia[n][28] += m; ia[n][35] += m;
}

// acceleration is dynamics.go's fwdAcceleration (ABA).
fn acceleration(nv: u32, nbody: u32) {
	for (var i = 0u; i < nv; i++) {
		for (var k = 0u; k < 36u; k++) { ia[i][k] = 0.0; }
	}
	for (var b = 1u; b < nbody; b++) {
		let n = mi(H_BODY_NODE, b);
		if (n < 0) { continue; }
		let r = xmat[b];
		let ic = r * mm9(H_F_BODY_ROTI, b) * transpose(r);
		add_body_inertia(u32(n), mf(H_F_BODY_MASS, b), xipos[b] - xpos[u32(mi(H_BODY_ROOT, b))], ic);
	}
	for (var i = 0u; i < nv; i++) {
		var p = cross_force(cvel[i], ia_mul(i, cvel[i]));
		for (var k = 0u; k < 6u; k++) { p[k] -= fext[i][k]; }
		pa[i] = p;
	}
	for (var ii = i32(nv) - 1; ii >= 0; ii--) {
		let i = u32(ii);
		let sd = cdof[i];
		var u = ia_mul(i, sd);
		let dd = dot6(sd, u) + mf(H_F_DOF_ARM, i) + diag_extra[i];
		let di = 1.0 / dd;
		let ui = qfrc[i] - dot6(sd, pa[i]);
		u6[i] = u;
		dinv[i] = di;
		uf[i] = ui;
		let p = mi(H_DOF_PARENT, i);
		if (p < 0) { continue; }
		let pu_ = u32(p);
		for (var r = 0u; r < 6u; r++) {
			let ur = u[r] * di;
			for (var k = 0u; k < 6u; k++) {
				ia[i][6u * r + k] -= ur * u[k];
				ia[pu_][6u * r + k] += ia[i][6u * r + k];
			}
		}
		var iac = ia_mul(i, cacc[i]);
		let sc = ui * di;
		for (var k = 0u; k < 6u; k++) {
			pa[pu_][k] += pa[i][k] + iac[k] + u[k] * sc;
		}
	}
	let aw = V6(0.0, 0.0, 0.0, -mf(H_F_OPT, 1u), -mf(H_F_OPT, 2u), -mf(H_F_OPT, 3u));
	for (var i = 0u; i < nv; i++) {
		var a = aw;
		let p = mi(H_DOF_PARENT, i);
		if (p >= 0) { a = sacc[p]; }
		for (var k = 0u; k < 6u; k++) { a[k] += cacc[i][k]; }
		let qdd = (uf[i] - dot6(u6[i], a)) * dinv[i];
		qacc[i] = qdd;
		for (var k = 0u; k < 6u; k++) { a[k] += cdof[i][k] * qdd; }
		sacc[i] = a;
	}
}

// integrate is engine.go's integrate (semi-implicit Euler).
fn integrate(nv: u32, njnt: u32, h: f32) {
	for (var i = 0u; i < nv; i++) { qvel[i] += h * qacc[i]; }
	for (var j = 0u; j < njnt; j++) {
		let qa = u32(mi(H_JNT_QPOSADR, j));
		let da = u32(mi(H_JNT_DOFADR, j));
		if (mi(H_JNT_TYPE, j) == JNT_FREE) {
			for (var k = 0u; k < 3u; k++) { qpos[qa + k] += h * qvel[da + k]; }
			let w = vec3<f32>(qvel[da + 3u], qvel[da + 4u], qvel[da + 5u]);
			var q = normalize_quat(vec4<f32>(qpos[qa + 3u], qpos[qa + 4u], qpos[qa + 5u], qpos[qa + 6u]));
			let wn = length(w);
			if (wn > 1e-15) {
				q = normalize_quat(mul_quat(q, axis_angle_quat(w * (1.0 / wn), h * wn)));
			}
			qpos[qa + 3u] = q.x; qpos[qa + 4u] = q.y; qpos[qa + 5u] = q.z; qpos[qa + 6u] = q.w;
		} else {
			qpos[qa] += h * qvel[da];
		}
	}
}

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// state_finite is checkState: false when qpos or qvel holds a NaN or Inf.
fn state_finite(nq: u32, nv: u32) -> bool {
	var ok = true;
	for (var i = 0u; i < nq; i++) { ok = ok && finite(qpos[i]); }
	for (var i = 0u; i < nv; i++) { ok = ok && finite(qvel[i]); }
	return ok;
}

// limit_active is engine.go's limitActive: a limited hinge or slide beyond
// its range.
fn limit_active(njnt: u32) -> bool {
	var on = false;
	for (var j = 0u; j < njnt; j++) {
		if (mi(H_JNT_LIMITED, j) == 0 || mi(H_JNT_TYPE, j) == JNT_FREE) { continue; }
		let q = qpos[u32(mi(H_JNT_QPOSADR, j))];
		on = on || q < mf(H_F_JNT_RANGE, 2u * j) || q > mf(H_F_JNT_RANGE, 2u * j + 1u);
	}
	return on;
}

// physics_step is one batchsim.Step; it returns false when the state is no
// longer finite (Step's error). Like Step, it takes the whole timestep unless
// a contact or a joint limit is active at its start, and then H_SUBSTEPS
// sub-steps; the contact forces found with the whole step's gains are then
// recomputed with the sub-step's.
fn physics_step(nq: u32, nv: u32, nu: u32, nbody: u32) -> bool {
	let njnt = hdr(H_NJNT);
	let npair = hdr(H_NPAIR);
	let nsub = hdr(H_SUBSTEPS);
	var ns = 1u;
	var h = mf(H_F_OPT, 0u);
	// Contacts are found with the sub-step's gains: when none is found their
	// gains do not matter, and the step is then taken whole. One call site
	// per stage, since lavapipe inlines every call.
	gain_sel = select(0u, 2u, nsub > 1u);
	for (var k = 0u; k < ns; k++) {
		contact_found = false;
		kinematics(nbody, njnt);
		com_vel(nv);
		contacts(nv, nbody, npair);
		if (k == 0u && nsub > 1u) {
			if (contact_found || limit_active(njnt)) {
				ns = nsub;
				h = mf(H_F_OPT, 5u); // timestep / substeps, computed in float64
			} else {
				gain_sel = 0u;
			}
		}
		actuation(nv, njnt, nu, h);
		acceleration(nv, nbody);
		integrate(nv, njnt, h);
	}
	return state_finite(nq, nv);
}
// PHYSICS-END

fn record_state(slot: i32, t: u32, nq: u32, nv: u32) {
	if (slot < 0) { return; }
	let ns = nq + nv;
	let base = (u32(slot) * (dims_in.horizon + 1u) + t) * ns;
	for (var i = 0u; i < nq; i++) { states_out[base + i] = qpos[i]; }
	for (var i = 0u; i < nv; i++) { states_out[base + nq + i] = qvel[i]; }
}

@compute @workgroup_size(64) // = WORKGROUP_SIZE (naga wants a literal)
fn rollout(@builtin(global_invocation_id) gid: vec3<u32>) {
	let local = gid.x;
	if (local >= dims_in.nworlds) { return; }
	let world = dims_in.world0 + local;
	let p = world / dims_in.samples;
	let nq = hdr(H_NQ);
	let nv = hdr(H_NV);
	let nu = hdr(H_NU);
	let nbody = hdr(H_NBODY);
	let h = dims_in.horizon;
	let skip = hdr(H_FRAME_SKIP);

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
	if (dims_in.k0 == 0u) {
		for (var i = 0u; i < nq; i++) { qpos[i] = start_in[s0 + i]; }
		for (var i = 0u; i < nv; i++) { qvel[i] = start_in[s0 + nq + i]; }
		record_state(slot, 0u, nq, nv);
	} else {
		for (var i = 0u; i < nq; i++) { qpos[i] = world_out[sbase + i]; }
		for (var i = 0u; i < nv; i++) { qvel[i] = world_out[sbase + nq + i]; }
		for (var i = 0u; i < nq; i++) { qpos_before[i] = world_out[sbase + nq + nv + i]; }
		main_cost = world_out[cbase];
		guide = world_out[cbase + 1u];
		norm = world_out[cbase + 2u];
		dead = world_out[cbase + 3u] != 0.0;
	}
	for (var i = 0u; i < 6u * nbody; i++) { cfrc_ext[i] = 0.0; }

	// One iteration per physics step g = t·skip + k of control step t, so
	// that a dispatch may end inside a control step (gpu/chunk.go).
	for (var g = dims_in.k0; g < dims_in.k1; g++) {
		let t = g / skip;
		let k = g - t * skip;
		let a0 = (local * h + t) * nu;
		for (var i = 0u; i < nu; i++) { act[i] = actions_in[a0 + i]; }
		if (k == 0u) {
			for (var i = 0u; i < nu; i++) { norm += act[i] * act[i]; }
			if (!dead) {
				if (dims_in.has_policy != 0u) {
					guide += policy_guide(nu);
				}
				for (var i = 0u; i < nq; i++) { qpos_before[i] = qpos[i]; }
			}
		}
		if (!dead) {
			set_ctrl(nu);
			if (!physics_step(nq, nv, nu, nbody)) {
				dead = true;
				main_cost = bitcast<f32>(0x7fc00000u); // NaN, as the CPU evaluator
			}
		}
		if (k + 1u == skip) {
			if (!dead) {
				main_cost += step_value(nq, nv, nu, nbody);
			}
			record_state(slot, t + 1u, nq, nv);
		}
	}
	world_out[cbase] = main_cost;
	world_out[cbase + 1u] = guide;
	world_out[cbase + 2u] = norm;
	world_out[cbase + 3u] = select(0.0, 1.0, dead);
	for (var i = 0u; i < nq; i++) { world_out[sbase + i] = qpos[i]; }
	for (var i = 0u; i < nv; i++) { world_out[sbase + nq + i] = qvel[i]; }
	for (var i = 0u; i < nq; i++) { world_out[sbase + nq + nv + i] = qpos_before[i]; }
}
