// Activations over [rows, cols]: SwiGLU, ReLU², sigmoid gate. Operands may be slices of wider rows.
import code from '../../../../kernels/activation.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'activation', code };
const params = uniformStruct({
  rows: 'u32', cols: 'u32', a_stride: 'u32', a_offset: 'u32', b_stride: 'u32', b_offset: 'u32', out_stride: 'u32', out_offset: 'u32',
});

/** swiglu: silu(a)·b; relu2: max(a,0)²; sigmoid_mul: sigmoid(a)·b. */
export type ActivationKind = 'swiglu' | 'relu2' | 'sigmoid_mul';
const OP: Record<ActivationKind, number> = { swiglu: 0, relu2: 1, sigmoid_mul: 2 };

/** A [rows, cols] operand inside a buffer: element (r, c) at r·stride + offset + c. */
export interface Operand {
  buf: GPUBuffer;
  stride?: number; // default cols
  offset?: number; // default 0
}

export interface ActivationArgs {
  kind: ActivationKind;
  a: Operand; // gate (or the input of relu2)
  b?: Operand; // up / value; not used by relu2
  out: Operand; // must not share a buffer with a or b
  rows: number;
  cols: number;
}

export function activation(rt: GpuRuntime, args: ActivationArgs): void {
  const { rows, cols, kind } = args;
  requirePositiveInts('activation', { rows, cols });
  const b = args.b ?? (kind === 'relu2' ? args.a : undefined);
  if (!b) throw opError('activation', `${kind} needs a second operand b`);
  if (args.out.buf === args.a.buf || args.out.buf === b.buf) throw opError('activation', 'out shares a buffer with an input');
  const resolve = (name: string, o: Operand) => {
    const stride = o.stride ?? cols;
    const offset = o.offset ?? 0;
    if (offset + cols > stride) throw opError('activation', `${name}: ${cols} columns at offset ${offset} exceed the row stride ${stride}`);
    requireBytes('activation', name, o.buf, ((rows - 1) * stride + offset + cols) * 4);
    return { stride, offset };
  };
  const ra = resolve('a', args.a);
  const rb = resolve('b', b);
  const ro = resolve('out', args.out);
  const u = rt.uniform(params({
    rows, cols, a_stride: ra.stride, a_offset: ra.offset, b_stride: rb.stride, b_offset: rb.offset, out_stride: ro.stride, out_offset: ro.offset,
  }));
  if (rows > rt.maxWorkgroups) throw opError('activation', `${rows} rows exceed the dispatch limit; split the batch`);
  rt.dispatch(rt.pipeline(kernel, { OP: OP[kind] }), [u, args.a.buf, b.buf, args.out.buf], [Math.ceil(cols / 256), rows], kind);
}

export function flops(s: { rows: number; cols: number; kind: ActivationKind }): number {
  return s.rows * s.cols * (s.kind === 'relu2' ? 2 : 6);
}

export function bytes(s: { rows: number; cols: number; kind: ActivationKind }): number {
  return s.rows * s.cols * (s.kind === 'relu2' ? 8 : 12);
}
