// Conversations and their messages, in the run database. A reply is written while it streams (status
// 'generating', with the owning process and store session) so a crash leaves its partial text behind;
// the next open turns such replies into 'stopped', as RunStore does with interrupted runs.
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type { ChatMessage, Conversation, MessageRole, MessageStatus, ReplyStats } from '../../shared/api';
import { NotFoundError } from '../../shared/errors';
import { ownerAlive } from './owners';

interface ConversationRow {
  id: string;
  title: string;
  model_id: string | null;
  system_prompt: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  role: string;
  text: string;
  token_ids: string | null;
  status: string;
  error: string | null;
  stats: string | null;
  run_id: string | null;
  model_id: string | null;
  created_at: string;
  updated_at: string;
}

const CONVERSATION_COLUMNS = `conversations.*, (SELECT COUNT(*) FROM messages WHERE messages.conversation_id = conversations.id) AS message_count`;

function conversationFromRow(r: ConversationRow): Conversation {
  return {
    id: r.id,
    title: r.title,
    modelId: r.model_id,
    systemPrompt: r.system_prompt,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    messageCount: r.message_count,
  };
}

/** A damaged JSON column (hand edit, torn write) reads as null instead of breaking the whole conversation. */
function jsonOrNull<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function messageFromRow(r: MessageRow): ChatMessage {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    seq: r.seq,
    role: r.role as MessageRole,
    text: r.text,
    tokenIds: r.token_ids === null ? null : jsonOrNull<number[]>(r.token_ids),
    status: r.status as MessageStatus,
    error: r.error,
    stats: r.stats === null ? null : jsonOrNull<ReplyStats>(r.stats),
    runId: r.run_id,
    modelId: r.model_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface NewMessage {
  role: MessageRole;
  text: string;
  tokenIds: number[] | null;
  status: MessageStatus;
  runId?: string | null;
  modelId?: string | null;
}

export interface MessagePatch {
  text?: string;
  tokenIds?: number[] | null;
  status?: MessageStatus;
  error?: string | null;
  stats?: ReplyStats | null;
  runId?: string | null;
  modelId?: string | null;
}

// Strictly increasing within the process, so "most recently touched first" holds even for two changes
// in the same millisecond.
let lastMs = 0;
function now(): string {
  lastMs = Math.max(Date.now(), lastMs + 1);
  return new Date(lastMs).toISOString();
}

export class ChatStore {
  /** Replies found 'generating' at open whose process is gone; they are now 'stopped'. */
  readonly stoppedAtOpen: string[];

  constructor(
    private readonly db: Database.Database,
    private readonly sessionId: string,
    private readonly g: <T>(fn: () => T) => T,
  ) {
    this.stoppedAtOpen = g(() => this.stopOrphans());
  }

  private stopOrphans(): string[] {
    return this.db
      .transaction(() => {
        const rows = this.db
          .prepare("SELECT id, owner_pid, session_id FROM messages WHERE status = 'generating' AND (session_id IS NULL OR session_id != ?)")
          .all(this.sessionId) as { id: string; owner_pid: number | null; session_id: string | null }[];
        const ids = rows.filter((r) => !ownerAlive(r.owner_pid, r.session_id)).map((r) => r.id);
        const mark = this.db.prepare(
          "UPDATE messages SET status = 'stopped', updated_at = ?, error = COALESCE(error, 'The app closed while this reply was being written; the text up to that point is kept.') WHERE id = ? AND status = 'generating'",
        );
        const t = now();
        for (const id of ids) mark.run(t, id);
        return ids;
      })
      .immediate();
  }

  private conversationRow(id: string): ConversationRow {
    const r = this.db.prepare(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = ?`).get(id) as ConversationRow | undefined;
    if (!r) throw new NotFoundError(`Conversation ${id} does not exist (it may have been deleted). Refresh the conversation list.`, { id });
    return r;
  }

  createConversation(input: { title: string; modelId: string | null; systemPrompt: string | null }): Conversation {
    return this.g(() => {
      const id = randomUUID();
      const t = now();
      this.db
        .prepare('INSERT INTO conversations (id, title, model_id, system_prompt, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, input.title, input.modelId, input.systemPrompt, t, t);
      return conversationFromRow(this.conversationRow(id));
    });
  }

  getConversation(id: string): Conversation {
    return this.g(() => conversationFromRow(this.conversationRow(id)));
  }

  listConversations(): Conversation[] {
    return this.g(() =>
      (this.db.prepare(`SELECT ${CONVERSATION_COLUMNS} FROM conversations ORDER BY updated_at DESC, rowid DESC`).all() as ConversationRow[]).map(conversationFromRow),
    );
  }

  updateConversation(id: string, patch: { title?: string; systemPrompt?: string | null; modelId?: string | null }): Conversation {
    return this.g(() => {
      const cur = this.conversationRow(id);
      this.db
        .prepare('UPDATE conversations SET title = ?, system_prompt = ?, model_id = ?, updated_at = ? WHERE id = ?')
        .run(patch.title ?? cur.title, patch.systemPrompt === undefined ? cur.system_prompt : patch.systemPrompt, patch.modelId === undefined ? cur.model_id : patch.modelId, now(), id);
      return conversationFromRow(this.conversationRow(id));
    });
  }

  deleteConversation(id: string): boolean {
    return this.g(() => this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes > 0);
  }

  messages(conversationId: string): ChatMessage[] {
    return this.g(() => {
      this.conversationRow(conversationId);
      return (this.db.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq').all(conversationId) as MessageRow[]).map(messageFromRow);
    });
  }

  message(id: string): ChatMessage {
    return this.g(() => {
      const r = this.db.prepare('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
      if (!r) throw new NotFoundError(`Message ${id} does not exist (it may have been removed by a regenerate or an edit). Reload the conversation.`, { id });
      return messageFromRow(r);
    });
  }

  /** Append a message at the end of the conversation. 'generating' messages record this process as owner. */
  addMessage(conversationId: string, m: NewMessage): ChatMessage {
    return this.g(() => {
      const id = randomUUID();
      const t = now();
      this.db.transaction(() => {
        this.conversationRow(conversationId);
        const { next } = this.db.prepare('SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM messages WHERE conversation_id = ?').get(conversationId) as { next: number };
        const owned = m.status === 'generating';
        this.db
          .prepare(
            `INSERT INTO messages (id, conversation_id, seq, role, text, token_ids, status, run_id, model_id, owner_pid, session_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, conversationId, next, m.role, m.text, m.tokenIds === null ? null : JSON.stringify(m.tokenIds), m.status, m.runId ?? null, m.modelId ?? null, owned ? process.pid : null, owned ? this.sessionId : null, t, t);
        this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(t, conversationId);
      })();
      return this.message(id);
    });
  }

  updateMessage(id: string, patch: MessagePatch): ChatMessage {
    return this.g(() => {
      const sets: string[] = ['updated_at = ?'];
      const args: unknown[] = [now()];
      const set = (col: string, v: unknown) => {
        sets.push(`${col} = ?`);
        args.push(v);
      };
      if (patch.text !== undefined) set('text', patch.text);
      if (patch.tokenIds !== undefined) set('token_ids', patch.tokenIds === null ? null : JSON.stringify(patch.tokenIds));
      if (patch.status !== undefined) set('status', patch.status);
      if (patch.error !== undefined) set('error', patch.error);
      if (patch.stats !== undefined) set('stats', patch.stats === null ? null : JSON.stringify(patch.stats));
      if (patch.runId !== undefined) set('run_id', patch.runId);
      if (patch.modelId !== undefined) set('model_id', patch.modelId);
      if (this.db.prepare(`UPDATE messages SET ${sets.join(', ')} WHERE id = ?`).run(...args, id).changes === 0) this.message(id);
      return this.message(id);
    });
  }

  /** Remove every message of the conversation after sequence number `seq`; returns their ids. */
  truncateAfter(conversationId: string, seq: number): string[] {
    return this.g(() =>
      this.db.transaction(() => {
        const ids = (this.db.prepare('SELECT id FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq').all(conversationId, seq) as { id: string }[]).map((r) => r.id);
        this.db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq > ?').run(conversationId, seq);
        this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now(), conversationId);
        return ids;
      })(),
    );
  }
}
