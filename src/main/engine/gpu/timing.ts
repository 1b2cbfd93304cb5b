// GPU-side timing of groups of dispatches with timestamp queries, where the adapter offers them.
// Each timed group runs as its own compute pass whose start and end are stamped; the stamps are
// resolved into a buffer at the end of the batch and read back once, so timing adds no CPU waits
// between dispatches (only the final read).
import type { GpuRuntime } from './runtime';

export interface TimedSpan {
  label: string;
  ms: number;
}

export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer; // [capacity · 2] u64 nanoseconds
  private labels: string[] = [];

  private constructor(private readonly rt: GpuRuntime, private readonly capacity: number) {
    this.querySet = rt.device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuf = rt.device.createBuffer({ size: capacity * 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** A timer for up to `capacity` spans per collect(), or null when the device lacks timestamp-query. */
  static create(rt: GpuRuntime, capacity = 256): GpuTimer | null {
    return rt.device.features.has('timestamp-query') ? new GpuTimer(rt, capacity) : null;
  }

  /** Records the dispatches `record` makes as one stamped pass. A span without dispatches reads 0. */
  time(label: string, record: () => void): void {
    if (this.labels.length >= this.capacity) throw new Error(`GpuTimer: more than ${this.capacity} spans before collect()`);
    const i = this.labels.length;
    this.labels.push(label);
    this.rt.splitPass({ querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 });
    record();
    this.rt.splitPass();
  }

  /** Submits, reads every span recorded since the last collect and starts over. */
  async collect(): Promise<TimedSpan[]> {
    const n = this.labels.length;
    if (n === 0) return [];
    this.rt.encode((e) => e.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0));
    const stamps = new BigUint64Array(await this.rt.read(this.resolveBuf, n * 16));
    const spans = this.labels.map((label, i) => ({ label, ms: stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6 : 0 }));
    this.labels = [];
    return spans;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}
