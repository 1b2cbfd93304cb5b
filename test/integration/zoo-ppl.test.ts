// Every bundled zoo checkpoint, loaded through the engine on the GPU backend with its shipped f16
// weights, scores the fixture's validation tokens (test/fixtures/zoo-ppl/v1: 4 windows of 512, 511
// predictions each, from eval_ppl.py's fp32 PyTorch forward) to within 1% of PyTorch's perplexity, and
// position by position to within f16 noise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../src/main/engine';
import { perplexity } from '../../src/main/engine/eval';
import { gpuRuntime } from '../helpers/gpu';

const FIXTURES = join(__dirname, '../fixtures/zoo-ppl/v1');
const MODELS = join(__dirname, '../../models');
const tokens = JSON.parse(readFileSync(join(FIXTURES, 'tokens.json'), 'utf8')) as { tokens: number[]; window: number };

interface TorchReference {
  predictions: number;
  loss: number;
  ppl: number;
  nll: number[][]; // [windows][window − 1] nats
}

const catalog = JSON.parse(readFileSync(join(MODELS, 'catalog.json'), 'utf8')) as { models: { id: string; path: string }[] };
const opened: Engine[] = [];
afterAll(() => opened.forEach((e) => e.dispose()));

describe('zoo perplexity: engine (GPU, f16) against PyTorch (fp32)', () => {
  it('covers the four catalogued models with the whole fixture', () => {
    expect(catalog.models.map((m) => m.id).sort()).toEqual(['zoo-gqa-2.8m', 'zoo-gta-2.8m', 'zoo-mha-2.8m', 'zoo-plm-2.8m']);
    expect(tokens.tokens.length).toBe(2048);
  });

  it.each(catalog.models.map((m) => [m.id, m.path]))('%s', async (id, path) => {
    const want = JSON.parse(readFileSync(join(FIXTURES, `${id}.json`), 'utf8')) as TorchReference;
    const engine = await openEngine(join(MODELS, path), { backend: 'gpu', dtype: 'f16', runtime: await gpuRuntime() });
    opened.push(engine);
    expect(engine.backend.kind).toBe('gpu');
    const got = await perplexity(engine, tokens.tokens, { window: tokens.window, scheme: 'windows' });
    // the same subset on both sides: every window of the fixture, every prediction in it
    expect(got.tokensScored).toBe(want.predictions);
    expect(got.tokensScored).toBeGreaterThanOrEqual(1024);
    const torch = want.nll.flat();
    const engineNll = got.nll.flatMap((w) => Array.from(w));
    let sumAbs = 0;
    let maxAbs = 0;
    for (let i = 0; i < torch.length; i++) {
      const d = Math.abs(engineNll[i] - torch[i]);
      sumAbs += d;
      maxAbs = Math.max(maxAbs, d);
    }
    const meanAbs = sumAbs / torch.length;
    const ratio = got.perplexity / want.ppl;
    console.log(
      `${id}: engine ppl ${got.perplexity.toFixed(4)} (loss ${got.meanNll.toFixed(5)}), torch ppl ${want.ppl.toFixed(4)} (loss ${want.loss.toFixed(5)}), ` +
        `ratio ${ratio.toFixed(5)}, per-position |ΔNLL| mean ${meanAbs.toExponential(2)} max ${maxAbs.toExponential(2)} over ${got.tokensScored} tokens`,
    );
    expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(0.01);
    // f16 weights and activations against an fp32 forward: a few thousandths of a nat on average
    expect(meanAbs).toBeLessThan(0.01);
    expect(maxAbs).toBeLessThan(0.1);
  });
});
