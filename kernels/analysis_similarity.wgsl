// Pairwise similarity of attention maps row by row (analysis). For each stored query row r (absolute
// position pos(r): pos0 + r, or rowPos[r] with ROWS) and each pair k = (a, b), a ≤ b, from the pair table:
//   out[outRow0 + r, k, 0] = JS(a[r,:], b[r,:]) = ½ Σ_j [x log2(2x/(x+y)) + y log2(2y/(x+y))], 0·log 0 = 0
//   out[outRow0 + r, k, 1] = Σ_j x·y        (a = b: Σ x², the norms of the cosine)
// over the columns j ≤ pos(r) only (later ones are zero in both). Every per-column JS term is ≥ 0, so
// the f32 sum has no cancellation; the host sums rows in float64.
// probs [maps, nRows, width] f32; one workgroup per (row, pair), linearised over a 2-D grid.

override ROWS: bool = false;

const WG: u32 = 64u;

struct Params {
  n_rows: u32,
  width: u32,
  pos0: u32,
  out_row0: u32,
  pairs: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [maps, n_rows, width]
@group(0) @binding(2) var<storage, read> pair_tab: array<u32>;  // [pairs] a << 16 | b
@group(0) @binding(3) var<storage, read> row_pos: array<u32>;   // [n_rows] (ROWS only)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // [out rows, pairs, 2]

var<workgroup> red_js: array<f32, WG>;
var<workgroup> red_dot: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = wg.x + wg.y * nwg.x; // r · pairs + k
  if (idx >= p.n_rows * p.pairs) {
    return;
  }
  let r = idx / p.pairs;
  let k = idx % p.pairs;
  let ab = pair_tab[k];
  let a = ab >> 16u;
  let b = ab & 0xffffu;
  var pos = p.pos0 + r;
  if (ROWS) {
    pos = row_pos[r];
  }
  let cols = min(pos + 1u, p.width);
  let ra = (a * p.n_rows + r) * p.width;
  let rb = (b * p.n_rows + r) * p.width;
  var js = 0.0;
  var dot = 0.0;
  for (var j = tid; j < cols; j += WG) {
    let x = probs[ra + j];
    let y = probs[rb + j];
    let m = x + y;
    if (m > 0.0) {
      var t = 0.0;
      if (x > 0.0) {
        t += x * log2(2.0 * x / m);
      }
      if (y > 0.0) {
        t += y * log2(2.0 * y / m);
      }
      js += 0.5 * t;
    }
    dot += x * y;
  }
  red_js[tid] = js;
  red_dot[tid] = dot;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (tid < s) {
      red_js[tid] += red_js[tid + s];
      red_dot[tid] += red_dot[tid + s];
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let o = ((p.out_row0 + r) * p.pairs + k) * 2u;
    out[o] = max(red_js[0], 0.0);
    out[o + 1u] = red_dot[0];
  }
}
