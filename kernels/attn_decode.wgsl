// Flash-decoding, split-K: one query token (the newest, seeing all t cache rows) per head. Workgroup
// (split s, head unit u, head block b) walks rows [s·chunk, min(t, (s+1)·chunk)) of its unit's key and
// value heads in tiles of BK rows and serves the G query heads of its block from each tile; the result
// is an unnormalised partial (o, m, l) that attn_decode_combine merges over the splits.
//
// Per tile:
//   0. the tile's cache words, loaded into registers while the previous tile was computed (coalesced:
//      consecutive threads, consecutive words), are converted to f32 once and stored in workgroup
//      memory: ks [BK, KS2] and vs [BK, DV/2] pairs;
//   1. scores: thread slot (head g, row r) dots qs[g] with ks[r] (rows padded to an odd number of pairs,
//      so the rows a half-warp reads sit in distinct banks; qs reads are broadcasts);
//   2. softmax: every slot thread reads its head's BK scores for the new running max (kept in its
//      registers: the slot mapping is fixed) and writes its row's probability; row 0's slot writes the
//      head's rescale factor;
//   3. P·V: thread (column pair, head set) keeps up to four (head, column pair) sums of o and their l.
// No per-thread state is an array: NVIDIA's compiler keeps a dynamically indexed array in local memory,
// and a loop it does not unroll then waits for each load in turn. A first version of this kernel that
// kept the tile's words and its sums in arrays took 10–15 µs per tile on an H200, this one about 4 µs
// per tile (attn-kbench). Per-thread values live in named scalars and vectors, selected by override
// constants; only workgroup memory is indexed by loop counters.
// Head layout (units, hpk, hpv) and cache views are those of attn_prefill.wgsl.

override KV_F16: bool = true;
override DK: u32 = 64u;    // key width, even
override DV: u32 = 64u;    // value width, even
override G: u32 = 4u;      // query heads per workgroup, ≤ 16
override BK: u32 = 32u;    // rows per tile
override KS2: u32 = 33u;   // row stride of qs and ks in pairs: DK/2 rounded up to odd
override SLOTS: u32 = 1u;  // score slots per thread: ceil(G·BK / WG) ≤ 2
override CW: u32 = 32u;    // column pairs per head set: min(DV/2, WG)
override HS: u32 = 4u;     // head sets in P·V: WG / CW (1 when DV/2 ≥ WG)
override GPT: u32 = 1u;    // heads per P·V thread: ceil(G / HS)
override CPT: u32 = 1u;    // column pairs per P·V thread: ceil(DV/2 / CW); GPT·CPT ≤ 4
override NWK: u32 = 8u;    // key words per thread per tile: ceil(BK·KW / WG) ≤ 12
override NWV: u32 = 8u;    // value words per thread per tile: ceil(BK·VW / WG) ≤ 8
// Constant loop bounds on hardware drivers; the uniforms' copies on software drivers, where full
// unrolls make shader compiles take tens of seconds.
override UNROLL: bool = false;
override KW: u32 = select(DK, DK / 2u, KV_F16); // cache words per key row
override VW: u32 = select(DV, DV / 2u, KV_F16); // cache words per value row

const WG: u32 = 128u;
const NEG: f32 = -3.0e38;

struct Params {
  t: u32,      // cache rows to attend (the new token's own row included)
  chunk: u32,  // rows per split, a multiple of 16
  hq: u32,
  gu: u32,
  hpk: u32,
  hpv: u32,
  k_row: u32,  // cache views, elements
  k_head: u32,
  k_off: u32,
  v_row: u32,
  v_head: u32,
  v_off: u32,
  scale: f32,
  n_splits: u32,
  dk2: u32,    // DK/2 and BK again, as loop bounds the compiler cannot see (software drivers)
  bk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;         // K cache
@group(0) @binding(3) var<storage, read> vc: array<u32>;         // V cache
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)

