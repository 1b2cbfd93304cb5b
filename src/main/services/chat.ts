// Conversations and the chat flows on the loaded model: send, stop, regenerate, edit-and-resend, and the
// context meter. One reply generates at a time (the engine's KV cache is one sequence); every reply is a
// run of kind 'chat'. Checks that can fail (tokenizer, template, context) run before anything is stored.
import type { ChatMessage, ChatMode, Conversation, ContextUsage, GenerationInput, Params, PromptInput, ReplyResult } from '../../shared/api';
import { CancelledError, ContextLengthError, InvalidRequestError } from '../../shared/errors';
import type { RunStore } from '../store';
import type { EventBus } from './events';
import type { ActiveModel, ModelManager } from './models';
import { buildPrompt, userTurn, type PromptMessage } from './prompt';
import { errorText, settleReply, streamReply, type ReplyPlan } from './reply';
import type { System } from './system';
import type { TaskRegistry } from './tasks';

export interface ChatDeps {
  store: RunStore;
  events: EventBus;
  tasks: TaskRegistry;
  system: System;
  models: ModelManager;
}

const DEFAULT_TITLE = 'New conversation';
const TITLE_CHARS = 60;
const fmt = (n: number): string => n.toLocaleString('en-US');

export class ChatService {
  /** The conversation whose reply is generating now. */
  private generating: string | null = null;

  constructor(private readonly d: ChatDeps) {}

  private get chats() {
    return this.d.store.chats;
  }

  /** Why a model load must wait, or null. */
  busyReason(): string | null {
    return this.generating ? 'A chat reply is being generated.' : null;
  }

  private changed(id: string): Conversation {
    const c = this.chats.getConversation(id);
    this.d.events.emit({ type: 'conversation-updated', conversation: c });
    return c;
  }

  list(): Conversation[] {
    return this.chats.listConversations();
  }

  create(p: Params<'createConversation'>): Conversation {
    const c = this.chats.createConversation({ title: p.title || DEFAULT_TITLE, modelId: p.modelId ?? this.d.models.current()?.info.modelId ?? null, systemPrompt: p.systemPrompt ?? null });
    this.d.events.emit({ type: 'conversation-updated', conversation: c });
    return c;
  }

  get(id: string) {
    return { conversation: this.chats.getConversation(id), messages: this.chats.messages(id) };
  }

  update(p: Params<'updateConversation'>): Conversation {
    this.chats.updateConversation(p.id, { title: p.title, systemPrompt: p.systemPrompt });
    return this.changed(p.id);
  }

  delete(id: string): boolean {
    if (this.generating === id) throw new InvalidRequestError('This conversation is generating a reply. Stop it first, then delete the conversation.');
    const deleted = this.chats.deleteConversation(id);
    if (deleted) this.d.events.emit({ type: 'conversation-deleted', id });
    return deleted;
  }

  stop(conversationId: string): boolean {
    return this.d.tasks.cancelByKey(conversationId) > 0;
  }

  async contextUsage(p: Params<'contextUsage'>): Promise<ContextUsage> {
    const active = this.d.models.require();
    const conv = this.chats.getConversation(p.conversationId);
    const history: PromptMessage[] = this.chats.messages(conv.id);
    const mode = p.mode ?? active.info.defaultMode;
    const used = history.some((m) => m.status === 'complete' || m.status === 'stopped') ? (await buildPrompt(active.engine, active.info.modelId, conv.systemPrompt, history, mode, active.info.name)).length : 0;
    let draftTokens = 0;
    if (p.draft && (p.draft.text || p.draft.tokenIds)) {
      const withDraft = (await buildPrompt(active.engine, active.info.modelId, conv.systemPrompt, [...history, this.virtualUser(active, p.draft, history)], mode, active.info.name)).length;
      draftTokens = withDraft - used;
    }
    const limit = active.info.nCtx;
    return { usedTokens: used, draftTokens, limit, remaining: Math.max(0, limit - used - draftTokens) };
  }

  private virtualUser(active: ActiveModel, input: PromptInput, before: PromptMessage[]): PromptMessage {
    const first = !before.some((m) => m.role !== 'system');
    const t = userTurn(active.engine, input, first);
    return { role: 'user', text: t.text, tokenIds: t.tokenIds, status: 'complete', modelId: active.info.modelId };
  }

  private claim(conversationId: string): void {
    if (this.generating) throw new InvalidRequestError('A reply is already being generated. Wait for it or stop it, then send again.');
    this.generating = conversationId;
  }

  /** Everything that can refuse the request, computed before the database changes. */
  private async plan(active: ActiveModel, conv: Conversation, history: PromptMessage[], gen: GenerationInput): Promise<ReplyPlan> {
    const mode: ChatMode = gen.mode ?? active.info.defaultMode;
    const prompt = await buildPrompt(active.engine, active.info.modelId, conv.systemPrompt, history, mode, active.info.name);
    const nCtx = active.info.nCtx;
    if (prompt.length >= nCtx) {
      throw new ContextLengthError(
        `This conversation needs ${fmt(prompt.length)} tokens but the model was loaded with a ${fmt(nCtx)}-token context, so no reply fits. Start a new conversation${nCtx < active.info.maxContext ? `, edit or shorten an earlier message, or reload the model with a larger context (up to ${fmt(active.info.maxContext)})` : ' or edit or shorten an earlier message; the model is already loaded with the largest context it allows'}.`,
        { promptTokens: prompt.length, nCtx },
      );
    }
    const s = { ...active.info.defaultSampling, ...gen.sampling };
    const sampling = { ...s, seed: s.seed ?? (Math.random() * 2 ** 32) >>> 0 };
    return { active, conversationId: conv.id, conversationTitle: conv.title, prompt, mode, sampling, maxTokens: Math.min(sampling.maxTokens, nCtx - prompt.length) };
  }

