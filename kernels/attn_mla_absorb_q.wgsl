// Absorbed MLA query: q̃_h = W_UK_hᵀ · q_nope_h (d_c wide) followed by q_rope_h, so that scores can be
// taken straight against the latent cache row [c ‖ k_rope]. W_UK_h = rows [h·(d_nope+d_v), +d_nope) of
// kv_b_proj [n_h·(d_nope+d_v), d_c].
// Two entry points: `main` for decode (n = 1, loads in flight) and short chunks, `main_tokens` for
// longer prefill chunks (below).
// main: a workgroup owns CO groups of 8 output columns of one head for NT tokens; its RS·CO threads split the
// d_nope-long sum into RS row slices (thread (rs, co) takes rows rs, rs + RS, ...), each loading its
// 8 columns of a row as one 16-byte word (f16; two for f32), so a decode call (n = 1, ~2 MB of weights)
// has tens of thousands of threads with several independent loads in flight. The RS partial sums of
// each column meet in workgroup memory. Consecutive threads take consecutive words of one row
// (coalesced whatever the subgroup size; no subgroup builtins). Workgroups with x = 0 also copy q_rope.

override W_F16: bool = true;
// VEC: d_c % 8 == 0 (f16) or % 4 (f32), so every 8-column group is whole 16-byte words. Otherwise the
// scalar path reads column pairs (d_c is even) and masks the last group.
override VEC: bool = true;
override NT: u32 = 1u;   // tokens per workgroup, 1..4
override RS: u32 = 32u;  // row slices
override CO: u32 = 4u;   // 8-column groups per workgroup
// KR > 0 (hardware drivers): d_nope as a pipeline constant, so the row loop has a constant trip count
// the driver unrolls with every load issued up front. 0 reads it from the uniforms (software drivers).
override KR: u32 = 0u;
// FUSE (decode, one token, q = the fused projection row [q (nh·dq) ‖ c (d_c) ‖ k_rope (d_rope)]): the
// work of rope_store rides along in this dispatch. Workgroups x = 0 rotate q_rope (GPT-J pairs) as they
// copy it, and one extra row of workgroups (y = nh, x = 0) RMS-normalises the latent c, rotates k_rope
// and stores [c ‖ k_rope] into the cache row: one dispatch per layer less.
override FUSE: bool = false;
override KV_F16: bool = true; // the cache's format (FUSE)
override WGS: u32 = RS * CO;
override M: u32 = CO * 8u * NT; // outputs per workgroup: [NT tokens, CO·8 columns]

