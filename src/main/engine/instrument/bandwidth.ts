// The adapter's measured read bandwidth: a grid-stride loop reading a large buffer as vec4<u32>, each
// workgroup writing one sum so the reads cannot be optimised away. The decode floor of the benchmark
// (bytes a token must move / this bandwidth) is stated against it, not against a datasheet figure.
import readCode from '../../../../kernels/bench_read_bandwidth.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { fillRandom } from '../weights/random';

const readKernel: KernelSource = { name: 'bench_read_bandwidth', code: readCode };

export interface Bandwidth {
  bytes: number; // read per pass
  passes: number;
  ms: number;
  gbPerS: number; // 1e9 bytes per second
}

/** Read `bytes` (capped by the binding limit) `passes` times in one submission; median of `repeats`. */
export async function measureReadBandwidth(rt: GpuRuntime, bytes = 1 << 30, passes = 8, repeats = 5): Promise<Bandwidth> {
  const size = Math.min(bytes, rt.device.limits.maxStorageBufferBindingSize) & ~0xfff;
  const src = rt.buffer(size, 'bandwidth-src'); // [size / 16] vec4<u32>
  // Random contents: NVIDIA GPUs compress zero-filled memory and would read it faster than weights.
  fillRandom(rt, src, size / 4, 12345, 1, false);
  const workgroups = 1024;
  const sums = rt.buffer(workgroups * 4, 'bandwidth-sums');
  const pipe = rt.pipeline(readKernel);
  const params = new Uint32Array([size / 16, workgroups * 256, 0, 0]);
  const run = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) rt.dispatch(pipe, [rt.uniform(params), src, sums], [workgroups], 'bench-read');
    await rt.sync();
    return performance.now() - t0;
  };
  await run(1); // compile and page in
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // The difference of two batch sizes cancels the fixed submit-and-wait cost. A difference that
    // jitter made implausible (under half the long batch's share) falls back to the long batch alone,
    // which overstates the time a little rather than reporting an impossible bandwidth.
    const long = await run(passes + 1);
    const short = await run(1);
    const diff = long - short;
    times.push(diff > (0.5 * long * passes) / (passes + 1) ? diff : (long * passes) / (passes + 1));
  }
  src.destroy();
  sums.destroy();
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return { bytes: size, passes, ms, gbPerS: (size * passes) / (ms * 1e6) };
}