var<workgroup> qs: array<vec2<f32>, G * KS2>;       // queries [G, KS2] (pairs)
var<workgroup> ks: array<vec2<f32>, BK * KS2>;      // key tile [BK, KS2]
var<workgroup> vs: array<vec2<f32>, BK * DV / 2u>;  // value tile [BK, DV/2]
var<workgroup> ss: array<f32, G * BK>;              // scaled scores [G, BK]
var<workgroup> ps: array<f32, G * BK>;              // probabilities [G, BK]
var<workgroup> ha: array<f32, G>;                   // this tile's rescale of o and l per head

// Key word `s` of this thread (tile word tid + WG·s) of the tile at row k0 with nk live rows; rows past
// nk (and words past the tile) read row nk − 1 and give zero. kb: the key head's first element.
fn kword(s: u32, tid: u32, k0: u32, nk: u32, kb: u32) -> u32 {
  if (s >= NWK) {
    return 0u;
  }
  let e = tid + WG * s;
  let r = e / KW;
  let el = (k0 + min(r, nk - 1u)) * p.k_row + kb;
  let w = select(el, el / 2u, KV_F16) + e % KW;
  return select(0u, kc[w], r < nk);
}

fn vword(s: u32, tid: u32, k0: u32, nk: u32, vb: u32) -> u32 {
  if (s >= NWV) {
    return 0u;
  }
  let e = tid + WG * s;
  let r = e / VW;
  let el = (k0 + min(r, nk - 1u)) * p.v_row + vb;
  let w = select(el, el / 2u, KV_F16) + e % VW;
  return select(0u, vc[w], r < nk);
}

// Stores key word `s` as f32: a pair (f16 cache) or one element (f32 cache).
fn kstore(s: u32, tid: u32, w: u32) {
  let e = tid + WG * s;
  if (s < NWK && e < BK * KW) {
    let r = e / KW;
    let c = e % KW;
    if (KV_F16) {
      ks[r * KS2 + c] = unpack2x16float(w);
    } else {
      ks[r * KS2 + c / 2u][c % 2u] = bitcast<f32>(w);
    }
  }
}

fn vstore(s: u32, tid: u32, w: u32) {
  let e = tid + WG * s;
  if (s < NWV && e < BK * VW) {
    if (KV_F16) {
      vs[e] = unpack2x16float(w);
    } else {
      vs[e / 2u][e % 2u] = bitcast<f32>(w);
    }
  }
}

// q·k of slot e (head e / BK, row e % BK), scaled; NEG for rows past nk.
fn score(e: u32, nk: u32, dk2: u32) -> f32 {
  let qo = (e / BK) * KS2;
  let ko = (e % BK) * KS2;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var c = 0u;
  for (; c + 3u < dk2; c += 4u) {
    s0 += dot(qs[qo + c], ks[ko + c]);
    s1 += dot(qs[qo + c + 1u], ks[ko + c + 1u]);
    s2 += dot(qs[qo + c + 2u], ks[ko + c + 2u]);
    s3 += dot(qs[qo + c + 3u], ks[ko + c + 3u]);
  }
  for (; c < dk2; c++) {
    s0 += dot(qs[qo + c], ks[ko + c]);
  }
  return select(NEG, ((s0 + s1) + (s2 + s3)) * p.scale, e % BK < nk);
}

// Online softmax of slot e: returns the head's new running max (from m), writes the row's probability
// and, for row 0, the head's rescale factor.
fn softmax(e: u32, m: f32, nk: u32, bk: u32) -> f32 {
  let g = e / BK;
  var m_new = m;
  for (var r = 0u; r < bk; r++) {
    m_new = max(m_new, ss[g * BK + r]);
  }
  ps[e] = select(0.0, exp(ss[e] - m_new), e % BK < nk);
  if (e % BK == 0u) {
    ha[g] = exp(m - m_new);
  }
  return m_new;
}

// Head and column pair of P·V sum k of a thread, clamped into range (a clamped sum is never written).
fn pv_head(k: u32, hs: u32) -> u32 {
  return min(hs + HS * (k / CPT), G - 1u);
}

fn pv_col(k: u32, cw: u32) -> u32 {
  return min(cw + CW * (k % CPT), DV / 2u - 1u);
}

