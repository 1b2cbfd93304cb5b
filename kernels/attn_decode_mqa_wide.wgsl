// Flash-decoding, split-K, for one key/value head shared by all H query heads with wide rows (absorbed
// MLA: 576-wide keys, 512-wide values, 16 heads). Workgroup `split` walks rows [split·chunk, min(t,
// (split+1)·chunk)) in tiles of BK rows; the H heads read each row from the same L1 lines, so the cache
// leaves DRAM once per split, not once per head. Output: the unnormalised partials (o, m, l) that
// attn_decode_combine merges, in attn_decode.wgsl's layout.
//
// Thread (head g = tid / LANES, lane) keeps the head's query words lane, lane + LANES, ... in registers
// and its value columns at the same words as accumulators, so no workgroup memory holds q or o. Per tile:
//   1. partial dots of each row over the thread's query words → red (two heads per 32 threads, one bank each);
//   2. LANES partials per (head, row) summed → scores;
//   3. every lane of a head reads its BK scores, updates (m, l) itself and accumulates p·v.
// Steps 1 and 3 take rows in fours and words in pairs: eight independent loads per loop iteration, so
// they overlap even where the driver keeps the loop (an H200 ran one-load iterations as serial L2 round
// trips: 0.15 ms for a single 16-row tile). Two barriers a tile; rows past the split's end are clamped to its last row and weighted zero.

override KV_F16: bool = true;
override H: u32 = 16u;     // query heads, ≤ 16
override DK: u32 = 576u;   // key width, even
override DV: u32 = 512u;   // value width, even
override KW: u32 = 18u;    // key words per lane: ceil(DK / 2 / LANES)
override VW: u32 = 16u;    // value words per lane: ceil(DV / 2 / LANES)
// Constant loop bounds on hardware drivers (unrolled: loads stay in flight); uniforms' copies on
// software drivers, where full unrolls make shader compiles take tens of seconds.
override UNROLL: bool = false;

const LANES: u32 = 16u;
const BK: u32 = 16u;
const RS: u32 = LANES + 1u; // padded stride of red: step 2 reads one row of partials per thread, one bank each
const KWMAX: u32 = 32u;
const VWMAX: u32 = 32u;
const NEG: f32 = -3.0e38;
override WG: u32 = H * LANES;

struct Params {
  t: u32,
  chunk: u32,    // rows per split, a multiple of BK
  hq: u32,
  k_row: u32,
  k_off: u32,    // elements, even
  v_row: u32,
  v_off: u32,
  scale: f32,
  n_splits: u32,
  kw: u32,       // KW, VW and BK as loop bounds the compiler cannot see (software drivers)
  vw: u32,
  bk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;          // [hq, DK] f32
@group(0) @binding(2) var<storage, read> kc: array<u32>;         // K cache (row j at j·k_row + k_off)
@group(0) @binding(3) var<storage, read> vc: array<u32>;         // V cache (may alias K: MLA latent)
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // [n_splits, hq, DV] o, then [n_splits, hq, 2] (m, l)

var<workgroup> red: array<f32, H * BK * RS>; // [H, BK, LANES] partial dots, rows padded to RS
var<workgroup> sc: array<f32, H * BK>;      // [H, BK] scaled scores

// Two consecutive elements starting at element `e` (even) of a cache.
fn load_k(e: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(kc[e / 2u]);
  }
  return vec2<f32>(bitcast<f32>(kc[e]), bitcast<f32>(kc[e + 1u]));
}

fn load_v(e: u32) -> vec2<f32> {
  if (KV_F16) {
    return unpack2x16float(vc[e / 2u]);
  }
  return vec2<f32>(bitcast<f32>(vc[e]), bitcast<f32>(vc[e + 1u]));
}

// Row r of the tile at k0, clamped to the split's last row (its weight is zero past nk).
fn row_at(k0: u32, r: u32, nk: u32) -> u32 {
  return k0 + min(r, nk - 1u);
}

