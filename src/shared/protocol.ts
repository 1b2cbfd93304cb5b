// Wire protocol of the browser host (src/main/host/serve.ts), mirrored by the renderer's browser client.
//
//   POST /api/<method>            body: JSON params          reply: Envelope<result> (HTTP 200 even for
//                                                             API errors; 400 malformed or over-deep JSON (> 64 levels),
//                                                             404 unknown method, 413 body over 32 MiB)
//   GET  /events  (WebSocket upgrade)                         server → client: one WorkbenchEvent per text frame
//   GET  /*                        the built renderer (out/renderer)
//
// Every API request and the WebSocket upgrade must carry the per-start token, either as
// `Authorization: Bearer <token>` or as the page's `wb_token_<port>` cookie together with a same-origin
// Origin header; otherwise 401 (a foreign Origin: 403). `?token=<token>` in the URL only opens the page
// (it sets the cookie); API calls never accept it.
// The page itself is opened as http://127.0.0.1:<port>/?token=<token>; the client reads the token from
// location and keeps it in sessionStorage so reloads keep working.

export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/events';
export const TOKEN_PARAM = 'token';
export const TOKEN_STORAGE_KEY = 'workbench.token';

/** IPC channel names in Electron: one per method, prefixed, plus the event channel. */
export const IPC_PREFIX = 'workbench:';
export const IPC_EVENT_CHANNEL = 'workbench:event';
