// The real Qwen3 tokenizer (test/fixtures/tokenizer/qwen3, see its README), the family PLM uses.
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/shared/errors';
import { loadTokenizer, type TextTokenizer } from '../../src/main/engine/tokenizer';
import { tmpDir } from '../helpers/checkpoint';
import { qwen3TokenizerDir } from '../helpers/qwen3';

const FIXTURE = qwen3TokenizerDir();
let tok: TextTokenizer;

beforeAll(async () => {
  const r = await loadTokenizer(FIXTURE, { eosTokenIds: [151643] });
  if (!r.tokenizer) throw new Error(r.reason);
  tok = r.tokenizer;
});

describe('tokenizer (Qwen3 tokenizer.json)', () => {
  it('encodes and decodes byte-level BPE with the known ids', () => {
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    const text = 'GTA caches 192 values per token — ünïcödé, 中文, emoji 🙂\n  indented';
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 151936)).toBe(true);
  });

  it('applies NFC normalisation: decomposed and precomposed text give the same ids', () => {
    const composed = 'café naïve Å';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(tok.encode(decomposed)).toEqual(tok.encode(composed));
  });

  it('knows the special tokens and stops on eos and end-of-turn tokens', () => {
    expect(tok.specialTokens.get('<|endoftext|>')).toBe(151643);
    expect(tok.specialTokens.get('<|im_start|>')).toBe(151644);
    expect(tok.specialTokens.get('<|im_end|>')).toBe(151645);
    expect(tok.stopTokenIds).toEqual([151643, 151645]);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.encode('<|im_start|>user')).toEqual([151644, 872]);
    expect(tok.decode([151644, 872, 151645], { skipSpecialTokens: true })).toBe('user');
  });

  it('streams text token by token without splitting characters', () => {
    const text = 'Zürich 中文 🙂🫠𓀀 naïve\nsecond line — ok\n\nend';
    const ids = tok.encode(text);
    const d = tok.streamDecoder();
    const pieces = ids.map((id) => d.push(id));
    pieces.push(d.flush());
    expect(pieces.join('')).toBe(text);
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    // an emoji spans several byte-level tokens: the first ones yield nothing until it completes
    const emoji = tok.encode('🫠');
    expect(emoji.length).toBeGreaterThan(1);
    const e = tok.streamDecoder();
    expect(emoji.map((id) => e.push(id))).toEqual([...emoji.slice(1).map(() => ''), '🫠']);
  });

  it('renders the chat template from tokenizer_config.json, with and without the generation prompt', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    expect(tok.hasChatTemplate).toBe(true);
    const open = await tok.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(open).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(await tok.applyChatTemplate(messages)).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
    const ids = await tok.encodeChat(messages, { addGenerationPrompt: true });
    expect(ids[0]).toBe(151644);
    expect(ids.filter((i) => i === 151645)).toHaveLength(2);
  });
});

describe('loadTokenizer', () => {
  it('returns null with a reason for a folder without tokenizer.json', async () => {
    const r = await loadTokenizer(tmpDir());
    expect(r.tokenizer).toBeNull();
    expect(r.reason).toContain('no tokenizer.json');
  });

  it('works without tokenizer_config.json (no template, no eos token text)', async () => {
    const dir = tmpDir();
    cpSync(join(FIXTURE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const r = await loadTokenizer(dir, { eosTokenIds: [7] });
    expect(r.tokenizer!.hasChatTemplate).toBe(false);
    expect(r.tokenizer!.stopTokenIds).toEqual([7, 151643, 151645]);
    await expect(r.tokenizer!.applyChatTemplate([{ role: 'user', content: 'x' }])).rejects.toThrow(CheckpointError);
  });

  it('prefers chat_template.jinja and reports a broken tokenizer.json clearly', async () => {
    const dir = tmpDir();
    cpSync(join(FIXTURE, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}');
    const r = await loadTokenizer(dir);
    expect(await r.tokenizer!.applyChatTemplate([{ role: 'user', content: 'hello' }])).toBe('[user] hello\n');
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await expect(loadTokenizer(dir)).rejects.toThrow(/tokenizer\.json is not valid JSON/);
  });
});
