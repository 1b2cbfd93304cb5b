// Analysis from the UI: the pipeline (pipeline.ts) on the loaded model, as a task with progress and
// cancel, recorded as a run of kind 'analysis': parameters on the run, scalars as metrics, the summary
// as summary.json and every array as a binary artifact (arrays.ts). A reopened run is read back from
// those artifacts; nothing is recomputed except a full-resolution map the run did not store.
import { createHash } from 'node:crypto';
import type { AnalysisInput, AnalysisStarted, AnalysisSummary, ArrayPayload, ArrayRef } from '../../../shared/analysis/types';
import type { MetricSample } from '../../../shared/api';
import { CancelledError, ContextLengthError, InvalidRequestError, StorageError } from '../../../shared/errors';
import { attentionOfLayer, f16ToF32Array } from '../../engine';
import type { RunStore } from '../../store';
import type { EventBus } from '../events';
import type { ActiveModel, ModelManager } from '../models';
import { buildPrompt } from '../prompt';
import type { System } from '../system';
import type { TaskRegistry } from '../tasks';
import { ARRAY_MIME, arrayBytes, arrayMime, slicePayload } from './arrays';
import { DEFAULT_SETTINGS, PER_LAYER_DEFAULT_MAX_LAYERS, runAnalysis, withDependencies, type PipelineArray, type PipelineSettings } from './pipeline';
import { weightHash } from './weight-hash';

export interface AnalysisDeps {
  store: RunStore;
  events: EventBus;
  tasks: TaskRegistry;
  system: System;
  models: ModelManager;
  /** Why the loaded model is in use by something else (a chat reply), or null. */
  busy: () => string | null;
}

const SUMMARY = 'summary.json';
export const IDS_ARRAY = 'ids.u32';


export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Resolved {
  ids: number[];
  source: 'text' | 'tokens' | 'conversation';
  text: string | null;
}

export class AnalysisService {
  private running: string | null = null;
  private readonly summaries = new Map<string, AnalysisSummary>();

  constructor(private readonly d: AnalysisDeps) {}

  busyReason(): string | null {
    return this.running ? `An analysis of ${this.running} is running.` : null;
  }

  private async resolveIds(active: ActiveModel, input: AnalysisInput): Promise<Resolved> {
    const engine = active.engine;
    if (input.tokenIds) {
      const V = engine.config.vocabSize;
      const bad = input.tokenIds.find((id) => id >= V);
      if (bad !== undefined) throw new InvalidRequestError(`Token id ${bad} is outside ${active.info.name}'s vocabulary (0 to ${V - 1}). Use ids below ${V}.`);
      return { ids: input.tokenIds, source: 'tokens', text: null };
    }
    if (input.conversationId) {
      const { conversation, messages } = { conversation: this.d.store.chats.getConversation(input.conversationId), messages: this.d.store.chats.messages(input.conversationId) };
      const mode = engine.tokenizer?.hasChatTemplate ? 'chat' : 'completion';
      // The conversation as the model saw it: every finished turn, no generation prompt at the end.
      const ids = await buildPrompt(engine, active.info.modelId, conversation.systemPrompt, messages, mode, active.info.name);
      return { ids, source: 'conversation', text: messages.map((m) => m.text).join('\n') };
    }
    const text = input.text ?? '';
    if (text.trim() === '') throw new InvalidRequestError('The text is empty. Type or paste a text, choose a file, or pick a conversation.');
    if (!engine.tokenizer) throw new InvalidRequestError(`${active.info.name} has no tokenizer (${engine.tokenizerReason ?? 'tokenizer.json is missing'}), so it cannot read text. Give token ids instead.`);
    return { ids: engine.encode(text), source: 'text', text };
  }

