// From a conversation to the token ids of the next prompt, and from generated ids back to text as they
// stream. Chat mode renders the history with the model's own chat template; completion mode treats the
// conversation as one running document (each turn's stored ids, in order), which is what a base model
// or a model without a tokenizer can continue.
import type { ChatMessage, ChatMode, PromptInput } from '../../shared/api';
import { InvalidRequestError } from '../../shared/errors';
import type { Engine, TextTokenizer } from '../engine';

/** The parts of a message a prompt is built from. */
export type PromptMessage = Pick<ChatMessage, 'role' | 'text' | 'tokenIds' | 'status' | 'modelId'>;

function needTokenizer(engine: Engine, what: string): TextTokenizer {
  if (!engine.tokenizer) throw new InvalidRequestError(`${what}: ${engine.tokenizerReason ?? 'this model has no tokenizer'}. Send the message as token ids (e.g. "12 7 301").`);
  return engine.tokenizer;
}

/** The text and ids of a user turn. `first`: the conversation's first turn gets the tokenizer's BOS. */
export function userTurn(engine: Engine, input: PromptInput, first: boolean): { text: string; tokenIds: number[] } {
  const vocab = engine.config.vocabSize;
  if (input.tokenIds !== undefined) {
    const bad = input.tokenIds.find((id) => id >= vocab);
    if (bad !== undefined) throw new InvalidRequestError(`Token id ${bad} is outside this model's vocabulary (0 to ${vocab - 1}). Use ids below ${vocab}.`);
    const text = engine.tokenizer ? engine.tokenizer.decode(input.tokenIds) : input.tokenIds.join(' ');
    return { text, tokenIds: input.tokenIds };
  }
  const text = input.text ?? '';
  const tok = needTokenizer(engine, 'This message is text');
  return { text, tokenIds: tok.encode(text, { addSpecialTokens: first }) };
}

/** Replies that are part of the transcript: finished or stopped, not failed or still running. */
function inTranscript(m: PromptMessage): boolean {
  return m.status === 'complete' || m.status === 'stopped';
}

/**
 * The next prompt's ids. `modelId` is the loaded model: stored ids of turns written with another model
 * belong to another vocabulary, so those turns are encoded again from their text. Chat mode renders
 * the template on the template worker (time and output budget); `modelName` names the model in the
 * error a runaway template gives.
 */
export async function buildPrompt(engine: Engine, modelId: string, systemPrompt: string | null, history: PromptMessage[], mode: ChatMode, modelName?: string): Promise<number[]> {
  const turns = history.filter(inTranscript);
  if (mode === 'chat') {
    const tok = engine.tokenizer;
    if (!tok?.hasChatTemplate) {
      throw new InvalidRequestError(`Chat mode needs a chat template, and ${tok ? 'this tokenizer has none' : 'this model has no tokenizer'}. Use completion mode instead.`);
    }
    const messages = [...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []), ...turns.map((m) => ({ role: m.role, content: m.text }))];
    return tok.encodeChat(messages, { addGenerationPrompt: true, model: modelName ?? modelId });
  }
  const ids: number[] = [];
  if (systemPrompt && engine.tokenizer) ids.push(...engine.tokenizer.encode(systemPrompt, { addSpecialTokens: true }));
  for (const m of turns) {
    if (m.tokenIds && m.modelId === modelId) ids.push(...m.tokenIds);
    else ids.push(...needTokenizer(engine, 'This conversation holds turns written with another model, whose token ids do not carry over').encode(m.text, { addSpecialTokens: false }));
  }
  return ids;
}

/**
 * Text of streamed ids, piece by piece. Decoding the current line's ids together (not token by token)
 * keeps multi-byte characters and merged spaces right; a piece that would end in U+FFFD (half a
 * character) waits for the next token. The window restarts after a line break, so a long reply costs
 * the square of a line's length, not of the whole reply's.
 */
export class TextStream {
  private readonly ids: number[] = [];
  private start = 0; // first id of the current window
  private emitted = ''; // text emitted for the current window

  constructor(private readonly tok: TextTokenizer | null) {}

  push(id: number): string {
    this.ids.push(id);
    if (!this.tok) return this.ids.length === 1 ? String(id) : ` ${id}`;
    const text = this.tok.decode(this.ids.slice(this.start), { skipSpecialTokens: true });
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    if (text.endsWith('\n')) {
      this.start = this.ids.length;
      this.emitted = '';
    }
    return piece;
  }

  /** The whole reply's text. */
  text(): string {
    return this.tok ? this.tok.decode(this.ids, { skipSpecialTokens: true }) : this.ids.join(' ');
  }
}
