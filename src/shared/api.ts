// The one API contract between the main side (engine, store) and any renderer.
// Both hosts implement it: Electron IPC (src/main/electron.ts + src/preload) and the browser host
// (src/main/serve.ts over HTTP + WebSocket). The renderer only ever sees `window.workbench`.
//
// Every request is one method name plus one JSON params object; every reply is JSON or a
// SerializedError. Events flow one way, main → renderer.

// ---------- system ----------
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string; // 'vulkan' | 'metal' | 'd3d12' | …, as Dawn reports it
  isSoftware: boolean; // lavapipe / SwiftShader
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number; // bytes
    maxBufferSize: number; // bytes
    maxComputeWorkgroupStorageSize: number; // bytes
    maxComputeInvocationsPerWorkgroup: number;
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
}

export interface SystemInfo {
  appVersion: string;
  engineVersion: string;
  host: 'electron' | 'browser';
  platform: string; // e.g. "linux x64"
  node: string;
  adapter: AdapterInfo | null;
  /** Why there is no adapter, in words a user can act on. Set when adapter is null. */
  adapterError?: string;
  dataDir: string;
}

// ---------- runs ----------
export type RunKind = 'chat' | 'bench' | 'load' | 'analysis' | 'compare' | 'manual';
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'stopped';

export interface RunEnvironment {
  adapter?: string; // "nvidia / NVIDIA H100 (vulkan)"
  driver?: string;
  appVersion: string;
  engineVersion: string;
  os: string;
  node: string;
}

export interface Run {
  id: string;
  kind: RunKind;
  title: string;
  model: string | null;
  params: Record<string, unknown>;
  status: RunStatus;
  createdAt: string; // ISO 8601
  updatedAt: string;
  finishedAt: string | null;
  environment: RunEnvironment;
  tags: string[];
  error: string | null;
}

export interface RunQuery {
  kind?: RunKind;
  status?: RunStatus;
  tag?: string;
  search?: string; // substring of title or model
  sort?: 'createdAt' | 'title' | 'kind' | 'status' | 'model';
  order?: 'asc' | 'desc';
  limit?: number; // default 50, max 500
  offset?: number;
}

export interface RunPage {
  runs: Run[];
  total: number;
}

export interface MetricSample {
  name: string; // e.g. "decode_tok_s"
  step: number; // x value (token index, context length …)
  value: number;
  unit?: string;
  at: string; // ISO 8601
}

export interface Artifact {
  id: string;
  runId: string;
  name: string;
  mime: string;
  bytes: number;
  sha256: string;
  createdAt: string;
}

export interface RunDetail extends Run {
  metrics: MetricSample[];
  artifacts: Artifact[];
}

export interface CreateRunInput {
  kind: RunKind;
  title: string;
  model?: string | null;
  params?: Record<string, unknown>;
  tags?: string[];
}

// ---------- the method table ----------
// One entry per message: params and result types. The preload and the browser client expose exactly
// these as methods of `window.workbench`.
export interface ApiMethods {
  systemInfo: { params: Record<string, never>; result: SystemInfo };
  listRuns: { params: RunQuery; result: RunPage };
  getRun: { params: { id: string }; result: RunDetail };
  createRun: { params: CreateRunInput; result: Run };
  finishRun: { params: { id: string; status: Exclude<RunStatus, 'running'>; error?: string }; result: Run };
  addMetrics: { params: { id: string; samples: Omit<MetricSample, 'at'>[] }; result: { added: number } };
  tagRun: { params: { id: string; add?: string[]; remove?: string[] }; result: Run };
  deleteRun: { params: { id: string }; result: { deleted: boolean } };
  openExternal: { params: { url: string }; result: { opened: boolean } };
}

export type MethodName = keyof ApiMethods;
export type Params<M extends MethodName> = ApiMethods[M]['params'];
export type Result<M extends MethodName> = ApiMethods[M]['result'];

/** Every method name, in a fixed order: the preload, the IPC host and the HTTP host all derive from it. */
export const METHOD_NAMES = [
  'systemInfo',
  'listRuns',
  'getRun',
  'createRun',
  'finishRun',
  'addMetrics',
  'tagRun',
  'deleteRun',
  'openExternal',
] as const satisfies readonly MethodName[];

// ---------- events (main → renderer) ----------
export type WorkbenchEvent =
  | { type: 'run-updated'; run: Run }
  | { type: 'run-deleted'; id: string }
  | { type: 'progress'; taskId: string; label: string; done: number; total: number }
  | { type: 'token'; taskId: string; tokenId: number; text: string; index: number; ms: number };

export type Unsubscribe = () => void;

/** What the renderer sees as `window.workbench`. */
export type WorkbenchApi = {
  [M in MethodName]: (params: Params<M>) => Promise<Result<M>>;
} & {
  onEvent(listener: (event: WorkbenchEvent) => void): Unsubscribe;
};

/** Main-side implementation of the methods, shared by both hosts. */
export type ApiHandlers = {
  [M in MethodName]: (params: Params<M>) => Promise<Result<M>> | Result<M>;
};

/** The envelope of every reply over IPC or HTTP. */
export type Envelope<T> = { ok: true; result: T } | { ok: false; error: import('./errors').SerializedError };
