// perplexity on an input shorter than one window: a default window shrinks to the input (and says so);
// an explicit --window too long for it is refused with a message naming --window.
import { describe, expect, it } from 'vitest';
import { chooseWindow } from '../../src/main/cli/perplexity';

describe('perplexity window choice', () => {
  it('keeps the default window when the input fills it', () => {
    expect(chooseWindow(1000, 'stream', undefined, undefined, 512, 'x')).toEqual({ window: 512, note: null });
    expect(chooseWindow(512, 'windows', undefined, undefined, 512, 'x')).toEqual({ window: 512, note: null });
  });

  it("shrinks the context's window to a short input and says how many tokens it scores", () => {
    const r = chooseWindow(11, 'stream', undefined, undefined, 512, '--text-file t.txt');
    expect(r.window).toBe(10);
    expect(r.note).toMatch(/--text-file t\.txt holds 11 tokens, fewer than one window of 512 \(the context\) needs: scoring one window of 10/);
    expect(r.note).toContain('--window');
    expect(chooseWindow(11, 'windows', undefined, undefined, 512, 'x').window).toBe(11);
    expect(chooseWindow(11, 'stream', undefined, 64, 512, 'x').note).toContain("the ids file's window");
  });

  it('refuses an explicit --window longer than the input, naming --window', () => {
    expect(() => chooseWindow(11, 'stream', 64, undefined, 512, '--text-file t.txt')).toThrow(/fewer than one --window of 64 needs \(65: the window and the token after it\); pass --window 10 or less/);
    expect(chooseWindow(11, 'stream', 10, undefined, 512, 'x')).toEqual({ window: 10, note: null });
  });

  it('refuses an input too short for any window', () => {
    expect(() => chooseWindow(2, 'stream', undefined, undefined, 512, 'x')).toThrow(/holds 2 tokens; perplexity needs at least 3/);
    expect(() => chooseWindow(1, 'windows', undefined, undefined, 512, 'x')).toThrow(/holds 1 token; perplexity needs at least 2/);
  });
});
