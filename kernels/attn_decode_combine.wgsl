// Merge the split-K partials of attn_decode: for each head, o = Σ_s e^(m_s − M) o_s / Σ_s e^(m_s − M) l_s
// with M = max_s m_s. Workgroup (column block, head): SG groups of CP threads take interleaved splits for
// CP column pairs, four splits per loop iteration with independent sums (four loads in flight per thread:
// at 128–256 splits one load per iteration left the merge a chain of L2 round trips), then their sums are
// added through workgroup memory. Value widths are even (the caches pack pairs), so columns go in pairs.
// O16 (attn_decode_mla_mma's partials): o_s is stored normalised, o_s / l_s, as f16 pairs, and (m, l)
// entries are 16 bytes apart; the same merge with weights e^(m_s − M) l_s.

const CP: u32 = 32u;
const SG: u32 = 8u;
const WG: u32 = CP * SG;
const MAX_SPLITS: u32 = 256u;

override O16: bool = false;

struct Params {
  n_splits: u32,
  hq: u32,
  dv: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// f32: [n_splits, hq, dv/2] o pairs, then [n_splits, hq] (m, l); O16: [n_splits, hq, dv/2] o/l f16 pairs
// (one word each), then [n_splits, hq] (m, l, 0, 0). Read as 8-byte entries, f32 bits.
@group(0) @binding(1) var<storage, read> part: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>; // [hq, dv/2] f32 pairs

var<workgroup> ws: array<f32, MAX_SPLITS>; // e^(m_s − M) per split
var<workgroup> red: array<f32, WG>;
var<workgroup> redv: array<vec2<f32>, WG>;

// Column pair j of the o partials (j = (split·hq + head)·dv/2 + pair).
fn o_pair(j: u32) -> vec2<f32> {
  if (O16) {
    let w = part[j / 2u];
    return unpack2x16float(select(w.x, w.y, (j & 1u) == 1u));
  }
  return bitcast<vec2<f32>>(part[j]);
}

// (m, l) of split s, head h.
fn ml_at(s: u32, h: u32) -> vec2<f32> {
  if (O16) {
    return bitcast<vec2<f32>>(part[p.n_splits * p.hq * (p.dv / 4u) + 2u * (s * p.hq + h)]);
  }
  return bitcast<vec2<f32>>(part[p.n_splits * p.hq * (p.dv / 2u) + s * p.hq + h]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let dv2 = p.dv / 2u;
  let n = p.n_splits;
  // M = max over splits (tree reduction).
  var m = -3.0e38;
  for (var s = tid; s < n; s += WG) {
    m = max(m, ml_at(s, h).x);
  }
  red[tid] = m;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (tid < w) {
      red[tid] = max(red[tid], red[tid + w]);
    }
    workgroupBarrier();
  }
  let big = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var s = tid; s < n; s += WG) {
    let x = ml_at(s, h);
    let e = exp(x.x - big);
    ws[s] = select(e, e * x.y, O16); // O16: o_s is already divided by l_s
    l += e * x.y;
  }
  red[tid] = l;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (tid < w) {
      red[tid] += red[tid + w];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];

  let sg = tid / CP;
  let col = wg.x * CP + tid % CP;
  var o0 = vec2<f32>(0.0);
  var o1 = vec2<f32>(0.0);
  var o2 = vec2<f32>(0.0);
  var o3 = vec2<f32>(0.0);
  if (col < dv2) {
    let stride = p.hq * dv2; // pairs from one split to the next
    let base = h * dv2 + col;
    var s = sg;
    for (; s + 3u * SG < n; s += 4u * SG) {
      o0 += ws[s] * o_pair(base + s * stride);
      o1 += ws[s + SG] * o_pair(base + (s + SG) * stride);
      o2 += ws[s + 2u * SG] * o_pair(base + (s + 2u * SG) * stride);
      o3 += ws[s + 3u * SG] * o_pair(base + (s + 3u * SG) * stride);
    }
    for (; s < n; s += SG) {
      o0 += ws[s] * o_pair(base + s * stride);
    }
  }
  redv[tid] = (o0 + o1) + (o2 + o3);
  workgroupBarrier();
  if (sg == 0u && col < dv2) {
    var sum = vec2<f32>(0.0);
    for (var g = 0u; g < SG; g++) {
      sum += redv[g * CP + tid];
    }
    out[h * dv2 + col] = sum * inv;
  }
}
