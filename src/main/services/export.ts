// exportRuns: runs as JSON (params, environment, metrics, artifact records) or as a tidy CSV with one
// row per metric sample (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted,
// quotes doubled). A run without metrics still gets one row, with the metric columns empty, so every
// exported run appears in the file.
import type { ExportResult, RunDetail } from '../../shared/api';
import type { RunStore } from '../store';
import { APP_VERSION } from './system';

export const CSV_COLUMNS = ['run_id', 'run_title', 'run_kind', 'model', 'status', 'created_at', 'metric', 'step', 'value', 'unit', 'at'] as const;

export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(fields: (string | number | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function runsToCsv(runs: RunDetail[]): { text: string; rows: number } {
  let text = csvLine([...CSV_COLUMNS]);
  let rows = 0;
  for (const r of runs) {
    const head = [r.id, r.title, r.kind, r.model, r.status, r.createdAt];
    if (r.metrics.length === 0) {
      text += csvLine([...head, null, null, null, null, null]);
      rows++;
    }
    for (const m of r.metrics) {
      text += csvLine([...head, m.name, m.step, m.value, m.unit, m.at]);
      rows++;
    }
  }
  return { text, rows };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
}

export function exportRuns(store: RunStore, ids: string[], format: 'json' | 'csv'): ExportResult {
  const runs = ids.map((id) => store.get(id));
  const now = new Date();
  const base = runs.length === 1 ? `run-${slug(runs[0].title)}-${runs[0].id.slice(0, 8)}` : `gta-workbench-runs-${runs.length}-${stamp(now)}`;
  if (format === 'csv') {
    const { text, rows } = runsToCsv(runs);
    return { filename: `${base}.csv`, mime: 'text/csv; charset=utf-8', text, runs: runs.length, rows };
  }
  const text = `${JSON.stringify({ format: 'gta-workbench-runs', version: 1, appVersion: APP_VERSION, exportedAt: now.toISOString(), runs }, null, 2)}\n`;
  return { filename: `${base}.json`, mime: 'application/json', text, runs: runs.length, rows: runs.reduce((a, r) => a + r.metrics.length, 0) };
}
