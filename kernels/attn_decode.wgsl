// Flash-decoding, split-K: one query token (the newest, seeing all t cache rows) per head. Workgroup
// (split s, head unit u, head block b) reads rows [s·chunk, min(t, (s+1)·chunk)) of its unit's key and
// value heads ONCE and serves the GB query heads of its block from them; the result is an unnormalised
// partial (o, m, l) that attn_decode_combine merges over the splits.
//
// Keys and values are staged through workgroup memory in [BK rows × DC columns] chunks: every thread
// issues a fixed number of independent coalesced loads per chunk (loops with constant trip counts, so
// the driver unrolls them and keeps loads in flight), then computes from workgroup memory.
// Head layout (units, hpk, hpv) and cache views are those of attn_prefill.wgsl.

override KV_F16: bool = true;
override DK: u32 = 64u;
override DV: u32 = 64u;
override GB: u32 = 4u;        // query heads per workgroup, ≤ 16
override OPT: u32 = 2u;       // outputs per thread per value chunk = ceil(GB·DC / WG); ceil(DV/DC)·OPT ≤ ACC
override QS_LEN: u32 = 320u;  // GB·DK + DC (a chunk may read past the last head's query, times zero keys)
// Constant inner loop bounds (DC, BK) on hardware drivers, which then unroll and overlap the
// workgroup-memory loads; the uniforms' copies on software drivers (see Params.dc).
override UNROLL: bool = false;

const WG: u32 = 128u;
const BK: u32 = 32u;
const DC: u32 = 64u;
const DCP: u32 = DC + 1u; // padded row stride of ks: threads of a warp read different rows, one bank each
const ACC: u32 = 32u;
const SLOTS: u32 = 4u; // score slots per thread: GB·BK ≤ SLOTS·WG
const NEG: f32 = -3.0e38;

struct Params {
  t: u32,      // cache rows to attend (the new token's own row included)
  chunk: u32,  // rows per split, a multiple of BK
  hq: u32,
  gu: u32,
  hpk: u32,
  hpv: u32,
  k_row: u32,
  k_head: u32,
  k_off: u32,
  v_row: u32,
  v_head: u32,
  v_off: u32,
  scale: f32,
  n_splits: u32,
  // DC and BK again, as loop bounds the compiler cannot see: fully unrolled inner loops made lavapipe's
  // compile of this shader take tens of seconds. On an H200 the same runtime bounds left the inner
  // loops as serial load-then-FMA chains (PLM-1.8B: 0.5 ms of attention per layer at 8192 rows).
  dc: u32,
  bk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;         // K cache
@group(0) @binding(3) var<storage, read> vc: array<u32>;         // V cache
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)

var<workgroup> qs: array<f32, QS_LEN>;  // queries [GB, DK]
var<workgroup> ks: array<f32, BK * DCP>; // key or value chunk [BK, DC], rows padded to DCP
var<workgroup> ss: array<f32, GB * BK>; // scores, then probabilities [GB, BK]
var<workgroup> hm: array<f32, GB>;      // running max per head
var<workgroup> hl: array<f32, GB>;      // running sum per head
var<workgroup> ha: array<f32, GB>;      // rescale of this tile

