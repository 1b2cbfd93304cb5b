// `analysis-bench (--model DIR | --arch NAME[,NAME…] --random) [--tokens 2048] [--runs 2] [--json FILE]`:
// times every analysis of the pipeline (services/analysis/pipeline.ts) on `--tokens` seeded random token
// ids, excluding the load. The first run compiles the pipelines (reported apart); each later run is
// timed. Random weights (--arch … --random) have the real shapes (PLM-1.8B, GTA-1B, GQA-1B), so the
// GPU and host work is the real work; their maps are not meaningful.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ModelConfig } from '../../shared/arch/config';
import { InvalidRequestError } from '../../shared/errors';
import { defaultRuntime, destroyWeights, ENGINE_VERSION, GpuBackend, inspectCheckpoint, randomWeights, uploadCheckpoint, type InferenceBackend } from '../engine';
import { DEFAULT_SETTINGS, PER_LAYER_DEFAULT_MAX_LAYERS, runAnalysis } from '../services/analysis/pipeline';
import { ARCHS, tinyArchs } from './bench';
import type { CliCommand } from './command';
import { assertFits, type FitTarget } from './fits';
import { intFlag, onOff, parseFlags } from './generate';

const USAGE = 'analysis-bench (--model DIR | --arch plm-1.8b|gta-1b|gqa-1b|tiny-…[,…] --random) [--tokens 2048] [--runs 2] [--per-layer on|off] [--json FILE]';

/** Seeded token ids in [1, vocab) (mulberry32). */
function randomIds(n: number, vocab: number, seed = 7): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => 1 + Math.floor(next() * (vocab - 1)));
}

export const analysisBenchCommand: CliCommand = {
  summary: 'time every analysis of a T-token input (random ids), excluding the load',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags('analysis-bench', USAGE, argv, {
      model: { type: 'string' },
      arch: { type: 'string' },
      random: { type: 'boolean', default: false },
      tokens: { type: 'string', default: '2048' },
      runs: { type: 'string', default: '2' },
      'per-layer': { type: 'string' },
      json: { type: 'string' },
    });
    const perLayer = onOff('per-layer', f['per-layer'] as string | undefined);
    if ((typeof f.model === 'string') === (typeof f.arch === 'string')) throw new InvalidRequestError(`analysis-bench needs exactly one of --model DIR or --arch NAME --random; usage: ${USAGE}`);
    if (typeof f.arch === 'string' && !f.random) throw new InvalidRequestError('--arch analyses random weights of that shape: add --random');
    const T = intFlag('tokens', f.tokens as string, 2) ?? 2048;
    const runs = intFlag('runs', f.runs as string, 1) ?? 2;
    const archs = typeof f.arch === 'string' ? f.arch.split(',').map((a) => a.trim()) : [];
    for (const a of archs) if (!ARCHS[a]) throw new InvalidRequestError(`unknown --arch "${a}"; known: ${Object.keys(ARCHS).join(', ')}`);
    const fitTargets: FitTarget[] = archs.length > 0 ? archs.map((a) => ({ name: a, config: ARCHS[a]() })) : [{ name: f.model as string, config: (await inspectCheckpoint(f.model as string)).config }];
    const { rt, device } = await defaultRuntime();
    try {
      assertFits(fitTargets, 'f16', T, rt.device.limits, device, { alternatives: tinyArchs(), kvFlag: 'a smaller --tokens' });
    } catch (err) {
      rt.device.destroy();
      throw err;
    }
    const results: unknown[] = [];
    const targets = archs.length > 0 ? archs.map((a) => ({ name: a, config: ARCHS[a]() as ModelConfig | null })) : [{ name: f.model as string, config: null }];
    for (const t of targets) {
      process.stderr.write(`${t.name}: preparing weights (f16)…\n`);
      let backend: InferenceBackend;
      if (t.config) {
        const w = await randomWeights(rt, t.config, 'f16');
        try {
          backend = new GpuBackend(rt, t.config, w, { nCtx: T, device });
        } catch (err) {
          destroyWeights(w);
          throw err;
        }
      } else {
        const u = await uploadCheckpoint(rt, t.name, { dtype: 'f16' });
        backend = new GpuBackend(rt, u.info.config, u.weights, { nCtx: T, device });
      }
      try {
        const ids = randomIds(T, backend.config.vocabSize);
        const labels = ids.map(String);
        const times: Record<string, number>[] = [];
        for (let r = 0; r <= runs; r++) {
          const settings = { ...DEFAULT_SETTINGS, sharedMapPerLayer: perLayer ?? backend.config.numLayers <= PER_LAYER_DEFAULT_MAX_LAYERS };
          const res = await runAnalysis(backend, { id: t.name, name: t.name, architecture: t.name, weightHash: 'random' }, ids, { source: 'tokens', idsSha256: '', textSha256: null, tokenLabels: labels }, settings);
          times.push(res.summary.timings);
          const line = Object.entries(res.summary.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(3)} s`).join(', ');
          process.stdout.write(`${t.name} T=${T} per-layer ${settings.sharedMapPerLayer ? 'on' : 'off'} ${r === 0 ? 'warm-up (compiles)' : `run ${r}`}: ${line}\n`);
        }
        results.push({ name: t.name, tokens: T, device, runs: times });
      } finally {
        backend.dispose();
      }
    }
    if (typeof f.json === 'string') {
      await mkdir(dirname(f.json), { recursive: true });
      await writeFile(f.json, `${JSON.stringify({ engineVersion: ENGINE_VERSION, when: new Date().toISOString(), device, argv, results }, null, 2)}\n`);
      process.stderr.write(`wrote ${f.json}\n`);
    }
    return 0;
  },
};