fn put(k: u32, split: u32, h0: u32, ng: u32, hs: u32, cw: u32, a: vec2<f32>, l: f32) {
  let g = hs + HS * (k / CPT);
  let c = cw + CW * (k % CPT);
  if (k < GPT * CPT && hs < HS && g < ng && c < DV / 2u) {
    let o = (split * p.hq + h0 + g) * DV + 2u * c;
    part[o] = a.x;
    part[o + 1u] = a.y;
    if (c == 0u) {
      part[p.n_splits * p.hq * DV + (split * p.hq + h0 + g) * 2u + 1u] = l;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let split = wg.x;
  let g0 = wg.z * G;             // first head of this block within the unit
  let ng = min(G, p.gu - g0);    // heads in this block
  let h0 = wg.y * p.gu + g0;     // first query head
  let kb = (h0 / p.hpk) * p.k_head + p.k_off;
  let vb = (h0 / p.hpv) * p.v_head + p.v_off;
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);
  let dk2 = select(p.dk2, DK / 2u, UNROLL);
  let bk = select(p.bk, BK, UNROLL);

  for (var e = tid; e < G * (DK / 2u); e += WG) {
    let g = e / (DK / 2u);
    let c = e % (DK / 2u);
    var x = vec2<f32>(0.0);
    if (g < ng) {
      x = vec2<f32>(q[(h0 + g) * DK + 2u * c], q[(h0 + g) * DK + 2u * c + 1u]);
    }
    qs[g * KS2 + c] = x;
  }
  var m0 = NEG; // running max of slots 0 and 1
  var m1 = NEG;
  // P·V sums k = 0..3: head pv_head(k), column pair pv_col(k).
  let cw = tid % CW;
  let hs = min(tid / CW, HS - 1u); // threads past HS·CW repeat the last set and write nothing
  let ga = vec4<u32>(pv_head(0u, hs), pv_head(1u, hs), pv_head(2u, hs), pv_head(3u, hs));
  let ca = vec4<u32>(pv_col(0u, cw), pv_col(1u, cw), pv_col(2u, cw), pv_col(3u, cw));
  let nacc = GPT * CPT;
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var l = vec4<f32>(0.0);

  // The tile's words: keys in kA..kC (words 0..11 of the thread), values in vA, vB.
  var nk = min(BK, j_end - j_begin);
  var kA = vec4<u32>(kword(0u, tid, j_begin, nk, kb), kword(1u, tid, j_begin, nk, kb), kword(2u, tid, j_begin, nk, kb), kword(3u, tid, j_begin, nk, kb));
  var kB = vec4<u32>(kword(4u, tid, j_begin, nk, kb), kword(5u, tid, j_begin, nk, kb), kword(6u, tid, j_begin, nk, kb), kword(7u, tid, j_begin, nk, kb));
  var kC = vec4<u32>(kword(8u, tid, j_begin, nk, kb), kword(9u, tid, j_begin, nk, kb), kword(10u, tid, j_begin, nk, kb), kword(11u, tid, j_begin, nk, kb));
  var vA = vec4<u32>(vword(0u, tid, j_begin, nk, vb), vword(1u, tid, j_begin, nk, vb), vword(2u, tid, j_begin, nk, vb), vword(3u, tid, j_begin, nk, vb));
  var vB = vec4<u32>(vword(4u, tid, j_begin, nk, vb), vword(5u, tid, j_begin, nk, vb), vword(6u, tid, j_begin, nk, vb), vword(7u, tid, j_begin, nk, vb));

  for (var k0 = j_begin; k0 < j_end; k0 += BK) {
    nk = min(BK, j_end - k0);
    kstore(0u, tid, kA.x);
    kstore(1u, tid, kA.y);
    kstore(2u, tid, kA.z);
    kstore(3u, tid, kA.w);
    kstore(4u, tid, kB.x);
    kstore(5u, tid, kB.y);
    kstore(6u, tid, kB.z);
    kstore(7u, tid, kB.w);
    kstore(8u, tid, kC.x);
    kstore(9u, tid, kC.y);
    kstore(10u, tid, kC.z);
    kstore(11u, tid, kC.w);
    vstore(0u, tid, vA.x);
    vstore(1u, tid, vA.y);
    vstore(2u, tid, vA.z);
    vstore(3u, tid, vA.w);
    vstore(4u, tid, vB.x);
    vstore(5u, tid, vB.y);
    vstore(6u, tid, vB.z);
    vstore(7u, tid, vB.w);
    workgroupBarrier();
    // The next tile's words load while this one is computed.
    let kn = k0 + BK;
    if (kn < j_end) {
      let nn = min(BK, j_end - kn);
      kA = vec4<u32>(kword(0u, tid, kn, nn, kb), kword(1u, tid, kn, nn, kb), kword(2u, tid, kn, nn, kb), kword(3u, tid, kn, nn, kb));
      kB = vec4<u32>(kword(4u, tid, kn, nn, kb), kword(5u, tid, kn, nn, kb), kword(6u, tid, kn, nn, kb), kword(7u, tid, kn, nn, kb));
      kC = vec4<u32>(kword(8u, tid, kn, nn, kb), kword(9u, tid, kn, nn, kb), kword(10u, tid, kn, nn, kb), kword(11u, tid, kn, nn, kb));
      vA = vec4<u32>(vword(0u, tid, kn, nn, vb), vword(1u, tid, kn, nn, vb), vword(2u, tid, kn, nn, vb), vword(3u, tid, kn, nn, vb));
      vB = vec4<u32>(vword(4u, tid, kn, nn, vb), vword(5u, tid, kn, nn, vb), vword(6u, tid, kn, nn, vb), vword(7u, tid, kn, nn, vb));
    }

    if (tid < G * BK) {
      ss[tid] = score(tid, nk, dk2);
    }
    if (SLOTS > 1u && tid + WG < G * BK) {
      ss[tid + WG] = score(tid + WG, nk, dk2);
    }
    workgroupBarrier();

    if (tid < G * BK) {
      m0 = softmax(tid, m0, nk, bk);
    }
    if (SLOTS > 1u && tid + WG < G * BK) {
      m1 = softmax(tid + WG, m1, nk, bk);
    }
    workgroupBarrier();

    let al = vec4<f32>(ha[ga.x], ha[ga.y], ha[ga.z], ha[ga.w]);
    l *= al;
    a0 *= al.x;
    a1 *= al.y;
    a2 *= al.z;
    a3 *= al.w;
    for (var r = 0u; r < bk; r++) {
      let pr = vec4<f32>(ps[ga.x * BK + r], ps[ga.y * BK + r], ps[ga.z * BK + r], ps[ga.w * BK + r]);
      l += pr;
      a0 += pr.x * vs[r * (DV / 2u) + ca.x];
      if (nacc > 1u) {
        a1 += pr.y * vs[r * (DV / 2u) + ca.y];
      }
      if (nacc > 2u) {
        a2 += pr.z * vs[r * (DV / 2u) + ca.z];
      }
      if (nacc > 3u) {
        a3 += pr.w * vs[r * (DV / 2u) + ca.w];
      }
    }
    workgroupBarrier();
  }

  // Partial results: o unnormalised (relative to this split's max), then (m, l).
  let ml = p.n_splits * p.hq * DV;
  if (tid < G * BK && tid % BK == 0u && tid / BK < ng) {
    part[ml + (split * p.hq + h0 + tid / BK) * 2u] = m0;
  }
  if (SLOTS > 1u && tid + WG < G * BK && (tid + WG) % BK == 0u && (tid + WG) / BK < ng) {
    part[ml + (split * p.hq + h0 + (tid + WG) / BK) * 2u] = m1;
  }
  let real_hs = tid / CW;
  put(0u, split, h0, ng, real_hs, cw, a0, l.x);
  put(1u, split, h0, ng, real_hs, cw, a1, l.y);
  put(2u, split, h0, ng, real_hs, cw, a2, l.z);
  put(3u, split, h0, ng, real_hs, cw, a3, l.w);
}
