// Gram matrix of a chunk of rows (analysis: KV compressibility): g [dim, dim] f32 = XᵀX, or g += XᵀX
// with `accumulate` (the chunks of one prompt summed in turn). X is n rows of `dim` f32 columns read in
// place, `stride` floats apart from element `offset` (a slice of a fused projection's output).
// G is symmetric: one workgroup per 32×32 output tile on or above the diagonal (ti ≤ tj), linearised
// over a 2-D grid; an off-diagonal tile also writes its transpose, so every element has exactly one
// writer. The workgroup walks the rows in steps of RT, staging X[rows, ti-tile] and X[rows, tj-tile] in
// workgroup memory; each thread owns a 2×2 block. Each step's RT products are summed on their own before
// joining the running f32 sum (two-level summation: error grows with n/RT rather than n).

const TS: u32 = 32u; // output tile side
const RT: u32 = 32u; // rows per step
const WG: u32 = 256u; // 16 × 16 threads

struct Params {
  n: u32, // rows
  dim: u32, // columns (G is dim × dim)
  stride: u32, // floats between rows, ≥ offset + dim
  offset: u32, // first column's element in row 0
  tiles: u32, // ceil(dim / TS)
  accumulate: u32, // 1: g += XᵀX; 0: g = XᵀX (g may hold anything, NaN included)
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // rows of X in place
@group(0) @binding(2) var<storage, read_write> g: array<f32>;  // [dim, dim]

var<workgroup> xa: array<f32, 1024>; // [RT, TS]: X[r0 + r, ti·TS + c]
var<workgroup> xb: array<f32, 1024>; // [RT, TS]: X[r0 + r, tj·TS + c]

fn load(r: u32, c: u32) -> f32 {
  if (r >= p.n || c >= p.dim) {
    return 0.0;
  }
  return x[r * p.stride + p.offset + c];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Upper-triangle tile index → (ti, tj), uniform over the workgroup.
  let nt = p.tiles;
  var rem = wg.x + wg.y * nwg.x;
  if (rem >= nt * (nt + 1u) / 2u) {
    return;
  }
  var ti = 0u;
  loop {
    let len = nt - ti;
    if (rem < len) {
      break;
    }
    rem -= len;
    ti += 1u;
  }
  let tj = ti + rem;
  let tid = lid.y * 16u + lid.x;
  let ia = ti * TS;
  let jb = tj * TS;
  let a0 = lid.y * 2u; // this thread's rows of the tile (columns of X in the ti-tile)
  let b0 = lid.x * 2u; // and columns (columns of X in the tj-tile)

  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var r0 = 0u; r0 < p.n; r0 += RT) {
    for (var k = 0u; k < 4u; k++) {
      let e = tid + k * WG;
      let r = e / TS;
      let c = e % TS;
      xa[e] = load(r0 + r, ia + c);
      xb[e] = load(r0 + r, jb + c);
    }
    workgroupBarrier();
    var s = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var r = 0u; r < RT; r++) {
      let u0 = xa[r * TS + a0];
      let u1 = xa[r * TS + a0 + 1u];
      let v0 = xb[r * TS + b0];
      let v1 = xb[r * TS + b0 + 1u];
      s[0] = fma(u0, v0, s[0]);
      s[1] = fma(u0, v1, s[1]);
      s[2] = fma(u1, v0, s[2]);
      s[3] = fma(u1, v1, s[3]);
    }
    for (var k = 0u; k < 4u; k++) {
      acc[k] += s[k];
    }
    workgroupBarrier();
  }

  for (var k = 0u; k < 4u; k++) {
    let i = ia + a0 + k / 2u;
    let j = jb + b0 + k % 2u;
    if (i < p.dim && j < p.dim) {
      var v = acc[k];
      if (p.accumulate != 0u) {
        v += g[i * p.dim + j];
      }
      g[i * p.dim + j] = v;
      if (ti != tj) {
        var w = acc[k];
        if (p.accumulate != 0u) {
          w += g[j * p.dim + i];
        }
        g[j * p.dim + i] = w;
      }
    }
  }
}
