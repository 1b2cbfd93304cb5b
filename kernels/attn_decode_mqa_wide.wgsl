// Flash-decoding, split-K, for one key/value head shared by all H query heads with wide rows (absorbed
// MLA: 576-wide keys, 512-wide values, 16 heads). Workgroup (split, head block) walks rows
// [split·chunk, min(t, (split+1)·chunk)) in tiles of BK rows for HSL of the query heads (head block b:
// heads b·HSL ..); each tile leaves memory once per head block, in coalesced word loads by all threads
// (issued while the previous tile is computed), and is staged once in workgroup memory, where all the
// block's heads read it. Output: the unnormalised partials (o, m, l) that attn_decode_combine merges, in
// attn_decode.wgsl's layout.
//
// Measured on an H200 (attn-kbench, PLM-1.8B, 8192 rows: 128 splits of 64 rows, split kernel alone):
// the first version (one head per thread in the scores, 8-byte reads of an f32 tile, one value pair per
// thread) 35.4 µs; this one (two heads per thread from 16-byte reads: a quarter of the shared-memory
// read instructions in the scores; four value columns for half the heads in P·V) 31.5 µs. A tile still
// takes ~3.5 µs per workgroup even when workgroups are fewer than SMs (64 splits of 128 rows), and
// halving a workgroup's heads (8 slots: 256 workgroups) made the whole slower, not faster; so a tile's
// time seems to be the latency of its dependent steps with 8 warps an SM, not its shared-memory or ALU
// work. Two workgroups an SM did help: the first version with an f16 tile kept packed (19 KiB) and 256
// splits of 32 rows ran 35.4 µs split + combine against 43.3 unpacked (28 KiB, one an SM), though its
// f16 → f32 conversions sat in the inner loop (no faster at 128 splits).
//
// Per tile (five barriers):
//   0. store the loaded words as f32: ks [BK, KS] vec4 entries (and vs [BK, DV/2] pairs unless the
//      values are columns VO.. of the key rows, SHARED_V: MLA's latent);
//   1. scores, thread (row group g, head pair hp, lane): the pair's query slots (vec4 entries lane,
//      lane + 16, .., at most 9: DK ≤ 576) live in registers; partial dots of the rows g, g + RG, .. over
//      them → red [HSL, BK, 16];
//   2. thread (head slot, row) < HSL·BK sums the 16 partials → sc;
//   3. the same thread: running max of its head over the tile's scores (kept in its registers: the
//      mapping is fixed), its row's probability → pp; the head's row-0 thread keeps l and writes the
//      rescale factor ha;
//   4. P·V as a small matmul: thread (half, cq) owns value columns 4cq .. 4cq + 3 of half the block's
//      heads, reads them (one vec4) per row and its heads' probabilities four rows at a time (broadcast
//      vec4 loads).
// No per-thread state is an array: NVIDIA's compiler keeps a dynamically indexed array in local memory,
// and a loop it does not unroll then waits for each load in turn (with arrays, ~15 µs per 8-row tile on
// an H200; with named registers ~4.4 µs, attn-kbench).
// Queries, sums and loaded words live in named vectors selected by override constants; only workgroup
// memory is indexed by loop counters.

override KV_F16: bool = true;
override H: u32 = 16u;         // query heads, ≤ 16
override HSL: u32 = 16u;       // head slots per workgroup: 16, 8 or 4; blocks NHB = ceil(H / HSL)
override DK: u32 = 576u;       // key width, even, ≤ 576
override DV: u32 = 512u;       // value width, even, ≤ 2·WG (column quads ≤ WG/2)
override BK: u32 = 8u;         // rows per tile, a multiple of 4 and of RG dividing 16
override SHARED_V: bool = true;
override VO: u32 = 0u;         // SHARED_V: first value column within the key row (even)
override VS_LEN: u32 = 1u;     // pairs of vs: BK·DV/2, or 1 when SHARED_V
override NWK: u32 = 9u;        // key words per thread per tile: ceil(BK·KW / WG) ≤ 12
override NWV: u32 = 0u;        // value words per thread per tile (0 when SHARED_V) ≤ 8
// Constant loop bounds on hardware drivers; the uniforms' copies on software drivers, where full
// unrolls make shader compiles take tens of seconds.
override UNROLL: bool = false;
override KW: u32 = select(DK, DK / 2u, KV_F16); // cache words per key row
override VW: u32 = select(DV, DV / 2u, KV_F16); // cache words per value row
override KS: u32 = (DK + 3u) / 4u;              // ks entries (4 elements) per row
override NQ: u32 = (DK + 63u) / 64u;            // query slots (4 elements) per lane, ≤ 9
override RG: u32 = 32u / HSL;                   // row groups of step 1 (WG / (LANES · HSL/2))
override NHB: u32 = (H + HSL - 1u) / HSL;       // head blocks (workgroups per split)
override CQ: u32 = (DV + 3u) / 4u;              // value column quads (P·V), ≤ WG / 2
override HH: u32 = HSL / 2u;                    // head slots per P·V thread

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

