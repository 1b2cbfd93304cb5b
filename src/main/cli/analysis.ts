// The analysis commands (docs/analysis.md), on the same engine and pipeline as the app:
//   attention       --model DIR --ids 1,2,3 --layer L [--json]          → {"maps": [n_maps][T][T]}
//   head-similarity --model DIR --ids … --layer L --metric js|cosine      → {"matrix": [n_maps][n_maps]}
//   analyze         --model DIR (--text-file F | --text T | --ids …) [--analyses a,b] [--json OUT]
// Layers count from 0 in model order; map rows are query positions with the causal zeros included.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { ANALYSIS_KINDS, type AnalysisKind, type AnalysisSummary } from '../../shared/analysis/types';
import { InvalidRequestError } from '../../shared/errors';
import { attentionOfLayer, reduceAttention, type Engine } from '../engine';
import { DEFAULT_SETTINGS, PER_LAYER_DEFAULT_MAX_LAYERS, runAnalysis, type PipelineSettings } from '../services/analysis/pipeline';
import { IDS_ARRAY, recordAnalysis, sha256Hex } from '../services/analysis/service';
import { arrayMime } from '../services/analysis/arrays';
import { weightHash } from '../services/analysis/weight-hash';
import { createSystem } from '../services/system';
import type { RunStore } from '../store';
import type { CliCommand } from './command';
import { ENGINE_OPTIONS, idsFlag, intFlag, onOff, openFromFlags, parseFlags, type Flags } from './generate';

function layerFlag(cmd: string, usage: string, f: Flags, engine: Engine): number {
  const L = intFlag('layer', f.layer as string | undefined, 0);
  if (L === undefined) throw new InvalidRequestError(`${cmd} needs --layer L (0 to ${engine.config.numLayers - 1}); usage: ${usage}`);
  if (L >= engine.config.numLayers) throw new InvalidRequestError(`--layer ${L} does not exist: the model has ${engine.config.numLayers} layers (0 to ${engine.config.numLayers - 1})`);
  return L;
}

function needIds(cmd: string, usage: string, f: Flags): number[] {
  if (typeof f.ids !== 'string') throw new InvalidRequestError(`${cmd} needs --ids 1,2,3; usage: ${usage}`);
  return idsFlag(f.ids);
}

function rows(a: ArrayLike<number>, n: number, w: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: w }, (_, j) => a[i * w + j]));
}

const ATTENTION_USAGE = 'attention --model DIR --ids 1,2,3 --layer L [--backend gpu|cpu] [--dtype f16|f32] [--json]';

export const attentionCommand: CliCommand = {
  summary: "one layer's attention maps (probabilities, [maps][T][T]) over a list of token ids",
  usage: ATTENTION_USAGE,
  async run(argv) {
    const f = parseFlags('attention', ATTENTION_USAGE, argv, { ...ENGINE_OPTIONS, json: { type: 'boolean', default: false }, ids: { type: 'string' }, layer: { type: 'string' } });
    const ids = needIds('attention', ATTENTION_USAGE, f);
    const json = f.json === true;
    const engine = await openFromFlags('attention', f, json);
    try {
      const L = layerFlag('attention', ATTENTION_USAGE, f, engine);
      const m = await attentionOfLayer(engine.backend, ids, L);
      const T = m.t;
      const maps = Array.from({ length: m.heads }, (_, h) => rows(m.probs.subarray(h * m.n * T, (h + 1) * m.n * T), m.n, T));
      if (json) {
        process.stdout.write(`${JSON.stringify({ layer: L, maps })}\n`);
        return 0;
      }
      maps.forEach((map, h) => {
        process.stdout.write(`layer ${L} map ${h}\n`);
        for (const r of map) process.stdout.write(`  ${r.map((p) => p.toFixed(3)).join(' ')}\n`);
      });
      return 0;
    } finally {
      engine.dispose();
    }
  },
};

const SIM_USAGE = 'head-similarity --model DIR --ids 1,2,3 --layer L [--metric js|cosine] [--backend gpu|cpu] [--dtype f16|f32] [--json]';

export const headSimilarityCommand: CliCommand = {
  summary: "one layer's maps × maps similarity: mean Jensen–Shannon divergence (bits) or cosine",
  usage: SIM_USAGE,
  async run(argv) {
    const f = parseFlags('head-similarity', SIM_USAGE, argv, { ...ENGINE_OPTIONS, json: { type: 'boolean', default: false }, ids: { type: 'string' }, layer: { type: 'string' }, metric: { type: 'string', default: 'js' } });
    const ids = needIds('head-similarity', SIM_USAGE, f);
    if (f.metric !== 'js' && f.metric !== 'cosine') throw new InvalidRequestError(`--metric must be js or cosine, got ${String(f.metric)}`);
    const json = f.json === true;
    const engine = await openFromFlags('head-similarity', f, json);
    try {
      const L = layerFlag('head-similarity', SIM_USAGE, f, engine);
      const r = await reduceAttention(engine.backend, ids, { thumbSide: 1, thumbReduce: 'mean', keepFull: false, crossLayerRows: 0 });
      const layer = r.layers[L];
      const matrix = rows(f.metric === 'js' ? layer.js : layer.cosine, r.maps, r.maps);
      if (json) {
        process.stdout.write(`${JSON.stringify({ layer: L, metric: f.metric, matrix })}\n`);
        return 0;
      }
      process.stdout.write(`layer ${L}, ${f.metric === 'js' ? 'mean JS divergence (bits)' : 'cosine similarity'}\n`);
      for (const row of matrix) process.stdout.write(`  ${row.map((v) => v.toFixed(4)).join(' ')}\n`);
      return 0;
    } finally {
      engine.dispose();
    }
  },
};

