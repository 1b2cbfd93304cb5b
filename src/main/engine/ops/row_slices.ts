// The row-sliced GEMV helpers (kernels/common/row_slices.wgsl: W8 loads, partial sums in workgroup
// memory) shared by the per-head decode kernels: a kernel that calls them is built from its own file
// with this one appended.
import helpers from '../../../../kernels/common/row_slices.wgsl?raw';

export function withRowSlices(code: string): string {
  return `${code}\n${helpers}`;
}
