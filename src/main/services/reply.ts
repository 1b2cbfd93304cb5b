// One assistant reply: stream tokens from the loaded engine into a 'generating' message (saved as it
// grows, so a crash keeps the partial text), emit a token event per token, then store the stats on the
// message and the run (kind 'chat'). Stopping keeps the partial reply as 'stopped'.
import type { ChatMessage, ChatMode, ReplyStats, SamplingSettings, WorkbenchEvent } from '../../shared/api';
import { CancelledError } from '../../shared/errors';
import { GREEDY, samplingParams, type GenerationResult, type SamplingParams } from '../engine';
import type { RunStore } from '../store';
import type { EventBus } from './events';
import type { ActiveModel } from './models';
import { TextStream } from './prompt';
import type { Task } from './tasks';

/** How often a streaming reply's text is written to the database. */
const SAVE_INTERVAL_MS = 250;

export interface ReplyPlan {
  active: ActiveModel;
  conversationId: string;
  conversationTitle: string;
  prompt: number[];
  mode: ChatMode;
  sampling: SamplingSettings & { seed: number };
  maxTokens: number;
}

export function engineSampling(s: SamplingSettings & { seed: number }): SamplingParams {
  if (s.temperature === 0) return { ...GREEDY, repetitionPenalty: s.repetitionPenalty, seed: s.seed };
  return samplingParams({ temperature: s.temperature, topK: s.topK, topP: s.topP, repetitionPenalty: s.repetitionPenalty, seed: s.seed });
}

function statsOf(plan: ReplyPlan, r: GenerationResult, totalMs: number): ReplyStats {
  const kv = plan.active.engine.kvReport();
  const s = r.stats;
  return {
    mode: plan.mode,
    sampling: plan.sampling,
    promptTokens: s.promptTokens,
    generatedTokens: s.generatedTokens,
    timeToFirstTokenMs: s.prefillMs,
    prefillTokPerS: s.prefillTokPerS,
    decodeTokPerS: s.decodeTokPerS,
    totalMs,
    tokenMs: s.tokenMs.slice(0, s.generatedTokens),
    stopReason: s.stopReason,
    // What the conversation now occupies; the cache holds one token less when the last one was never fed back.
    context: { used: s.promptTokens + s.generatedTokens, limit: kv.nCtx },
    kv: {
      reservedBytes: kv.reservedBytes,
      usedBytes: kv.usedBytes,
      byPart: kv.byPart.map((p) => ({ layer: p.layer, part: p.part, reservedBytes: p.reservedBytes, usedBytes: p.usedBytes })),
    },
  };
}

function metricsOf(st: ReplyStats) {
  const one = (name: string, value: number, unit: string) => ({ name, step: 0, value, unit });
  return [
    ...st.tokenMs.map((ms, i) => ({ name: 'token_ms', step: i, value: ms, unit: 'ms' })),
    one('ttft_ms', st.timeToFirstTokenMs, 'ms'),
    one('prefill_tok_s', st.prefillTokPerS, 'tok/s'),
    one('decode_tok_s', st.decodeTokPerS, 'tok/s'),
    one('prompt_tokens', st.promptTokens, 'tok'),
    one('generated_tokens', st.generatedTokens, 'tok'),
    one('context_used', st.context.used, 'tok'),
    one('kv_used_bytes', st.kv.usedBytes, 'B'),
    one('kv_reserved_bytes', st.kv.reservedBytes, 'B'),
    // One series per cache part over layers, for the per-layer bar chart.
    ...st.kv.byPart.map((p) => ({ name: `kv_used_bytes.${p.part}`, step: p.layer, value: p.usedBytes, unit: 'B' })),
  ];
}

export interface ReplyDeps {
  store: RunStore;
  events: EventBus;
}

/** A short message for anything thrown, an Error or not. */
export function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.length > 500 ? `${m.slice(0, 500)}…` : m;
}