const ANALYZE_USAGE =
  'analyze --model DIR (--text-file F | --text T | --ids 1,2,3) [--analyses ' + ANALYSIS_KINDS.join(',') + '] [--thumb N] [--reduce mean|max] [--taus 0.05,0.1,0.2] [--shared medoid|mean] [--per-layer on|off] [--json OUT|-] [--data-dir DIR] [--no-record] [--backend gpu|cpu] [--dtype f16|f32] [--ctx N]';

function listFlag<T extends string>(name: string, v: string, allowed: readonly T[]): T[] {
  const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = xs.find((x) => !allowed.includes(x as T));
  if (bad !== undefined || xs.length === 0) throw new InvalidRequestError(`--${name} takes a comma-separated list of: ${allowed.join(', ')}${bad ? ` (got "${bad}")` : ''}`);
  return xs as T[];
}

function numbersFlag(name: string, v: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) throw new InvalidRequestError(`--${name} takes comma-separated numbers from 0 to 1, e.g. 0.05,0.1,0.2`);
  return xs;
}

function printSummary(s: Omit<AnalysisSummary, 'runId'>): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${s.model.name} (${s.model.variant}, ${s.model.numLayers} layers × ${s.model.numMaps} maps) on ${s.input.tokens} tokens, ${s.backend.kind} ${s.backend.device}`);
  s.stats?.forEach((maps, L) => {
    const mean = (k: 'entropy' | 'distance' | 'sink') => maps.reduce((a, m) => a + m[k], 0) / maps.length;
    out(`  layer ${String(L).padStart(2)}: entropy ${mean('entropy').toFixed(2)} bits, distance ${mean('distance').toFixed(1)} tokens, sink ${mean('sink').toFixed(3)}`);
  });
  const g = s.grouping;
  if (g) {
    for (const [k, t] of s.settings.taus.entries()) {
      const free = g.layers.map((l) => l.suggestions[k].free.groups.length);
      const cont = g.layers.map((l) => l.suggestions[k].contiguous?.groups.length ?? s.model.numMaps);
      out(`  τ = ${t}: groups per layer free [${free.join(' ')}], contiguous [${cont.join(' ')}] of ${s.model.numMaps}`);
    }
  }
  if (s.sharedMap) {
    out(`  shared-map test: baseline perplexity ${s.sharedMap.baselinePpl.toFixed(3)} over ${s.sharedMap.tokens} tokens`);
    for (const r of s.sharedMap.results.filter((x) => x.scope === 'model')) out(`    τ = ${r.tau} ${r.grouping}: ${r.groups}/${r.maps} maps → perplexity ${r.ppl.toFixed(3)} (${r.deltaPct >= 0 ? '+' : ''}${r.deltaPct.toFixed(2)} %)`);
  }
  for (const sp of (s.compressibility ?? []).filter((x) => x.layer === 0)) out(`  layer 0 ${sp.part}: rank for 90 % / 99 % energy ${sp.rank90} / ${sp.rank99} of ${Math.min(sp.rows, sp.dim)}`);
  for (const n of s.kvFlops?.notes ?? []) out(`  note: ${n}`);
  out(`  time: ${Object.entries(s.timings).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);
}

