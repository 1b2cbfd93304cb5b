// Op: next-token NLL per row on the GPU (analysis): logits [m, vocab] f32 of rows pos0 .. pos0+m−1 and
// the text's ids [T] → nll[pos0 + r] (nats; 0 on the text's last row), so only 4 bytes a row come back.
// Kernel: kernels/analysis_nll.wgsl.
import code from '../../../../kernels/analysis_nll.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_nll', code };
const params = uniformStruct({ m: 'u32', vocab: 'u32', pos0: 'u32', t: 'u32' });

export function recordAnalysisNll(rt: GpuRuntime, b: { logits: GPUBuffer; ids: GPUBuffer; out: GPUBuffer }, s: { m: number; vocab: number; pos0: number; t: number }): void {
  requirePositiveInts('analysis_nll', { m: s.m, vocab: s.vocab, t: s.t });
  if (s.pos0 + s.m > s.t) throw opError('analysis_nll', `rows ${s.pos0}..${s.pos0 + s.m} exceed T = ${s.t}`);
  requireBytes('analysis_nll', 'logits', b.logits, s.m * s.vocab * 4);
  requireBytes('analysis_nll', 'ids', b.ids, s.t * 4);
  requireBytes('analysis_nll', 'out', b.out, s.t * 4);
  const u = rt.uniform(params(s));
  rt.dispatch(rt.pipeline(kernel), [u, b.logits, b.ids, b.out], grid2d(rt, s.m), 'analysis_nll');
}
