// Tiled matmul for prefill: see kernels/matmul.wgsl.
import code from '../../../../kernels/matmul.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { type LinearArgs, linearFlags, resolveLinear } from './linear_common';
import { opError, uniformStruct, unusedBinding } from './uniforms';

export { bytes, flops } from './linear_common';

const kernel: KernelSource = { name: 'matmul', code };
const params = uniformStruct({
  n: 'u32', out_dim: 'u32', in_dim: 'u32', x_stride: 'u32', x_offset: 'u32', y_stride: 'u32', y_offset: 'u32', flags: 'u32',
});
const TILE = 64;

export function matmul(rt: GpuRuntime, args: LinearArgs): void {
  const a = resolveLinear('matmul', args);
  const grid: [number, number] = [Math.ceil(a.outDim / TILE), Math.ceil(a.rows / TILE)];
  const max = rt.maxWorkgroups;
  if (grid[0] > max || grid[1] > max) throw opError('matmul', `${a.rows}×${a.outDim} needs ${grid[0]}×${grid[1]} tiles, over the dispatch limit ${max}`);
  const pipe = rt.pipeline(kernel, { W_F16: a.wF16 ? 1 : 0 });
  const u = rt.uniform(params({
    n: a.rows, out_dim: a.outDim, in_dim: a.inDim, x_stride: a.xStride, x_offset: a.xOffset, y_stride: a.yStride, y_offset: a.yOffset, flags: linearFlags(a),
  }));
  rt.dispatch(pipe, [u, a.w, a.x, a.bias ?? unusedBinding(rt), a.y], grid, 'matmul');
}
