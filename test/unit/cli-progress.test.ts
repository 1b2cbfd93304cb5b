// Progress on stderr: `\r` updates every 10 % on a terminal, one line per 25 % step anywhere else.
import { describe, expect, it } from 'vitest';
import { loadingProgress, progress } from '../../src/main/cli/progress';

function capture(tty: boolean) {
  let out = '';
  return { opts: { tty, write: (s: string) => void (out += s) }, out: () => out };
}

describe('CLI progress', () => {
  it('off a terminal, prints one line per 25 % step and never a carriage return', () => {
    const c = capture(false);
    const load = loadingProgress(c.opts);
    for (const done of [0, 10, 20, 40, 45, 70, 90, 100]) load({ done, total: 100 });
    expect(c.out()).toBe('loading 40%\nloading 70%\nloading 90%\nloading 100%\n');
    expect(c.out()).not.toContain('\r');
  });

  it('on a terminal, rewrites one line every 10 % and ends it', () => {
    const c = capture(true);
    const load = loadingProgress(c.opts);
    for (const done of [5, 12, 18, 40, 100]) load({ done, total: 100 });
    expect(c.out()).toBe('loading 5%\rloading 12%\rloading 40%\rloading 100%\n');
  });

  it('prints the end once, even if reported again', () => {
    const c = capture(false);
    const p = progress((d, t) => `window ${d}/${t}`, c.opts);
    for (let i = 1; i <= 8; i++) p(i, 8);
    p(8, 8);
    expect(c.out().split('\n').filter(Boolean)).toEqual(['window 2/8', 'window 4/8', 'window 6/8', 'window 8/8']);
  });

  it('a single step (one window) still prints one line', () => {
    const c = capture(false);
    progress((d, t) => `window ${d}/${t}`, c.opts)(1, 1);
    expect(c.out()).toBe('window 1/1\n');
  });
});
