// GpuTimer: timestamp queries around groups of dispatches, and the runtime's pass splitting that it
// relies on leaving results intact.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { GpuTimer } from '../../../src/main/engine/gpu/timing';
import { add } from '../../../src/main/engine/ops/add';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32 } from '../../helpers/gpu';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

describe('GpuTimer', () => {
  it('stamps each span and leaves the dispatches it wraps correct', async (ctx) => {
    const timer = GpuTimer.create(rt, 4);
    // Every adapter we target offers timestamp-query (lavapipe included); skip only where one does not.
    if (!timer) return ctx.skip();
    const n = 4099;
    const a = rt.upload(randomF32(n, 1), 'a');
    const b = rt.upload(randomF32(n, 2), 'b');
    const outs = [poisonedF32(rt, n, 'o1'), poisonedF32(rt, n, 'o2')];
    await checked(rt, () => {
      timer.time('first', () => add(rt, { a, b, out: outs[0], n }));
      add(rt, { a: outs[0], b, out: outs[1], n }); // untimed, between spans
      timer.time('empty', () => undefined);
    });
    const spans = await timer.collect();
    expect(spans.map((s) => s.label)).toEqual(['first', 'empty']);
    expect(spans[0].ms).toBeGreaterThan(0);
    expect(spans[0].ms).toBeLessThan(10_000);
    const want = cpu.add(cpu.add(Float64Array.from(randomF32(n, 1)), Float64Array.from(randomF32(n, 2))), Float64Array.from(randomF32(n, 2)));
    expect(maxAbsErr(await rt.readF32(outs[1], n), want)).toBeLessThan(1e-6);
    expect(await timer.collect()).toEqual([]);
    timer.destroy();
  });
});
