// The model manager: lists the bundled zoo (models/catalog.json) and the folders a user added
// (remembered in SQLite), validates folders before loading, loads one model at a time with progress and
// cancel (each load recorded as a run of kind 'load'), unloads it, and reports its memory.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { LoadedModel, LoadModelInput, MemoryReport, ModelCheck, ModelEntry, ModelList } from '../../shared/api';
import { normalizeConfig, variantOf, type ModelConfig } from '../../shared/arch/config';
import { parameterCount, weightSpec } from '../../shared/arch/spec';
import { CancelledError, CheckpointError, ContextLengthError, GpuUnavailableError, InvalidRequestError, NotFoundError } from '../../shared/errors';
import { kvValuesPerTokenLayer } from '../../shared/formulas';
import { nonFiniteError, openEngine, scanNonFinite, type Engine } from '../engine';
import type { RunStore } from '../store';
import { readCard, readCatalog } from './catalog';
import type { EventBus } from './events';
import type { GpuProvider } from './gpu';
import { defaultContext, validateModelFolder } from './model-check';
import { defaultSampling } from './sampling-defaults';
import type { System } from './system';
import type { TaskRegistry } from './tasks';

export interface ModelManagerDeps {
  store: RunStore;
  events: EventBus;
  tasks: TaskRegistry;
  system: System;
  gpu: GpuProvider;
  modelsDir: string;
}

interface Resolved {
  id: string;
  name: string;
  path: string;
}

export interface ActiveModel {
  engine: Engine;
  info: LoadedModel;
}

const PROGRESS_INTERVAL_MS = 100;

/** The path with symlinks resolved, or as given when it does not exist. */
function realPath(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return resolve(p);
  }
}

function configOf(dir: string): { config: ModelConfig | null; problem: string | null } {
  const file = join(dir, 'config.json');
  if (!existsSync(dir)) return { config: null, problem: `The folder ${dir} is gone. Restore it, or remove the model from the list.` };
  try {
    return { config: normalizeConfig(JSON.parse(readFileSync(file, 'utf8'))), problem: null };
  } catch (err) {
    return { config: null, problem: `${file} cannot be read (${(err as Error).message}). Run "Validate" on the folder for details.` };
  }
}

/** The weight files' names, sizes and times: a NaN refusal is remembered until they change. */
function weightsSignature(dir: string): string {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.safetensors') || n === 'model.safetensors.index.json')
      .sort()
      .map((n) => {
        const st = statSync(join(dir, n));
        return `${n}:${st.size}:${st.mtimeMs}`;
      })
      .join('|');
  } catch {
    return '';
  }
}

/** A load refused because weights hold NaN/Inf: the full list, scanned if the refusal named only the first. */
async function nonFiniteReport(err: unknown, dir: string): Promise<{ name: string; count: number }[] | null> {
  if (!(err instanceof CheckpointError) || !err.details) return null;
  const d = err.details as { nonFinite?: unknown; nonFiniteTensors?: number };
  if (Array.isArray(d.nonFinite) && d.nonFiniteTensors === d.nonFinite.length) return d.nonFinite as { name: string; count: number }[];
  if (d.nonFinite === undefined || d.nonFinite === false) return null;
  // the GPU upload stops at the first poisoned tensor; read the rest for the count and the names
  return scanNonFinite(dir).catch(() => null);
}

/** Bytes the backend holds for the weights: every tensor the spec names that the folder has. */
function weightsBytes(engine: Engine): number {
  const per = engine.backend.kind === 'gpu' && engine.backend.dtype === 'f16' ? 2 : 4;
  let total = 0;
  for (const s of weightSpec(engine.config)) {
    if (!engine.info.tensors.has(s.name) || !(s.required || s.counted)) continue;
    total += Math.ceil((s.shape.reduce((a, b) => a * b, 1) * per) / 4) * 4;
  }
  return total;
}

export function memoryOf(engine: Engine, weights: number): MemoryReport {
  const kv = engine.kvReport();
  return {
    weightsBytes: weights,
    kvReservedBytes: kv.reservedBytes,
    kvUsedBytes: kv.usedBytes,
    kvTokens: kv.tokens,
    kvBytesPerToken: kv.bytesPerToken,
    nCtx: kv.nCtx,
    byPart: kv.byPart.map((p) => ({ layer: p.layer, part: p.part, reservedBytes: p.reservedBytes, usedBytes: p.usedBytes })),
  };
}

