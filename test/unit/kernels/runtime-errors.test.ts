// A GPU command that fails outside an error scope (here: a kernel that does not compile) must not let a
// result through: Dawn only logs such errors and skips the work, so the runtime turns the first one into
// a GpuCommandError on the next read or sync, and keeps throwing it.
import { describe, expect, it } from 'vitest';
import { GpuCommandError } from '../../../src/shared/errors';
import { createDevice, requestAdapter } from '../../../src/main/engine/gpu/device';
import { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { GpuProvider } from '../../../src/main/services/gpu';

describe('GpuRuntime: failed GPU commands', () => {
  it('turns an uncaptured device error into GpuCommandError on read and on every call after', async () => {
    // A device of its own: the shared test runtime fails the test on any uncaptured error.
    const rt = new GpuRuntime(await createDevice(await requestAdapter(), { label: 'runtime-errors' }));
    const out = rt.upload(new Float32Array([1, 2, 3, 4]), 'out');
    await expect(rt.read(out)).resolves.toBeInstanceOf(ArrayBuffer); // healthy so far
    const broken = { name: 'broken_kernel', code: '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = ; }' };
    rt.dispatch(rt.pipeline(broken), [out], [1], 'broken_kernel');
    const err = await rt.read(out).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GpuCommandError);
    expect((err as Error).message).toMatch(/A GPU command failed.*(WGSL|initializer)/);
    expect(((err as GpuCommandError).details?.message as string) ?? '').toContain('broken_kernel');
    expect(rt.failed).toBe(true);
    // Sticky, and the small reads' pooled staging buffers stay usable: the same error every time.
    await expect(rt.read(out, 4)).rejects.toBeInstanceOf(GpuCommandError);
    await expect(rt.read(out, 4)).rejects.toBeInstanceOf(GpuCommandError);
    await expect(rt.sync()).rejects.toBeInstanceOf(GpuCommandError);
    rt.device.destroy();
  });

  it('the services do not hand out a runtime that failed: the next get() opens a new device', async () => {
    const gpu = new GpuProvider();
    const first = await gpu.get();
    expect(await gpu.get()).toBe(first); // shared while healthy
    const broken = { name: 'broken_kernel', code: '@compute @workgroup_size(1) fn main() { let x = ; }' };
    first.rt.dispatch(first.rt.pipeline(broken), [], [1], 'broken_kernel');
    await expect(first.rt.sync()).rejects.toBeInstanceOf(GpuCommandError);
    const second = await gpu.get();
    expect(second).not.toBe(first);
    expect(second.rt.failed).toBe(false);
    await expect(second.rt.read(second.rt.upload(new Float32Array([7]), 'x'), 4)).resolves.toBeInstanceOf(ArrayBuffer);
    first.rt.device.destroy();
    gpu.destroy();
  });
});
