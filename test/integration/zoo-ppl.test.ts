// Every bundled zoo checkpoint, loaded through the engine on the GPU backend with its shipped f16
// weights, scores the fixture's validation tokens (test/fixtures/zoo-ppl/v1: 4 windows of 512, 511
// predictions each, from eval_ppl.py's fp32 PyTorch forward) to within 1% of PyTorch's perplexity, and
// position by position to within f16 noise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../../src/main/engine';
import { perplexity, windowStarts } from '../../src/main/engine/eval';
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
const opened = new Map<string, Engine>();
afterAll(() => opened.forEach((e) => e.dispose()));

describe('zoo perplexity: engine (GPU, f16) against PyTorch (fp32)', () => {
  it('covers the four catalogued models with the whole fixture', () => {
    expect(catalog.models.map((m) => m.id).sort()).toEqual(['zoo-gqa-2.8m', 'zoo-gta-2.8m', 'zoo-mha-2.8m', 'zoo-plm-2.8m']);
    expect(tokens.tokens.length).toBe(2048);
  });

  it.each(catalog.models.map((m) => [m.id, m.path]))('%s', async (id, path) => {
    const want = JSON.parse(readFileSync(join(FIXTURES, `${id}.json`), 'utf8')) as TorchReference;
    const engine = await openEngine(join(MODELS, path), { backend: 'gpu', dtype: 'f16', runtime: await gpuRuntime() });
    opened.set(id, engine);
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

  it("scores eval_ppl.py's validation stream: each window adds the prediction of the next window's first token", async () => {
    const engine = opened.get('zoo-gta-2.8m');
    expect(engine, 'the GTA model opened above').toBeDefined();
    const want = JSON.parse(readFileSync(join(FIXTURES, 'zoo-gta-2.8m.json'), 'utf8')) as TorchReference;
    const stream = await perplexity(engine!, tokens.tokens, { window: tokens.window, scheme: 'stream', maxWindows: 2 });
    expect(stream.tokensScored).toBe(2 * tokens.window);
    for (let w = 0; w < 2; w++) {
      const inside = Array.from(stream.nll[w].subarray(0, tokens.window - 1));
      // the predictions inside the window are the fixture's; the extra one is a real next-token loss
      const meanAbs = inside.reduce((a, v, i) => a + Math.abs(v - want.nll[w][i]), 0) / inside.length;
      expect(meanAbs).toBeLessThan(0.01);
      const last = stream.nll[w][tokens.window - 1];
      expect(Number.isFinite(last) && last > 0).toBe(true);
    }
    // 2048 tokens hold three stream windows (512 inputs + 1 target each) and four fixture windows
    expect(windowStarts(2048, 512, 'stream')).toEqual([0, 512, 1024]);
    expect(windowStarts(2048, 512, 'windows')).toEqual([0, 512, 1024, 1536]);
  });
});
