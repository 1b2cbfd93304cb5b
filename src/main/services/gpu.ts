// The one GPU device of the services, made on first use and shared by every model load and benchmark
// (architecture.md: one GPUDevice, passed into everything). A failure is remembered as its
// GpuUnavailableError so 'auto' loads fall back to the CPU without probing again. A device that is lost,
// or that reported a failed command (GpuRuntime.failed: its results are no longer trusted), is not
// handed out again: the next load opens a new one.
import { GpuUnavailableError } from '../../shared/errors';
import { defaultRuntime, type GpuRuntime } from '../engine';

export interface GpuHandle {
  rt: GpuRuntime;
  device: string; // "vendor / description (backend)"
}

export class GpuProvider {
  private handle: Promise<GpuHandle> | null = null;

  /** The shared runtime; throws GpuUnavailableError (with what to do) when there is no usable adapter. */
  get(): Promise<GpuHandle> {
    if (this.handle) {
      const current = this.handle;
      return current.then((h) => {
        if (!h.rt.failed) return h;
        if (this.handle === current) this.handle = null;
        return this.get();
      });
    }
    const handle = defaultRuntime().then(
      (h) => {
        // A lost device (driver reset, GPU removed) cannot be reused: the next load makes a new one.
        void h.rt.device.lost.then(() => {
          if (this.handle === handle) this.handle = null;
        });
        return h;
      },
      (err: unknown) => {
        if (err instanceof GpuUnavailableError) throw err;
        throw new GpuUnavailableError(`The GPU could not be opened: ${(err as Error).message}. Update the GPU driver or restart the workbench.`);
      },
    );
    this.handle = handle;
    return handle;
  }

  destroy(): void {
    const h = this.handle;
    this.handle = null;
    void h?.then(({ rt }) => rt.device.destroy(), () => undefined);
  }
}