struct Params {
  n: u32,
  nh: u32,
  d_nope: u32,
  d_rope: u32,
  d_v: u32,
  d_c: u32,
  pos: u32,        // FUSE: the token's position
  cache_base: u32, // FUSE: first element of its cache row
  theta: f32,      // FUSE: RoPE base
  eps: f32,        // FUSE: the latent's RMSNorm epsilon
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [n, nh, d_nope + d_rope] f32 (rope applied)
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;    // kv_b_proj [nh·(d_nope+d_v), d_c], f16 pairs or f32
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [n, nh, d_c + d_rope] f32

@group(0) @binding(4) var<storage, read_write> cache: array<u32>; // FUSE: latent cache, f16 pairs or f32 bits
@group(0) @binding(5) var<storage, read> nw: array<u32>;            // FUSE: kv_a_layernorm weight [d_c], like w

var<workgroup> part: array<f32, RS * M>; // [RS row slices, M outputs] partial sums

// Rotation of GPT-J pair i of a d_rope-wide slice at the token's position.
fn rot(x0: f32, x1: f32, i: u32) -> vec2f {
  return rope_turn(x0, x1, p.pos, i, p.d_rope, p.theta); // kernels/common/rope_angle.wgsl
}

fn nload(i: u32) -> f32 {
  if (W_F16) {
    return unpack2x16float(nw[i >> 1u])[i & 1u];
  }
  return bitcast<f32>(nw[i]);
}

fn store_pair(d: u32, v: vec2f) {
  if (KV_F16) {
    cache[d / 2u] = pack2x16float(v);
  } else {
    cache[d] = bitcast<u32>(v.x);
    cache[d + 1u] = bitcast<u32>(v.y);
  }
}

// FUSE, workgroup (0, nh): the cache row of the token, [RMSNorm(c)·g ‖ rope(k_rope)].
fn store_row(tid: u32) {
  let base = p.nh * (p.d_nope + p.d_rope); // c starts here in the fused row
  var ss = 0.0;
  for (var j = tid; j < p.d_c; j += WGS) {
    let v = q[base + j];
    ss += v * v;
  }
  part[tid] = ss;
  workgroupBarrier();
  for (var w = WGS / 2u; w > 0u; w >>= 1u) {
    if (tid < w) {
      part[tid] += part[tid + w];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(part[0] / f32(p.d_c) + p.eps);
  for (var j = 2u * tid; j < p.d_c; j += 2u * WGS) {
    store_pair(p.cache_base + j, vec2f(q[base + j] * scale * nload(j), q[base + j + 1u] * scale * nload(j + 1u)));
  }
  for (var i = tid; i < p.d_rope / 2u; i += WGS) {
    let e = base + p.d_c + 2u * i;
    store_pair(p.cache_base + p.d_c + 2u * i, rot(q[e], q[e + 1u], i));
  }
}

// W8, load8, store8, fma8, slice_sum: kernels/common/row_slices.wgsl (appended by the op).

@compute @workgroup_size(WGS)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let t0 = wg.z * NT;
  let nt = min(NT, p.n - t0);
  let dq = p.d_nope + p.d_rope;
  let dout = p.d_c + p.d_rope;

  if (FUSE && h == p.nh) {
    // The extra row of workgroups: x = 0 writes the cache row, the rest have nothing to do.
    if (wg.x == 0u) {
      store_row(tid);
    }
    return;
  }
  if (wg.x == 0u) {
    if (FUSE) {
      // One token: q_rope turns here (GPT-J pairs) on its way through.
      for (var i = tid; i < p.d_rope / 2u; i += WGS) {
        let e = h * dq + p.d_nope + 2u * i;
        let r = rot(q[e], q[e + 1u], i);
        out[h * dout + p.d_c + 2u * i] = r.x;
        out[h * dout + p.d_c + 2u * i + 1u] = r.y;
      }
    } else {
      // The rope part passes through unchanged.
      for (var e = tid; e < nt * p.d_rope; e += WGS) {
        let t = e / p.d_rope;
        let j = e % p.d_rope;
        out[((t0 + t) * p.nh + h) * dout + p.d_c + j] = q[((t0 + t) * p.nh + h) * dq + p.d_nope + j];
      }
    }
  }

  let co = tid % CO;
  let rs = tid / CO;
  let c = (wg.x * CO + co) * 8u; // first of this thread's 8 columns
  let valid = select(0u, min(8u, p.d_c - c), c < p.d_c);
  let cc = select(0u, c, c < p.d_c); // columns past the end read column 0 and store nothing
  let row0 = h * (p.d_nope + p.d_v);
  // q_nope of token t (clamped to the last real token: padding tokens compute and store nothing)
  let qb0 = (t0 * p.nh + h) * dq;
  let qb1 = ((t0 + min(1u, nt - 1u)) * p.nh + h) * dq;
  let qb2 = ((t0 + min(2u, nt - 1u)) * p.nh + h) * dq;
  let qb3 = ((t0 + min(3u, nt - 1u)) * p.nh + h) * dq;
  var a0 = W8(vec4f(0.0), vec4f(0.0));
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  let kr = select(p.d_nope, KR, KR > 0u);
  let kpt = (kr + RS - 1u) / RS;
  for (var k = 0u; k < kpt; k++) {
    let r = rs + k * RS;
    if (r < kr) {
      let wv = load8((row0 + r) * p.d_c + cc, valid);
      a0 = fma8(a0, q[qb0 + r], wv);
      if (NT > 1u) {
        a1 = fma8(a1, q[qb1 + r], wv);
      }
      if (NT > 2u) {
        a2 = fma8(a2, q[qb2 + r], wv);
      }
      if (NT > 3u) {
        a3 = fma8(a3, q[qb3 + r], wv);
      }
    }
  }
  let pb = rs * M + co * 8u;
  store8(pb, a0);
  if (NT > 1u) {
    store8(pb + CO * 8u, a1);
  }
  if (NT > 2u) {
    store8(pb + 2u * CO * 8u, a2);
  }
  if (NT > 3u) {
    store8(pb + 3u * CO * 8u, a3);
  }
  workgroupBarrier();

  // Output i = (token, column) sums its RS slices (four independent chains).
  for (var i = tid; i < M; i += WGS) {
    let s = slice_sum(i);
    let t = i / (CO * 8u);
    let col = wg.x * CO * 8u + i % (CO * 8u);
    if (t < nt && col < p.d_c) {
      out[((t0 + t) * p.nh + h) * dout + col] = s;
    }
  }
}

// ---- Prefill chunks: main_tokens ----
// The former kernel, kept for prefill chunks past a few tokens: one invocation per output column pair
// for TT tokens, the whole d_nope sum in the thread (no workgroup reduction), q_nope of the TT tokens
// in workgroup memory, each weight pair loaded once (4 bytes) for all of them. H200 (small-kbench):
// n = 32, 512 in 13.3, 71 µs, against 17, 147+ for the best splits of `main`. Its weights are read
// through a 4-byte view of binding 2 (w1), as before: the same loop reading them through the 16-byte
// view `w` (a component of a vec4 each) measured 4x slower at n = 4 (58 against 14 µs).

override DNOPE: u32 = 128u; // = d_nope, main_tokens' row loop (a constant: it unrolls)

@group(0) @binding(2) var<storage, read> w1: array<u32>; // kv_b_proj as above, 4-byte view (main_tokens only)

fn load_w1(idx: u32) -> vec2f {
  if (W_F16) {
    return unpack2x16float(w1[idx / 2u]);
  }
  return vec2f(bitcast<f32>(w1[idx]), bitcast<f32>(w1[idx + 1u]));
}

const WGT: u32 = 64u;
const TT: u32 = 4u;         // tokens per workgroup
const MAX_NOPE: u32 = 256u;

var<workgroup> qn: array<f32, TT * MAX_NOPE>; // q_nope of TT tokens

@compute @workgroup_size(WGT)
fn main_tokens(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let t0 = wg.z * TT;
  let nt = min(TT, p.n - t0);
  let dq = p.d_nope + p.d_rope;
  let dout = p.d_c + p.d_rope;
  for (var e = tid; e < TT * p.d_nope; e += WGT) {
    let t = e / p.d_nope;
    var x = 0.0;
    if (t < nt) {
      x = q[((t0 + t) * p.nh + h) * dq + e % p.d_nope];
    }
    qn[t * MAX_NOPE + e % p.d_nope] = x;
  }
  workgroupBarrier();

  let c = (wg.x * WGT + tid) * 2u; // output column pair
  if (c >= dout) {
    return;
  }
  if (c >= p.d_c) {
    // The rope part passes through unchanged.
    for (var t = 0u; t < nt; t++) {
      let src = ((t0 + t) * p.nh + h) * dq + p.d_nope + c - p.d_c;
      let dst = ((t0 + t) * p.nh + h) * dout + c;
      out[dst] = q[src];
      out[dst + 1u] = q[src + 1u];
    }
    return;
  }
  var acc: array<vec2f, TT>;
  for (var t = 0u; t < TT; t++) {
    acc[t] = vec2f(0.0);
  }
  let row0 = h * (p.d_nope + p.d_v);
  for (var r = 0u; r < DNOPE; r++) {
    let wv = load_w1((row0 + r) * p.d_c + c);
    for (var t = 0u; t < TT; t++) {
      acc[t] += qn[t * MAX_NOPE + r] * wv;
    }
  }
  for (var t = 0u; t < nt; t++) {
    let dst = ((t0 + t) * p.nh + h) * dout + c;
    out[dst] = acc[t].x;
    out[dst + 1u] = acc[t].y;
  }
}
