// Flash-decoding, split-K, for one key/value head shared by all H query heads with wide rows (absorbed
// MLA: 576-wide keys, 512-wide values, 16 heads). Workgroup `split` walks rows [split·chunk, min(t,
// (split+1)·chunk)) in tiles of BK rows; each tile leaves memory once, in coalesced word loads by all
// threads (issued while the previous tile is computed), and is converted to f32 once into workgroup
// memory, where all heads read it. Output: the unnormalised partials (o, m, l) that attn_decode_combine
// merges, in attn_decode.wgsl's layout.
//
// Per tile (five barriers):
//   0. store the loaded words as f32 pairs: ks [BK, DK/2] (and vs [BK, DV/2] unless the values are
//      columns VO.. of the key rows, SHARED_V: MLA's latent);
//   1. scores, thread (head h = tid / 16, lane): the head's query pairs lane, lane + 16, ... (at most 18:
//      DK ≤ 576) live in registers; partial dots of every tile row over them → red [H, BK, 16];
//   2. thread (head, row) < H·BK sums the 16 partials → sc;
//   3. the same thread: running max of its head over the tile's scores (kept in its registers: the
//      mapping is fixed), its row's probability → pp; the head's row-0 thread keeps l and writes the
//      rescale factor ha;
//   4. P·V as a small matmul: thread c < DV/2 owns value column pair c of all H heads (H sums), reads one
//      pair per row and the heads' probabilities four rows at a time (broadcast vec4 loads).
// No per-thread state is an array: NVIDIA's compiler keeps a dynamically indexed array in local memory,
// and a loop it does not unroll then waits for each load in turn (with arrays, ~15 µs per 8-row tile on
// an H200; with named registers ~4.4 µs, attn-kbench).
// Queries, sums and loaded words live in named vectors selected by override constants; only workgroup
// memory is indexed by loop counters.

override KV_F16: bool = true;
override H: u32 = 16u;         // query heads, ≤ 16
override DK: u32 = 576u;       // key width, even, ≤ 2·LANES·18
override DV: u32 = 512u;       // value width, even, ≤ 2·WG
override BK: u32 = 8u;         // rows per tile, a multiple of 4 dividing 16
override SHARED_V: bool = true;
override VO: u32 = 0u;         // SHARED_V: first value column within the key row (even)
override VS_LEN: u32 = 1u;     // pairs of vs: BK·DV/2, or 1 when SHARED_V
override NWK: u32 = 9u;        // key words per thread per tile: ceil(BK·KW / WG) ≤ 12
override NWV: u32 = 0u;        // value words per thread per tile (0 when SHARED_V) ≤ 8
override KQ: u32 = (DK / 2u + LANES - 1u) / LANES; // query pairs per lane, ≤ 18
// Constant loop bounds on hardware drivers; the uniforms' copies on software drivers, where full
// unrolls make shader compiles take tens of seconds.
override UNROLL: bool = false;
override KW: u32 = select(DK, DK / 2u, KV_F16); // cache words per key row
override VW: u32 = select(DV, DV / 2u, KV_F16); // cache words per value row

const WG: u32 = 256u;
const LANES: u32 = 16u;
const RS: u32 = LANES + 1u; // padded stride of red: step 2 reads one row of partials per thread, one bank each
const NEG: f32 = -3.0e38;

struct Params {
  t: u32,
  chunk: u32,    // rows per split, a multiple of 16
  hq: u32,
  k_row: u32,    // elements
  k_off: u32,    // elements, even
  v_row: u32,
  v_off: u32,
  scale: f32,
  n_splits: u32,
  bk: u32,       // BK as a loop bound the compiler cannot see (software drivers)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;         // K cache (row j at j·k_row + k_off)
@group(0) @binding(3) var<storage, read> vc: array<u32>;         // V cache (may alias K: MLA latent)
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)

