// Issue 15, item 2: a huge integer in config.json (num_hidden_layers: 1e9 and the like) used to make
// inspect, validation and the models list build a billion-layer weight spec (minutes at 100 % CPU, then
// an out-of-memory abort). Every config integer is now bounded by a sane maximum, and the layer count and
// the embedding's dimensions by the file's actual tensors, before any work proportional to them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_LIMITS, fmtInt, normalizeConfig } from '../../src/shared/arch/config';
import { CheckpointError } from '../../src/shared/errors';
import { inspectCheckpoint } from '../../src/main/engine';
import { validateModelFolder } from '../../src/main/services/model-check';
import { TINY_DSV2, TINY_GTA, TINY_LLAMA, TINY_PLM, writeTinyCheckpoint } from '../helpers/checkpoint';

function configError(raw: Record<string, unknown>): CheckpointError {
  try {
    normalizeConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error(`normalizeConfig accepted ${JSON.stringify(raw)}`);
}

const HUGE = [1e9, 2 ** 31, 1e300];

describe('config integers are bounded', () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [TINY_LLAMA, ['num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'hidden_size', 'intermediate_size', 'vocab_size', 'max_position_embeddings', 'head_dim']],
    [TINY_PLM, ['kv_lora_rank', 'q_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim', 'v_head_dim']],
    [TINY_DSV2, ['num_hidden_layers', 'q_lora_rank']],
    [TINY_GTA, ['num_query_heads', 'num_key_heads', 'num_value_heads', 'query_dim', 'key_dim', 'value_dim']],
  ];
  for (const [base, fields] of cases) {
    for (const field of fields) {
      it(`${String((base.architectures as string[])[0])}: ${field}`, () => {
        for (const v of HUGE) {
          const t0 = performance.now();
          const e = configError({ ...base, [field]: v });
          expect(performance.now() - t0).toBeLessThan(100);
          expect(e.details).toMatchObject({ field, value: v, limit: CONFIG_LIMITS[field] });
          // names the field, the value, the limit and what to do
          expect(e.message).toContain(`config.json: ${field}`);
          expect(e.message).toContain(`(${fmtInt(v)})`);
          expect(e.message).toContain(CONFIG_LIMITS[field].toLocaleString('en-US'));
          expect(e.message).toMatch(/use the config\.json published with the weights/);
        }
      });
    }
  }

  it('keeps the limits above every real checkpoint', () => {
    // Llama-3.1-405B, Qwen2.5-72B's 152k vocabulary, 1M-token contexts
    expect(() => normalizeConfig({ ...TINY_LLAMA, num_hidden_layers: 126, hidden_size: 16384, num_attention_heads: 128, num_key_value_heads: 8, intermediate_size: 53248, vocab_size: 152064, max_position_embeddings: 1_010_000 })).not.toThrow();
  });
});

describe('config against the file', () => {
  it('refuses more layers than the file holds, naming the field and the file', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_GTA, num_hidden_layers: 900 }));
    const e = await inspectCheckpoint(dir).then(() => null, (x: unknown) => x as CheckpointError);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e!.message).toBe('config.json: num_hidden_layers (900) does not match the weights: the safetensors files hold 2 layers (model.layers.0 to model.layers.1); use the config.json published with the weights');
    expect(e!.details).toMatchObject({ field: 'num_hidden_layers', value: 900, limit: 2 });
    const check = await validateModelFolder(dir, null);
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([{ kind: 'shape', message: expect.stringContaining('num_hidden_layers (900) does not match the weights') }]);
  });

  it('refuses a vocabulary or hidden size the embedding does not have, before the spec is built', async () => {
    const dir = writeTinyCheckpoint(TINY_LLAMA);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_LLAMA, vocab_size: 4_000_000 }));
    const e = await inspectCheckpoint(dir).then(() => null, (x: unknown) => x as CheckpointError);
    expect(e!.message).toBe('config.json: vocab_size (4,000,000) does not match the weights: model.embed_tokens.weight is [61, 32]; use the config.json published with the weights');
  });

  it('answers in milliseconds for num_hidden_layers 1e9 (inspect and validation)', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_GTA, num_hidden_layers: 1e9 }));
    const t0 = performance.now();
    const e = await inspectCheckpoint(dir).then(() => null, (x: unknown) => x as CheckpointError);
    expect(e?.details).toMatchObject({ field: 'num_hidden_layers', value: 1e9, limit: CONFIG_LIMITS.num_hidden_layers });
    const check = await validateModelFolder(dir, null);
    expect(check.problems[0]).toMatchObject({ kind: 'config', message: expect.stringContaining('num_hidden_layers (1,000,000,000) is above the limit') });
    expect(check.params).toBeNull();
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