  async start(input: AnalysisInput): Promise<AnalysisStarted> {
    const active = this.d.models.require();
    if (active.info.modelId !== input.modelId) {
      throw new InvalidRequestError(`The model to analyse must be the loaded one: ${active.info.name} is loaded, not ${input.modelId}. Load it in the Models section first.`);
    }
    const why = this.d.busy() ?? this.busyReason();
    if (why) throw new InvalidRequestError(`${why} Wait for it to finish or stop it, then analyse.`);
    const settings: PipelineSettings = {
      ...DEFAULT_SETTINGS,
      analyses: withDependencies(input.analyses ?? DEFAULT_SETTINGS.analyses),
      thumbSide: input.thumbSide ?? DEFAULT_SETTINGS.thumbSide,
      thumbReduce: input.thumbReduce ?? DEFAULT_SETTINGS.thumbReduce,
      taus: [...new Set(input.taus ?? DEFAULT_SETTINGS.taus)].sort((a, b) => a - b),
      sharedMode: input.sharedMode ?? DEFAULT_SETTINGS.sharedMode,
      sharedMapPerLayer: input.sharedMapPerLayer ?? active.engine.config.numLayers <= PER_LAYER_DEFAULT_MAX_LAYERS,
    };
    const { ids, source, text } = await this.resolveIds(active, input);
    const engine = active.engine;
    const nCtx = engine.backend.nCtx;
    if (ids.length === 0) throw new InvalidRequestError('The input encodes to no tokens. Give a longer text.');
    if (ids.length > nCtx) {
      throw new ContextLengthError(
        `The text is ${ids.length.toLocaleString('en-US')} tokens, longer than the loaded context of ${nCtx.toLocaleString('en-US')} tokens (${active.info.name} allows ${engine.config.maxPositions.toLocaleString('en-US')}). Shorten the text${nCtx < engine.config.maxPositions ? ' or reload the model with a larger context' : ''}.`,
        { tokens: ids.length, nCtx },
      );
    }
    if (ids.length < 2 && settings.analyses.includes('sharedMap')) throw new InvalidRequestError('The shared-map test scores next-token predictions and needs at least 2 tokens. Give a longer text or leave the test out.');
    const idsU32 = Uint32Array.from(ids);
    const idsSha256 = sha256Hex(new Uint8Array(idsU32.buffer));
    const textSha256 = text === null ? null : sha256Hex(text);
    const hash = await weightHash(engine.info.files.map((f) => f.path));
    const params = {
      modelId: active.info.modelId,
      path: active.info.path,
      weightHash: hash,
      source,
      tokens: ids.length,
      idsSha256,
      textSha256,
      ...(input.conversationId ? { conversationId: input.conversationId } : {}),
      analyses: settings.analyses,
      thumbSide: settings.thumbSide,
      thumbReduce: settings.thumbReduce,
      taus: settings.taus,
      sharedMode: settings.sharedMode,
      sharedMapPerLayer: settings.sharedMapPerLayer,
      backend: engine.backend.kind,
      dtype: engine.backend.dtype,
    };
    const title = input.title?.trim() || `Analysis of ${active.info.name} on ${ids.length.toLocaleString('en-US')} tokens`;
    const run = this.d.store.create({ kind: 'analysis', title, model: active.info.name, params }, await this.d.system.environment());
    this.d.events.emit({ type: 'run-updated', run });
    this.d.store.addArtifact(run.id, { name: IDS_ARRAY, mime: arrayMime({ dtype: 'u32', shape: [ids.length] }), data: new Uint8Array(idsU32.buffer) });
    const labels = ids.map((id) => (engine.tokenizer ? engine.tokenizer.decode([id]) : String(id)));
    this.running = active.info.name;
    let taskId = input.taskId ?? '';
    const work = this.d.tasks.run(
      'analysis',
      `Analysing ${active.info.name}`,
      { taskId: input.taskId },
      async (task) => {
        taskId = task.id;
        let partial: { summary: Omit<AnalysisSummary, 'runId'>; arrays: PipelineArray[] } | null = null;
        try {
          const result = await runAnalysis(
            engine.backend,
            { id: active.info.modelId, name: active.info.name, architecture: engine.info.rawConfig.architectures instanceof Array ? String(engine.info.rawConfig.architectures[0]) : engine.config.family, weightHash: hash },
            ids,
            { source, idsSha256, textSha256, tokenLabels: labels, device: active.info.device },
            settings,
            {
              signal: task.signal,
              progress: (d, t, label) => task.progress(d, t, label),
              partial: (s, a) => (partial = { summary: structuredClone(s), arrays: [...a] }),
            },
          );
          this.record(run.id, result.summary, result.arrays);
          this.finish(run.id, 'completed');
          return run.id;
        } catch (err) {
          const cancelled = err instanceof CancelledError || task.signal.aborted;
          const p = partial as { summary: Omit<AnalysisSummary, 'runId'>; arrays: PipelineArray[] } | null;
          // A cancelled analysis keeps the steps it finished; a failed one keeps nothing but its error.
          if (cancelled && p) this.record(run.id, { ...p.summary, analyses: p.summary.analyses.filter((k) => k in p.summary.timings) }, p.arrays);
          this.finish(run.id, cancelled ? 'stopped' : 'failed', cancelled ? 'The analysis was cancelled; the analyses it had finished are kept.' : (err as Error).message);
          throw Object.assign(cancelled && !(err instanceof CancelledError) ? new CancelledError('The analysis was cancelled.') : (err as Error), { runId: run.id });
        } finally {
          engine.backend.reset();
          this.running = null;
        }
      },
      (id) => id,
    );
    work.catch(() => undefined);
    return { taskId, runId: run.id };
  }

