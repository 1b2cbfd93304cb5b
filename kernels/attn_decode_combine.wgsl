// Merge the split-K partials of attn_decode: for each head, o = Σ_s e^(m_s − M) o_s / Σ_s e^(m_s − M) l_s
// with M = max_s m_s. Workgroup (column block, head): SG groups of 64 threads take interleaved splits for
// 64 columns, then their sums are added through workgroup memory.

const COLS: u32 = 64u;
const SG: u32 = 4u;
const WG: u32 = COLS * SG;
const MAX_SPLITS: u32 = 256u;

struct Params {
  n_splits: u32,
  hq: u32,
  dv: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;      // [n_splits, hq, dv] o, then [n_splits, hq, 2] (m, l)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [hq, dv] f32

var<workgroup> ws: array<f32, MAX_SPLITS>; // e^(m_s − M) per split
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let h = wg.y;
  let ml = p.n_splits * p.hq * p.dv;
  // M = max over splits (tree reduction).
  var m = -3.0e38;
  for (var s = tid; s < p.n_splits; s += WG) {
    m = max(m, part[ml + (s * p.hq + h) * 2u]);
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
  for (var s = tid; s < p.n_splits; s += WG) {
    let i = ml + (s * p.hq + h) * 2u;
    let x = exp(part[i] - big);
    ws[s] = x;
    l += x * part[i + 1u];
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
  workgroupBarrier();

  let sg = tid / COLS;
  let col = wg.x * COLS + tid % COLS;
  var o = 0.0;
  if (col < p.dv) {
    for (var s = sg; s < p.n_splits; s += SG) {
      o += ws[s] * part[(s * p.hq + h) * p.dv + col];
    }
  }
  red[tid] = o;
  workgroupBarrier();
  if (sg == 0u && col < p.dv) {
    var sum = 0.0;
    for (var g = 0u; g < SG; g++) {
      sum += red[g * COLS + tid];
    }
    out[h * p.dv + col] = sum * inv;
  }
}
