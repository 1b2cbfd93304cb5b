// Wire protocol of the browser host (src/main/host/serve.ts), mirrored by the renderer's browser client.
//
//   POST /api/<method>            body: JSON params          reply: Envelope<result> (HTTP 200 even for
//                                                             API errors; 400 malformed JSON, 404 unknown method)
//   GET  /events  (WebSocket upgrade)                         server → client: one WorkbenchEvent per text frame
//   GET  /*                        the built renderer (out/renderer)
//
// Every HTTP request and the WebSocket upgrade must carry the per-start token, either as
// `Authorization: Bearer <token>` or as `?token=<token>` in the URL; otherwise 401.
// The page itself is opened as http://127.0.0.1:<port>/?token=<token>; the client reads the token from
// location and keeps it in sessionStorage so reloads keep working.

export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/events';
export const TOKEN_PARAM = 'token';
export const TOKEN_STORAGE_KEY = 'workbench.token';

/** IPC channel names in Electron: one per method, prefixed, plus the event channel. */
export const IPC_PREFIX = 'workbench:';
export const IPC_EVENT_CHANNEL = 'workbench:event';