  private finish(runId: string, status: 'completed' | 'failed' | 'stopped', error?: string): void {
    this.d.events.emit({ type: 'run-updated', run: this.d.store.finish(runId, status, error) });
  }

  private record(runId: string, s: Omit<AnalysisSummary, 'runId'>, arrays: PipelineArray[]): void {
    this.summaries.set(runId, recordAnalysis(this.d.store, runId, s, arrays));
  }

  get(runId: string): AnalysisSummary {
    const hit = this.summaries.get(runId);
    if (hit) return hit;
    const run = this.d.store.get(runId);
    if (run.kind !== 'analysis') throw new InvalidRequestError(`Run ${runId} is a ${run.kind} run, not an analysis.`);
    const art = run.artifacts.find((a) => a.name === SUMMARY);
    if (!art) {
      throw new InvalidRequestError(
        run.status === 'running' ? 'This analysis is still running; it opens when it finishes.' : `This analysis has no stored results (it ${run.status === 'failed' ? `failed: ${run.error ?? 'unknown error'}` : `ended ${run.status}`}). Run it again.`,
      );
    }
    const summary = JSON.parse(this.d.store.readArtifact(art.id).data.toString('utf8')) as AnalysisSummary;
    this.summaries.set(runId, summary);
    return summary;
  }

