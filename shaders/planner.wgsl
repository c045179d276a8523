// planner.wgsl: one iCEM planning step on the device (issue 14), around the
// rollout kernel (rollout.wgsl). Per planning step the host encodes, in one
// submission: plan_begin, then per CEM iteration plan_sample (noise, μ + σ⊙
// noise, clipping, the mean and the shifted elites), the rollout
// dispatches, which read the samples from acts_out as their actions_in and
// write the costs that this module reads as cost_in, and plan_rank (λ,
// top-K, elite reuse, momentum, best sample). The semantics are
// docs/design/PLANNER.md's; what the device does differently (float32) is in
// its section "The planner on the device". The host side is gpu/planner.go.
//
// The noise: Philox-4x32-10 keyed like the CPU's per-sample streams
// (icem/philox.go: key = the problem's, counter = (block, sample,
// iteration, Plan call)), normals by the same 128-layer ziggurat, so the
// device draws what the CPU draws up to float32 rounding (a draw near a
// rejection threshold can go the other way and change the rest of that
// sample's stream); the colored-noise filter is the h×h matrix
// icem.ColoredNoise.Matrix: y = M·z over the h draws of one action
// dimension.

const PLAN_WG: u32 = 64u;   // workgroup size of every entry point
const MAX_HD: u32 = 1024u;  // h × nu of one action sequence (plan_rank's shared mean)
const MAX_H: u32 = 256u;    // horizon (plan_sample's draws of one dimension)
const MAX_K: u32 = 16u;     // elites
const PROB_WORDS: u32 = 8u; // prob_in words per problem

// The slot memory (mem_out), floats from slot × slot_stride: μ (hd), σ (hd),
// the best sequence (hd), two elite sets (2 × K × hd, the current one named
// by SC_CUR), their costs J, C_guide, C_norm (2 × K × 4), then scalars.
const SC_BEST_F: u32 = 0u;
const SC_BEST_J: u32 = 1u;
const SC_CUR: u32 = 2u;       // which elite set is current, 0 or 1
const SC_NPREV: u32 = 3u;     // elites of the last step (0 at an episode's start)
const SC_NONFINITE: u32 = 4u; // simulated samples with a non-finite cost this step

struct Cfg {
	problems: u32,    // P
	horizon: u32,     // h
	nu: u32,
	hd: u32,          // h × nu
	elites: u32,      // K
	reuse: u32,       // ⌊ξK⌋
	iter: u32,        // CEM iteration i
	n: u32,           // population N_i
	nsim: u32,        // simulated samples N_i − kept
	kept: u32,        // elites of iteration i − 1 kept, not simulated
	last: u32,        // 1 in the last iteration
	use_mean: u32,    // 1: sample 0 is μ (last iteration)
	shift: u32,       // 1: iteration 0 starts with the last step's elites, shifted
	white: u32,       // 1: white noise (β = 0 or h = 1): draws in t·nu + j order
	lambda_mode: u32, // 0: λ = 0 (no policy), 1: adaptive (Eq. 4), 2: fixed
	slot_stride: u32, // floats of one slot in mem_out
	res_stride: u32,  // floats of one problem in res_out
	warm: u32,        // iCEMπ: 1 to warm-start μ from the policy's rollout (pi_in)
	pi_sample: u32,   // iCEMπ: 1 to add the policy's rollout as a sample
	pad2: u32,
	alpha: f32,       // momentum α
	c_guide: f32,
	c_norm: f32,
	fixed_guide: f32,
	fixed_norm: f32,
	pad3: f32,
	pad4: f32,
	pad5: f32,
	pad6: f32,
	pad7: f32,
	pad8: f32,
	pad9: f32,
}

