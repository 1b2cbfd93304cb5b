// `bench (--model DIR | --arch NAME[,NAME…] --random) [--dtype f16|f32] [--prefill 128,2048]
//  [--contexts 128,2048,8192] [--steps N] [--fill fast|prefill] [--profile] [--json FILE]`
// GPU throughput: prefill tok/s, decode tok/s at each context beside its bandwidth floor, KV bytes,
// per-op time with --profile. --random makes weights of the real shapes on the GPU (nothing uploaded
// from JS). Archs: plm-1.8b, gta-1b, gqa-1b (the published shapes) and tiny-plm, tiny-gta, tiny-gqa
// (for software adapters such as lavapipe).
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { normalizeConfig, type ModelConfig } from '../../shared/arch/config';
import { zooConfig } from '../../shared/arch/zoo';
import { InvalidRequestError } from '../../shared/errors';
import { defaultRuntime, destroyWeights, ENGINE_VERSION, GpuBackend, inspectCheckpoint, randomWeights, runBench, uploadCheckpoint, type BenchResult, type GpuWeights } from '../engine';
import type { CliCommand } from './command';
import { assertFits, type FitTarget } from './fits';
import { dtypeFlag, intFlag, parseFlags } from './generate';

const USAGE =
  'bench (--model DIR | --arch plm-1.8b|gta-1b|gqa-1b|tiny-plm|tiny-gta|tiny-gqa[,…] --random) [--dtype f16|f32] [--prefill 128,2048] [--contexts 128,2048,8192] [--steps N] [--fill fast|prefill] [--profile] [--ablate KERNEL+KERNEL,KERNEL] [--json FILE]';

const tiny = { vocab_size: 2048, hidden_size: 256, intermediate_size: 512, num_hidden_layers: 4, num_attention_heads: 4, max_position_embeddings: 65536, rms_norm_eps: 1e-5, tie_word_embeddings: true };
export const ARCHS: Record<string, () => ModelConfig> = {
  'plm-1.8b': () => zooConfig('PLM-1.8B'),
  'gta-1b': () => zooConfig('GTA-1B'),
  'gqa-1b': () => zooConfig('GQA-1B'),
  'tiny-gqa': () => normalizeConfig({ ...tiny, architectures: ['LlamaForCausalLM'], num_key_value_heads: 2, hidden_act: 'silu' }),
  'tiny-gta': () =>
    normalizeConfig({ ...tiny, architectures: ['GTAForCausalLM'], model_type: 'llama', head_dim: 64, num_query_heads: 2, query_dim: 64, num_key_heads: 1, key_dim: 64, num_value_heads: 1, value_dim: 64, hidden_act: 'silu' }),
  'tiny-plm': () =>
    normalizeConfig({ ...tiny, architectures: ['PLMForCausalLM'], model_type: 'plm', kv_lora_rank: 64, q_lora_rank: null, qk_nope_head_dim: 32, qk_rope_head_dim: 16, v_head_dim: 32, hidden_act: 'relu2' }),
};

/** The tiny-* shapes, as fit targets: the way out when a published shape does not fit. */
export function tinyArchs(): FitTarget[] {
  return Object.keys(ARCHS).filter((a) => a.startsWith('tiny-')).map((a) => ({ name: a, config: ARCHS[a]() }));
}

function listFlag(name: string, v: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidRequestError(`--${name} must be comma-separated whole numbers ≥ 1 like 128,2048, got "${v}"`);
  return xs;
}

function fmtResult(r: BenchResult): string {
  const lines = [`${r.model} (${r.variant}, ${r.dtype}, ${(r.parameters / 1e6).toFixed(1)}M params, ${(r.weightBytes / 2 ** 30).toFixed(2)} GiB) on ${r.adapter}`];
  lines.push(`  read bandwidth ${r.readBandwidth.gbPerS.toFixed(1)} GB/s; KV ${r.kv.valuesPerTokenLayer} values/token/layer, ${r.kv.bytesPerToken} B/token (${r.kv.dtype})`);
  for (const p of r.prefill) lines.push(`  prefill ${String(p.tokens).padStart(6)}  ${p.tokPerS.toFixed(1).padStart(10)} tok/s  ${p.ms.toFixed(1)} ms`);
  for (const d of r.decode) {
    const gpu = d.gpuMsPerToken === null ? '' : `  GPU ${d.gpuMsPerToken.toFixed(3)} ms/step`;
    lines.push(`  decode @${String(d.context).padStart(6)}  ${d.tokPerS.toFixed(1).padStart(9)} tok/s  ${d.msPerToken.toFixed(3)} ms/tok   floor ${d.floorTokPerS.toFixed(1)} tok/s (${d.floorMsPerToken.toFixed(3)} ms)  ${(100 * d.ofFloor).toFixed(1)}% of floor${gpu}  CPU ${d.recordMsPerToken.toFixed(3)} ms/step  runs ${d.runTokPerS.map((x) => x.toFixed(0)).join('/')}`);
  }
  if (typeof r.opTimes === 'string') lines.push(`  per-op times: ${r.opTimes}`);
  else for (const t of r.opTimes) lines.push(`  per-op @${t.context}: ${t.ops.slice(0, 8).map((o) => `${o.op} ${o.ms.toFixed(3)}ms×${o.calls}`).join(', ')} (sum ${t.totalMs.toFixed(3)} ms)`);
  return lines.join('\n');
}

