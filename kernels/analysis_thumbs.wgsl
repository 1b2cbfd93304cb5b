// Thumbnails of attention maps (analysis): [maps, T, T] → [maps, S, S] (S ≤ T), cell (a, b) covering rows
// [floor(a·T/S), floor((a+1)·T/S)) and columns [floor(b·T/S), floor((b+1)·T/S)). MAX: the cell's largest
// entry; else its mean over all its entries (causal zeros included).
// Fed chunk by chunk: probs [maps, n, width] holds rows pos0 .. pos0+n−1 (columns ≥ width are zero). Each
// dispatch reduces the part of every cell inside its rows and, with ACCUMULATE (every chunk but the
// first), combines it with the cell's value so far (sum of partial means, or max): one thread writes a
// cell, and dispatches run in order, so no atomics.
// One workgroup per (map, cell), linearised over a 2-D grid.

override MAX: bool = false;

const WG: u32 = 64u;

struct Params {
  maps: u32,
  n: u32,
  pos0: u32,
  width: u32,
  t: u32, // T, rows and columns of the whole map
  s: u32, // S, cells per side (≤ T)
  accumulate: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [maps, n, width]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [maps, S, S]

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = wg.x + wg.y * nwg.x; // (map, cell row, cell column)
  if (idx >= p.maps * p.s * p.s) {
    return;
  }
  let h = idx / (p.s * p.s);
  let a = (idx / p.s) % p.s;
  let b = idx % p.s;
  let r0 = a * p.t / p.s;
  let r1 = (a + 1u) * p.t / p.s;
  let c0 = b * p.t / p.s;
  let c1 = (b + 1u) * p.t / p.s;
  let area = f32((r1 - r0) * (c1 - c0));
  // The cell's rows inside this chunk and its columns inside the chunk's width.
  let lo = max(r0, p.pos0);
  let hi = min(r1, p.pos0 + p.n);
  let ce = min(c1, p.width);
  let rows = select(0u, hi - lo, hi > lo);
  let cols = select(0u, ce - c0, ce > c0);
  var acc = 0.0;
  for (var e = tid; e < rows * cols; e += WG) {
    let x = probs[(h * p.n + lo + e / cols - p.pos0) * p.width + c0 + e % cols];
    if (MAX) {
      acc = max(acc, x);
    } else {
      acc += x;
    }
  }
  red[tid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (tid < s) {
      if (MAX) {
        red[tid] = max(red[tid], red[tid + s]);
      } else {
        red[tid] += red[tid + s];
      }
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    var v = red[0];
    if (!MAX) {
      v /= area;
    }
    if (p.accumulate != 0u) {
      let old = out[idx];
      v = select(old + v, max(old, v), MAX);
    }
    out[idx] = v;
  }
}