// Model: the filter matrix (h × h), the ziggurat's K (bit-cast u32), W, F
// (128 each), then per action dimension low, high, σ_init and the middle of
// the range (nu each).
@group(0) @binding(0) var<storage, read> tables: array<f32>;
// Data in.
@group(0) @binding(1) var<uniform> cfg_in: Cfg;
// Per problem of the call: slot, key low, key high, Plan call, started,
// has a policy rollout (P × PROB_WORDS).
@group(0) @binding(2) var<storage, read> prob_in: array<u32>;
// iCEMπ: the policy's h-step rollout from each problem's start state,
// written by the rollout kernel's closed-loop policy worlds earlier in the
// submission (or, for a policy they cannot run, uploaded from the host's
// icem.RolloutPolicy) (P × hd, then P failure flags; unused without a
// policy).
@group(0) @binding(3) var<storage, read> pi_in: array<f32>;
// The rollout's world_out: main, guide, norm, dead per world p·nsim + s.
@group(0) @binding(4) var<storage, read> cost_in: array<f32>;
// Data out.
@group(0) @binding(5) var<storage, read_write> acts_out: array<f32>; // (P × nsim × hd), the rollout's actions
@group(0) @binding(6) var<storage, read_write> mem_out: array<f32>;  // (slots × slot_stride)
// Per problem: executed action (nu), best f, best J, non-finite count, 0,
// then λ_guide, λ_norm per CEM iteration (P × res_stride).
@group(0) @binding(7) var<storage, read_write> res_out: array<f32>;

fn t_zk() -> u32 { return cfg_in.horizon * cfg_in.horizon; }
fn t_lo() -> u32 { return t_zk() + 384u; }
fn t_hi() -> u32 { return t_lo() + cfg_in.nu; }
fn t_sig0() -> u32 { return t_lo() + 2u * cfg_in.nu; }
fn t_mid() -> u32 { return t_lo() + 3u * cfg_in.nu; }

fn m_std() -> u32 { return cfg_in.hd; }
fn m_best() -> u32 { return 2u * cfg_in.hd; }
fn m_el(es: u32) -> u32 { return 3u * cfg_in.hd + es * cfg_in.elites * cfg_in.hd; }
fn m_ec(es: u32) -> u32 { return 3u * cfg_in.hd + 2u * cfg_in.elites * cfg_in.hd + es * cfg_in.elites * 4u; }
fn m_sc() -> u32 { return 3u * cfg_in.hd + 2u * cfg_in.elites * cfg_in.hd + 8u * cfg_in.elites; }

fn slot_base(p: u32) -> u32 { return prob_in[p * PROB_WORDS] * cfg_in.slot_stride; }

// ---- Philox-4x32-10 and the ziggurat (icem/philox.go) ----

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;
const ZIG_R: f32 = 3.442619855899;

// mulhilo returns the high and low words of a·b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
	let a0 = a & 0xffffu;
	let a1 = a >> 16u;
	let b0 = b & 0xffffu;
	let b1 = b >> 16u;
	let p00 = a0 * b0;
	let p01 = a0 * b1;
	let p10 = a1 * b0;
	let p11 = a1 * b1;
	let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
	return vec2<u32>(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
	let m0 = mulhilo(PHILOX_M0, c.x);
	let m1 = mulhilo(PHILOX_M1, c.z);
	return vec4<u32>(m1.x ^ c.y ^ k.x, m1.y, m0.x ^ c.w ^ k.y, m0.y);
}

// philox runs the ten rounds unrolled: llvmpipe counts every loop iteration
// of an invocation against one limit (gpu/chunk.go).
fn philox(c0: vec4<u32>, k0: vec2<u32>) -> vec4<u32> {
	let w = vec2<u32>(PHILOX_W0, PHILOX_W1);
	var c = philox_round(c0, k0);
	c = philox_round(c, k0 + w);
	c = philox_round(c, k0 + 2u * w);
	c = philox_round(c, k0 + 3u * w);
	c = philox_round(c, k0 + 4u * w);
	c = philox_round(c, k0 + 5u * w);
	c = philox_round(c, k0 + 6u * w);
	c = philox_round(c, k0 + 7u * w);
	c = philox_round(c, k0 + 8u * w);
	return philox_round(c, k0 + 9u * w);
}

// One sample's stream (noiseStream in icem/philox.go).
var<private> s_key: vec2<u32>;
var<private> s_ctr: vec4<u32>;
var<private> s_words: vec4<u32>;
var<private> s_left: u32;
var<private> s_idx: u32;
var<private> s_nidx: u32;

fn stream_reset(key: vec2<u32>, step: u32, i: u32, s: u32) {
	s_key = key;
	s_ctr = vec4<u32>(0u, s, i, step);
	s_left = 0u;
	s_nidx = 0u;
}

fn next_word() -> u32 {
	if (s_left == 0u) {
		s_words = philox(s_ctr, s_key);
		s_ctr.x += 1u;
		s_left = 4u;
	}
	let w = s_words[4u - s_left];
	s_left -= 1u;
	return w;
}

