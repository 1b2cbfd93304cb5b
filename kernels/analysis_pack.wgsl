// A chunk's attention probabilities as f16 (analysis, full maps kept): probs [maps, n, width] f32 →
// rows pos0 .. pos0+n−1 of out [maps, T, TP] f16, TP = T rounded up to even, packed two per u32 (low
// half first); columns ≥ width (and the pad column) are 0. One thread per output word.

const WG: u32 = 256u;

struct Params {
  maps: u32,
  n: u32,
  pos0: u32,
  width: u32,
  t: u32,
  words: u32, // TP / 2 words per row
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;     // [maps, n, width]
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // [maps, T, TP/2]

fn at(h: u32, r: u32, c: u32) -> f32 {
  if (c < p.width && c < p.t) {
    return probs[(h * p.n + r) * p.width + c];
  }
  return 0.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.maps * p.n * p.words) {
    return;
  }
  let w = idx % p.words;
  let r = (idx / p.words) % p.n;
  let h = idx / (p.words * p.n);
  let word = pack2x16float(vec2<f32>(at(h, r, 2u * w), at(h, r, 2u * w + 1u)));
  out[(h * p.t + p.pos0 + r) * p.words + w] = word;
}
