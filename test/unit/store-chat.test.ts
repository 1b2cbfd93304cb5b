// Conversations, messages and model folders in the run database: CRUD, ordering, truncation, cascade
// on delete, and crash recovery (a reply left 'generating' by a dead process becomes 'stopped' with its
// partial text, while one a live store still owns is left alone).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/shared/errors';
import { DB_FILE, RunStore } from '../../src/main/store';
import { tempDir } from '../helpers/tmp';

const opened: RunStore[] = [];
const open = (dataDir: string) => {
  const s = RunStore.open({ dataDir });
  opened.push(s);
  return s;
};
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});
const fresh = () => tempDir('wb-chatstore-');

describe('chat store', () => {
  it('keeps messages in order with ids, stats and status; truncates and cascades', () => {
    const s = open(fresh());
    const c = s.chats.createConversation({ title: 'T', modelId: 'tiny', systemPrompt: null });
    const u = s.chats.addMessage(c.id, { role: 'user', text: 'hi', tokenIds: [1, 2], status: 'complete' });
    const a = s.chats.addMessage(c.id, { role: 'assistant', text: '', tokenIds: [], status: 'generating' });
    expect([u.seq, a.seq]).toEqual([0, 1]);
    const stats = { promptTokens: 2 } as never;
    const done = s.chats.updateMessage(a.id, { text: 'yo', tokenIds: [5], status: 'complete', stats });
    expect(done).toMatchObject({ text: 'yo', tokenIds: [5], status: 'complete', stats: { promptTokens: 2 } });
    expect(s.chats.getConversation(c.id).messageCount).toBe(2);
    s.chats.addMessage(c.id, { role: 'user', text: 'again', tokenIds: null, status: 'complete' });
    expect(s.chats.truncateAfter(c.id, 0)).toHaveLength(2);
    expect(s.chats.messages(c.id).map((m) => m.id)).toEqual([u.id]);
    expect(s.chats.addMessage(c.id, { role: 'assistant', text: 'x', tokenIds: null, status: 'complete' }).seq).toBe(1);
    expect(s.chats.deleteConversation(c.id)).toBe(true);
    expect(() => s.chats.message(u.id)).toThrow(NotFoundError);
    expect(() => s.chats.messages(c.id)).toThrow(NotFoundError);
  });

  it('lists conversations newest first and updates title and system prompt', () => {
    const s = open(fresh());
    const a = s.chats.createConversation({ title: 'a', modelId: null, systemPrompt: null });
    const b = s.chats.createConversation({ title: 'b', modelId: null, systemPrompt: null });
    s.chats.updateConversation(a.id, { title: 'a2', systemPrompt: 'Be brief.' });
    expect(s.chats.listConversations().map((c) => c.title)).toEqual(['a2', 'b']);
    expect(s.chats.getConversation(a.id).systemPrompt).toBe('Be brief.');
    expect(s.chats.getConversation(b.id).modelId).toBeNull();
  });

  it('turns a reply left generating by a dead process into stopped, keeping its text', () => {
    const dir = fresh();
    const s1 = open(dir);
    const c = s1.chats.createConversation({ title: 'T', modelId: null, systemPrompt: null });
    const orphan = s1.chats.addMessage(c.id, { role: 'assistant', text: '', tokenIds: [], status: 'generating' });
    s1.chats.updateMessage(orphan.id, { text: 'partial', tokenIds: [4, 5] });
    const live = s1.chats.addMessage(c.id, { role: 'assistant', text: 'still going', tokenIds: [], status: 'generating' });
    // A pid no process can have (above Linux's pid_max) stands for the dead writer.
    const raw = new Database(join(dir, DB_FILE));
    raw.prepare('UPDATE messages SET owner_pid = ?, session_id = ? WHERE id = ?').run(2 ** 30, 'dead-session', orphan.id);
    raw.close();

    const s2 = open(dir);
    expect(s2.chats.stoppedAtOpen).toEqual([orphan.id]);
    expect(s2.chats.message(orphan.id)).toMatchObject({ status: 'stopped', text: 'partial', tokenIds: [4, 5], error: expect.stringMatching(/closed while this reply/) });
    expect(s2.chats.message(live.id).status).toBe('generating');

    s1.close();
    const s3 = open(dir);
    expect(s3.chats.stoppedAtOpen).toEqual([live.id]);
  });

  it('remembers model folders by path', () => {
    const dir = fresh();
    const s = open(dir);
    const f = s.modelFolders.add('/models/a', 'A');
    expect(s.modelFolders.add('/models/a', 'A again').id).toBe(f.id);
    s.close();
    opened.pop();
    const again = open(dir);
    expect(again.modelFolders.list()).toEqual([{ ...f, name: 'A again' }]);
    expect(again.modelFolders.remove(f.id)).toBe(true);
    expect(() => again.modelFolders.get(f.id)).toThrow(NotFoundError);
  });
});
