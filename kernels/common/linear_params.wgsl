// The uniforms of the prefill matmuls (kernels/matmul.wgsl, kernels/matmul_mma.wgsl), appended to each
// by ops/matmul.ts, which packs them (flags from ops/linear_common.ts). Flags rather than override
// constants: the branches are uniform and cheap, and fewer pipeline variants keep compile time down
// (seconds each on software drivers).
const FLAG_BIAS: u32 = 1u;   // + bias[o]
const FLAG_ACCUM: u32 = 2u;  // + y (the previous contents)

struct Params {
  n: u32,
  out_dim: u32,
  in_dim: u32,
  x_stride: u32,
  x_offset: u32,
  y_stride: u32,
  y_offset: u32,
  flags: u32,
}
