// Request validation for every method of the API contract. Both hosts (Electron IPC and the browser
// host) run it on every request before a handler sees the params, so handlers can trust their types.
// Errors name the offending field, e.g. `createRun: "title" must be a non-empty string`.
import type { BenchInput, ChatMode, CreateRunInput, GenerationInput, LoadModelInput, MethodName, Params, PromptInput, RunKind, RunQuery, RunStatus, SamplingSettings } from './api';
import { METHOD_NAMES } from './api';
import { ANALYSIS_KINDS, type AnalysisInput } from './analysis/types';
import { InvalidRequestError } from './errors';

export const RUN_KINDS: readonly RunKind[] = ['chat', 'bench', 'load', 'analysis', 'compare', 'manual'];
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'interrupted', 'stopped'];
const SORT_KEYS = ['createdAt', 'title', 'kind', 'status', 'model'] as const;

export const LIMITS = {
  titleChars: 500,
  modelChars: 1000,
  tagChars: 64,
  tagsPerRun: 64,
  searchChars: 500,
  errorChars: 20_000,
  metricNameChars: 128,
  unitChars: 32,
  samplesPerCall: 100_000,
  paramsJsonChars: 1_000_000,
  urlChars: 2048,
  listMax: 500,
  pathChars: 4096,
  modelIdChars: 200,
  messageChars: 200_000,
  promptTokens: 1_000_000,
  exportRuns: 5000,
  benchPoints: 32,
  benchRepetitions: 100,
  benchTokens: 1_048_576,
  analysisThumbSide: 256,
  analysisTaus: 8,
  analysisTextChars: 2_000_000,
  arrayName: 64,
  arrayIndex: 4,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Obj = Record<string, unknown>;

class Checker {
  constructor(private readonly method: string) {}

  fail(field: string, what: string): never {
    throw new InvalidRequestError(`${this.method}: "${field}" ${what}`, { method: this.method, field });
  }

  object(value: unknown, field: string, allowed: readonly string[]): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be a JSON object');
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(field === 'params' ? key : `${field}.${key}`, `is not a known field (expected one of: ${allowed.join(', ') || 'none'})`);
    }
    return value as Obj;
  }

  string(value: unknown, field: string, max: number, allowEmpty = false): string {
    if (typeof value !== 'string') this.fail(field, 'must be a string');
    if (!allowEmpty && value.trim() === '') this.fail(field, 'must be a non-empty string');
    if (value.length > max) this.fail(field, `must be at most ${max} characters (got ${value.length})`);
    return value;
  }

  optString(value: unknown, field: string, max: number): string | undefined {
    return value === undefined ? undefined : this.string(value, field, max);
  }

  id(value: unknown, field = 'id', what = 'a run id'): string {
    if (typeof value !== 'string' || !UUID.test(value)) this.fail(field, `must be ${what} (a lowercase UUID)`);
    return value;
  }

  number(value: unknown, field: string, min: number, max: number, minOpen = false): number {
    const ok = typeof value === 'number' && Number.isFinite(value) && (minOpen ? value > min : value >= min) && value <= max;
    if (!ok) this.fail(field, `must be a number ${minOpen ? 'above' : 'from'} ${min} ${minOpen ? 'and at most' : 'to'} ${max}`);
    return value as number;
  }

  intList(value: unknown, field: string, min: number, max: number, maxLen: number): number[] {
    if (!Array.isArray(value) || value.length === 0) this.fail(field, 'must be a non-empty array of integers');
    if (value.length > maxLen) this.fail(field, `may hold at most ${maxLen} entries`);
    return value.map((v, i) => this.int(v, `${field}[${i}]`, min, max));
  }

  oneOf<T extends string>(value: unknown, field: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !options.includes(value as T)) this.fail(field, `must be one of: ${options.join(', ')}`);
    return value as T;
  }

  int(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  finite(value: unknown, field: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, 'must be a finite number');
    return value;
  }

  tags(value: unknown, field: string): string[] {
    if (!Array.isArray(value)) this.fail(field, 'must be an array of strings');
    if (value.length > LIMITS.tagsPerRun) this.fail(field, `may hold at most ${LIMITS.tagsPerRun} tags`);
    return value.map((t, i) => this.string(t, `${field}[${i}]`, LIMITS.tagChars).trim());
  }
}

