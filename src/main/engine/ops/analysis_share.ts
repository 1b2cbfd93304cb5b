// Op: the shared-map override (analysis, shared-map test): target maps' attention output rows ←
// P_shared·V, P_shared the mean of the members' probability rows (the medoid alone: its row), V read
// from the cache through the attention's own view and element format. Kernel: kernels/analysis_share.wgsl.
import code from '../../../../kernels/analysis_share.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { requireEven, resolveView, type CacheView, type KvFormat } from './attn_common';
import { opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_share', code };
const params = uniformStruct({
  n: 'u32', pos0: 'u32', width: 'u32', hpv: 'u32', v_row: 'u32', v_head: 'u32', v_off: 'u32', stride: 'u32', targets: 'u32', hq: 'u32', _pad0: 'u32', _pad1: 'u32',
});
const BQ = 16;
const DC = 64;

/** One overridden map: its output takes the mean of these members' rows (one member: the medoid's). */
export interface ShareTarget {
  map: number;
  members: number[];
}

/** [targets, maps + 2] u32: target, member count, members (the kernel's mix table). */
export function mixTable(targets: ShareTarget[], maps: number): Uint32Array {
  const stride = maps + 2;
  const t = new Uint32Array(Math.max(1, targets.length) * stride);
  targets.forEach((g, i) => {
    if (g.members.length < 1 || g.members.length > maps || g.map >= maps || g.members.some((m) => m < 0 || m >= maps)) {
      throw opError('analysis_share', `target ${g.map} with members ${g.members.join(',')} is outside ${maps} maps`);
    }
    t[i * stride] = g.map;
    t[i * stride + 1] = g.members.length;
    t.set(g.members, i * stride + 2);
  });
  return t;
}

export interface ShareShape {
  n: number;
  pos0: number;
  hq: number; // maps (query heads; GTA query groups)
  hv: number; // value heads
  dv: number; // even
  kv: KvFormat;
  vView?: CacheView;
  targets: number; // rows of the mix table
}

/** probs [hq, n, pos0+n] f32; v: the value cache; mix: mixTable(...) uploaded; out [n, hq, dv] f32. */
export function recordAnalysisShare(rt: GpuRuntime, b: { probs: GPUBuffer; v: GPUBuffer; mix: GPUBuffer; out: GPUBuffer }, s: ShareShape): void {
  if (s.targets === 0) return;
  requirePositiveInts('analysis_share', { n: s.n, hq: s.hq, hv: s.hv, dv: s.dv });
  if (s.hq % s.hv !== 0) throw opError('analysis_share', `${s.hq} maps do not split over ${s.hv} value heads`);
  const v = resolveView(s.vView, s.hv, s.dv);
  requireEven('analysis_share', { dv: s.dv, vRow: v.row, vHead: v.head, vOff: v.off });
  const width = s.pos0 + s.n;
  requireBytes('analysis_share', 'probs', b.probs, s.hq * s.n * width * 4);
  requireBytes('analysis_share', 'mix', b.mix, s.targets * (s.hq + 2) * 4);
  requireBytes('analysis_share', 'out', b.out, s.n * s.hq * s.dv * 4);
  const u = rt.uniform(params({
    n: s.n, pos0: s.pos0, width, hpv: s.hq / s.hv, v_row: v.row, v_head: v.head, v_off: v.off, stride: s.hq + 2, targets: s.targets, hq: s.hq, _pad0: 0, _pad1: 0,
  }));
  const pipe = rt.pipeline(kernel, { KV_F16: s.kv === 'f16' ? 1 : 0, DV: s.dv });
  rt.dispatch(pipe, [u, b.probs, b.v, b.mix, b.out], [Math.ceil(s.n / BQ), s.targets, Math.ceil(s.dv / DC)], 'analysis_share');
}
