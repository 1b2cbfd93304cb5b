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
// Two barriers a tile; rows past the split's end are clamped to its last row and weighted zero.

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
  for (var i = 0u; i < kw; i++) {
    let d = 2u * (lane + LANES * i);
    var x = vec2<f32>(0.0);
    if (d < DK) {
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
    for (var r = 0u; r < bk; r++) {
      let row = k0 + min(r, nk - 1u);
      let base = row * p.k_row + p.k_off;
      var dot = 0.0;
      for (var i = 0u; i < kw; i++) {
        let d = min(2u * (lane + LANES * i), DK - 2u);
        let kv = load_k(base + d);
        dot += qr[i].x * kv.x + qr[i].y * kv.y;
      }
      red[(g * BK + r) * RS + lane] = dot;
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
    for (var r = 0u; r < bk; r++) {
      let pr = select(0.0, exp(sc[g * BK + r] - m_new), r < nk);
      l += pr;
      let base = (k0 + min(r, nk - 1u)) * p.v_row + p.v_off;
      for (var i = 0u; i < vw; i++) {
        let d = min(2u * (lane + LANES * i), DV - 2u);
        acc[i] += pr * load_v(base + d);
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