function noParams(p: unknown): Record<string, never> {
  // `undefined` is accepted so callers may write `systemInfo()`; anything else must be {}.
  if (p === undefined) return {};
  new Checker('systemInfo').object(p, 'params', []);
  return {};
}

function listRuns(p: unknown): RunQuery {
  const c: Checker = new Checker('listRuns');
  const o = c.object(p ?? {}, 'params', ['kind', 'status', 'tag', 'search', 'sort', 'order', 'limit', 'offset']);
  const q: RunQuery = {};
  if (o.kind !== undefined) q.kind = c.oneOf(o.kind, 'kind', RUN_KINDS);
  if (o.status !== undefined) q.status = c.oneOf(o.status, 'status', RUN_STATUSES);
  if (o.tag !== undefined) q.tag = c.string(o.tag, 'tag', LIMITS.tagChars).trim();
  if (o.search !== undefined) q.search = c.string(o.search, 'search', LIMITS.searchChars, true);
  if (o.sort !== undefined) q.sort = c.oneOf(o.sort, 'sort', SORT_KEYS);
  if (o.order !== undefined) q.order = c.oneOf(o.order, 'order', ['asc', 'desc'] as const);
  if (o.limit !== undefined) q.limit = c.int(o.limit, 'limit', 1, LIMITS.listMax);
  if (o.offset !== undefined) q.offset = c.int(o.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  return q;
}

function idOnly(method: string) {
  return (p: unknown): { id: string } => {
    const c: Checker = new Checker(method);
    const o = c.object(p, 'params', ['id']);
    return { id: c.id(o.id) };
  };
}

function createRun(p: unknown): CreateRunInput {
  const c: Checker = new Checker('createRun');
  const o = c.object(p, 'params', ['kind', 'title', 'model', 'params', 'tags']);
  const input: CreateRunInput = { kind: c.oneOf(o.kind, 'kind', RUN_KINDS), title: c.string(o.title, 'title', LIMITS.titleChars).trim() };
  if (o.model !== undefined) input.model = o.model === null ? null : c.string(o.model, 'model', LIMITS.modelChars);
  if (o.params !== undefined) {
    if (typeof o.params !== 'object' || o.params === null || Array.isArray(o.params)) c.fail('params', 'must be a JSON object');
    const params = o.params;
    let json: string;
    try {
      json = JSON.stringify(params);
    } catch {
      c.fail('params', 'must be JSON-serialisable');
    }
    if (json.length > LIMITS.paramsJsonChars) c.fail('params', `must serialise to at most ${LIMITS.paramsJsonChars} characters of JSON`);
    input.params = JSON.parse(json) as Record<string, unknown>;
  }
  if (o.tags !== undefined) input.tags = c.tags(o.tags, 'tags');
  return input;
}

function finishRun(p: unknown): Params<'finishRun'> {
  const c: Checker = new Checker('finishRun');
  const o = c.object(p, 'params', ['id', 'status', 'error']);
  const status = c.oneOf(o.status, 'status', RUN_STATUSES.filter((s): s is Exclude<RunStatus, 'running'> => s !== 'running'));
  const out: Params<'finishRun'> = { id: c.id(o.id), status };
  if (o.error !== undefined) out.error = c.string(o.error, 'error', LIMITS.errorChars, true);
  return out;
}

function addMetrics(p: unknown): Params<'addMetrics'> {
  const c: Checker = new Checker('addMetrics');
  const o = c.object(p, 'params', ['id', 'samples']);
  const id = c.id(o.id);
  if (!Array.isArray(o.samples)) c.fail('samples', 'must be an array of {name, step, value, unit?}');
  if (o.samples.length > LIMITS.samplesPerCall) c.fail('samples', `may hold at most ${LIMITS.samplesPerCall} samples per call; send them in batches`);
  const samples = o.samples.map((s: unknown, i: number) => {
    const f = `samples[${i}]`;
    const so = c.object(s, f, ['name', 'step', 'value', 'unit']);
    const sample: Params<'addMetrics'>['samples'][number] = {
      name: c.string(so.name, `${f}.name`, LIMITS.metricNameChars),
      step: c.finite(so.step, `${f}.step`),
      value: c.finite(so.value, `${f}.value`),
    };
    const unit = c.optString(so.unit, `${f}.unit`, LIMITS.unitChars);
    if (unit !== undefined) sample.unit = unit;
    return sample;
  });
  return { id, samples };
}

function tagRun(p: unknown): Params<'tagRun'> {
  const c: Checker = new Checker('tagRun');
  const o = c.object(p, 'params', ['id', 'add', 'remove']);
  const out: Params<'tagRun'> = { id: c.id(o.id) };
  if (o.add !== undefined) out.add = c.tags(o.add, 'add');
  if (o.remove !== undefined) out.remove = c.tags(o.remove, 'remove');
  return out;
}

function openExternal(p: unknown): Params<'openExternal'> {
  const c: Checker = new Checker('openExternal');
  const o = c.object(p, 'params', ['url']);
  return { url: checkExternalUrl(c.string(o.url, 'url', LIMITS.urlChars), c) };
}

/** Only plain http(s) links without embedded credentials may leave the app. */
function checkExternalUrl(raw: string, c: Checker): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    c.fail('url', 'must be an absolute http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') c.fail('url', `must use http or https (got ${u.protocol.replace(':', '')})`);
  if (u.username || u.password) c.fail('url', 'must not carry a user name or password');
  return u.href;
}