var<workgroup> ks: array<vec2<f32>, BK * DK / 2u>; // key tile [BK, DK/2]
var<workgroup> vs: array<vec2<f32>, VS_LEN>;      // value tile [BK, DV/2] (unused when SHARED_V)
var<workgroup> red: array<f32, H * BK * RS>;      // [H, BK, LANES] partial dots, rows padded to RS
var<workgroup> sc: array<f32, H * BK>;            // [H, BK] scaled scores
var<workgroup> pp: array<vec4<f32>, H * BK / 4u>; // [H, BK] probabilities
var<workgroup> ha: array<f32, H>;                 // this tile's rescale of o per head

// Key word `s` of this thread (tile word tid + WG·s) of the tile at row k0 with nk live rows; rows past
// nk (and words past the tile) read row nk − 1 and give zero.
fn kword(s: u32, tid: u32, k0: u32, nk: u32) -> u32 {
  if (s >= NWK) {
    return 0u;
  }
  let e = tid + WG * s;
  let r = e / KW;
  let el = (k0 + min(r, nk - 1u)) * p.k_row + p.k_off;
  let w = select(el, el / 2u, KV_F16) + e % KW;
  return select(0u, kc[w], r < nk);
}

fn vword(s: u32, tid: u32, k0: u32, nk: u32) -> u32 {
  if (SHARED_V || s >= NWV) {
    return 0u;
  }
  let e = tid + WG * s;
  let r = e / VW;
  let el = (k0 + min(r, nk - 1u)) * p.v_row + p.v_off;
  let w = select(el, el / 2u, KV_F16) + e % VW;
  return select(0u, vc[w], r < nk);
}

fn kstore(s: u32, tid: u32, w: u32) {
  let e = tid + WG * s;
  if (s < NWK && e < BK * KW) {
    if (KV_F16) {
      ks[e] = unpack2x16float(w);
    } else {
      ks[e / 2u][e % 2u] = bitcast<f32>(w);
    }
  }
}

fn vstore(s: u32, tid: u32, w: u32) {
  let e = tid + WG * s;
  if (!SHARED_V && s < NWV && e < BK * VW) {
    if (KV_F16) {
      vs[e] = unpack2x16float(w);
    } else {
      vs[e / 2u][e % 2u] = bitcast<f32>(w);
    }
  }
}

// Value pair c of tile row r.
fn value(r: u32, c: u32) -> vec2<f32> {
  if (SHARED_V) {
    return ks[r * (DK / 2u) + VO / 2u + c];
  }
  return vs[r * (DV / 2u) + c];
}

// Query pair lane + LANES·i of head h; zero past DK or H, so the clamped key pairs it meets add nothing.
fn qpair(h: u32, lane: u32, i: u32) -> vec2<f32> {
  let c = lane + LANES * i;
  if (i >= KQ || c >= DK / 2u || h >= H) {
    return vec2<f32>(0.0);
  }
  return vec2<f32>(q[h * DK + 2u * c], q[h * DK + 2u * c + 1u]);
}

fn qv(h: u32, lane: u32, i: u32) -> vec4<f32> {
  return vec4<f32>(qpair(h, lane, i), qpair(h, lane, i + 1u));
}

// Partial dot of tile row r over the lane's query pairs i and i + 1 (held in x).
fn dot2(x: vec4<f32>, r: u32, lane: u32, i: u32) -> f32 {
  if (i >= KQ) {
    return 0.0;
  }
  let base = r * (DK / 2u);
  var s = dot(x.xy, ks[base + min(lane + LANES * i, DK / 2u - 1u)]);
  if (i + 1u < KQ) {
    s += dot(x.zw, ks[base + min(lane + LANES * (i + 1u), DK / 2u - 1u)]);
  }
  return s;
}

// P·V increment of head i from tile rows r..r+3 (values v0..v3).
fn pv(i: u32, r: u32, v0: vec2<f32>, v1: vec2<f32>, v2: vec2<f32>, v3: vec2<f32>) -> vec2<f32> {
  if (i >= H) {
    return vec2<f32>(0.0);
  }
  let w = pp[(i * BK + r) / 4u];
  return (w.x * v0 + w.y * v1) + (w.z * v2 + w.w * v3);
}

