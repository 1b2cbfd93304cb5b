// The one `workbench` the renderer talks to: Electron's preload provides window.workbench; in a plain
// browser the protocol client stands in. Host state (token problems, event socket) is exposed as refs
// so the shell can show it.
import { ref } from 'vue';
import type { WorkbenchApi } from '../../shared/api';
import { createBrowserClient } from './browser-client';
import type { EventsState } from './browser-client';

export type HostKind = 'desktop' | 'browser';

/** Set when the browser host cannot be used because its token is missing or was rejected. */
export const unauthorized = ref<'missing' | 'rejected' | null>(null);
/** State of the live event stream; Electron IPC is always live. */
export const eventsState = ref<EventsState>(window.workbench ? 'live' : 'idle');

export const hostKind: HostKind = window.workbench ? 'desktop' : 'browser';

export const workbench: WorkbenchApi =
  window.workbench ??
  createBrowserClient({
    onUnauthorized: (reason) => (unauthorized.value = reason),
    onEventsState: (state) => (eventsState.value = state),
  });