export const benchCommand: CliCommand = {
  summary: 'GPU benchmark: prefill and decode tok/s with bandwidth floors, KV bytes, per-op times',
  usage: USAGE,
  async run(argv) {
    const f = parseFlags('bench', USAGE, argv, {
      model: { type: 'string' },
      arch: { type: 'string' },
      random: { type: 'boolean', default: false },
      backend: { type: 'string', default: 'gpu' },
      dtype: { type: 'string', default: 'f16' },
      prefill: { type: 'string', default: '128,2048' },
      contexts: { type: 'string', default: '128,2048,8192' },
      steps: { type: 'string', default: '32' },
      fill: { type: 'string', default: 'fast' },
      profile: { type: 'boolean', default: false },
      ablate: { type: 'string' },
      json: { type: 'string' },
    });
    if (f.backend !== 'gpu') throw new InvalidRequestError('bench measures the GPU backend only: drop --backend or pass --backend gpu');
    if ((typeof f.model === 'string') === (typeof f.arch === 'string')) throw new InvalidRequestError(`bench needs exactly one of --model DIR or --arch NAME --random; usage: ${USAGE}`);
    if (typeof f.arch === 'string' && !f.random) throw new InvalidRequestError('--arch benchmarks random weights of that shape: add --random');
    if (f.fill !== 'fast' && f.fill !== 'prefill') throw new InvalidRequestError(`--fill must be fast or prefill, got "${String(f.fill)}"`);
    const dtype = dtypeFlag(f.dtype as string);
    const opts = {
      prefill: listFlag('prefill', f.prefill as string),
      contexts: listFlag('contexts', f.contexts as string),
      steps: intFlag('steps', f.steps as string, 1)!,
      fill: f.fill,
      profile: f.profile === true,
      // --ablate a+b,c: GPU time per step without kernels a and b, then without c (measurement only).
      ablate: typeof f.ablate === 'string' ? f.ablate.split(',').map((g) => g.split('+').map((x) => x.trim()).filter(Boolean)) : undefined,
      log: (s: string) => process.stderr.write(`${s}\n`),
    } as const;
    const archs = typeof f.arch === 'string' ? f.arch.split(',').map((a) => a.trim()) : [];
    for (const a of archs) if (!ARCHS[a]) throw new InvalidRequestError(`unknown --arch "${a}"; known: ${Object.keys(ARCHS).join(', ')}`);
    const nCtx = Math.max(...opts.prefill, ...opts.contexts.map((c) => c + opts.steps + 2));
    // What must fit, from the configs alone: checked against the device's limits before any weight is made.
    const fitTargets: FitTarget[] = archs.length > 0 ? archs.map((a) => ({ name: a, config: ARCHS[a]() })) : [{ name: f.model as string, config: (await inspectCheckpoint(f.model as string)).config }];
    const { rt, device } = await defaultRuntime();
    try {
      assertFits(fitTargets, dtype, nCtx, rt.device.limits, device, { alternatives: tinyArchs(), kvFlag: 'smaller --contexts / --prefill' });
    } catch (err) {
      rt.device.destroy();
      throw err;
    }
    const results: BenchResult[] = [];
    const targets: { name: string; load: () => Promise<{ config: ModelConfig; weights: GpuWeights }> }[] =
      archs.length > 0
        ? archs.map((a) => ({ name: a, load: async () => ({ config: ARCHS[a](), weights: await randomWeights(rt, ARCHS[a](), dtype) }) }))
        : [{ name: f.model as string, load: async () => { const u = await uploadCheckpoint(rt, f.model as string, { dtype }); return { config: u.info.config, weights: u.weights }; } }];
    for (const t of targets) {
      process.stderr.write(`${t.name}: preparing weights (${dtype})…\n`);
      const { config, weights } = await t.load();
      let backend: GpuBackend | null = null;
      try {
        backend = new GpuBackend(rt, config, weights, { nCtx, device });
        const r = await runBench(backend, t.name, weights.bytes, opts);
        results.push(r);
        process.stdout.write(`${fmtResult(r)}\n`);
      } finally {
        // The backend owns the weights once made; before that they are released here.
        if (backend) backend.dispose();
        else destroyWeights(weights);
      }
    }
    if (typeof f.json === 'string') {
      await mkdir(dirname(f.json), { recursive: true });
      const doc = { engineVersion: ENGINE_VERSION, when: new Date().toISOString(), node: process.version, argv, options: { ...opts, log: undefined }, results };
      await writeFile(f.json, `${JSON.stringify(doc, null, 2)}\n`);
      process.stderr.write(`wrote ${f.json}\n`);
    }
    return 0;
  },
};