// Key tile [BK, KS]: entry c of a row holds elements 4c .. 4c + 3 (a missing last pair stays zero).
var<workgroup> ks: array<vec4<f32>, BK * KS>;
var<workgroup> vs: array<vec2<f32>, VS_LEN>;       // value tile [BK, DV/2] (unused when SHARED_V)
var<workgroup> red: array<f32, HSL * BK * RS>;     // [HSL, BK, LANES] partial dots, rows padded to RS
var<workgroup> sc: array<f32, HSL * BK>;           // [HSL, BK] scaled scores
var<workgroup> pp: array<vec4<f32>, HSL * BK / 4u>; // [HSL, BK] probabilities
var<workgroup> ha: array<f32, HSL>;                // this tile's rescale of o per head slot

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
    let r = e / KW;
    let c = e % KW;
    if (KV_F16) {
      let x = unpack2x16float(w);
      let i = r * KS + c / 2u;
      ks[i][2u * (c % 2u)] = x.x;
      ks[i][2u * (c % 2u) + 1u] = x.y;
    } else {
      ks[r * KS + c / 4u][c % 4u] = bitcast<f32>(w);
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
    let e = VO / 2u + c; // pair within the row
    let x = ks[r * KS + e / 2u];
    return select(x.xy, x.zw, e % 2u == 1u);
  }
  return vs[r * (DV / 2u) + c];
}

fn qel(h: u32, e: u32) -> f32 {
  if (e >= DK) {
    return 0.0;
  }
  return q[h * DK + e];
}

// Query slot i of head h for a lane: elements 4(lane + 16i) .. + 3, which kent reads from a key row;
// zero past DK or H, so the clamped key entries it meets add nothing.
fn qslot(h: u32, lane: u32, i: u32) -> vec4<f32> {
  if (i >= NQ || h >= H) {
    return vec4<f32>(0.0);
  }
  let e = 4u * (lane + LANES * i);
  return vec4<f32>(qel(h, e), qel(h, e + 1u), qel(h, e + 2u), qel(h, e + 3u));
}

// Key entry lane + 16i of the tile row starting at entry rb (clamped into the row; zero past NQ).
fn kent(rb: u32, lane: u32, i: u32) -> vec4<f32> {
  if (i >= NQ) {
    return vec4<f32>(0.0);
  }
  var c = lane + LANES * i;
  if (LANES * NQ > KS) {
    c = min(c, KS - 1u);
  }
  return ks[rb + c];
}

// Value columns 4c .. 4c + 3 of tile row r (pairs past DV/2 clamped; never written).
fn value4(r: u32, c: u32) -> vec4<f32> {
  if (SHARED_V && VO % 4u == 0u) {
    return ks[r * KS + VO / 4u + c];
  }
  return vec4<f32>(value(r, min(2u * c, DV / 2u - 1u)), value(r, min(2u * c + 1u, DV / 2u - 1u)));
}

// P·V increment of the thread's head slot s0 + i from tile rows r..r+3 (values v0..v3).
fn pv(i: u32, s0: u32, r: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) -> vec4<f32> {
  if (i >= HH) {
    return vec4<f32>(0.0);
  }
  let w = pp[((s0 + i) * BK + r) / 4u];
  return (w.x * v0 + w.y * v1) + (w.z * v2 + w.w * v3);
}

fn rescale(i: u32, s0: u32) -> f32 {
  if (i >= HH) {
    return 1.0;
  }
  return ha[s0 + i];
}

