import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { inspectReport } from '../../src/main/cli/inspect';
import { TINY_GTA, TINY_PLM, writeTinyCheckpoint } from '../helpers/checkpoint';
import { qwen3TokenizerDir } from '../helpers/qwen3';

const run = promisify(execFile);
const root = join(__dirname, '../..');
const FIXTURE = qwen3TokenizerDir();

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'scripts/cli.mjs'), ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('inspect', () => {
  it('reports variant, parameters, KV cache, FLOPs, tokenizer and the weight check', async () => {
    const dir = writeTinyCheckpoint(TINY_PLM, { dtype: 'BF16' });
    cpSync(join(FIXTURE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    cpSync(join(FIXTURE, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const r = await inspectReport(dir);
    expect(r.variant).toBe('MLA');
    expect(r.kvCache.valuesPerTokenLayer).toBe(16 + 4);
    expect(r.kvCache.bytesPerToken).toBe(20 * 2 * 2);
    expect(r.kvCache.bytesForContext).toBe(20 * 2 * 2 * 64);
    expect(r.flopsPerLayer.map((f) => f.N)).toEqual([128, 512, 2048]);
    expect(r.flopsPerLayer[0].paperTable4.attention).toBe(4 * (4 + 16) * 128 * 128);
    if (!r.tokenizer.ok) throw new Error(r.tokenizer.reason);
    expect(r.tokenizer.stopTokenIds).toContain(151645);
    expect(r.tokenizer.warning).toContain("the model's vocab_size is 57");
    expect(r.spec.ok).toBe(true);
    expect(r.parameters).toBeGreaterThan(0);
  });

  it('runs from the CLI as text and JSON, and fails on a mismatched checkpoint', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA);
    const text = await cli(['inspect', '--model', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('GTAForCausalLM (gta, GTA)');
    expect(text.stdout).toContain('KV cache       16 values/token/layer (keys 8 + latent 8)');
    expect(text.stdout).toContain('tokenizer      none: the folder has no tokenizer.json');
    const json = await cli(['inspect', '--model', dir, '--json']);
    expect(JSON.parse(json.stdout).kvCache.bytesPerTokenLayer).toBe(32);

    const bad = writeTinyCheckpoint(TINY_GTA, { edit: (t) => t.filter((x) => x.name !== 'model.norm.weight') });
    const failed = await cli(['inspect', '--model', bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('model.norm.weight is missing; the config implies [48]');
    const missing = await cli(['inspect', '--model', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('CheckpointError');
  });
});
