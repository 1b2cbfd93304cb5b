// Request validation for every method of the API contract. Both hosts (Electron IPC and the browser
// host) run it on every request before a handler sees the params, so handlers can trust their types.
// Errors name the offending field, e.g. `createRun: "title" must be a non-empty string`.
import type { CreateRunInput, MethodName, Params, RunKind, RunQuery, RunStatus } from './api';
import { METHOD_NAMES } from './api';
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

  id(value: unknown, field = 'id'): string {
    if (typeof value !== 'string' || !UUID.test(value)) this.fail(field, 'must be a run id (a lowercase UUID)');
    return value;
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
};

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/** Validate a request; returns params normalised to the declared type or throws InvalidRequestError. */
export function validateRequest<M extends MethodName>(method: M, params: unknown): Params<M> {
  if (!isMethodName(method)) throw new InvalidRequestError(`Unknown method "${String(method)}". Known methods: ${METHOD_NAMES.join(', ')}.`, { method });
  return validators[method](params) as Params<M>;
}
