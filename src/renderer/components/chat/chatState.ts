// Conversations and the open conversation's messages, kept in step with the host's events: message
// updates, streamed tokens (appended to the generating reply until its final text arrives), removed
// messages and conversation changes. The host stores everything; this is only the page's view of it.
import { reactive, ref } from 'vue';
import type { ChatMessage, Conversation } from '../../../shared/api';
import { workbench } from '../../api';

export const conversations = ref<Conversation[]>([]);
export const currentId = ref<string | null>(null);
export const messages = ref<ChatMessage[]>([]);
/** Text streamed so far per generating message id (token events arrive between saves). */
export const streamed = reactive(new Map<string, string>());
/** The conversation whose reply this page is waiting for. */
export const generatingIn = ref<string | null>(null);

function sortConversations(): void {
  conversations.value.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}

export async function loadConversations(): Promise<void> {
  conversations.value = (await workbench.listConversations({})).conversations;
  sortConversations();
}

let seq = 0;
export async function openConversation(id: string | null): Promise<void> {
  const mine = ++seq;
  currentId.value = id;
  if (!id) {
    messages.value = [];
    return;
  }
  const detail = await workbench.getConversation({ id });
  if (mine !== seq) return;
  messages.value = detail.messages;
}

function upsert(m: ChatMessage): void {
  const i = messages.value.findIndex((x) => x.id === m.id);
  if (i >= 0) messages.value.splice(i, 1, m);
  else {
    messages.value.push(m);
    messages.value.sort((a, b) => a.seq - b.seq);
  }
  if (m.status !== 'generating') streamed.delete(m.id);
}

let subscribed = false;
export function followChat(): void {
  if (subscribed) return;
  subscribed = true;
  workbench.onEvent((event) => {
    switch (event.type) {
      case 'conversation-updated': {
        const i = conversations.value.findIndex((c) => c.id === event.conversation.id);
        if (i >= 0) conversations.value.splice(i, 1, event.conversation);
        else conversations.value.push(event.conversation);
        sortConversations();
        break;
      }
      case 'conversation-deleted':
        conversations.value = conversations.value.filter((c) => c.id !== event.id);
        break;
      case 'message-updated':
        if (event.message.conversationId === currentId.value) upsert(event.message);
        break;
      case 'messages-removed':
        if (event.conversationId === currentId.value) messages.value = messages.value.filter((m) => !event.ids.includes(m.id));
        break;
      case 'token':
        if (event.messageId && event.conversationId === currentId.value) streamed.set(event.messageId, (streamed.get(event.messageId) ?? '') + event.text);
        break;
      default:
        break;
    }
  });
}

/** The text to show for a message: what has streamed while it generates, else what the host stored. */
export function textOf(m: ChatMessage): string {
  return m.status === 'generating' ? (streamed.get(m.id) ?? m.text) : m.text;
}

/** "12, 7 99" → [12, 7, 99] for models without a tokenizer; null if any entry is not a token id. */
export function parseTokenIds(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return null;
  const ids = parts.map(Number);
  return ids.every((n) => Number.isInteger(n) && n >= 0) ? ids : null;
}