fn put(i: u32, s0: u32, hb0: u32, split: u32, c: u32, b: vec4<f32>) {
  let h = hb0 + s0 + i;
  if (i < HH && h < H && c < CQ) {
    let o = (split * p.hq + h) * DV + 4u * c;
    part[o] = b.x;
    part[o + 1u] = b.y;
    if (4u * c + 2u < DV) {
      part[o + 2u] = b.z;
      part[o + 3u] = b.w;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  // The head blocks of a split are neighbours in dispatch order (they read the same rows).
  let split = wg.x / NHB;
  let hb0 = (wg.x % NHB) * HSL;
  let lane = tid % LANES;
  let hp = (tid / LANES) % (HSL / 2u);
  let g = tid / (LANES * HSL / 2u);
  let j_begin = split * p.chunk;
  let j_end = min(p.t, j_begin + p.chunk);
  let bk = select(p.bk, BK, UNROLL);
  let rows1 = bk / RG; // rows per thread in step 1

  // Step 1: heads hx = hb0 + 2·hp (query slots x0..x8) and hx + 1 (y0..y8).
  let hx = hb0 + 2u * hp;
  let x0 = qslot(hx, lane, 0u);
  let x1 = qslot(hx, lane, 1u);
  let x2 = qslot(hx, lane, 2u);
  let x3 = qslot(hx, lane, 3u);
  let x4 = qslot(hx, lane, 4u);
  let x5 = qslot(hx, lane, 5u);
  let x6 = qslot(hx, lane, 6u);
  let x7 = qslot(hx, lane, 7u);
  let x8 = qslot(hx, lane, 8u);
  let y0 = qslot(hx + 1u, lane, 0u);
  let y1 = qslot(hx + 1u, lane, 1u);
  let y2 = qslot(hx + 1u, lane, 2u);
  let y3 = qslot(hx + 1u, lane, 3u);
  let y4 = qslot(hx + 1u, lane, 4u);
  let y5 = qslot(hx + 1u, lane, 5u);
  let y6 = qslot(hx + 1u, lane, 6u);
  let y7 = qslot(hx + 1u, lane, 7u);
  let y8 = qslot(hx + 1u, lane, 8u);
  // Thread (head slot sh, row sr) of steps 2 and 3 (tid < HSL·BK), with its running max and (row 0) sum.
  let sh = tid / BK;
  let sr = tid % BK;
  var m = NEG;
  var l = 0.0;
  // Step 4: value columns 4·cq .. 4·cq + 3 (clamped; threads past CQ write nothing) of head slots
  // s0 .. s0 + HH − 1: each value read serves HH heads, each probability read four columns.
  let cq = tid % (WG / 2u);
  let s0 = (tid / (WG / 2u)) * HH;
  let cqc = min(cq, CQ - 1u);
  var b0 = vec4<f32>(0.0);
  var b1 = vec4<f32>(0.0);
  var b2 = vec4<f32>(0.0);
  var b3 = vec4<f32>(0.0);
  var b4 = vec4<f32>(0.0);
  var b5 = vec4<f32>(0.0);
  var b6 = vec4<f32>(0.0);
  var b7 = vec4<f32>(0.0);

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

    // 1. Partial dots of rows g, g + RG, ... for two heads.
    for (var j = 0u; j < rows1; j++) {
      let r = g + RG * j;
      let rb = r * KS;
      let k0 = kent(rb, lane, 0u);
      let k1 = kent(rb, lane, 1u);
      let k2 = kent(rb, lane, 2u);
      let k3 = kent(rb, lane, 3u);
      let k4 = kent(rb, lane, 4u);
      let k5 = kent(rb, lane, 5u);
      let k6 = kent(rb, lane, 6u);
      let k7 = kent(rb, lane, 7u);
      let k8 = kent(rb, lane, 8u);
      let sx = ((dot(x0, k0) + dot(x1, k1)) + (dot(x2, k2) + dot(x3, k3))) + ((dot(x4, k4) + dot(x5, k5)) + (dot(x6, k6) + dot(x7, k7))) + dot(x8, k8);
      let sy = ((dot(y0, k0) + dot(y1, k1)) + (dot(y2, k2) + dot(y3, k3))) + ((dot(y4, k4) + dot(y5, k5)) + (dot(y6, k6) + dot(y7, k7))) + dot(y8, k8);
      red[(2u * hp * BK + r) * RS + lane] = sx;
      red[((2u * hp + 1u) * BK + r) * RS + lane] = sy;
    }
    workgroupBarrier();

    // 2. Scores.
    if (tid < HSL * BK) {
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
    if (tid < HSL * BK) {
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
    b0 *= rescale(0u, s0);
    b1 *= rescale(1u, s0);
    b2 *= rescale(2u, s0);
    b3 *= rescale(3u, s0);
    b4 *= rescale(4u, s0);
    b5 *= rescale(5u, s0);
    b6 *= rescale(6u, s0);
    b7 *= rescale(7u, s0);
    for (var r = 0u; r < bk; r += 4u) {
      let v0 = value4(r, cqc);
      let v1 = value4(r + 1u, cqc);
      let v2 = value4(r + 2u, cqc);
      let v3 = value4(r + 3u, cqc);
      b0 += pv(0u, s0, r, v0, v1, v2, v3);
      b1 += pv(1u, s0, r, v0, v1, v2, v3);
      b2 += pv(2u, s0, r, v0, v1, v2, v3);
      b3 += pv(3u, s0, r, v0, v1, v2, v3);
      b4 += pv(4u, s0, r, v0, v1, v2, v3);
      b5 += pv(5u, s0, r, v0, v1, v2, v3);
      b6 += pv(6u, s0, r, v0, v1, v2, v3);
      b7 += pv(7u, s0, r, v0, v1, v2, v3);
    }
    workgroupBarrier();
  }

  if (tid < HSL * BK && sr == 0u && hb0 + sh < H) {
    let mi = p.n_splits * p.hq * DV + (split * p.hq + hb0 + sh) * 2u;
    part[mi] = m;
    part[mi + 1u] = l;
  }
  put(0u, s0, hb0, split, cq, b0);
  put(1u, s0, hb0, split, cq, b1);
  put(2u, s0, hb0, split, cq, b2);
  put(3u, s0, hb0, split, cq, b3);
  put(4u, s0, hb0, split, cq, b4);
  put(5u, s0, hb0, split, cq, b5);
  put(6u, s0, hb0, split, cq, b6);
  put(7u, s0, hb0, split, cq, b7);
}
