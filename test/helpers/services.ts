// Real services (SQLite in a temporary data directory, the Dawn adapter) for integration tests, with a
// small models/ folder holding a catalog of copied golden checkpoints, and an event recorder.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkbenchEvent } from '../../src/shared/api';
import { createServices, type Services } from '../../src/main/services';

export const GOLDEN = fileURLToPath(new URL('../fixtures/golden/v1', import.meta.url));

export interface ZooModel {
  id: string;
  golden: string; // folder name under GOLDEN
  card?: string;
  generationConfig?: Record<string, unknown>;
  isDefault?: boolean;
}

/** A models/ folder with catalog.json listing copies of golden checkpoints (plus card.md etc.). */
export function makeZoo(root: string, models: ZooModel[]): string {
  const dir = join(root, 'models');
  mkdirSync(dir, { recursive: true });
  for (const m of models) {
    const dest = join(dir, m.id);
    cpSync(join(GOLDEN, m.golden), dest, { recursive: true });
    if (m.card) writeFileSync(join(dest, 'card.md'), m.card);
    if (m.generationConfig) writeFileSync(join(dest, 'generation_config.json'), JSON.stringify(m.generationConfig));
  }
  const catalog = {
    models: models.map((m) => ({ id: m.id, name: `Tiny ${m.golden}`, variant: 'gqa', path: m.id, params: 1234, kv_values_per_token_layer: 64, default: m.isDefault ?? false })),
  };
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog, null, 2));
  return dir;
}

export function openServices(dataDir: string, modelsDir: string): Services {
  return createServices({ dataDir, host: 'browser', modelsDir });
}

export class EventLog {
  readonly events: WorkbenchEvent[] = [];
  readonly off: () => void;
  constructor(s: Services, private readonly onEvent?: (e: WorkbenchEvent) => void) {
    this.off = s.events.subscribe((e) => {
      this.events.push(e);
      this.onEvent?.(e);
    });
  }

  of<T extends WorkbenchEvent['type']>(type: T): Extract<WorkbenchEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<WorkbenchEvent, { type: T }> => e.type === type);
  }
}

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
function byteChars(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(keep(b) ? b : 256 + extra++));
  return out;
}

export const TINY_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
/** A ChatML template, as Qwen-style tokenizers ship it. */
export const TINY_CHAT_TEMPLATE =
  "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/**
 * A tiny byte-level tokenizer (ids 0–255 are the bytes, 256–258 the ChatML specials, no merges) with a
 * chat template, written into `dir`: real tokenizer.json / tokenizer_config.json files that the engine's
 * tokenizer loads like any Hugging Face one, small enough for a model with a vocabulary of 259 or more.
 */
export function writeByteTokenizer(dir: string, opts: { chatTemplate?: boolean } = {}): void {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, i) => (vocab[c] = i));
  const added = TINY_SPECIALS.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const config: Record<string, unknown> = { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', add_bos_token: false };
  if (opts.chatTemplate ?? true) config.chat_template = TINY_CHAT_TEMPLATE;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
}