/** True when `url` is one openExternal would accept. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    openExternal({ url });
    return true;
  } catch {
    return false;
  }
}

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function modelId(c: Checker, value: unknown, field = 'modelId'): string {
  const id = c.string(value, field, LIMITS.modelIdChars);
  if (!MODEL_ID.test(id)) c.fail(field, 'must be a model id from listModels (letters, digits, ".", "_", ":" or "-")');
  return id;
}

function taskId(c: Checker, o: Obj): string | undefined {
  return o.taskId === undefined ? undefined : c.id(o.taskId, 'taskId', 'a task id');
}

function noFields(method: string) {
  return (p: unknown): Record<string, never> => {
    if (p !== undefined) new Checker(method).object(p, 'params', []);
    return {};
  };
}

function cancelTask(p: unknown): Params<'cancelTask'> {
  const c: Checker = new Checker('cancelTask');
  const o = c.object(p, 'params', ['taskId']);
  return { taskId: c.id(o.taskId, 'taskId', 'a task id') };
}

function exportRuns(p: unknown): Params<'exportRuns'> {
  const c: Checker = new Checker('exportRuns');
  const o = c.object(p, 'params', ['ids', 'format']);
  if (!Array.isArray(o.ids) || o.ids.length === 0) c.fail('ids', 'must be a non-empty array of run ids');
  if (o.ids.length > LIMITS.exportRuns) c.fail('ids', `may hold at most ${LIMITS.exportRuns} runs; export in parts`);
  const ids = [...new Set(o.ids.map((id: unknown, i: number) => c.id(id, `ids[${i}]`)))];
  return { ids, format: c.oneOf(o.format, 'format', ['json', 'csv'] as const) };
}

function chooseFolder(p: unknown): Params<'chooseFolder'> {
  const c: Checker = new Checker('chooseFolder');
  const o = c.object(p ?? {}, 'params', ['title']);
  const title = c.optString(o.title, 'title', LIMITS.titleChars);
  return title === undefined ? {} : { title: title.trim() };
}

function pathOnly(method: string) {
  return (p: unknown): { path: string } => {
    const c: Checker = new Checker(method);
    const o = c.object(p, 'params', ['path']);
    return { path: c.string(o.path, 'path', LIMITS.pathChars).trim() };
  };
}

function addModelFolder(p: unknown): Params<'addModelFolder'> {
  const c: Checker = new Checker('addModelFolder');
  const o = c.object(p, 'params', ['path', 'name']);
  const out: Params<'addModelFolder'> = { path: c.string(o.path, 'path', LIMITS.pathChars).trim() };
  const name = c.optString(o.name, 'name', LIMITS.titleChars);
  if (name !== undefined) out.name = name.trim();
  return out;
}

function modelIdOnly(method: string) {
  return (p: unknown): { id: string } => {
    const c: Checker = new Checker(method);
    const o = c.object(p, 'params', ['id']);
    return { id: modelId(c, o.id, 'id') };
  };
}

const BACKENDS = ['auto', 'gpu', 'cpu'] as const;

function loadModel(p: unknown): LoadModelInput {
  const c: Checker = new Checker('loadModel');
  const o = c.object(p, 'params', ['modelId', 'nCtx', 'dtype', 'backend', 'taskId']);
  const out: LoadModelInput = { modelId: modelId(c, o.modelId) };
  if (o.nCtx !== undefined) out.nCtx = c.int(o.nCtx, 'nCtx', 1, LIMITS.benchTokens);
  if (o.dtype !== undefined) out.dtype = c.oneOf(o.dtype, 'dtype', ['f16', 'f32'] as const);
  if (o.backend !== undefined) out.backend = c.oneOf(o.backend, 'backend', BACKENDS);
  const t = taskId(c, o);
  if (t) out.taskId = t;
  return out;
}

function createConversation(p: unknown): Params<'createConversation'> {
  const c: Checker = new Checker('createConversation');
  const o = c.object(p ?? {}, 'params', ['title', 'modelId', 'systemPrompt']);
  const out: Params<'createConversation'> = {};
  if (o.title !== undefined) out.title = c.string(o.title, 'title', LIMITS.titleChars).trim();
  if (o.modelId !== undefined) out.modelId = o.modelId === null ? null : modelId(c, o.modelId);
  if (o.systemPrompt !== undefined) out.systemPrompt = o.systemPrompt === null ? null : c.string(o.systemPrompt, 'systemPrompt', LIMITS.messageChars, true);
  return out;
}

function conversationIdOnly(method: string) {
  return (p: unknown): { id: string } => {
    const c: Checker = new Checker(method);
    const o = c.object(p, 'params', ['id']);
    return { id: c.id(o.id, 'id', 'a conversation id') };
  };
}

function updateConversation(p: unknown): Params<'updateConversation'> {
  const c: Checker = new Checker('updateConversation');
  const o = c.object(p, 'params', ['id', 'title', 'systemPrompt']);
  const out: Params<'updateConversation'> = { id: c.id(o.id, 'id', 'a conversation id') };
  if (o.title !== undefined) out.title = c.string(o.title, 'title', LIMITS.titleChars).trim();
  if (o.systemPrompt !== undefined) out.systemPrompt = o.systemPrompt === null ? null : c.string(o.systemPrompt, 'systemPrompt', LIMITS.messageChars, true);
  return out;
}

/** text xor tokenIds; `required` says whether one of them must be there. */
function prompt(c: Checker, o: Obj, field: string | null, required: boolean): PromptInput {
  const f = (k: string) => (field ? `${field}.${k}` : k);
  if (o.text !== undefined && o.tokenIds !== undefined) c.fail(f('tokenIds'), 'cannot be sent together with text; send one of them');
  // A draft may be empty (the context meter of an empty input box); a message may not.
  if (o.text !== undefined) return { text: c.string(o.text, f('text'), LIMITS.messageChars, !required) };
  if (o.tokenIds !== undefined) return { tokenIds: c.intList(o.tokenIds, f('tokenIds'), 0, 2 ** 31 - 1, LIMITS.promptTokens) };
  if (required) c.fail(f('text'), 'is missing: send the message as text, or as tokenIds for a model without a tokenizer');
  return {};
}