export class ModelManager {
  private active: ActiveModel | null = null;
  private loading: string | null = null;
  /** Folders whose load was refused for NaN/Inf weights, until their weight files change. */
  private readonly nonFinite = new Map<string, { signature: string; message: string }>();

  private knownProblem(path: string): string | null {
    const k = this.nonFinite.get(path);
    if (!k) return null;
    if (k.signature === weightsSignature(path)) return k.message;
    this.nonFinite.delete(path);
    return null;
  }

  constructor(private readonly d: ModelManagerDeps) {}

  list(): ModelList {
    const catalog = readCatalog(this.d.modelsDir);
    const loadedId = this.active?.info.modelId ?? null;
    const entry = (r: Resolved, source: ModelEntry['source'], extra: Partial<ModelEntry>): ModelEntry => {
      const { config, problem } = configOf(r.path);
      return {
        id: r.id,
        name: r.name,
        source,
        path: r.path,
        variant: config ? variantOf(config) : null,
        architecture: config?.architecture ?? null,
        params: config ? parameterCount(config) : null,
        kvValuesPerTokenLayer: config ? kvValuesPerTokenLayer(config) : null,
        maxContext: config?.maxPositions ?? null,
        isDefault: false,
        hasTokenizer: existsSync(join(r.path, 'tokenizer.json')),
        card: readCard(r.path),
        addedAt: null,
        problem: problem ?? this.knownProblem(r.path),
        loaded: r.id === loadedId,
        ...extra,
      };
    };
    const models = [
      ...catalog.entries.map((c) => entry(c, 'bundled', { isDefault: c.isDefault, ...(c.params !== null ? { params: c.params } : {}) })),
      ...this.d.store.modelFolders.list().map((f) => entry(f, 'added', { addedAt: f.addedAt })),
    ];
    return catalog.problem ? { models, catalogProblem: catalog.problem } : { models };
  }

  resolve(modelId: string): Resolved {
    const bundled = readCatalog(this.d.modelsDir).entries.find((e) => e.id === modelId);
    if (bundled) return bundled;
    const added = this.d.store.modelFolders.list().find((f) => f.id === modelId);
    if (added) return added;
    throw new NotFoundError(`Model "${modelId}" is not in the model list. Refresh the list, or add its folder again.`, { modelId });
  }

  /** The full check, every weight read for NaN/Inf included (what "Validate" and adding a folder run). */
  async validate(path: string): Promise<ModelCheck> {
    const abs = resolve(path);
    const check = await this.check(abs, true);
    const listed = this.listedAt(abs);
    if (listed) check.warnings.unshift(`${this.alreadyListed(abs, listed).message.replace(/; nothing was changed\.$/, '')}: adding it again changes nothing.`);
    return check;
  }

  private async check(path: string, scanWeights: boolean): Promise<ModelCheck> {
    const info = await this.d.system.info();
    const known = this.knownProblem(path);
    return validateModelFolder(path, info.adapter, { scanWeights, knownProblem: known ? { kind: 'weights', message: known } : null });
  }

  /** The listed model (bundled or added) whose folder is this one, symlinks and trailing slashes aside. */
  private listedAt(abs: string): { id: string; name: string; source: ModelEntry['source'] } | null {
    const real = realPath(abs);
    const bundled = readCatalog(this.d.modelsDir).entries.find((e) => realPath(e.path) === real);
    if (bundled) return { id: bundled.id, name: bundled.name, source: 'bundled' };
    const added = this.d.store.modelFolders.findByPath(abs) ?? this.d.store.modelFolders.list().find((f) => realPath(f.path) === real);
    return added ? { id: added.id, name: added.name, source: 'added' } : null;
  }

  private alreadyListed(abs: string, m: { id: string; name: string; source: ModelEntry['source'] }): InvalidRequestError {
    const as = m.source === 'bundled' ? `the bundled model “${m.name}”` : `“${m.name}”`;
    return new InvalidRequestError(`${abs} is already in the model list as ${as}; nothing was changed.`, { modelId: m.id, source: m.source });
  }

