// The CPU reference as a backend: the float64 forward passes of cpu/forward behind the same interface
// as the GPU, for machines without a usable adapter and as the oracle in tests. Slow by design.
import type { ModelConfig } from '../../../shared/arch/config';
import { InvalidRequestError } from '../../../shared/errors';
import { createCpuModel, type CpuModel, type ForwardHooks, type WeightMap } from '../cpu/forward';
import { sampleCpu } from '../generate/sampling';
import type { CounterSnapshot } from '../instrument/counters';
import { CpuKvAccount } from '../kv/cache';
import { kvShapeOf } from '../kv/layout';
import type { ForwardRequest, ForwardResult, InferenceBackend, WeightDtype } from './types';

export class CpuBackend implements InferenceBackend {
  readonly kind = 'cpu' as const;
  readonly device = 'cpu reference (float64)';
  private readonly model: CpuModel;
  private readonly kv: CpuKvAccount;

  /** `weights` as f32 values; for dtype f16 they hold f16-rounded values, as the GPU would see them. */
  constructor(
    readonly config: ModelConfig,
    weights: WeightMap,
    readonly dtype: WeightDtype,
    readonly nCtx: number,
  ) {
    this.model = createCpuModel(config, weights);
    this.kv = new CpuKvAccount(kvShapeOf(config), nCtx);
  }

  get position(): number {
    return this.kv.length;
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    if ((req.taps?.length ?? 0) > 0 || req.attentionProbs) {
      throw new InvalidRequestError('taps and attention maps are recorded by the GPU backend only: run with --backend gpu');
    }
    this.kv.ensureRoom(req.ids.length);
    const n = req.ids.length;
    const V = this.config.vocabSize;
    const all = this.model.forward(req.ids, this.kv.length);
    this.kv.length += n;
    const row = (i: number): Float32Array => Float32Array.from(all.subarray(i * V, (i + 1) * V));
    const logits = req.logits === 'all' ? Array.from({ length: n }, (_, i) => row(i)) : req.logits === 'last' ? [row(n - 1)] : [];
    const token = req.sample ? sampleCpu(all.subarray((n - 1) * V, n * V), req.sample.params, req.sample.seed, req.sample.seen) : null;
    return { logits, token, taps: {}, attention: [] };
  }

  /**
   * Analysis: run `ids` at the cache's position with the reference's hooks (probabilities, the
   * attention override); returns every row's logits [n, vocab] in float64.
   */
  forwardHooked(ids: number[], hooks: ForwardHooks): Float64Array {
    this.kv.ensureRoom(ids.length);
    const all = this.model.forward(ids, this.kv.length, hooks);
    this.kv.length += ids.length;
    return all;
  }

  reset(): void {
    this.model.reset();
    this.kv.reset();
  }

  truncate(length: number): void {
    // The reference drops rows from pos0 on at its next forward; the account follows now.
    this.kv.length = Math.min(this.kv.length, length);
  }

  kvReport() {
    return this.kv.report();
  }

  /** The reference does not count its work: an empty snapshot. */
  counters(): CounterSnapshot {
    return { byOp: {}, total: { calls: 0, flops: 0, bytes: 0 } };
  }

  dispose(): void {
    this.reset();
  }
}