/**
 * The last word on a reply whose task ended: if the message is still 'generating' or its run still
 * 'running', mark them ended (error/failed, or stopped when cancelled). Each write is tried on its own,
 * so a failing one cannot keep the other in place. Called from a finally path, it never throws.
 */
export function settleReply(d: ReplyDeps, replyId: string, runId: string, outcome: { cancelled: boolean; error: string; text?: string; tokenIds?: number[] }): void {
  try {
    const m = d.store.chats.message(replyId);
    if (m.status === 'generating') {
      const patch = { status: outcome.cancelled ? ('stopped' as const) : ('error' as const), error: outcome.error, ...(outcome.text !== undefined ? { text: outcome.text } : {}), ...(outcome.tokenIds ? { tokenIds: outcome.tokenIds } : {}) };
      d.events.emit({ type: 'message-updated', message: d.store.chats.updateMessage(replyId, patch) });
    }
  } catch {
    // the message was deleted, or the store is closing: nothing left to correct
  }
  try {
    if (d.store.getRun(runId).status === 'running') d.events.emit({ type: 'run-updated', run: d.store.finish(runId, outcome.cancelled ? 'stopped' : 'failed', outcome.error) });
  } catch {
    // as above
  }
}

/** Runs inside a chat task; `reply` is the 'generating' message, `runId` its run. */
export async function streamReply(d: ReplyDeps, plan: ReplyPlan, reply: ChatMessage, runId: string, task: Task): Promise<ChatMessage> {
  const { engine } = plan.active;
  const chats = d.store.chats;
  const emit = (e: WorkbenchEvent) => d.events.emit(e);
  const text = new TextStream(engine.tokenizer);
  const ids: number[] = [];
  let shown = ''; // the pieces streamed so far: the text kept if decoding the whole reply fails
  let lastSave = performance.now();
  const t0 = performance.now();
  const save = (patch: Parameters<typeof chats.updateMessage>[1]) => {
    const m = chats.updateMessage(reply.id, patch);
    emit({ type: 'message-updated', message: m });
    return m;
  };
  const finishRun = (status: 'completed' | 'stopped' | 'failed', error?: string) => emit({ type: 'run-updated', run: d.store.finish(runId, status, error) });
  const textNow = (): string => {
    try {
      return text.text();
    } catch {
      return shown;
    }
  };
  try {
    const it = engine.stream(plan.prompt, { maxTokens: plan.maxTokens, sampling: engineSampling(plan.sampling), stopTokens: engine.stopTokens, signal: task.signal });
    let result: GenerationResult;
    for (;;) {
      const step = await it.next();
      if (step.done) {
        result = step.value;
        break;
      }
      const t = step.value;
      ids.push(t.id);
      const piece = text.push(t.id);
      shown += piece;
      emit({ type: 'token', taskId: task.id, tokenId: t.id, text: piece, index: t.index, ms: t.ms, conversationId: plan.conversationId, messageId: reply.id });
      if (performance.now() - lastSave >= SAVE_INTERVAL_MS) {
        lastSave = performance.now();
        chats.updateMessage(reply.id, { text: text.text(), tokenIds: ids });
      }
    }
    // An empty reply (the first sampled token was a stop token) is a complete reply with no text.
    const stats = statsOf(plan, result, performance.now() - t0);
    const stopped = result.stats.stopReason === 'aborted';
    d.store.addMetrics(runId, metricsOf(stats));
    const m = save({ text: text.text(), tokenIds: ids, status: stopped ? 'stopped' : 'complete', stats });
    finishRun(stopped ? 'stopped' : 'completed');
    return m;
  } catch (err) {
    // The failure path itself must not fail: settleReply tries each write on its own.
    const cancelled = err instanceof CancelledError || task.signal.aborted;
    settleReply(d, reply.id, runId, { cancelled, error: errorText(err), text: textNow(), tokenIds: ids });
    throw err;
  }
}
