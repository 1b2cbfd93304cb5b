// exportRuns through the services on a real run database: the CSV's exact columns, one row per metric
// sample, RFC 4180 quoting of awkward titles (commas, quotes, line breaks), and the JSON form.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/shared/errors';
import { CSV_COLUMNS, csvField } from '../../src/main/services/export';
import { openServices } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-export-');
const s = openServices(join(root, 'data'), join(root, 'models'));
afterAll(() => s.shutdown());

/** A small RFC 4180 reader, so the test checks the CSV by parsing it back rather than by string shape. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('exportRuns', () => {
  it('writes tidy CSV: exact header, one row per sample, quoted fields', async () => {
    const a = await s.handlers.createRun({ kind: 'bench', title: 'decode, "long" context\nrun', model: 'GTA, tiny' });
    await s.handlers.addMetrics({ id: a.id, samples: [
      { name: 'decode_tok_s', step: 0, value: 812.5, unit: 'tok/s' },
      { name: 'decode_tok_s', step: 2048, value: 640.25, unit: 'tok/s' },
      { name: 'kv_bytes', step: 2048, value: 1572864 },
    ] });
    await s.handlers.finishRun({ id: a.id, status: 'completed' });
    const b = await s.handlers.createRun({ kind: 'manual', title: 'no metrics' });

    const out = await s.handlers.exportRuns({ ids: [a.id, b.id], format: 'csv' });
    expect(out.mime).toBe('text/csv; charset=utf-8');
    expect(out.filename).toMatch(/^gta-workbench-runs-2-\d{8}-\d{6}Z\.csv$/);
    expect(out.text.startsWith('run_id,run_title,run_kind,model,status,created_at,metric,step,value,unit,at\r\n')).toBe(true);
    const rows = parseCsv(out.text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + 3 + 1);
    expect(out.rows).toBe(4);
    const detail = await s.handlers.getRun({ id: a.id });
    expect(rows.slice(1, 4)).toEqual(
      detail.metrics.map((m) => [a.id, 'decode, "long" context\nrun', 'bench', 'GTA, tiny', 'completed', a.createdAt, m.name, String(m.step), String(m.value), m.unit ?? '', m.at]),
    );
    expect(rows[4]).toEqual([b.id, 'no metrics', 'manual', '', 'running', b.createdAt, '', '', '', '', '']);
  });

  it('quotes only what needs quoting', () => {
    expect([csvField('plain'), csvField('a,b'), csvField('say "hi"'), csvField('x\ny'), csvField(null), csvField(1.5)]).toEqual(['plain', '"a,b"', '"say ""hi"""', '"x\ny"', '', '1.5']);
  });

  it('writes JSON with params, environment and metrics, and names a missing run', async () => {
    const r = await s.handlers.createRun({ kind: 'chat', title: 'Hello', params: { temperature: 0.7 } });
    await s.handlers.addMetrics({ id: r.id, samples: [{ name: 'token_ms', step: 0, value: 12 }] });
    const out = await s.handlers.exportRuns({ ids: [r.id], format: 'json' });
    expect(out.filename).toBe(`run-hello-${r.id.slice(0, 8)}.json`);
    const parsed = JSON.parse(out.text);
    expect(parsed.format).toBe('gta-workbench-runs');
    expect(parsed.runs).toHaveLength(1);
    expect(parsed.runs[0]).toMatchObject({ id: r.id, params: { temperature: 0.7 }, environment: { appVersion: expect.any(String) }, metrics: [{ name: 'token_ms', step: 0, value: 12 }] });
    const missing = '00000000-0000-4000-8000-000000000000';
    await expect(Promise.resolve().then(() => s.handlers.exportRuns({ ids: [r.id, missing], format: 'csv' }))).rejects.toThrow(NotFoundError);
  });
});