fn next_layer() -> u32 {
	if (s_nidx == 0u) {
		s_idx = next_word();
		s_nidx = 4u;
	}
	let l = s_idx & 127u;
	s_idx = s_idx >> 8u;
	s_nidx -= 1u;
	return l;
}

fn uniform01() -> f32 { return (f32(next_word()) + 0.5) * 2.3283064365386963e-10; }

fn zig_k(i: u32) -> u32 { return bitcast<u32>(tables[t_zk() + i]); }
fn zig_w(i: u32) -> f32 { return tables[t_zk() + 128u + i]; }
fn zig_f(i: u32) -> f32 { return tables[t_zk() + 256u + i]; }

// normal is the stream's next standard normal draw. The rejection loops
// are bounded (a draw takes more than 8 tries with probability ~1e-16).
fn normal() -> f32 {
	var out = 0.0;
	for (var tries = 0u; tries < 8u; tries++) {
		let w = next_word();
		let i = next_layer();
		let x = f32(bitcast<i32>(w)) * zig_w(i);
		var aj = w;
		if ((w & 0x80000000u) != 0u) {
			aj = ~w + 1u;
		}
		out = x;
		if (aj < zig_k(i)) {
			break;
		}
		if (i == 0u) {
			var xt = 0.0;
			for (var k = 0u; k < 8u; k++) {
				xt = -log(uniform01()) / ZIG_R;
				let y = -log(uniform01());
				if (y + y >= xt * xt) {
					break;
				}
			}
			out = -ZIG_R - xt;
			if (bitcast<i32>(w) > 0) {
				out = ZIG_R + xt;
			}
			break;
		}
		let u = uniform01();
		if (zig_f(i) + u * (zig_f(i - 1u) - zig_f(i)) < exp(-0.5 * x * x)) {
			break;
		}
	}
	return out;
}

// ---- plan_begin: σ ← σ_init; μ ← the middle at an episode's start ----
// (iCEMπ: μ ← the policy's rollout at an episode's start, and after the
// shift its last action from the policy's rollout)

@compute @workgroup_size(64)
fn plan_begin(@builtin(global_invocation_id) gid: vec3<u32>) {
	let hd = cfg_in.hd;
	if (gid.x >= cfg_in.problems * hd) { return; }
	let p = gid.x / hd;
	let x = gid.x - p * hd;
	let mb = slot_base(p);
	let j = x % cfg_in.nu;
	let started = prob_in[p * PROB_WORDS + 4u] != 0u;
	let warm = cfg_in.warm != 0u && prob_in[p * PROB_WORDS + 5u] != 0u;
	mem_out[mb + m_std() + x] = tables[t_sig0() + j];
	if (!started) {
		mem_out[mb + x] = tables[t_mid() + j];
	}
	if (warm && (!started || x + cfg_in.nu >= hd)) {
		mem_out[mb + x] = pi_in[p * hd + x];
	}
	if (x == 0u) {
		let sc = mb + m_sc();
		mem_out[sc + SC_BEST_F] = bitcast<f32>(0x7f800000u);
		mem_out[sc + SC_BEST_J] = bitcast<f32>(0x7f800000u);
		mem_out[sc + SC_NONFINITE] = 0.0;
		if (!started) {
			mem_out[sc + SC_NPREV] = 0.0;
			mem_out[sc + SC_CUR] = 0.0;
		}
	}
}

// ---- plan_sample: the simulated samples of iteration i ----

var<private> z: array<f32, MAX_H>;

// put writes clip(μ + σ·y) of element x (t·nu + j) of sample ab.
fn put(ab: u32, mb: u32, x: u32, y: f32) {
	let j = x % cfg_in.nu;
	let v = mem_out[mb + x] + mem_out[mb + m_std() + x] * y;
	acts_out[ab + x] = clamp(v, tables[t_lo() + j], tables[t_hi() + j]);
}