export const analyzeCommand: CliCommand = {
  summary: 'every analysis (maps, similarity, grouping, shared-map test, compressibility, KV/FLOPs) of a text, recorded as a run',
  usage: ANALYZE_USAGE,
  async run(argv) {
    const f = parseFlags('analyze', ANALYZE_USAGE, argv, {
      ...ENGINE_OPTIONS,
      'text-file': { type: 'string' },
      text: { type: 'string' },
      ids: { type: 'string' },
      analyses: { type: 'string' },
      thumb: { type: 'string' },
      reduce: { type: 'string', default: 'mean' },
      taus: { type: 'string' },
      shared: { type: 'string', default: 'medoid' },
      'per-layer': { type: 'string' },
      json: { type: 'string' },
      'data-dir': { type: 'string' },
      'no-record': { type: 'boolean', default: false },
    });
    const sources = ['text-file', 'text', 'ids'].filter((k) => f[k] !== undefined);
    if (sources.length !== 1) throw new InvalidRequestError(`analyze needs exactly one of --text-file, --text or --ids; usage: ${ANALYZE_USAGE}`);
    if (f.reduce !== 'mean' && f.reduce !== 'max') throw new InvalidRequestError(`--reduce must be mean or max, got ${String(f.reduce)}`);
    if (f.shared !== 'medoid' && f.shared !== 'mean') throw new InvalidRequestError(`--shared must be medoid or mean, got ${String(f.shared)}`);
    const settings: PipelineSettings = {
      ...DEFAULT_SETTINGS,
      analyses: f.analyses ? listFlag<AnalysisKind>('analyses', f.analyses as string, ANALYSIS_KINDS) : DEFAULT_SETTINGS.analyses,
      thumbSide: intFlag('thumb', f.thumb as string | undefined, 1) ?? DEFAULT_SETTINGS.thumbSide,
      thumbReduce: f.reduce,
      taus: f.taus ? numbersFlag('taus', f.taus as string) : DEFAULT_SETTINGS.taus,
      sharedMode: f.shared,
      sharedMapPerLayer: true, // set below, once the model's depth is known
    };
    const perLayer = onOff('per-layer', f['per-layer'] as string | undefined);
    let text: string | null = null;
    if (typeof f['text-file'] === 'string') {
      try {
        text = readFileSync(f['text-file'], 'utf8');
      } catch (err) {
        throw new InvalidRequestError(`cannot read --text-file ${f['text-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else if (typeof f.text === 'string') text = f.text;
    const toStdout = f.json === '-';
    const engine = await openFromFlags('analyze', f, toStdout);
    settings.sharedMapPerLayer = perLayer ?? engine.config.numLayers <= PER_LAYER_DEFAULT_MAX_LAYERS;
    let store: RunStore | null = null;
    let runId: string | null = null;
    try {
      if (text !== null && text.trim() === '') throw new InvalidRequestError('the text is empty: give a file or --text with some words');
      const ids = text !== null ? engine.encode(text) : idsFlag(f.ids as string);
      if (ids.length > engine.backend.nCtx) {
        throw new InvalidRequestError(`the text is ${ids.length} tokens, longer than the context of ${engine.backend.nCtx}: shorten it${engine.backend.nCtx < engine.config.maxPositions ? ` or pass --ctx up to ${engine.config.maxPositions}` : ''}`);
      }
      const idsU32 = Uint32Array.from(ids);
      const idsSha256 = sha256Hex(new Uint8Array(idsU32.buffer));
      const hash = await weightHash(engine.info.files.map((x) => x.path));
      const name = engine.dir.split(/[\\/]/).filter(Boolean).pop() ?? engine.dir;
      const arch = Array.isArray(engine.info.rawConfig.architectures) ? String(engine.info.rawConfig.architectures[0]) : engine.config.family;
      if (!f['no-record']) {
        // Loaded here, not at the top: the GPU machine's bundles have no native SQLite module.
        const { defaultDataDir, RunStore: Store } = await import('../store');
        const dataDir = (f['data-dir'] as string | undefined) ?? defaultDataDir();
        store = Store.open({ dataDir });
        const env = await createSystem('browser', dataDir).environment();
        const run = store.create({ kind: 'analysis', title: `Analysis of ${name} on ${ids.length} tokens (CLI)`, model: name, params: { path: engine.dir, weightHash: hash, tokens: ids.length, idsSha256, source: text !== null ? 'text' : 'tokens', cli: true, ...settings } }, env);
        runId = run.id;
        store.addArtifact(run.id, { name: IDS_ARRAY, mime: arrayMime({ dtype: 'u32', shape: [ids.length] }), data: new Uint8Array(idsU32.buffer) });
      }
      const labels = ids.map((id) => (engine.tokenizer ? engine.decode([id]) : String(id)));
      let last = '';
      const result = await runAnalysis(
        engine.backend,
        { id: engine.dir, name, architecture: arch, weightHash: hash },
        ids,
        { source: text !== null ? 'text' : 'tokens', idsSha256, textSha256: text !== null ? sha256Hex(text) : null, tokenLabels: labels },
        settings,
        {
          progress: (_d, _t, label) => {
            if (!toStdout && label !== last) process.stderr.write(`${label}\n`);
            last = label;
          },
        },
      );
      if (store && runId) {
        recordAnalysis(store, runId, result.summary, result.arrays);
        store.finish(runId, 'completed');
      }
      const summary = { ...result.summary, runId };
      if (toStdout) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        printSummary(result.summary);
        if (runId) process.stdout.write(`recorded as run ${runId}\n`);
        if (typeof f.json === 'string') {
          await writeFile(f.json, JSON.stringify(summary));
          process.stdout.write(`summary written to ${f.json}\n`);
        }
      }
      return 0;
    } catch (err) {
      if (store && runId) store.finish(runId, 'failed', (err as Error).message);
      throw err;
    } finally {
      store?.close();
      engine.dispose();
    }
  },
};