  private readArray(runId: string, name: string): { ref: ArrayRef; data: Uint8Array } {
    const summary = this.get(runId);
    const ref = summary.arrays[name];
    if (!ref) throw new InvalidRequestError(`Analysis ${runId} has no array "${name}"; it has ${Object.keys(summary.arrays).join(', ') || 'none'}.`);
    const art = this.d.store.get(runId).artifacts.find((a) => a.name === name && a.mime.startsWith(ARRAY_MIME));
    if (!art) throw new StorageError(`The array "${name}" of analysis ${runId} is missing from the store. Run the analysis again.`);
    const { data } = this.d.store.readArtifact(art.id);
    return { ref, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }

  array(runId: string, name: string, index?: number[]): ArrayPayload {
    const { ref, data } = this.readArray(runId, name);
    return slicePayload(ref, data, index);
  }

  /** One map [T, T] f32: stored, recomputed on the loaded model when it is the analysed one, or the thumbnail. */
  async map(runId: string, layer: number, map: number): Promise<ArrayPayload & { resolution: 'full' | 'thumb'; source: 'stored' | 'recomputed' }> {
    const s = this.get(runId);
    const { numLayers, numMaps } = s.model;
    if (layer >= numLayers) throw new InvalidRequestError(`layer ${layer} does not exist: the model has ${numLayers} layers (0 to ${numLayers - 1})`);
    if (map >= numMaps) throw new InvalidRequestError(`map ${map} does not exist: each layer has ${numMaps} maps (0 to ${numMaps - 1})`);
    const T = s.input.tokens;
    const f32 = (a: Float32Array, shape: number[]) => ({ dtype: 'f32' as const, shape, base64: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') });
    if (s.arrays['maps.f16']) {
      const p = this.array(runId, 'maps.f16', [layer, map]);
      const bits = Buffer.from(p.base64, 'base64');
      return { ...f32(f16ToF32Array(new Uint16Array(bits.buffer.slice(bits.byteOffset, bits.byteOffset + bits.byteLength))), [T, T]), resolution: 'full', source: 'stored' };
    }
    const active = this.d.models.current();
    const same = active && active.info.modelId === s.model.id && (await weightHash(active.engine.info.files.map((f) => f.path))) === s.model.weightHash;
    if (active && same && !this.d.busy() && !this.running) {
      const ids = Array.from(new Uint32Array(this.readArray(runId, IDS_ARRAY).data.slice().buffer));
      try {
        this.running = active.info.name;
        const m = await attentionOfLayer(active.engine.backend, ids, layer);
        return { ...f32(m.probs.slice(map * T * T, (map + 1) * T * T), [T, T]), resolution: 'full', source: 'recomputed' };
      } finally {
        active.engine.backend.reset();
        this.running = null;
      }
    }
    return { ...this.array(runId, 'thumbs.f32', [layer, map]), resolution: 'thumb', source: 'stored' };
  }
}

/** Stores a finished (or cancelled) analysis on its run: arrays first, then the summary naming them, then the scalars as metrics. */
export function recordAnalysis(store: RunStore, runId: string, s: Omit<AnalysisSummary, 'runId'>, arrays: PipelineArray[]): AnalysisSummary {
  const refs: Record<string, ArrayRef> = {};
  for (const a of arrays) {
    const art = store.addArtifact(runId, { name: a.name, mime: arrayMime(a), data: arrayBytes(a) });
    refs[a.name] = { name: a.name, dtype: a.dtype, shape: a.shape, sha256: art.sha256 };
  }
  const summary: AnalysisSummary = { ...s, runId, arrays: refs };
  store.addArtifact(runId, { name: SUMMARY, mime: 'application/json', data: Buffer.from(JSON.stringify(summary)) });
  store.addMetrics(runId, metricsOf(summary));
  return summary;
}

/** The run's scalars: per-layer means of the map statistics, and the shared-map perplexities. */
export function metricsOf(s: AnalysisSummary): Omit<MetricSample, 'at'>[] {
  const out: Omit<MetricSample, 'at'>[] = [{ name: 'tokens', step: 0, value: s.input.tokens, unit: 'tokens' }];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  s.stats?.forEach((maps, layer) => {
    out.push({ name: 'entropy_bits', step: layer, value: mean(maps.map((m) => m.entropy)), unit: 'bits' });
    out.push({ name: 'attention_distance', step: layer, value: mean(maps.map((m) => m.distance)), unit: 'tokens' });
    out.push({ name: 'sink_mass', step: layer, value: mean(maps.map((m) => m.sink)) });
  });
  s.similarity?.layers.forEach((m, layer) => {
    const off: number[] = [];
    for (let a = 0; a < m.n; a++) for (let b = a + 1; b < m.n; b++) off.push(m.js[a * m.n + b]);
    if (off.length) out.push({ name: 'mean_js_bits', step: layer, value: mean(off), unit: 'bits' });
  });
  if (s.sharedMap) {
    out.push({ name: 'baseline_ppl', step: 0, value: s.sharedMap.baselinePpl });
    for (const r of s.sharedMap.results.filter((x) => x.scope === 'model')) out.push({ name: `shared_map_ppl_${r.grouping}`, step: r.tau, value: r.ppl });
  }
  for (const [k, v] of Object.entries(s.timings)) out.push({ name: `time_${k}_ms`, step: 0, value: v, unit: 'ms' });
  return out;
}
