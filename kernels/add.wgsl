// Elementwise add: out = a + b over n f32 elements. 1-D grid folded into 2-D for large n.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;            // [n]
@group(0) @binding(2) var<storage, read> b: array<f32>;            // [n]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [n]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) {
    out[i] = a[i] + b[i];
  }
}
