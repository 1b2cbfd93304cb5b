// Row shapes of the SQLite tables and their mapping to the API types.
import type { Artifact, MetricSample, Run, RunEnvironment, RunKind, RunStatus } from '../../shared/api';

export interface RunRow {
  id: string;
  kind: string;
  title: string;
  model: string | null;
  params: string;
  status: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  environment: string;
  error: string | null;
  owner_pid: number | null;
  session_id: string | null;
  tags_json: string; // JSON array, from a json_group_array subquery
}

export interface MetricRow {
  name: string;
  step: number;
  value: number;
  unit: string | null;
  at: string;
}

export interface ArtifactRow {
  id: string;
  run_id: string;
  name: string;
  mime: string;
  bytes: number;
  sha256: string;
  path: string;
  created_at: string;
}

/** Columns of a run plus its tags, sorted, as one JSON array. */
export const RUN_COLUMNS = `runs.*, (SELECT json_group_array(tag) FROM (SELECT tag FROM tags WHERE tags.run_id = runs.id ORDER BY tag)) AS tags_json`;

/** A run as listed; `damaged` is set (and repeated in `error`) when a stored column could not be read. */
export type StoredRun = Run & { damaged?: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse one JSON column; a value that does not parse or has the wrong shape gives `fallback` and the
 * column's name in `bad`, so one hand-edited or torn row never breaks a whole list.
 */
function column<T>(text: unknown, name: string, ok: (v: unknown) => boolean, fallback: T, bad: string[]): T {
  try {
    const v: unknown = JSON.parse(String(text));
    if (ok(v)) return v as T;
  } catch {
    // reported below
  }
  bad.push(name);
  return fallback;
}

export function runFromRow(r: RunRow): StoredRun {
  const bad: string[] = [];
  const params = column<Record<string, unknown>>(r.params, 'params', isObject, {}, bad);
  const environment = column<RunEnvironment>(r.environment, 'environment', isObject, {} as RunEnvironment, bad);
  const tags = column<string[]>(r.tags_json, 'tags', (v) => Array.isArray(v) && v.every((t) => typeof t === 'string'), [], bad);
  const run: StoredRun = {
    id: String(r.id),
    kind: String(r.kind) as RunKind,
    title: String(r.title),
    model: r.model === null ? null : String(r.model),
    params,
    status: String(r.status) as RunStatus,
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    environment,
    tags,
    error: r.error === null ? null : String(r.error),
  };
  if (bad.length) {
    const cols = bad.join(' and ');
    run.damaged = `This run's stored record is damaged: its ${cols} ${bad.length > 1 ? 'are' : 'is'} not valid JSON in the database, so ${bad.length > 1 ? 'they are' : 'it is'} shown empty. Delete the run, or restore the data directory from a backup.`;
    run.error = run.error ? `${run.damaged} (Earlier error: ${run.error})` : run.damaged;
  }
  return run;
}

export function metricFromRow(r: MetricRow): MetricSample {
  const m: MetricSample = { name: r.name, step: r.step, value: r.value, at: r.at };
  if (r.unit !== null) m.unit = r.unit;
  return m;
}

export function artifactFromRow(r: ArtifactRow): Artifact {
  return { id: r.id, runId: r.run_id, name: r.name, mime: r.mime, bytes: r.bytes, sha256: r.sha256, createdAt: r.created_at };
}
