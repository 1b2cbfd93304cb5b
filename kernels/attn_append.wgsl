// Store f32 activations into a KV cache at rows [pos0, pos0 + n): the write side of every cache
// layout (MHA/GQA K and V, the MLA latent, GTA keys and latent). One invocation per cache word, so with
// KV_F16 two adjacent elements are rounded to f16 and packed into one u32 (low half = even element).
// Widths, strides and offsets are in elements and must be even when KV_F16 is set.

override KV_F16: bool = true;

struct Params {
  n: u32,          // rows to store
  width: u32,      // elements per row copied
  pos0: u32,       // first destination row
  src_stride: u32, // elements between source rows
  src_off: u32,    // first source column
  dst_stride: u32, // elements between cache rows
  dst_off: u32,    // first cache column
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;         // [n, src_stride] f32
@group(0) @binding(2) var<storage, read_write> cache: array<u32>; // [n_ctx, dst_stride] f16 pairs or f32 bits

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let per_word = select(1u, 2u, KV_F16);
  let words = p.width / per_word;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= words * p.n) {
    return;
  }
  let row = idx / words;
  let col = (idx % words) * per_word;
  let s = row * p.src_stride + p.src_off + col;
  let d = (p.pos0 + row) * p.dst_stride + p.dst_off + col;
  if (KV_F16) {
    cache[d / 2u] = pack2x16float(vec2<f32>(src[s], src[s + 1u]));
  } else {
    cache[d] = bitcast<u32>(src[s]);
  }
}
