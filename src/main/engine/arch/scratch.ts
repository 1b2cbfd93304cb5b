// Activation buffers of the forward pass, by name, grown on demand and reused across layers and calls.
// Growth happens only before a pass is recorded (Scratch.reserve), never while one is pending, so no
// recorded dispatch can point at a destroyed buffer.
import type { GpuRuntime } from '../gpu/runtime';

export class Scratch {
  private bufs = new Map<string, GPUBuffer>();
  constructor(private readonly rt: GpuRuntime) {}

  /** Ensure buffer `name` holds at least `bytes`. */
  reserve(name: string, bytes: number): void {
    const b = this.bufs.get(name);
    if (b && b.size >= bytes) return;
    b?.destroy();
    this.bufs.set(name, this.rt.buffer(bytes, `act.${name}`));
  }

  get(name: string): GPUBuffer {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`activation buffer "${name}" was not reserved before recording the pass`);
    return b;
  }

  destroy(): void {
    for (const b of this.bufs.values()) b.destroy();
    this.bufs.clear();
  }
}
