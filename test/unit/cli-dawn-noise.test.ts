// Dawn's adapter-enumeration warnings about dynamic-buffer limits are dropped from the CLI's stderr;
// everything else passes through at once, partial lines (progress with \r) included.
import { describe, expect, it } from 'vitest';
import { dawnNoiseFilter, isDawnNoise } from '../../src/main/cli/dawn-noise';

const U = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';
const S = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

describe('Dawn noise filter', () => {
  it('recognises both warnings and nothing else', () => {
    expect(isDawnNoise(U)).toBe(true);
    expect(isDawnNoise(S)).toBe(true);
    expect(isDawnNoise('Warning: something else')).toBe(false);
    expect(isDawnNoise(`${U} and more`)).toBe(false);
  });

  it('drops the warnings from a stream, whatever the chunking', () => {
    const text = `${U}\n${S}\nloading 40%\rloading 100%\nGpuUnavailableError: no adapter\n`;
    const expected = 'loading 40%\rloading 100%\nGpuUnavailableError: no adapter\n';
    for (const size of [1, 3, 7, 50, text.length]) {
      const f = dawnNoiseFilter();
      let out = '';
      for (let i = 0; i < text.length; i += size) out += f.push(text.slice(i, i + size));
      out += f.end();
      expect(out).toBe(expected);
    }
  });

  it('does not hold back a partial line that cannot be a warning', () => {
    const f = dawnNoiseFilter();
    expect(f.push('loading 40%\r')).toBe('loading 40%\r');
    expect(f.push('Warn')).toBe(''); // could still be one
    expect(f.push('ing: disk almost full')).toBe('Warning: disk almost full');
    expect(f.end()).toBe('');
  });
});