fn rescale(i: u32) -> f32 {
  return ha[min(i, H - 1u)];
}

fn put(i: u32, split: u32, c: u32, a: vec2<f32>) {
  if (i < H && c < DV / 2u) {
    let o = (split * p.hq + i) * DV + 2u * c;
    part[o] = a.x;
    part[o + 1u] = a.y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let split = wg.x;
  let h = tid / LANES;
  let lane = tid % LANES;
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);
  let bk = select(p.bk, BK, UNROLL);

  let q0 = qv(h, lane, 0u);
  let q1 = qv(h, lane, 2u);
  let q2 = qv(h, lane, 4u);
  let q3 = qv(h, lane, 6u);
  let q4 = qv(h, lane, 8u);
  let q5 = qv(h, lane, 10u);
  let q6 = qv(h, lane, 12u);
  let q7 = qv(h, lane, 14u);
  let q8 = qv(h, lane, 16u);
  // Thread (head sh, row sr) of steps 2 and 3 (tid < H·BK), with its running max and (row 0) sum.
  let sh = tid / BK;
  let sr = tid % BK;
  var m = NEG;
  var l = 0.0;
  // Step 4: column pair tid (clamped; threads past DV/2 write nothing) of heads 0..15.
  let cp = min(tid, DV / 2u - 1u);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);

  var nk = min(BK, j_end - j_begin);
  var kA = vec4<u32>(kword(0u, tid, j_begin, nk), kword(1u, tid, j_begin, nk), kword(2u, tid, j_begin, nk), kword(3u, tid, j_begin, nk));
  var kB = vec4<u32>(kword(4u, tid, j_begin, nk), kword(5u, tid, j_begin, nk), kword(6u, tid, j_begin, nk), kword(7u, tid, j_begin, nk));
  var kC = vec4<u32>(kword(8u, tid, j_begin, nk), kword(9u, tid, j_begin, nk), kword(10u, tid, j_begin, nk), kword(11u, tid, j_begin, nk));
  var vA = vec4<u32>(vword(0u, tid, j_begin, nk), vword(1u, tid, j_begin, nk), vword(2u, tid, j_begin, nk), vword(3u, tid, j_begin, nk));
  var vB = vec4<u32>(vword(4u, tid, j_begin, nk), vword(5u, tid, j_begin, nk), vword(6u, tid, j_begin, nk), vword(7u, tid, j_begin, nk));

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
      kA = vec4<u32>(kword(0u, tid, kn, nn), kword(1u, tid, kn, nn), kword(2u, tid, kn, nn), kword(3u, tid, kn, nn));
      kB = vec4<u32>(kword(4u, tid, kn, nn), kword(5u, tid, kn, nn), kword(6u, tid, kn, nn), kword(7u, tid, kn, nn));
      kC = vec4<u32>(kword(8u, tid, kn, nn), kword(9u, tid, kn, nn), kword(10u, tid, kn, nn), kword(11u, tid, kn, nn));
      vA = vec4<u32>(vword(0u, tid, kn, nn), vword(1u, tid, kn, nn), vword(2u, tid, kn, nn), vword(3u, tid, kn, nn));
      vB = vec4<u32>(vword(4u, tid, kn, nn), vword(5u, tid, kn, nn), vword(6u, tid, kn, nn), vword(7u, tid, kn, nn));
    }

    // 1. Partial dots.
    for (var r = 0u; r < bk; r++) {
      let s = ((dot2(q0, r, lane, 0u) + dot2(q1, r, lane, 2u)) + (dot2(q2, r, lane, 4u) + dot2(q3, r, lane, 6u)))
        + ((dot2(q4, r, lane, 8u) + dot2(q5, r, lane, 10u)) + (dot2(q6, r, lane, 12u) + dot2(q7, r, lane, 14u)))
        + dot2(q8, r, lane, 16u);
      if (h < H) {
        red[(h * BK + r) * RS + lane] = s;
      }
    }
    workgroupBarrier();

    // 2. Scores.
    if (tid < H * BK) {
      var s0 = 0.0;
      var s1 = 0.0;
      for (var j = 0u; j < LANES; j += 2u) {
        s0 += red[tid * RS + j];
        s1 += red[tid * RS + j + 1u];
      }
      sc[tid] = select(NEG, (s0 + s1) * p.scale, sr < nk);
    }
    workgroupBarrier();

    // 3. Online softmax.
    if (tid < H * BK) {
      var m_new = m;
      for (var r = 0u; r < bk; r++) {
        m_new = max(m_new, sc[sh * BK + r]);
      }
      pp[tid / 4u][tid % 4u] = select(0.0, exp(sc[tid] - m_new), sr < nk);
      if (sr == 0u) {
        let alpha = exp(m - m_new);
        ha[sh] = alpha;
        var sum = 0.0;
        for (var r = 0u; r < bk; r++) {
          sum += select(0.0, exp(sc[sh * BK + r] - m_new), r < nk);
        }
        l = l * alpha + sum;
      }
      m = m_new;
    }
    workgroupBarrier();

    // 4. P·V.
    a0 *= rescale(0u);
    a1 *= rescale(1u);
    a2 *= rescale(2u);
    a3 *= rescale(3u);
    a4 *= rescale(4u);
    a5 *= rescale(5u);
    a6 *= rescale(6u);
    a7 *= rescale(7u);
    a8 *= rescale(8u);
    a9 *= rescale(9u);
    a10 *= rescale(10u);
    a11 *= rescale(11u);
    a12 *= rescale(12u);
    a13 *= rescale(13u);
    a14 *= rescale(14u);
    a15 *= rescale(15u);
    for (var r = 0u; r < bk; r += 4u) {
      let v0 = value(r, cp);
      let v1 = value(r + 1u, cp);
      let v2 = value(r + 2u, cp);
      let v3 = value(r + 3u, cp);
      a0 += pv(0u, r, v0, v1, v2, v3);
      a1 += pv(1u, r, v0, v1, v2, v3);
      a2 += pv(2u, r, v0, v1, v2, v3);
      a3 += pv(3u, r, v0, v1, v2, v3);
      a4 += pv(4u, r, v0, v1, v2, v3);
      a5 += pv(5u, r, v0, v1, v2, v3);
      a6 += pv(6u, r, v0, v1, v2, v3);
      a7 += pv(7u, r, v0, v1, v2, v3);
      a8 += pv(8u, r, v0, v1, v2, v3);
      a9 += pv(9u, r, v0, v1, v2, v3);
      a10 += pv(10u, r, v0, v1, v2, v3);
      a11 += pv(11u, r, v0, v1, v2, v3);
      a12 += pv(12u, r, v0, v1, v2, v3);
      a13 += pv(13u, r, v0, v1, v2, v3);
      a14 += pv(14u, r, v0, v1, v2, v3);
      a15 += pv(15u, r, v0, v1, v2, v3);
    }
    workgroupBarrier();
  }

  if (tid < H * BK && sr == 0u) {
    let mi = p.n_splits * p.hq * DV + (split * p.hq + sh) * 2u;
    part[mi] = m;
    part[mi + 1u] = l;
  }
  put(0u, split, tid, a0);
  put(1u, split, tid, a1);
  put(2u, split, tid, a2);
  put(3u, split, tid, a3);
  put(4u, split, tid, a4);
  put(5u, split, tid, a5);
  put(6u, split, tid, a6);
  put(7u, split, tid, a7);
  put(8u, split, tid, a8);
  put(9u, split, tid, a9);
  put(10u, split, tid, a10);
  put(11u, split, tid, a11);
  put(12u, split, tid, a12);
  put(13u, split, tid, a13);
  put(14u, split, tid, a14);
  put(15u, split, tid, a15);
}