function sampling(c: Checker, value: unknown): Partial<SamplingSettings> {
  const o = c.object(value, 'sampling', ['temperature', 'topK', 'topP', 'repetitionPenalty', 'maxTokens', 'seed']);
  const s: Partial<SamplingSettings> = {};
  if (o.temperature !== undefined) s.temperature = c.number(o.temperature, 'sampling.temperature', 0, 100);
  if (o.topK !== undefined) s.topK = c.int(o.topK, 'sampling.topK', 0, 10_000_000);
  if (o.topP !== undefined) s.topP = c.number(o.topP, 'sampling.topP', 0, 1, true);
  if (o.repetitionPenalty !== undefined) s.repetitionPenalty = c.number(o.repetitionPenalty, 'sampling.repetitionPenalty', 0, 100, true);
  if (o.maxTokens !== undefined) s.maxTokens = c.int(o.maxTokens, 'sampling.maxTokens', 1, LIMITS.benchTokens);
  if (o.seed !== undefined) s.seed = c.int(o.seed, 'sampling.seed', 0, 2 ** 32 - 1);
  return s;
}

const GENERATION_FIELDS = ['sampling', 'mode', 'taskId'];

function generation(c: Checker, o: Obj): GenerationInput {
  const g: GenerationInput = {};
  if (o.sampling !== undefined) g.sampling = sampling(c, o.sampling);
  if (o.mode !== undefined) g.mode = c.oneOf(o.mode, 'mode', ['chat', 'completion'] as const satisfies readonly ChatMode[]);
  const t = taskId(c, o);
  if (t) g.taskId = t;
  return g;
}

