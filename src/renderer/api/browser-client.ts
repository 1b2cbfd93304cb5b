// `window.workbench` for a plain browser: the same WorkbenchApi, spoken over the browser host's wire
// protocol (src/shared/protocol.ts). Requests are POST /api/<method> with a Bearer token; events arrive
// on one WebSocket (authenticated by the page's cookie) that reconnects with backoff while anyone listens.
import { METHOD_NAMES } from '../../shared/api';
import type { Envelope, MethodName, Params, Result, WorkbenchApi, WorkbenchEvent } from '../../shared/api';
import { UnauthorizedError, WorkbenchError, deserializeError } from '../../shared/errors';
import { API_PREFIX, EVENTS_PATH, TOKEN_PARAM, TOKEN_STORAGE_KEY } from '../../shared/protocol';

export type EventsState = 'idle' | 'connecting' | 'live' | 'reconnecting';

export interface BrowserClientHooks {
  /** Called once per distinct reason when the host rejects (or we cannot send) the token. */
  onUnauthorized(reason: 'missing' | 'rejected'): void;
  onEventsState(state: EventsState): void;
}

/**
 * The token arrives once in the address bar (?token=…). It moves to sessionStorage so reloads keep
 * working, and leaves the visible URL so it does not end up in bookmarks, screenshots or history.
 */
export function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get(TOKEN_PARAM);
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    url.searchParams.delete(TOKEN_PARAM);
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_STORAGE_KEY);
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export function createBrowserClient(hooks: BrowserClientHooks): WorkbenchApi {
  const token = takeToken();
  const listeners = new Set<(event: WorkbenchEvent) => void>();
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let backoff = BACKOFF_MIN_MS;
  let unauthorized = false;

  function rejectToken(reason: 'missing' | 'rejected'): UnauthorizedError {
    if (!unauthorized) {
      unauthorized = true;
      hooks.onUnauthorized(reason);
    }
    return new UnauthorizedError(
      reason === 'missing'
        ? 'This page was opened without its access token. Open the URL printed by `npm run serve` (it ends in ?token=…).'
        : 'The workbench host rejected the access token (it changes on every start). Open the URL printed by `npm run serve` again.',
    );
  }

  async function call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    if (!token) throw rejectToken('missing');
    let response: Response;
    try {
      response = await fetch(API_PREFIX + method, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(params ?? {}),
      });
    } catch {
      throw new WorkbenchError(`Cannot reach the workbench host at ${window.location.host}. Is \`npm run serve\` still running? Restart it and open the URL it prints.`);
    }
    if (response.status === 401) throw rejectToken('rejected');
    let envelope: Envelope<Result<M>>;
    try {
      envelope = (await response.json()) as Envelope<Result<M>>;
    } catch {
      throw new WorkbenchError(`The workbench host answered ${method} with HTTP ${response.status} and no JSON. Check the terminal running \`npm run serve\` for errors.`);
    }
    if (!envelope.ok) throw deserializeError(envelope.error);
    return envelope.result;
  }

  function connect(): void {
    if (!token || unauthorized || socket || listeners.size === 0) return;
    hooks.onEventsState(backoff === BACKOFF_MIN_MS ? 'connecting' : 'reconnecting');
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Browsers cannot set headers on a WebSocket upgrade, and the host never takes the token from a URL:
    // the upgrade carries the HttpOnly cookie the page load set, with this page's Origin.
    const ws = new WebSocket(`${scheme}//${window.location.host}${EVENTS_PATH}`);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      backoff = BACKOFF_MIN_MS;
      hooks.onEventsState('live');
    };
    ws.onmessage = (msg) => {
      let event: WorkbenchEvent;
      try {
        event = JSON.parse(String(msg.data)) as WorkbenchEvent;
      } catch {
        return; // a frame that is not JSON is not an event; the protocol never sends one
      }
      for (const listener of [...listeners]) listener(event);
    };
    ws.onclose = () => {
      socket = null;
      if (listeners.size === 0 || unauthorized) {
        hooks.onEventsState('idle');
        return;
      }
      hooks.onEventsState('reconnecting');
      // A refused upgrade hides its HTTP status from scripts; one API call tells whether the token is
      // the problem (a host restarted with a new token), which stops the retries and shows the guidance.
      if (!opened) void call('systemInfo', {}).catch(() => undefined);
      retryTimer = setTimeout(() => {
        retryTimer = null;
        connect();
      }, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    };
  }

  function disconnect(): void {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    socket?.close();
    socket = null;
    hooks.onEventsState('idle');
  }

  const methods = Object.fromEntries(
    METHOD_NAMES.map((name) => [name, (params: Params<typeof name>) => call(name, params)]),
  ) as { [M in MethodName]: (params: Params<M>) => Promise<Result<M>> };

  return {
    ...methods,
    onEvent(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) disconnect();
      };
    },
  };
}