  /** Add a folder the list does not hold yet; a folder already listed (added or bundled) is refused, unchanged. */
  async addFolder(path: string, name?: string): Promise<ModelEntry> {
    const abs = resolve(path);
    const listed = this.listedAt(abs);
    if (listed) throw this.alreadyListed(abs, listed);
    const check = await this.validate(abs);
    if (!check.ok) {
      throw new CheckpointError(`${abs} cannot be added: ${check.problems.map((p) => p.message).join(' ')}`, { problems: check.problems });
    }
    // added meanwhile (a second window, a script): still refused, still unchanged
    const { folder, added } = this.d.store.modelFolders.addIfNew(abs, name || basename(abs));
    if (!added) throw this.alreadyListed(abs, { ...folder, source: 'added' });
    this.d.events.emit({ type: 'models-changed' });
    return this.list().models.find((m) => m.id === folder.id)!;
  }

  removeFolder(id: string, busy: () => string | null): boolean {
    if (readCatalog(this.d.modelsDir).entries.some((e) => e.id === id)) {
      throw new InvalidRequestError(`"${id}" is a bundled model and cannot be removed; only folders you added can.`, { id });
    }
    if (this.active?.info.modelId === id) {
      const why = busy();
      if (why) throw new InvalidRequestError(`${why} It uses this model; stop it before removing the model.`);
      this.unload();
    }
    const removed = this.d.store.modelFolders.remove(id);
    if (removed) this.d.events.emit({ type: 'models-changed' });
    return removed;
  }

  current(): ActiveModel | null {
    return this.active;
  }

  /** The loaded model, or an error saying to load one. */
  require(): ActiveModel {
    if (this.loading) throw new InvalidRequestError(`${this.loading} is loading. Wait for it to finish, then send again.`);
    if (!this.active) throw new InvalidRequestError('No model is loaded. Load one in the Models section first.');
    return this.active;
  }

  status(): LoadedModel | null {
    if (!this.active) return null;
    return { ...this.active.info, memory: memoryOf(this.active.engine, this.active.info.memory.weightsBytes) };
  }

  unload(): boolean {
    const a = this.active;
    if (!a) return false;
    this.active = null;
    a.engine.dispose();
    this.d.events.emit({ type: 'model-unloaded', modelId: a.info.modelId });
    return true;
  }

  async load(input: LoadModelInput, busy: () => string | null): Promise<LoadedModel> {
    const why = busy();
    if (why) throw new InvalidRequestError(`${why} Wait for it to finish or stop it, then load the model.`);
    if (this.loading) throw new InvalidRequestError(`A model (${this.loading}) is already loading. Wait for it, or cancel it first.`);
    const r = this.resolve(input.modelId);
    this.loading = r.name;
    try {
      return await this.d.tasks.run('load', `Loading ${r.name}`, { taskId: input.taskId }, (task) => this.loadTask(r, input, task.signal, task.progress), (m) => m.loadRunId);
    } finally {
      this.loading = null;
    }
  }

