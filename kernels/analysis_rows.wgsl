// Cross-layer rows (analysis): copies the stored query rows of one layer's chunk into the model-wide
// buffer out [allMaps, R, T] f32 at maps map0 .. map0+maps−1. Stored row k is query row row_pos[k];
// only rows inside this chunk (pos0 .. pos0+n−1) are written; columns ≥ width are 0.
// probs [maps, n, width] f32. One thread per output element.

const WG: u32 = 256u;

struct Params {
  maps: u32,
  n: u32,
  pos0: u32,
  width: u32,
  t: u32,
  r: u32, // rows stored per map
  map0: u32,
  _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [maps, n, width]
@group(0) @binding(2) var<storage, read> row_pos: array<u32>;   // [R]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [allMaps, R, T]

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.maps * p.r * p.t) {
    return;
  }
  let c = idx % p.t;
  let k = (idx / p.t) % p.r;
  let h = idx / (p.t * p.r);
  let row = row_pos[k];
  if (row < p.pos0 || row >= p.pos0 + p.n) {
    return;
  }
  var x = 0.0;
  if (c < p.width) {
    x = probs[(h * p.n + row - p.pos0) * p.width + c];
  }
  out[((p.map0 + h) * p.r + k) * p.t + c] = x;
}
