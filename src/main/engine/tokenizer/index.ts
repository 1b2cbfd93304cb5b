// Text ↔ token ids for a checkpoint folder: tokenizer.json through @huggingface/tokenizers (its
// normalizer included, e.g. Qwen's NFC), the chat template from tokenizer_config.json (or
// chat_template.jinja) through @huggingface/jinja, and the stop tokens gathered from config.json,
// generation_config.json and the tokenizer's own eos and end-of-turn tokens. A folder without
// tokenizer.json still runs on token ids: loadTokenizer then says why there is no tokenizer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { CheckpointError, InvalidRequestError } from '../../../shared/errors';
import { RENDER_HEAP_MB, RENDER_MAX_CHARS, RENDER_TIME_MS, renderTemplate, TemplateRenderError } from './render';

export { RENDER_MAX_CHARS, RENDER_TIME_MS, stopTemplateWorker } from './render';

export interface ChatMessage {
  role: string; // 'system' | 'user' | 'assistant' | …
  content: string;
}

/** End-of-turn tokens of the common chat formats; whichever exist in a vocabulary stop generation. */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|endoftext|>', '<|end_of_text|>', '<|end|>', '</s>'];

type TokenizerConfig = Record<string, unknown>;

/** tokenizer_config.json writes special tokens as strings or as {content: …} objects. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

function pickTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v as { name?: string; template?: string }[];
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

const FIX = "fix tokenizer_config.json's chat_template or use completion mode";

/** The user's error for a failed render: which budget it broke, on which model, and what to do. */
function templateError(err: unknown, model: string | undefined): Error {
  if (!(err instanceof TemplateRenderError)) return err as Error;
  const of = `the chat template of ${model ?? 'this model'}`;
  const short = (m: string) => (m.length > 300 ? `${m.slice(0, 300)}…` : m);
  switch (err.reason) {
    case 'time':
      return new InvalidRequestError(`${of} ran past ${RENDER_TIME_MS / 1000} s rendering this conversation; ${FIX}`, { reason: 'time' });
    case 'output':
      return new InvalidRequestError(`${of} produced more than ${RENDER_MAX_CHARS / (1024 * 1024)} MB of text rendering this conversation; ${FIX}`, { reason: 'output' });
    case 'memory':
      return new InvalidRequestError(`${of} used more than ${RENDER_HEAP_MB} MB of memory rendering this conversation; ${FIX}`, { reason: 'memory' });
    case 'unavailable':
      return new CheckpointError(`chat templates cannot run here: the template renderer could not load @huggingface/jinja (${short(err.message)}); use completion mode`, { reason: 'unavailable' });
    default:
      return new CheckpointError(`${of} failed rendering this conversation (${short(err.message)}); ${FIX}`);
  }
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly template: Template | null;
  readonly chatTemplate: string | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  /** Ids that end generation: model eos ids, the tokenizer's eos and the end-of-turn tokens it has. */
  readonly stopTokenIds: number[];
  /** Every added token marked special, by text. */
  readonly specialTokens: Map<string, number>;

  constructor(json: object, config: TokenizerConfig, opts: { eosTokenIds?: number[]; chatTemplate?: string | null } = {}) {
    this.tok = new Tokenizer(json, config);
    this.specialTokens = new Map();
    for (const [id, t] of this.tok.get_added_tokens_decoder()) if (t.special) this.specialTokens.set(t.content, id);
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    this.bosTokenId = this.bosToken === null ? null : (this.tok.token_to_id(this.bosToken) ?? null);
    const stops = new Set(opts.eosTokenIds ?? []);
    for (const text of [this.eosToken, ...END_OF_TURN]) {
      const id = text === null ? undefined : this.specialTokens.get(text) ?? (text === this.eosToken ? this.tok.token_to_id(text) : undefined);
      if (id !== undefined) stops.add(id);
    }
    this.stopTokenIds = [...stops].sort((a, b) => a - b);
    this.chatTemplate = opts.chatTemplate ?? pickTemplate(config.chat_template);
    try {
      this.template = this.chatTemplate === null ? null : new Template(this.chatTemplate);
    } catch (e) {
      throw new CheckpointError(`the chat template does not parse (${(e as Error).message}); fix tokenizer_config.json's chat_template`);
    }
  }

  /** Token ids of `text`; addSpecialTokens runs the post-processor (e.g. Llama 3's BOS). */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /** The text of `ids`; no ids is the empty string (the library itself throws on an empty list). */
  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** Vocabulary size including added tokens (may be below the model's padded vocab_size). */
  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /**
   * Render the conversation with the checkpoint's own template, on the template worker with a time,
   * memory and output budget (render.ts). A template that breaks a budget is an InvalidRequestError
   * naming the model (`opts.model`, else "this model"), one that fails on its own a CheckpointError.
   */
  async applyChatTemplate(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; model?: string } = {}): Promise<string> {
    if (!this.template || this.chatTemplate === null) throw new CheckpointError('this tokenizer has no chat template; send plain text or token ids instead');
    const context = {
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    };
    try {
      return await renderTemplate(this.chatTemplate, context);
    } catch (err) {
      throw templateError(err, opts.model);
    }
  }

  /**
   * Incremental detokenisation for streaming: push ids one at a time and get the text they complete.
   * Decodes the ids since the last line break as a whole and returns the new suffix, holding it back
   * while it ends inside a UTF-8 sequence (a byte-level token can carry part of a character), so the
   * concatenated pieces equal decode(all ids) and no piece shows a replacement character.
   */
  streamDecoder(opts: { skipSpecialTokens?: boolean } = {}): { push(id: number): string; flush(): string } {
    let pending: number[] = [];
    let shown = 0; // characters of decode(pending) already returned
    const take = (final: boolean): string => {
      const text = this.decode(pending, opts);
      if (!final && text.endsWith('\uFFFD')) return '';
      const piece = text.slice(shown);
      shown = text.length;
      // decoding restarts after a line break, which keeps each decode short
      if (text.endsWith('\n')) {
        pending = [];
        shown = 0;
      }
      return piece;
    };
    return {
      push: (id: number) => {
        pending.push(id);
        return take(false);
      },
      flush: () => {
        const piece = take(true);
        pending = [];
        shown = 0;
        return piece;
      },
    };
  }

  /** The template's text, tokenized without a second BOS (the template writes its own). */
  async encodeChat(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; model?: string } = {}): Promise<number[]> {
    return this.encode(await this.applyChatTemplate(messages, opts), { addSpecialTokens: false });
  }
}

export type TokenizerLoad = { tokenizer: TextTokenizer; reason?: undefined } | { tokenizer: null; reason: string };

async function readJsonOpt(path: string): Promise<Record<string, unknown> | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path} is not valid JSON (${(e as Error).message}); fix or delete it`, { file: path });
  }
}

/** Load the folder's tokenizer; a missing tokenizer.json gives {tokenizer: null, reason}. */
export async function loadTokenizer(dir: string, opts: { eosTokenIds?: number[] } = {}): Promise<TokenizerLoad> {
  const json = await readJsonOpt(join(dir, 'tokenizer.json'));
  if (!json) {
    return { tokenizer: null, reason: 'the folder has no tokenizer.json, so text cannot be encoded; prompts must be given as token ids' };
  }
  const config = (await readJsonOpt(join(dir, 'tokenizer_config.json'))) ?? {};
  const jinja = await readFile(join(dir, 'chat_template.jinja'), 'utf8').catch(() => null);
  try {
    return { tokenizer: new TextTokenizer(json, config, { eosTokenIds: opts.eosTokenIds, chatTemplate: jinja }) };
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`tokenizer.json could not be read (${(e as Error).message}); replace it with the checkpoint's original`, { dir });
  }
}
