// The RoPE angle shared by the kernels that turn pairs (kernels/common/rope_angle.wgsl): a kernel that
// calls rope_angle() is built from its own file with this one appended.
import angle from '../../../../kernels/common/rope_angle.wgsl?raw';

export function withRopeAngle(code: string): string {
  return `${code}\n${angle}`;
}
