// The KV cache of one model instance: per layer, the buffers its variant caches (layout.ts), sized for
// n_ctx tokens, on the GPU (GpuKvCache), or the CPU reference's own rows (CpuKvAccount).
// Both report their bytes from what they hold, so a test can hold them to the formulas.
import type { GpuRuntime } from '../gpu/runtime';
import { ContextLengthError } from '../../../shared/errors';
import { dtypeBytes, kvLayout, type KvDtype, type KvLayout, type KvPartBytes, type KvReport, type KvShape } from './layout';

abstract class KvCacheBase {
  readonly layout: KvLayout;
  readonly dtype: KvDtype;
  readonly nCtx: number;
  /** Tokens cached so far: the position the next token is written at. */
  length = 0;

  constructor(shape: KvShape, dtype: KvDtype, nCtx: number) {
    this.layout = kvLayout(shape);
    this.dtype = dtype;
    this.nCtx = nCtx;
    if (dtype === 'f16') {
      // f16 rows are packed two to a u32; an odd row would split a pair across tokens.
      for (const b of this.layout.buffers) {
        if (b.rowElems % 2 !== 0) throw new RangeError(`KV buffer "${b.name}" has ${b.rowElems} values per token; f16 caches need an even count`);
      }
    }
  }

  /** Bytes allocated for buffer `name` of one layer. */
  protected abstract allocatedBytes(layer: number, name: string): number;

  /** Reserve room for `n` more tokens; throws ContextLengthError when they do not fit. */
  ensureRoom(n: number): void {
    if (this.length + n > this.nCtx) {
      throw new ContextLengthError(
        `the KV cache holds ${this.length.toLocaleString('en-US')} tokens; ${n.toLocaleString('en-US')} more exceed its context of ${this.nCtx.toLocaleString('en-US')}: start a new conversation or raise the context length`,
        { cached: this.length, requested: n, nCtx: this.nCtx },
      );
    }
  }

  reset(): void {
    this.length = 0;
  }

  report(): KvReport {
    const eb = dtypeBytes(this.dtype);
    const byPart: KvPartBytes[] = [];
    for (let layer = 0; layer < this.layout.nLayers; layer++) {
      for (const p of this.layout.parts) {
        const buf = this.layout.buffers.find((b) => b.name === p.buffer)!;
        // A part's share of its buffer's allocation, in proportion to its width in the row.
        const reserved = (this.allocatedBytes(layer, p.buffer) * p.elems) / buf.rowElems;
        byPart.push({ layer, part: p.name, reservedBytes: reserved, usedBytes: this.length * p.elems * eb });
      }
    }
    return {
      family: this.layout.family,
      dtype: this.dtype,
      nCtx: this.nCtx,
      tokens: this.length,
      elemsPerToken: this.layout.elemsPerToken,
      bytesPerToken: this.layout.elemsPerToken * eb * this.layout.nLayers,
      reservedBytes: byPart.reduce((a, p) => a + p.reservedBytes, 0),
      usedBytes: byPart.reduce((a, p) => a + p.usedBytes, 0),
      byPart,
    };
  }
}

export class GpuKvCache extends KvCacheBase {
  /** buffers[layer][name]: [n_ctx, rowElems] f16 packed in u32 pairs, or f32 (layout.ts names them). */
  readonly buffers: Record<string, GPUBuffer>[];

  constructor(rt: GpuRuntime, shape: KvShape, dtype: 'f16' | 'f32', nCtx: number) {
    super(shape, dtype, nCtx);
    const eb = dtypeBytes(dtype);
    const maxBinding = rt.device.limits.maxStorageBufferBindingSize;
    this.buffers = [];
    for (let layer = 0; layer < this.layout.nLayers; layer++) {
      const bufs: Record<string, GPUBuffer> = {};
      for (const b of this.layout.buffers) {
        const bytes = nCtx * b.rowElems * eb;
        if (bytes > maxBinding) {
          throw new ContextLengthError(`a context of ${nCtx.toLocaleString('en-US')} tokens needs ${bytes.toLocaleString('en-US')} bytes for one layer's "${b.name}" cache, more than this GPU binds (${maxBinding.toLocaleString('en-US')}): lower the context length`);
        }
        bufs[b.name] = rt.buffer(bytes, `kv.${layer}.${b.name}`); // [n_ctx, rowElems] dtype
      }
      this.buffers.push(bufs);
    }
  }

  protected allocatedBytes(layer: number, name: string): number {
    return this.buffers[layer][name].size;
  }

  destroy(): void {
    for (const l of this.buffers) for (const b of Object.values(l)) b.destroy();
  }
}

/**
 * The CPU reference model keeps its own float64 rows (cpu/forward); this accounts for them in the same
 * layout and report, so both backends answer "what does the cache hold" alike.
 */
export class CpuKvAccount extends KvCacheBase {
  constructor(shape: KvShape, nCtx: number) {
    super(shape, 'f64', nCtx);
  }

  protected allocatedBytes(_layer: number, name: string): number {
    return this.nCtx * this.layout.buffers.find((b) => b.name === name)!.rowElems * 8;
  }
}
