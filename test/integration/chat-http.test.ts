// The new flows over the browser host, as the renderer speaks to it: POST /api/<method> with the token,
// events on the WebSocket. Load a golden checkpoint (progress events), send a message (token events that
// spell the stored reply), see an error class survive the wire, export the runs as CSV.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Conversation, Envelope, ExportResult, LoadedModel, ModelEntry, ReplyResult, WorkbenchEvent } from '../../src/shared/api';
import { startServer, type RunningServer } from '../../src/main/host/serve';
import { GOLDEN } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

let dir: string;
let srv: RunningServer;
let ws: WebSocket;
const events: WorkbenchEvent[] = [];

beforeAll(async () => {
  dir = tempDir('wb-chat-http-');
  srv = await startServer({ dataDir: join(dir, 'data') });
  ws = new WebSocket(`ws://127.0.0.1:${srv.port}/events`, { headers: { Authorization: `Bearer ${srv.token}` } });
  ws.on('message', (data) => events.push(JSON.parse(String(data)) as WorkbenchEvent));
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
});
afterAll(async () => {
  ws?.close();
  await srv?.close();
});

async function call<T>(method: string, params: unknown): Promise<Envelope<T>> {
  const res = await fetch(`http://127.0.0.1:${srv.port}/api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Envelope<T>;
}

async function ok<T>(method: string, params: unknown): Promise<T> {
  const env = await call<T>(method, params);
  if (!env.ok) throw new Error(`${env.error.name}: ${env.error.message}`);
  return env.result;
}

/** Events travel on another socket than the reply: wait until the last one we need has arrived. */
async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
}

describe('chat over the browser host', () => {
  it('loads, streams a reply as token events, reports errors by class, exports runs', async () => {
    const model = await ok<ModelEntry>('addModelFolder', { path: join(GOLDEN, 'llama-mha') });
    const loadTask = '51111111-2222-4333-8444-555555555555';
    // The CPU reference: this file tests the wiring, chat.test.ts the GPU path (lavapipe compiles slowly).
    const loaded = await ok<LoadedModel>('loadModel', { modelId: model.id, taskId: loadTask, backend: 'cpu' });
    expect(loaded.variant).toBe('MHA');
    await until(() => events.some((e) => e.type === 'task-finished' && e.taskId === loadTask));
    expect(events.some((e) => e.type === 'progress' && e.taskId === loadTask && e.done === e.total)).toBe(true);

    const conv = await ok<Conversation>('createConversation', { title: 'over http' });
    const chatTask = '61111111-2222-4333-8444-555555555555';
    const r = await ok<ReplyResult>('sendMessage', { conversationId: conv.id, tokenIds: [4, 8, 15], taskId: chatTask, sampling: { temperature: 0, maxTokens: 4 } });
    expect(r.taskId).toBe(chatTask);
    await until(() => events.some((e) => e.type === 'task-finished' && e.taskId === chatTask));
    const tokens = events.filter((e): e is Extract<WorkbenchEvent, { type: 'token' }> => e.type === 'token' && e.taskId === chatTask);
    expect(tokens.map((t) => t.text).join('')).toBe(r.reply.text);
    expect(tokens.map((t) => t.index)).toEqual(r.reply.tokenIds!.map((_, i) => i));

    const tooLong = await call('sendMessage', { conversationId: conv.id, tokenIds: Array.from({ length: 256 }, () => 3) });
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok) expect(tooLong.error.name).toBe('ContextLengthError');
    const bad = await call('sendMessage', { conversationId: conv.id, tokenIds: [1], sampling: { topK: -1 } });
    expect(bad.ok ? null : bad.error).toMatchObject({ name: 'InvalidRequestError', details: { field: 'sampling.topK' } });

    const csv = await ok<ExportResult>('exportRuns', { ids: [loaded.loadRunId, r.runId], format: 'csv' });
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('run_id,run_title,run_kind,model,status,created_at,metric,step,value,unit,at');
    expect(lines.filter((l) => l.startsWith(r.runId)).filter((l) => l.includes(',token_ms,'))).toHaveLength(r.reply.tokenIds!.length);
  });
});