function contextUsage(p: unknown): Params<'contextUsage'> {
  const c: Checker = new Checker('contextUsage');
  const o = c.object(p, 'params', ['conversationId', 'draft', 'mode']);
  const out: Params<'contextUsage'> = { conversationId: c.id(o.conversationId, 'conversationId', 'a conversation id') };
  if (o.draft !== undefined) out.draft = prompt(c, c.object(o.draft, 'draft', ['text', 'tokenIds']), 'draft', false);
  if (o.mode !== undefined) out.mode = c.oneOf(o.mode, 'mode', ['chat', 'completion'] as const);
  return out;
}

function sendMessage(p: unknown): Params<'sendMessage'> {
  const c: Checker = new Checker('sendMessage');
  const o = c.object(p, 'params', ['conversationId', 'text', 'tokenIds', ...GENERATION_FIELDS]);
  return { conversationId: c.id(o.conversationId, 'conversationId', 'a conversation id'), ...prompt(c, o, null, true), ...generation(c, o) };
}

function stopGeneration(p: unknown): Params<'stopGeneration'> {
  const c: Checker = new Checker('stopGeneration');
  const o = c.object(p, 'params', ['conversationId']);
  return { conversationId: c.id(o.conversationId, 'conversationId', 'a conversation id') };
}

function regenerate(p: unknown): Params<'regenerate'> {
  const c: Checker = new Checker('regenerate');
  const o = c.object(p, 'params', ['conversationId', ...GENERATION_FIELDS]);
  return { conversationId: c.id(o.conversationId, 'conversationId', 'a conversation id'), ...generation(c, o) };
}

function editAndResend(p: unknown): Params<'editAndResend'> {
  const c: Checker = new Checker('editAndResend');
  const o = c.object(p, 'params', ['messageId', 'text', 'tokenIds', ...GENERATION_FIELDS]);
  return { messageId: c.id(o.messageId, 'messageId', 'a message id'), ...prompt(c, o, null, true), ...generation(c, o) };
}

function startBench(p: unknown): BenchInput {
  const c: Checker = new Checker('startBench');
  const o = c.object(p, 'params', ['modelId', 'prefillLengths', 'contexts', 'repetitions', 'decodeSteps', 'taskId']);
  const out: BenchInput = {
    modelId: modelId(c, o.modelId),
    prefillLengths: c.intList(o.prefillLengths, 'prefillLengths', 1, LIMITS.benchTokens, LIMITS.benchPoints),
    contexts: c.intList(o.contexts, 'contexts', 0, LIMITS.benchTokens, LIMITS.benchPoints),
    repetitions: c.int(o.repetitions, 'repetitions', 1, LIMITS.benchRepetitions),
  };
  if (o.decodeSteps !== undefined) out.decodeSteps = c.int(o.decodeSteps, 'decodeSteps', 1, 4096);
  const t = taskId(c, o);
  if (t) out.taskId = t;
  return out;
}