  /** Create the run and the 'generating' reply, then stream it as a task. */
  private async reply(plan: ReplyPlan, userMessage: ChatMessage | null, taskId: string | undefined): Promise<ReplyResult> {
    const { info } = plan.active;
    const run = this.d.store.create(
      {
        kind: 'chat',
        title: `Chat: ${plan.conversationTitle}`,
        model: info.name,
        params: { conversationId: plan.conversationId, modelId: info.modelId, mode: plan.mode, sampling: plan.sampling, maxTokens: plan.maxTokens, promptTokens: plan.prompt.length, nCtx: info.nCtx, backend: info.backend },
      },
      await this.d.system.environment(),
    );
    this.d.events.emit({ type: 'run-updated', run });
    const reply = this.chats.addMessage(plan.conversationId, { role: 'assistant', text: '', tokenIds: [], status: 'generating', runId: run.id, modelId: info.modelId });
    this.d.events.emit({ type: 'message-updated', message: reply });
    this.changed(plan.conversationId);
    let usedTaskId = taskId ?? '';
    let cancelled = false;
    let failure = 'The reply ended without finishing.';
    try {
      const done = await this.d.tasks.run(
        'chat',
        `Reply in "${plan.conversationTitle}"`,
        { taskId, key: plan.conversationId },
        (task) => {
          usedTaskId = task.id;
          return streamReply(this.d, plan, reply, run.id, task).catch((err: unknown) => {
            cancelled = err instanceof CancelledError || task.signal.aborted;
            throw err;
          });
        },
        () => run.id,
      );
      return { userMessage, reply: done, runId: run.id, taskId: usedTaskId };
    } catch (err) {
      failure = errorText(err);
      throw err;
    } finally {
      // However the task ended (even if it never started, e.g. a reused taskId), the reply is not left
      // 'generating' nor its run 'running'. A no-op when streamReply settled them itself.
      settleReply(this.d, reply.id, run.id, { cancelled, error: failure });
    }
  }

  private async guarded(conversationId: string, work: () => Promise<ReplyResult>): Promise<ReplyResult> {
    this.claim(conversationId);
    try {
      return await work();
    } finally {
      this.generating = null;
    }
  }

  send(p: Params<'sendMessage'>): Promise<ReplyResult> {
    return this.guarded(p.conversationId, async () => {
      const active = this.d.models.require();
      const conv = this.chats.getConversation(p.conversationId);
      const history = this.chats.messages(conv.id);
      const user = this.virtualUser(active, p, history);
      const plan = await this.plan(active, conv, [...history, user], p);
      const userMessage = this.chats.addMessage(conv.id, { role: 'user', text: user.text, tokenIds: user.tokenIds, status: 'complete', modelId: active.info.modelId });
      this.d.events.emit({ type: 'message-updated', message: userMessage });
      if (conv.title === DEFAULT_TITLE && user.text.trim()) {
        const title = user.text.trim().replace(/\s+/g, ' ');
        this.chats.updateConversation(conv.id, { title: title.length > TITLE_CHARS ? `${title.slice(0, TITLE_CHARS - 1)}…` : title });
      }
      this.chats.updateConversation(conv.id, { modelId: active.info.modelId });
      return this.reply({ ...plan, conversationTitle: this.chats.getConversation(conv.id).title }, userMessage, p.taskId);
    });
  }

  regenerate(p: Params<'regenerate'>): Promise<ReplyResult> {
    return this.guarded(p.conversationId, async () => {
      const active = this.d.models.require();
      const conv = this.chats.getConversation(p.conversationId);
      const messages = this.chats.messages(conv.id);
      const lastUser = [...messages].reverse().find((m) => m.role === 'user');
      if (!lastUser) throw new InvalidRequestError('This conversation has no message to answer yet. Send a message first.');
      const history = messages.filter((m) => m.seq <= lastUser.seq);
      const plan = await this.plan(active, conv, history, p);
      this.truncate(conv.id, lastUser.seq);
      return this.reply(plan, null, p.taskId);
    });
  }

  async editAndResend(p: Params<'editAndResend'>): Promise<ReplyResult> {
    const target = this.chats.message(p.messageId);
    return this.guarded(target.conversationId, async () => {
      if (target.role !== 'user') throw new InvalidRequestError('Only your own messages can be edited; use regenerate for a reply.');
      const active = this.d.models.require();
      const conv = this.chats.getConversation(target.conversationId);
      const before = this.chats.messages(conv.id).filter((m) => m.seq < target.seq);
      const user = this.virtualUser(active, p, before);
      const plan = await this.plan(active, conv, [...before, user], p);
      this.truncate(conv.id, target.seq);
      const edited = this.chats.updateMessage(target.id, { text: user.text, tokenIds: user.tokenIds, status: 'complete', modelId: active.info.modelId });
      this.d.events.emit({ type: 'message-updated', message: edited });
      return this.reply(plan, edited, p.taskId);
    });
  }

  private truncate(conversationId: string, seq: number): void {
    const ids = this.chats.truncateAfter(conversationId, seq);
    if (ids.length) this.d.events.emit({ type: 'messages-removed', conversationId, ids });
  }
}
