// Per-op GPU time from timestamp queries: a runtime that gives every dispatch its own compute pass with
// timestamp writes (and submits it alone), so the time of each kernel is measured without its
// neighbours. Slower than the batched runtime by design; use it for one profiled step, never for the
// throughput figures. Needs the adapter's 'timestamp-query' feature.
import { GpuRuntime } from '../gpu/runtime';

const QUERIES = 4096; // timestamps per query set: begin and end of 2048 dispatches

export interface OpTime {
  op: string; // the dispatch label (kernel variant)
  calls: number;
  ms: number;
}

export class ProfilingRuntime extends GpuRuntime {
  private querySet: GPUQuerySet;
  private resolve: GPUBuffer;
  private used = 0;
  private labels: string[] = [];
  private times = new Map<string, OpTime>();

  constructor(device: GPUDevice) {
    super(device);
    this.querySet = device.createQuerySet({ type: 'timestamp', count: QUERIES });
    this.resolve = device.createBuffer({ size: QUERIES * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  static supported(device: GPUDevice): boolean {
    return device.features.has('timestamp-query');
  }

  override dispatch(pipeline: GPUComputePipeline, bindings: (GPUBuffer | GPUBufferBinding)[], workgroups: [number, number?, number?], label?: string): void {
    // Flush what is pending (its uniforms included) so this dispatch runs alone, in queue order.
    this.submit();
    if (this.used + 2 > QUERIES) throw new Error('profiling: more than 2048 dispatches before collect(); collect more often');
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: this.used, endOfPassWriteIndex: this.used + 1 } });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bindings.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })) }));
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    this.used += 2;
    this.labels.push(label ?? pipeline.label);
    this.dispatchCount++;
  }

  /** Read the timestamps recorded so far into the per-op totals. */
  async collect(): Promise<void> {
    if (this.used === 0) return;
    const n = this.used;
    const staging = this.device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.submit();
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, staging, 0, n * 8);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ts = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    this.labels.forEach((op, i) => {
      const ms = Number(ts[2 * i + 1] - ts[2 * i]) / 1e6;
      const t = this.times.get(op) ?? { op, calls: 0, ms: 0 };
      t.calls++;
      t.ms += Math.max(ms, 0);
      this.times.set(op, t);
    });
    this.used = 0;
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
    this.resolve.destroy();
  }
}
