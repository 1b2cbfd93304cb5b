// Per-map statistics of each query row of a chunk's attention probabilities (analysis).
// probs [maps, n, width] f32 (width = pos0 + n: the chunk's rows over every key so far, zero beyond the
// causal limit) → out [maps, total, 5] f32 at the row's absolute position i = pos0 + r:
//   0: entropy −Σ_j p log2 p (bits, 0·log 0 = 0)   1: mean distance Σ_j p·(i − j) (tokens)
//   2: p[i][0] (sink)   3: p[i][i−1] (local; 0 on row 0)   4: p[i][i] (self)
// One workgroup per (map, row), linearised over a 2-D grid; threads stride over columns 0 .. i.

const WG: u32 = 64u;

struct Params {
  maps: u32,
  n: u32,
  pos0: u32,
  width: u32, // row stride of probs, ≥ pos0 + n
  total: u32, // rows of out, ≥ pos0 + n
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [maps, n, width]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [maps, total, 5]

var<workgroup> red_e: array<f32, WG>;
var<workgroup> red_d: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = wg.x + wg.y * nwg.x; // (map, row), uniform over the workgroup
  if (idx >= p.maps * p.n) {
    return;
  }
  let h = idx / p.n;
  let r = idx % p.n;
  let i = p.pos0 + r;
  let base = (h * p.n + r) * p.width;
  let last = min(i, p.width - 1u);
  var e = 0.0;
  var d = 0.0;
  for (var j = tid; j <= last; j += WG) {
    let x = probs[base + j];
    if (x > 0.0) {
      e -= x * log2(x);
    }
    d += x * f32(i - j);
  }
  red_e[tid] = e;
  red_d[tid] = d;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (tid < s) {
      red_e[tid] += red_e[tid + s];
      red_d[tid] += red_d[tid + s];
    }
    workgroupBarrier();
  }
  if (tid == 0u && i < p.total) {
    let o = (h * p.total + i) * 5u;
    out[o] = red_e[0];
    out[o + 1u] = red_d[0];
    out[o + 2u] = probs[base];
    out[o + 3u] = select(0.0, probs[base + min(i - 1u, last)], i >= 1u);
    out[o + 4u] = probs[base + last];
  }
}