@compute @workgroup_size(64)
fn plan_sample(@builtin(global_invocation_id) gid: vec3<u32>) {
	let nsim = cfg_in.nsim;
	if (gid.x >= cfg_in.problems * nsim) { return; }
	let p = gid.x / nsim;
	let s = gid.x - p * nsim;
	let mb = slot_base(p);
	let hd = cfg_in.hd;
	let nu = cfg_in.nu;
	let h = cfg_in.horizon;
	let ab = gid.x * hd;
	if (s == 0u && cfg_in.use_mean != 0u) {
		for (var x = 0u; x < hd; x++) {
			acts_out[ab + x] = mem_out[mb + x]; // μ is within bounds: a mean of clipped samples
		}
		return;
	}
	var shifted = 0u;
	if (cfg_in.iter == 0u && cfg_in.shift != 0u) {
		shifted = min(cfg_in.reuse, u32(mem_out[mb + m_sc() + SC_NPREV]));
	}
	let fresh = nsim - shifted;
	// iCEMπ: one fresh slot is the policy's rollout: the last one, unless
	// that is the mean's.
	if (cfg_in.pi_sample != 0u && prob_in[p * PROB_WORDS + 5u] != 0u && fresh >= 1u) {
		let ps = fresh - 1u;
		if (s == ps && (ps > 0u || cfg_in.use_mean == 0u)) {
			for (var x = 0u; x < hd; x++) {
				acts_out[ab + x] = pi_in[p * hd + x];
			}
			return;
		}
	}
	let pb = p * PROB_WORDS;
	stream_reset(vec2<u32>(prob_in[pb + 1u], prob_in[pb + 2u]), prob_in[pb + 3u], cfg_in.iter, s);
	// A shifted elite of the last step: its actions one step left, and for
	// the new last step the last step of the sample's fresh noise.
	var t0 = 0u;
	if (s >= fresh) {
		let cur = u32(mem_out[mb + m_sc() + SC_CUR]);
		let eb = mb + m_el(cur) + (s - fresh) * hd;
		for (var x = 0u; x + nu < hd; x++) {
			acts_out[ab + x] = mem_out[eb + x + nu];
		}
		t0 = h - 1u;
	}
	if (cfg_in.white != 0u) {
		for (var x = 0u; x < hd; x++) {
			let y = normal();
			if (x >= t0 * nu) {
				put(ab, mb, x, y);
			}
		}
		return;
	}
	for (var j = 0u; j < nu; j++) {
		for (var k = 0u; k < h; k++) {
			z[k] = normal();
		}
		for (var t = t0; t < h; t++) {
			var y = 0.0;
			for (var k = 0u; k < h; k++) {
				y += tables[t * h + k] * z[k];
			}
			put(ab, mb, t * nu + j, y);
		}
	}
}

// ---- plan_rank: λ, elites, momentum and the best sample of problem p ----

