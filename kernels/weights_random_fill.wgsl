// Random weight fill for benchmarks (weights/random.ts): a counter-based hash per element, uniform in
// offset ± scale, written as f16 pairs or f32 bits. Not an op of any forward pass.
override W_F16: bool = true;
struct Params { words: u32, seed: u32, scale: f32, offset: f32, stride_x: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<u32>; // [words] f16 pairs or f32 bits

fn hash(x: u32) -> u32 {
  var h = x * 0x9e3779b1u;
  h = (h ^ (h >> 15u)) * 0x85ebca6bu;
  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;
  return h ^ (h >> 16u);
}
fn uni(i: u32) -> f32 { // uniform in [-1, 1)
  return f32(hash(i ^ hash(p.seed)) >> 8u) / 8388608.0 - 1.0;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x + g.y * p.stride_x;
  if (i >= p.words) { return; }
  if (W_F16) {
    w[i] = pack2x16float(vec2<f32>(p.offset + p.scale * uni(2u * i), p.offset + p.scale * uni(2u * i + 1u)));
  } else {
    w[i] = bitcast<u32>(p.offset + p.scale * uni(i));
  }
}
