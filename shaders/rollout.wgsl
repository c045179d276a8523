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
const H_TERM_KIND: u32 = 12u;   // (nterm)
const H_TERM_I: u32 = 13u;      // (nterm)
const H_OBS_SEG: u32 = 14u;     // kind, from, to (nobs_seg × 3)
const H_BODY_PARENT: u32 = 15u; // (nbody)
const H_BODY_JNTADR: u32 = 16u; // (nbody)
const H_BODY_JNTNUM: u32 = 17u; // (nbody)
const H_JNT_TYPE: u32 = 18u;    // (njnt)
const H_JNT_QPOSADR: u32 = 19u; // (njnt)
const H_JNT_DOFADR: u32 = 20u;  // (njnt)
const H_JNT_LIMITED: u32 = 21u; // (njnt)
const H_DOF_BODY: u32 = 22u;    // (nv)
const H_GEOM_TYPE: u32 = 23u;   // (ngeom)
const H_GEOM_BODY: u32 = 24u;   // (ngeom)
const H_PAIR_GEOM: u32 = 25u;   // geom1, geom2 (npair × 2)
const H_ACT_TRN: u32 = 26u;     // (nu)
const H_ACT_LIMITED: u32 = 27u; // (nu)
// offsets into model_f
const H_F_OPT: u32 = 28u;       // timestep, gravity xyz, control dt
const H_F_TERM_X: u32 = 29u;    // (nterm)
const H_F_TERM_W: u32 = 30u;    // (nterm)
const H_F_CTRL_OFS: u32 = 31u;  // (nu)
const H_F_CTRL_SCL: u32 = 32u;  // (nu)
const H_F_BODY_POS: u32 = 33u;  // (nbody × 3)
const H_F_BODY_QUAT: u32 = 34u; // (nbody × 4)
const H_F_BODY_MASS: u32 = 35u; // (nbody)
const H_F_BODY_IPOS: u32 = 36u; // (nbody × 3)
const H_F_BODY_INERTIA: u32 = 37u; // body-frame rotational inertia about the COM (nbody × 9)
const H_F_JNT_POS: u32 = 38u;   // (njnt × 3)
const H_F_JNT_AXIS: u32 = 39u;  // (njnt × 3)
const H_F_JNT_RANGE: u32 = 40u; // (njnt × 2)
const H_F_JNT_STIFF: u32 = 41u; // (njnt)
const H_F_JNT_SOLREF: u32 = 42u; // (njnt × 2)
const H_F_DOF_DAMP: u32 = 43u;  // (nv)
const H_F_DOF_ARM: u32 = 44u;   // (nv)
const H_F_GEOM_POS: u32 = 45u;  // (ngeom × 3)
const H_F_GEOM_QUAT: u32 = 46u; // (ngeom × 4)
const H_F_GEOM_SIZE: u32 = 47u; // (ngeom × 3)
const H_F_PAIR: u32 = 48u;      // friction, solref τ, solref ζ, margin (npair × 4)
const H_F_ACT: u32 = 49u;       // gear, gain, bias0, bias1, bias2, ctrl lo, ctrl hi (nu × 7)
const H_F_QPOS_SPRING: u32 = 50u; // (nq)
const H_SIZE: u32 = 64u;

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

struct Dims {
	problems: u32,   // P
	samples: u32,    // N
	horizon: u32,    // h
	world0: u32,     // first world (p*N + n) of this dispatch
	nworlds: u32,    // worlds in this dispatch
	nrecord: u32,    // entries of record_in
	has_policy: u32, // 1: accumulate the guidance cost
	pad: u32,
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
@group(0) @binding(4) var<storage, read> start_in: array<f32>;   // (P × (nq+nv))
@group(0) @binding(5) var<storage, read> actions_in: array<f32>; // (nworlds × h × nu), this dispatch's worlds
@group(0) @binding(6) var<storage, read> record_in: array<i32>;  // worlds whose states to record (nrecord)
// Data out.
@group(0) @binding(7) var<storage, read_write> cost_out: array<f32>;   // main, guide, norm (nworlds × 3)
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

fn hdr(slot: u32) -> u32 { return u32(model_i[slot]); }
fn mi(field: u32, k: u32) -> i32 { return model_i[hdr(field) + k]; }
fn mf(field: u32, k: u32) -> f32 { return model_f[hdr(field) + k]; }
fn pu(k: u32) -> u32 { return bitcast<u32>(policy[k]); }

// tanh that stays finite for large |x| on every backend.
fn safe_tanh(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }

// observe writes the task's observation of the current state to nn[0:nobs].
fn observe() {
	let nseg = hdr(H_NOBS_SEG);
	var k = 0u;
	for (var s = 0u; s < nseg; s++) {
		let kind = mi(H_OBS_SEG, 3u * s);
		let i0 = u32(mi(H_OBS_SEG, 3u * s + 1u));
		let i1 = u32(mi(H_OBS_SEG, 3u * s + 2u));
		for (var i = i0; i < i1; i++) {
			if (kind == 0) { nn[k] = qpos[i]; } else { nn[k] = qvel[i]; }
			k++;
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
			for (var i = 0u; i < nin; i++) {
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
			default: {}
		}
	}
	return v;
}

// PHYSICS-BEGIN
// physics_step is one batchsim.Step.
fn physics_step(nq: u32, nv: u32, nu: u32, nbody: u32) {
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

	let s0 = p * (nq + nv);
	for (var i = 0u; i < nq; i++) { qpos[i] = start_in[s0 + i]; }
	for (var i = 0u; i < nv; i++) { qvel[i] = start_in[s0 + nq + i]; }
	for (var i = 0u; i < 6u * nbody; i++) { cfrc_ext[i] = 0.0; }

	var slot = -1;
	for (var k = 0u; k < dims_in.nrecord; k++) {
		if (u32(record_in[k]) == world) { slot = i32(k); }
	}
	record_state(slot, 0u, nq, nv);

	var main_cost = 0.0;
	var guide = 0.0;
	var norm = 0.0;
	for (var t = 0u; t < h; t++) {
		let a0 = (local * h + t) * nu;
		for (var i = 0u; i < nu; i++) {
			act[i] = actions_in[a0 + i];
			norm += act[i] * act[i];
		}
		if (dims_in.has_policy != 0u) {
			guide += policy_guide(nu);
		}
		for (var i = 0u; i < nq; i++) { qpos_before[i] = qpos[i]; }
		for (var i = 0u; i < nu; i++) {
			ctrl[i] = mf(H_F_CTRL_OFS, i) + mf(H_F_CTRL_SCL, i) * act[i];
		}
		for (var k = 0u; k < skip; k++) {
			physics_step(nq, nv, nu, nbody);
		}
		main_cost += step_value(nq, nv, nu, nbody);
		record_state(slot, t + 1u, nq, nv);
	}
	cost_out[3u * local] = main_cost;
	cost_out[3u * local + 1u] = guide;
	cost_out[3u * local + 2u] = norm;
}