fn load_k(idx: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(kc[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(kc[idx]), bitcast<f32>(kc[idx + 1u]));
}

fn load_v(idx: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(vc[idx / 2u]);
  }
  return vec2<f32>(bitcast<f32>(vc[idx]), bitcast<f32>(vc[idx + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let split = wg.x;
  let g0 = wg.z * GB;            // first head of this block within the unit
  let ng = min(GB, p.gu - g0);   // heads in this block
  let h0 = wg.y * p.gu + g0;     // first query head
  let kh = h0 / p.hpk;
  let vh = h0 / p.hpv;
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);
  let dc = select(p.dc, DC, UNROLL);
  let bk = select(p.bk, BK, UNROLL);

  for (var e = tid; e < QS_LEN; e += WG) {
    var x = 0.0;
    if (e < ng * DK) {
      x = q[h0 * DK + e];
    }
    qs[e] = x;
  }
  if (tid < GB) {
    hm[tid] = NEG;
    hl[tid] = 0.0;
  }
  var acc: array<f32, ACC>; // acc[c·OPT + i]: value chunk c, output tid + WG·i of that chunk
  for (var i = 0u; i < ACC; i++) {
    acc[i] = 0.0;
  }
  workgroupBarrier();

  for (var k0 = j_begin; k0 < j_end; k0 += BK) {
    let nk = min(BK, j_end - k0);
    var s: array<f32, SLOTS>; // slot i: head (tid + WG·i) / BK, key (tid + WG·i) % BK
    for (var i = 0u; i < SLOTS; i++) {
      s[i] = 0.0;
    }
    for (var c0 = 0u; c0 < DK; c0 += DC) {
      for (var e = tid; e < BK * DC / 2u; e += WG) {
        let kk = e / (DC / 2u);
        let d = (e % (DC / 2u)) * 2u;
        var x = vec2<f32>(0.0);
        if (kk < nk && c0 + d < DK) {
          x = load_k((k0 + kk) * p.k_row + kh * p.k_head + p.k_off + c0 + d);
        }
        ks[kk * DCP + d] = x.x;
        ks[kk * DCP + d + 1u] = x.y;
      }
      workgroupBarrier();
      for (var i = 0u; i < SLOTS; i++) {
        let e = tid + WG * i;
        if (e < GB * BK) {
          let qo = (e / BK) * DK + c0;
          let ko = (e % BK) * DCP;
          var dot = 0.0;
          for (var d = 0u; d < dc; d++) {
            dot += qs[qo + d] * ks[ko + d];
          }
          s[i] += dot;
        }
      }
      workgroupBarrier();
    }
    for (var i = 0u; i < SLOTS; i++) {
      let e = tid + WG * i;
      if (e < GB * BK) {
        ss[e] = select(NEG, s[i] * p.scale, e % BK < nk);
      }
    }
    workgroupBarrier();

    // Online softmax, all threads: each slot finds its head's new max, then turns its score into p.
    var m_new: array<f32, SLOTS>;
    for (var i = 0u; i < SLOTS; i++) {
      let e = tid + WG * i;
      if (e < GB * BK) {
        let g = e / BK;
        var m = hm[g];
        for (var kk = 0u; kk < bk; kk++) {
          m = max(m, ss[g * BK + kk]);
        }
        m_new[i] = m;
      }
    }
    workgroupBarrier();
    for (var i = 0u; i < SLOTS; i++) {
      let e = tid + WG * i;
      if (e < GB * BK) {
        let g = e / BK;
        ss[e] = select(0.0, exp(ss[e] - m_new[i]), e % BK < nk);
        if (e % BK == 0u) {
          ha[g] = exp(hm[g] - m_new[i]);
          hm[g] = m_new[i];
        }
      }
    }
    workgroupBarrier();
    if (tid < GB) {
      var sum = 0.0;
      for (var kk = 0u; kk < bk; kk++) {
        sum += ss[tid * BK + kk];
      }
      hl[tid] = hl[tid] * ha[tid] + sum;
    }

    for (var c = 0u; c * DC < DV; c++) {
      let c0 = c * DC;
      for (var e = tid; e < BK * DC / 2u; e += WG) {
        let kk = e / (DC / 2u);
        let d = (e % (DC / 2u)) * 2u;
        var x = vec2<f32>(0.0);
        if (kk < nk && c0 + d < DV) {
          x = load_v((k0 + kk) * p.v_row + vh * p.v_head + p.v_off + c0 + d);
        }
        ks[kk * DCP + d] = x.x;
        ks[kk * DCP + d + 1u] = x.y;
      }
      workgroupBarrier();
      for (var i = 0u; i < OPT; i++) {
        let o = tid + WG * i;
        let g = o / DC;
        if (g < GB) {
          let col = o % DC;
          var a = acc[c * OPT + i] * ha[g];
          for (var kk = 0u; kk < bk; kk++) {
            a += ss[g * BK + kk] * ks[kk * DCP + col];
          }
          acc[c * OPT + i] = a;
        }
      }
      workgroupBarrier();
    }
  }

  // Partial results: o unnormalised (relative to this split's max), then (m, l).
  if (tid < ng) {
    let mi = p.n_splits * p.hq * DV + (split * p.hq + h0 + tid) * 2u;
    part[mi] = hm[tid];
    part[mi + 1u] = hl[tid];
  }
  for (var c = 0u; c * DC < DV; c++) {
    for (var i = 0u; i < OPT; i++) {
      let o = tid + WG * i;
      let g = o / DC;
      let col = c * DC + o % DC;
      if (g < ng && col < DV) {
        part[(split * p.hq + h0 + g) * DV + col] = acc[c * OPT + i];
      }
    }
  }
}
