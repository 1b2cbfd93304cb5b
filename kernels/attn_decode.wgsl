// Flash-decoding, split-K: one query token (the newest, seeing all t cache rows) per head. Workgroup
// (split s, head unit u, head block b) reads rows [s·chunk, min(t, (s+1)·chunk)) of its unit's key and
// value heads ONCE and serves the GB query heads of its block from them; the result is an unnormalised
// partial (o, m, l) that attn_decode_combine merges over the splits.
//
// Keys: staged through workgroup memory in [BK keys × DC dims] chunks (coalesced), dotted with the
// queries held in workgroup memory. Values: read straight from the cache, each thread owning one or more
// column pairs (a u32 of f16) for all GB heads; when a value row has fewer pairs than threads, KG groups
// of threads take interleaved keys and are summed at the end.
// Head layout (units, hpk, hpv) and cache views are those of attn_prefill.wgsl.

override KV_F16: bool = true;
override DK: u32 = 64u;
override DV: u32 = 64u;
override GB: u32 = 4u;      // query heads per workgroup
override KG: u32 = 1u;      // key groups in the value phase, ≤ min(4, WG / (DV/2))
override NP: u32 = 1u;      // column pairs per thread = ceil((DV/2) / WG); GB·NP ≤ 16
override QS_LEN: u32 = 256u; // GB · max(DK, DV): queries, then the key-group reduction

const WG: u32 = 128u;
const BK: u32 = 32u;
const DC: u32 = 64u;
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
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;        // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;       // K cache
@group(0) @binding(3) var<storage, read> vc: array<u32>;       // V cache
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)

var<workgroup> qs: array<f32, QS_LEN>;    // [GB, DK] queries; at the end [GB, DV] key-group sums
var<workgroup> ks: array<f32, BK * DC>;   // key chunk [BK, DC]
var<workgroup> ss: array<f32, GB * BK>;   // scores, then probabilities [GB, BK]
var<workgroup> hm: array<f32, GB>;        // running max per head
var<workgroup> hl: array<f32, GB>;        // running sum per head
var<workgroup> ha: array<f32, GB>;        // rescale of this tile

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
  let g0 = wg.z * GB;                     // first head of this block within the unit
  let ng = min(GB, p.gu - g0);            // heads in this block
  let h0 = wg.y * p.gu + g0;              // first query head
  let kh = h0 / p.hpk;
  let vh = h0 / p.hpv;
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);

  for (var e = tid; e < GB * DK; e += WG) {
    let g = e / DK;
    var x = 0.0;
    if (g < ng) {
      x = q[(h0 + g) * DK + e % DK];
    }
    qs[e] = x;
  }
  if (tid < GB) {
    hm[tid] = NEG;
    hl[tid] = 0.0;
  }

  // Value phase layout: TPG threads per key group, each owning pairs lane + TPG·i.
  let pairs = DV / 2u;
  let tpg = min(pairs, WG);
  let kg = tid / tpg;
  let lane = tid % tpg;
  var acc: array<vec2<f32>, 16>; // [GB, NP] column pairs
  for (var i = 0u; i < 16u; i++) {
    acc[i] = vec2<f32>(0.0);
  }
  workgroupBarrier();

  for (var k0 = j_begin; k0 < j_end; k0 += BK) {
    let nk = min(BK, j_end - k0);
    var s: array<f32, 4>; // (GB·BK) / WG ≤ 4 score slots per thread
    for (var i = 0u; i < 4u; i++) {
      s[i] = 0.0;
    }
    for (var c0 = 0u; c0 < DK; c0 += DC) {
      let dlen = min(DC, DK - c0);
      for (var e = tid; e < BK * DC / 2u; e += WG) {
        let kk = e / (DC / 2u);
        let d = (e % (DC / 2u)) * 2u;
        var x = vec2<f32>(0.0);
        if (kk < nk && d < dlen) {
          x = load_k((k0 + kk) * p.k_row + kh * p.k_head + p.k_off + c0 + d);
        }
        ks[kk * DC + d] = x.x;
        ks[kk * DC + d + 1u] = x.y;
      }
      workgroupBarrier();
      for (var i = 0u; i < 4u; i++) {
        let e = tid + WG * i;
        if (e < GB * BK) {
          let g = e / BK;
          let kk = e % BK;
          var dot = 0.0;
          for (var d = 0u; d < dlen; d++) {
            dot += qs[g * DK + c0 + d] * ks[kk * DC + d];
          }
          s[i] += dot;
        }
      }
      workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
      let e = tid + WG * i;
      if (e < GB * BK) {
        ss[e] = select(NEG, s[i] * p.scale, e % BK < nk);
      }
    }
    workgroupBarrier();

    if (tid < GB) {
      let m_old = hm[tid];
      var m_new = m_old;
      for (var kk = 0u; kk < nk; kk++) {
        m_new = max(m_new, ss[tid * BK + kk]);
      }
      var sum = 0.0;
      for (var kk = 0u; kk < BK; kk++) {
        let pk = select(0.0, exp(ss[tid * BK + kk] - m_new), kk < nk);
        ss[tid * BK + kk] = pk;
        sum += pk;
      }
      let alpha = exp(m_old - m_new);
      ha[tid] = alpha;
      hm[tid] = m_new;
      hl[tid] = hl[tid] * alpha + sum;
    }
    workgroupBarrier();

    if (kg < KG) {
      for (var g = 0u; g < GB; g++) {
        let alpha = ha[g];
        for (var i = 0u; i < NP; i++) {
          acc[g * NP + i] *= alpha;
        }
      }
      for (var kk = kg; kk < nk; kk += KG) {
        let row = (k0 + kk) * p.v_row + vh * p.v_head + p.v_off;
        for (var i = 0u; i < NP; i++) {
          let pi = lane + tpg * i;
          if (pi < pairs) {
            let v = load_v(row + 2u * pi);
            for (var g = 0u; g < GB; g++) {
              acc[g * NP + i] += ss[g * BK + kk] * v;
            }
          }
        }
      }
    }
    workgroupBarrier();
  }

  // Partial results: o unnormalised (relative to this split's max), then (m, l).
  let ml_base = p.n_splits * p.hq * DV;
  if (tid < ng) {
    let mi = ml_base + (split * p.hq + h0 + tid) * 2u;
    part[mi] = hm[tid];
    part[mi + 1u] = hl[tid];
  }
  if (KG == 1u) {
    for (var g = 0u; g < ng; g++) {
      for (var i = 0u; i < NP; i++) {
        let pi = lane + tpg * i;
        if (pi < pairs) {
          let o = (split * p.hq + h0 + g) * DV + 2u * pi;
          part[o] = acc[g * NP + i].x;
          part[o + 1u] = acc[g * NP + i].y;
        }
      }
    }
  } else {
    // Sum the key groups through workgroup memory, one group at a time (KG is small: DV < 256 only).
    for (var r = 0u; r < KG; r++) {
      if (kg == r) {
        for (var g = 0u; g < GB; g++) {
          let o = g * DV + 2u * lane;
          if (r == 0u) {
            qs[o] = acc[g].x;
            qs[o + 1u] = acc[g].y;
          } else {
            qs[o] += acc[g].x;
            qs[o + 1u] += acc[g].y;
          }
        }
      }
      workgroupBarrier();
    }
    for (var e = tid; e < ng * DV; e += WG) {
      part[(split * p.hq + h0) * DV + e] = qs[e];
    }
  }
}
