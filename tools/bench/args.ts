// Helpers the GPU-machine scripts in tools/bench share.

/** The value after `name` on the command line, or undefined. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** ‖got − want‖ / ‖want‖; Infinity when got holds a NaN (an element the kernel never wrote). */
export function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let n = 0;
  let d = 0;
  for (let i = 0; i < want.length; i++) {
    n += (got[i] - want[i]) ** 2;
    d += want[i] ** 2;
  }
  return Number.isNaN(n) ? Infinity : Math.sqrt(n / Math.max(d, 1e-30));
}