  private async loadTask(r: Resolved, input: LoadModelInput, signal: AbortSignal, progress: (done: number, total: number) => void): Promise<LoadedModel> {
    // the load reads (and checks) every weight itself
    const check = await this.check(r.path, false);
    if (!check.ok) throw new CheckpointError(`${r.name} cannot be loaded: ${check.problems.map((p) => p.message).join(' ')}`, { problems: check.problems });
    // Refused here, before the loaded model is let go, rather than by the engine after.
    if (input.nCtx !== undefined && check.maxContext !== null && input.nCtx > check.maxContext) {
      throw new ContextLengthError(`A context of ${input.nCtx.toLocaleString('en-US')} tokens exceeds ${r.name}'s max_position_embeddings (${check.maxContext.toLocaleString('en-US')}). Choose at most ${check.maxContext.toLocaleString('en-US')}.`, { nCtx: input.nCtx, maxContext: check.maxContext });
    }
    const params = { modelId: r.id, path: r.path, backend: input.backend ?? 'auto', dtype: input.dtype ?? 'f16', nCtx: input.nCtx ?? null };
    const run = this.d.store.create({ kind: 'load', title: `Load ${r.name}`, model: r.name, params }, await this.d.system.environment());
    this.d.events.emit({ type: 'run-updated', run });
    const finish = (status: 'completed' | 'failed' | 'stopped', error?: string) => {
      this.d.events.emit({ type: 'run-updated', run: this.d.store.finish(run.id, status, error) });
    };
    // Free the previous model's GPU memory before the new one is uploaded.
    this.unload();
    const t0 = performance.now();
    let lastEmit = 0;
    try {
      const { engine, fallback } = await this.open(r.path, input, signal, (done, total) => {
        const t = performance.now();
        if (done === total || t - lastEmit >= PROGRESS_INTERVAL_MS) {
          lastEmit = t;
          progress(done, total);
        }
      });
      if (signal.aborted) {
        engine.dispose();
        throw new CancelledError('Loading the model was cancelled.');
      }
      const loadMs = performance.now() - t0;
      const weights = weightsBytes(engine);
      const tok = engine.tokenizer;
      const info: LoadedModel = {
        modelId: r.id,
        name: r.name,
        path: r.path,
        variant: variantOf(engine.config),
        backend: engine.backend.kind,
        device: engine.backend.kind === 'gpu' ? (await this.d.gpu.get()).device : engine.backend.device,
        dtype: engine.backend.dtype,
        nCtx: engine.backend.nCtx,
        maxContext: engine.config.maxPositions,
        hasTokenizer: tok !== null,
        hasChatTemplate: tok?.hasChatTemplate ?? false,
        defaultMode: tok?.hasChatTemplate ? 'chat' : 'completion',
        defaultSampling: defaultSampling(r.path, engine.backend.nCtx),
        fallback,
        tokenizerNote: engine.tokenizerReason,
        loadMs,
        loadRunId: run.id,
        memory: memoryOf(engine, weights),
      };
      this.active = { engine, info };
      const fileBytes = engine.info.weightBytes;
      this.d.store.addMetrics(run.id, [
        { name: 'load_ms', step: 0, value: loadMs, unit: 'ms' },
        { name: 'file_bytes', step: 0, value: fileBytes, unit: 'B' },
        { name: 'weights_bytes', step: 0, value: weights, unit: 'B' },
        { name: 'kv_reserved_bytes', step: 0, value: info.memory.kvReservedBytes, unit: 'B' },
        { name: 'read_mb_s', step: 0, value: fileBytes / 1e6 / (loadMs / 1000), unit: 'MB/s' },
      ]);
      finish('completed');
      this.d.events.emit({ type: 'model-loaded', model: info });
      return info;
    } catch (caught) {
      let err = caught;
      const cancelled = err instanceof CancelledError || signal.aborted;
      const bad = cancelled ? null : await nonFiniteReport(err, r.path);
      if (bad && bad.length > 0) {
        // refused for NaN/Inf weights: the count on the run, and the folder marked until its files change
        err = nonFiniteError(bad);
        const values = bad.reduce((a, n) => a + n.count, 0);
        this.d.store.addMetrics(run.id, [
          { name: 'nonfinite_values', step: 0, value: values, unit: 'values' },
          { name: 'nonfinite_tensors', step: 0, value: bad.length, unit: 'tensors' },
        ]);
        this.nonFinite.set(r.path, { signature: weightsSignature(r.path), message: `${(err as Error).message}. The workbench refuses to load weights with NaN/Inf values.` });
        this.d.events.emit({ type: 'models-changed' });
      }
      finish(cancelled ? 'stopped' : 'failed', (err as Error).message);
      throw Object.assign(cancelled && !(err instanceof CancelledError) ? new CancelledError('Loading the model was cancelled.') : err as Error, { runId: run.id });
    }
  }

  /** The engine on the requested backend; 'auto' without a usable GPU runs on the CPU and says why. */
  private async open(path: string, input: LoadModelInput, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<{ engine: Engine; fallback: string | null }> {
    const kind = input.backend ?? 'auto';
    const cfg = configOf(path).config;
    const nCtx = input.nCtx ?? (cfg ? defaultContext(cfg) : undefined);
    const common = { dtype: input.dtype ?? 'f16', nCtx, signal, onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } as const;
    if (kind === 'cpu') return { engine: await openEngine(path, { ...common, backend: 'cpu' }), fallback: null };
    let rt;
    try {
      rt = (await this.d.gpu.get()).rt;
    } catch (err) {
      if (kind === 'gpu' || !(err instanceof GpuUnavailableError)) throw err;
      return { engine: await openEngine(path, { ...common, backend: 'cpu' }), fallback: err.message };
    }
    const engine = await openEngine(path, { ...common, backend: kind, runtime: rt });
    return { engine, fallback: engine.fallback };
  }
}
