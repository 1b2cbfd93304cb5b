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

export function runFromRow(r: RunRow): Run {
  return {
    id: r.id,
    kind: r.kind as RunKind,
    title: r.title,
    model: r.model,
    params: JSON.parse(r.params) as Record<string, unknown>,
    status: r.status as RunStatus,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    environment: JSON.parse(r.environment) as RunEnvironment,
    tags: JSON.parse(r.tags_json) as string[],
    error: r.error,
  };
}

export function metricFromRow(r: MetricRow): MetricSample {
  const m: MetricSample = { name: r.name, step: r.step, value: r.value, at: r.at };
  if (r.unit !== null) m.unit = r.unit;
  return m;
}

export function artifactFromRow(r: ArtifactRow): Artifact {
  return { id: r.id, runId: r.run_id, name: r.name, mime: r.mime, bytes: r.bytes, sha256: r.sha256, createdAt: r.created_at };
}
