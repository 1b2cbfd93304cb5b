// Shared by every kernel that turns RoPE pairs (rope, rope_store, gemv's ROPE epilogue, the fused MLA
// absorption): appended to their source by the op descriptors (src/main/engine/ops/rope_angle.ts), so
// prompts and decode steps turn a pair by the same f32 angle bit for bit.

const ROPE_TWO_PI: f32 = 6.283185307179586;

// The angle of pair i (of rot_dim / 2) at position pos: pos · theta^(−2i/rot_dim), reduced in turns
// before sin/cos — GPU sin/cos are only accurate near [−π, π], and a position of thousands would
// otherwise lose the rotation entirely.
fn rope_angle(pos: u32, i: u32, rot_dim: u32, theta: f32) -> f32 {
  let inv_freq = pow(theta, -2.0 * f32(i) / f32(rot_dim));
  return fract(f32(pos) * (inv_freq / ROPE_TWO_PI)) * ROPE_TWO_PI;
}