// Softmax weight of score sc[i] under the running max m; zero for rows past the split's end.
fn weight(i: u32, live: bool, m: f32) -> f32 {
  return select(0.0, exp(sc[i] - m), live);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let split = wg.x;
  let g = tid / LANES;
  let lane = tid % LANES;
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);
  let kw = select(p.kw, KW, UNROLL);
  let vw = select(p.vw, VW, UNROLL);
  let bk = select(p.bk, BK, UNROLL);

  // Query pairs at elements 2·(lane + LANES·i); past DK they are zero, so clamped key loads add nothing.
  var qr: array<vec2<f32>, KWMAX>;
  for (var i = 0u; i < KWMAX; i++) {
    let d = 2u * (lane + LANES * i);
    var x = vec2<f32>(0.0);
    if (i < kw && d < DK) {
      x = vec2<f32>(q[g * DK + d], q[g * DK + d + 1u]);
    }
    qr[i] = x;
  }
  var acc: array<vec2<f32>, VWMAX>;
  for (var i = 0u; i < vw; i++) {
    acc[i] = vec2<f32>(0.0);
  }
  var m = NEG;
  var l = 0.0;

  for (var k0 = j_begin; k0 < j_end; k0 += BK) {
    let nk = min(BK, j_end - k0);
    for (var r0 = 0u; r0 < bk; r0 += 4u) {
      let b0 = row_at(k0, r0, nk) * p.k_row + p.k_off;
      let b1 = row_at(k0, r0 + 1u, nk) * p.k_row + p.k_off;
      let b2 = row_at(k0, r0 + 2u, nk) * p.k_row + p.k_off;
      let b3 = row_at(k0, r0 + 3u, nk) * p.k_row + p.k_off;
      var s0 = 0.0;
      var s1 = 0.0;
      var s2 = 0.0;
      var s3 = 0.0;
      for (var i = 0u; i < kw; i += 2u) {
        let da = min(2u * (lane + LANES * i), DK - 2u);
        let db = min(2u * (lane + LANES * (i + 1u)), DK - 2u);
        let a0 = load_k(b0 + da);
        let a1 = load_k(b1 + da);
        let a2 = load_k(b2 + da);
        let a3 = load_k(b3 + da);
        let c0 = load_k(b0 + db);
        let c1 = load_k(b1 + db);
        let c2 = load_k(b2 + db);
        let c3 = load_k(b3 + db);
        let qa = qr[i];
        let qb = qr[i + 1u];
        s0 += dot(qa, a0) + dot(qb, c0);
        s1 += dot(qa, a1) + dot(qb, c1);
        s2 += dot(qa, a2) + dot(qb, c2);
        s3 += dot(qa, a3) + dot(qb, c3);
      }
      let ri = (g * BK + r0) * RS + lane;
      red[ri] = s0;
      red[ri + RS] = s1;
      red[ri + 2u * RS] = s2;
      red[ri + 3u * RS] = s3;
    }
    workgroupBarrier();
    {
      let gr = tid / BK;
      let r = tid % BK;
      var s = 0.0;
      for (var j = 0u; j < LANES; j++) {
        s += red[(gr * BK + r) * RS + j];
      }
      sc[tid] = select(NEG, s * p.scale, r < nk);
    }
    workgroupBarrier();

    var m_new = m;
    for (var r = 0u; r < bk; r++) {
      m_new = max(m_new, sc[g * BK + r]);
    }
    let alpha = exp(m - m_new);
    m = m_new;
    l *= alpha;
    for (var i = 0u; i < vw; i++) {
      acc[i] *= alpha;
    }
    for (var r0 = 0u; r0 < bk; r0 += 4u) {
      let p0 = weight(g * BK + r0, r0 < nk, m_new);
      let p1 = weight(g * BK + r0 + 1u, r0 + 1u < nk, m_new);
      let p2 = weight(g * BK + r0 + 2u, r0 + 2u < nk, m_new);
      let p3 = weight(g * BK + r0 + 3u, r0 + 3u < nk, m_new);
      l += p0 + p1 + p2 + p3;
      let b0 = row_at(k0, r0, nk) * p.v_row + p.v_off;
      let b1 = row_at(k0, r0 + 1u, nk) * p.v_row + p.v_off;
      let b2 = row_at(k0, r0 + 2u, nk) * p.v_row + p.v_off;
      let b3 = row_at(k0, r0 + 3u, nk) * p.v_row + p.v_off;
      for (var i = 0u; i < vw; i += 2u) {
        let da = min(2u * (lane + LANES * i), DV - 2u);
        let db = min(2u * (lane + LANES * (i + 1u)), DV - 2u);
        let a0 = load_v(b0 + da);
        let a1 = load_v(b1 + da);
        let a2 = load_v(b2 + da);
        let a3 = load_v(b3 + da);
        let c0 = load_v(b0 + db);
        let c1 = load_v(b1 + db);
        let c2 = load_v(b2 + db);
        let c3 = load_v(b3 + db);
        acc[i] += p0 * a0 + p1 * a1 + p2 * a2 + p3 * a3;
        acc[i + 1u] += p0 * c0 + p1 * c1 + p2 * c2 + p3 * c3;
      }
    }
  }

  let h = g;
  if (lane == 0u) {
    let mi = p.n_splits * p.hq * DV + (split * p.hq + h) * 2u;
    part[mi] = m;
    part[mi + 1u] = l;
  }
  for (var i = 0u; i < vw; i++) {
    let d = 2u * (lane + LANES * i);
    if (d < DV) {
      let o = (split * p.hq + h) * DV + d;
      part[o] = acc[i].x;
      part[o + 1u] = acc[i].y;
    }
  }
}
