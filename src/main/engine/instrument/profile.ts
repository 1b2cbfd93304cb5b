// Per-op GPU time from timestamp queries: a runtime that opens a stamped compute pass around every
// dispatch, so each kernel's time is measured on its own (pass boundaries add a little; the batched
// throughput figures never run on this runtime). Stamps are resolved and read once per collect().
// Needs the adapter's 'timestamp-query' feature.
import { GpuRuntime } from '../gpu/runtime';

const QUERIES = 4096; // begin and end of up to 2048 dispatches between collects

export interface OpTime {
  op: string; // the dispatch label (kernel variant)
  calls: number;
  ms: number;
}

export class ProfilingRuntime extends GpuRuntime {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer; // [QUERIES] u64 nanoseconds
  private labels: string[] = [];
  private times = new Map<string, OpTime>();

  constructor(device: GPUDevice) {
    super(device);
    this.querySet = device.createQuerySet({ type: 'timestamp', count: QUERIES });
    this.resolveBuf = device.createBuffer({ size: QUERIES * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  static supported(device: GPUDevice): boolean {
    return device.features.has('timestamp-query');
  }

  override dispatch(pipeline: GPUComputePipeline, bindings: (GPUBuffer | GPUBufferBinding | null)[], workgroups: [number, number?, number?], label?: string): void {
    const i = this.labels.length;
    if (2 * i + 2 > QUERIES) throw new Error('profiling: more than 2048 dispatches before collect()');
    this.labels.push(label ?? pipeline.label);
    this.splitPass({ querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 });
    super.dispatch(pipeline, bindings, workgroups, label);
    this.splitPass();
  }

  /** Submit, read the stamps recorded since the last collect into the per-op totals. */
  async collect(): Promise<void> {
    const n = this.labels.length;
    if (n === 0) return;
    this.encode((e) => e.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0));
    const ts = new BigUint64Array(await this.read(this.resolveBuf, n * 16));
    this.labels.forEach((op, i) => {
      const t = this.times.get(op) ?? { op, calls: 0, ms: 0 };
      t.calls++;
      t.ms += ts[2 * i + 1] > ts[2 * i] ? Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 : 0;
      this.times.set(op, t);
    });
    this.labels = [];
  }

  /** Per-op totals since the last reset, slowest first. */
  opTimes(): OpTime[] {
    return [...this.times.values()].sort((a, b) => b.ms - a.ms);
  }

  resetTimes(): void {
    this.times.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}