function startAnalysis(p: unknown): AnalysisInput {
  const c: Checker = new Checker('startAnalysis');
  const o = c.object(p, 'params', ['modelId', 'text', 'tokenIds', 'conversationId', 'analyses', 'thumbSide', 'thumbReduce', 'taus', 'sharedMode', 'sharedMapPerLayer', 'title', 'taskId']);
  const out: AnalysisInput = { modelId: modelId(c, o.modelId) };
  const sources = (['text', 'tokenIds', 'conversationId'] as const).filter((k) => o[k] !== undefined);
  if (sources.length !== 1) c.fail('text', `exactly one of text, tokenIds or conversationId must be given (got ${sources.length === 0 ? 'none' : sources.join(' and ')})`);
  if (o.text !== undefined) out.text = c.string(o.text, 'text', LIMITS.analysisTextChars);
  if (o.tokenIds !== undefined) out.tokenIds = c.intList(o.tokenIds, 'tokenIds', 0, 0x7fffffff, LIMITS.promptTokens);
  if (o.conversationId !== undefined) out.conversationId = c.id(o.conversationId, 'conversationId', 'a conversation id');
  if (o.analyses !== undefined) {
    if (!Array.isArray(o.analyses) || o.analyses.length === 0) c.fail('analyses', `must be a non-empty array of: ${ANALYSIS_KINDS.join(', ')}`);
    out.analyses = [...new Set(o.analyses.map((a, i) => c.oneOf(a, `analyses[${i}]`, ANALYSIS_KINDS)))];
  }
  if (o.thumbSide !== undefined) out.thumbSide = c.int(o.thumbSide, 'thumbSide', 1, LIMITS.analysisThumbSide);
  if (o.thumbReduce !== undefined) out.thumbReduce = c.oneOf(o.thumbReduce, 'thumbReduce', ['mean', 'max'] as const);
  if (o.taus !== undefined) {
    if (!Array.isArray(o.taus) || o.taus.length === 0 || o.taus.length > LIMITS.analysisTaus) c.fail('taus', `must be an array of 1 to ${LIMITS.analysisTaus} numbers from 0 to 1`);
    out.taus = o.taus.map((t, i) => c.number(t, `taus[${i}]`, 0, 1));
  }
  if (o.sharedMode !== undefined) out.sharedMode = c.oneOf(o.sharedMode, 'sharedMode', ['medoid', 'mean'] as const);
  if (o.sharedMapPerLayer !== undefined) {
    if (typeof o.sharedMapPerLayer !== 'boolean') c.fail('sharedMapPerLayer', 'must be true or false');
    out.sharedMapPerLayer = o.sharedMapPerLayer;
  }
  if (o.title !== undefined) out.title = c.string(o.title, 'title', LIMITS.titleChars).trim();
  const t = taskId(c, o);
  if (t) out.taskId = t;
  return out;
}

function getAnalysis(p: unknown): Params<'getAnalysis'> {
  const c: Checker = new Checker('getAnalysis');
  const o = c.object(p, 'params', ['runId']);
  return { runId: c.id(o.runId, 'runId') };
}

function getAnalysisArray(p: unknown): Params<'getAnalysisArray'> {
  const c: Checker = new Checker('getAnalysisArray');
  const o = c.object(p, 'params', ['runId', 'name', 'index']);
  const name = c.string(o.name, 'name', LIMITS.arrayName);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) c.fail('name', 'must be an array name from the summary (letters, digits, dot, dash)');
  const out: Params<'getAnalysisArray'> = { runId: c.id(o.runId, 'runId'), name };
  if (o.index !== undefined) out.index = c.intList(o.index, 'index', 0, 0x7fffffff, LIMITS.arrayIndex);
  return out;
}

function attentionMap(p: unknown): Params<'attentionMap'> {
  const c: Checker = new Checker('attentionMap');
  const o = c.object(p, 'params', ['runId', 'layer', 'map']);
  return { runId: c.id(o.runId, 'runId'), layer: c.int(o.layer, 'layer', 0, 100_000), map: c.int(o.map, 'map', 0, 100_000) };
}

export const validators: { [M in MethodName]: (params: unknown) => Params<M> } = {
  systemInfo: noParams,
  listRuns,
  getRun: idOnly('getRun'),
  createRun,
  finishRun,
  addMetrics,
  tagRun,
  deleteRun: idOnly('deleteRun'),
  openExternal,
  cancelTask,
  exportRuns,
  chooseFolder,
  listModels: noFields('listModels'),
  validateModelFolder: pathOnly('validateModelFolder'),
  addModelFolder,
  removeModelFolder: modelIdOnly('removeModelFolder'),
  loadModel,
  unloadModel: noFields('unloadModel'),
  modelStatus: noFields('modelStatus'),
  listConversations: noFields('listConversations'),
  createConversation,
  getConversation: conversationIdOnly('getConversation'),
  updateConversation,
  deleteConversation: conversationIdOnly('deleteConversation'),
  contextUsage,
  sendMessage,
  stopGeneration,
  regenerate,
  editAndResend,
  startBench,
  startAnalysis,
  getAnalysis,
  getAnalysisArray,
  attentionMap,
};

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/** Validate a request; returns params normalised to the declared type or throws InvalidRequestError. */
export function validateRequest<M extends MethodName>(method: M, params: unknown): Params<M> {
  if (!isMethodName(method)) throw new InvalidRequestError(`Unknown method "${String(method)}". Known methods: ${METHOD_NAMES.join(', ')}.`, { method });
  return validators[method](params) as Params<M>;
}