var<workgroup> cand_key: array<u32, 1024>; // PLAN_WG × MAX_K
var<workgroup> cand_idx: array<u32, 1024>;
var<workgroup> sel: array<u32, MAX_K>;
var<workgroup> sh_mean: array<f32, MAX_HD>;
var<workgroup> sh_lam: vec2<f32>;
var<workgroup> sh_upd: u32;
var<workgroup> sh_nonfinite: atomic<u32>;

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// sortkey orders floats as unsigned words, NaN after +Inf, −0 as +0.
fn sortkey(x: f32) -> u32 {
	var b = bitcast<u32>(x);
	if ((b & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }
	if (b == 0x80000000u) { b = 0u; }
	if ((b & 0x80000000u) != 0u) { return ~b; }
	return b | 0x80000000u;
}

// pop_cost is cost term c (0 J, 1 C_guide, 2 C_norm) of sample s of problem
// p's population: simulated, or a kept elite of the current set.
fn pop_cost(p: u32, s: u32, c: u32, ec: u32) -> f32 {
	if (s < cfg_in.nsim) {
		return cost_in[4u * (p * cfg_in.nsim + s) + c];
	}
	return mem_out[ec + 4u * (s - cfg_in.nsim) + c];
}

// f_of is the weighted cost f = J + λ·C of sample s, +Inf when not finite
// (ranked last, ties by index), J alone when both λ are 0 (an unused
// term's NaN must not spoil f).
fn f_of(p: u32, s: u32, ec: u32, lam: vec2<f32>) -> f32 {
	let j = pop_cost(p, s, 0u, ec);
	var f = j;
	if (lam.x != 0.0 || lam.y != 0.0) {
		f = j + lam.x * pop_cost(p, s, 1u, ec) + lam.y * pop_cost(p, s, 2u, ec);
	}
	if (!finite(f)) {
		f = bitcast<f32>(0x7f800000u);
	}
	return f;
}

// topk fills sel with the K lowest samples of the population by f (byJ:
// by J, NaN last), ties by index: each invocation keeps the K best of its
// strided share, then invocation 0 merges the PLAN_WG lists. Called in
// uniform control flow by the whole workgroup.
fn topk(lid: u32, p: u32, ec: u32, lam: vec2<f32>, byj: bool) {
	let kk = cfg_in.elites;
	var lk: array<u32, MAX_K>;
	var li: array<u32, MAX_K>;
	var m = 0u;
	for (var s = lid; s < cfg_in.n; s += PLAN_WG) {
		var key = 0u;
		if (byj) {
			key = sortkey(pop_cost(p, s, 0u, ec));
		} else {
			key = sortkey(f_of(p, s, ec, lam));
		}
		// s grows: an equal key loses to the ones already kept.
		if (m == kk && key >= lk[kk - 1u]) {
			continue;
		}
		var j = min(m, kk - 1u);
		for (; j > 0u; j--) {
			if (key >= lk[j - 1u]) { break; }
			lk[j] = lk[j - 1u];
			li[j] = li[j - 1u];
		}
		lk[j] = key;
		li[j] = s;
		m = min(m + 1u, kk);
	}
	for (var r = 0u; r < kk; r++) {
		var key = 0xffffffffu;
		var idx = 0xffffffffu;
		if (r < m) {
			key = lk[r];
			idx = li[r];
		}
		cand_key[lid * kk + r] = key;
		cand_idx[lid * kk + r] = idx;
	}
	workgroupBarrier();
	if (lid == 0u) {
		var head: array<u32, PLAN_WG>;
		for (var e = 0u; e < kk; e++) {
			var bt = 0u;
			var bk = 0xffffffffu;
			var bi = 0xffffffffu;
			for (var t = 0u; t < PLAN_WG; t++) {
				if (head[t] < kk) {
					let k = cand_key[t * kk + head[t]];
					let i = cand_idx[t * kk + head[t]];
					if (k < bk || (k == bk && i < bi)) {
						bt = t;
						bk = k;
						bi = i;
					}
				}
			}
			sel[e] = bi;
			head[bt] += 1u;
		}
	}
	workgroupBarrier();
}

// spread is max − min and max |x| of cost term c over the selected samples'
// finite values (0, 0 when none is finite).
fn spread(p: u32, c: u32, ec: u32) -> vec2<f32> {
	var lo = bitcast<f32>(0x7f800000u);
	var hi = bitcast<f32>(0xff800000u);
	var scale = 0.0;
	for (var e = 0u; e < cfg_in.elites; e++) {
		let v = pop_cost(p, sel[e], c, ec);
		if (finite(v)) {
			lo = min(lo, v);
			hi = max(hi, v);
			scale = max(scale, abs(v));
		}
	}
	if (lo > hi) {
		return vec2<f32>(0.0, 0.0);
	}
	return vec2<f32>(hi - lo, scale);
}

// adapt is Eq. 4: λ = c·R(J)/(R(C) + ε), ε = 10⁻⁶·max|C| (icem's lambda).
fn adapt(c: f32, rj: f32, rc: vec2<f32>) -> f32 {
	if (c < 0.0 || rj == 0.0 || rc.y == 0.0) {
		return 0.0;
	}
	return c * rj / (rc.x + 1e-6 * rc.y);
}

@compute @workgroup_size(64)
fn plan_rank(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
	let p = wid.x;
	let lid = lid3.x;
	let mb = slot_base(p);
	let hd = cfg_in.hd;
	let nu = cfg_in.nu;
	let kk = cfg_in.elites;
	let nsim = cfg_in.nsim;
	let cur = u32(mem_out[mb + m_sc() + SC_CUR]);
	let ec = mb + m_ec(cur);
	let nxt = 1u - cur;

	if (lid == 0u) {
		atomicStore(&sh_nonfinite, 0u);
	}
	workgroupBarrier();
	var bad = 0u;
	for (var s = lid; s < nsim; s += PLAN_WG) {
		let c = 4u * (p * nsim + s);
		if (!finite(cost_in[c]) || !finite(cost_in[c + 1u]) || !finite(cost_in[c + 2u])) {
			bad += 1u;
		}
	}
	atomicAdd(&sh_nonfinite, bad);

	// λ over the preliminary elites (lowest J).
	var lam = vec2<f32>(0.0, 0.0);
	if (cfg_in.lambda_mode == 2u) {
		lam = vec2<f32>(cfg_in.fixed_guide, cfg_in.fixed_norm);
	}
	if (cfg_in.lambda_mode == 1u) {
		topk(lid, p, ec, lam, true);
		if (lid == 0u) {
			let rj = spread(p, 0u, ec).x;
			sh_lam = vec2<f32>(adapt(cfg_in.c_guide, rj, spread(p, 1u, ec)), adapt(cfg_in.c_norm, rj, spread(p, 2u, ec)));
		}
		workgroupBarrier();
		lam = sh_lam;
	}
	workgroupBarrier();

	topk(lid, p, ec, lam, false);
	let sc = mb + m_sc();
	if (lid == 0u) {
		let f0 = f_of(p, sel[0], ec, lam);
		sh_upd = 0u;
		if (cfg_in.iter == 0u || f0 < mem_out[sc + SC_BEST_F]) {
			sh_upd = 1u;
			mem_out[sc + SC_BEST_F] = f0;
			mem_out[sc + SC_BEST_J] = pop_cost(p, sel[0], 0u, ec);
		}
		mem_out[sc + SC_NONFINITE] += f32(atomicLoad(&sh_nonfinite));
		let rb = p * cfg_in.res_stride + nu + 4u + 2u * cfg_in.iter;
		res_out[rb] = lam.x;
		res_out[rb + 1u] = lam.y;
	}
	if (lid < kk) {
		let s = sel[lid];
		let d = mb + m_ec(nxt) + 4u * lid;
		mem_out[d] = pop_cost(p, s, 0u, ec);
		mem_out[d + 1u] = pop_cost(p, s, 1u, ec);
		mem_out[d + 2u] = pop_cost(p, s, 2u, ec);
	}
	workgroupBarrier();
	let upd = sh_upd != 0u;

	// The new elites (into the other set: a kept elite may move), and the
	// best sequence.
	let src = mb + m_el(cur);
	let dst = mb + m_el(nxt);
	for (var idx = lid; idx < kk * hd; idx += PLAN_WG) {
		let e = idx / hd;
		let x = idx - e * hd;
		let s = sel[e];
		var v = 0.0;
		if (s < nsim) {
			v = acts_out[(p * nsim + s) * hd + x];
		} else {
			v = mem_out[src + (s - nsim) * hd + x];
		}
		mem_out[dst + idx] = v;
		if (e == 0u && upd) {
			mem_out[mb + m_best() + x] = v;
		}
	}
	storageBarrier();
	workgroupBarrier();

	// μ ← (1−α)·mean(elites) + α·μ; σ ← (1−α)·std(elites) + α·σ (ddof 0).
	let a = cfg_in.alpha;
	let kf = f32(kk);
	for (var x = lid; x < hd; x += PLAN_WG) {
		var m = 0.0;
		for (var e = 0u; e < kk; e++) {
			m += mem_out[dst + e * hd + x];
		}
		m /= kf;
		var v = 0.0;
		for (var e = 0u; e < kk; e++) {
			let d = mem_out[dst + e * hd + x] - m;
			v += d * d;
		}
		sh_mean[x] = (1.0 - a) * m + a * mem_out[mb + x];
		mem_out[mb + m_std() + x] = (1.0 - a) * sqrt(v / kf) + a * mem_out[mb + m_std() + x];
	}
	workgroupBarrier();
	// After the last iteration μ is shifted one step left for the next
	// step, its last entry repeated.
	for (var x = lid; x < hd; x += PLAN_WG) {
		var v = sh_mean[x];
		if (cfg_in.last != 0u && x + nu < hd) {
			v = sh_mean[x + nu];
		}
		mem_out[mb + x] = v;
	}
	if (lid == 0u) {
		mem_out[sc + SC_CUR] = f32(nxt);
		if (cfg_in.last != 0u) {
			mem_out[sc + SC_NPREV] = select(0.0, kf, cfg_in.shift != 0u);
			let rb = p * cfg_in.res_stride;
			for (var j = 0u; j < nu; j++) {
				res_out[rb + j] = mem_out[mb + m_best() + j];
			}
			res_out[rb + nu] = mem_out[sc + SC_BEST_F];
			res_out[rb + nu + 1u] = mem_out[sc + SC_BEST_J];
			res_out[rb + nu + 2u] = mem_out[sc + SC_NONFINITE];
		}
	}
}
