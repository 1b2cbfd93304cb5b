// The one API contract between the main side (engine, store) and any renderer.
// Both hosts implement it: Electron IPC (src/main/electron.ts + src/preload) and the browser host
// (src/main/serve.ts over HTTP + WebSocket). The renderer only ever sees `window.workbench`.
//
// Every request is one method name plus one JSON params object; every reply is JSON or a
// SerializedError. Events flow one way, main → renderer.

import type { AnalysisInput, AnalysisStarted, AnalysisSummary, ArrayPayload } from './analysis/types';

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

// ---------- tasks ----------
// Long operations (loading a model, generating a reply, a benchmark) run as tasks. The caller may pass
// its own `taskId` (a UUID) so it can match `progress`/`token` events and call cancelTask before the
// reply arrives; otherwise the main side makes one and names it in every event.
export type TaskKind = 'load' | 'chat' | 'bench' | 'analysis';
export type TaskOutcome = 'completed' | 'cancelled' | 'failed';

// ---------- models ----------
export type AttentionVariant = 'MHA' | 'GQA' | 'MQA' | 'MLA' | 'GTA';

export interface ModelEntry {
  id: string; // catalog id for bundled models, a UUID for added folders
  name: string;
  source: 'bundled' | 'added';
  path: string; // absolute folder
  variant: AttentionVariant | null; // null when config.json cannot be read
  architecture: string | null; // e.g. "GTAForCausalLM"
  params: number | null;
  /** Values the KV cache holds per token per layer (GTA-1B 192, PLM 576, GQA-1B 640). */
  kvValuesPerTokenLayer: number | null;
  maxContext: number | null;
  isDefault: boolean;
  hasTokenizer: boolean;
  /** card.md of the folder, as written. */
  card: string | null;
  addedAt: string | null;
  /** Why the entry cannot load as listed (missing folder, unreadable config), in words a user can act on. */
  problem: string | null;
  loaded: boolean;
}

export interface ModelList {
  models: ModelEntry[];
  /** Set when models/catalog.json exists but cannot be read. */
  catalogProblem?: string;
}

export type ModelProblemKind = 'folder' | 'config' | 'weights' | 'shape' | 'tokenizer' | 'adapter';

export interface ModelProblem {
  kind: ModelProblemKind;
  /** One sentence: what is wrong and what to do. */
  message: string;
}

export interface ModelCheck {
  path: string;
  ok: boolean; // no problems (warnings allowed)
  problems: ModelProblem[];
  warnings: string[];
  architecture: string | null;
  variant: AttentionVariant | null;
  params: number | null;
  weightBytes: number | null; // on disk
  largestTensor: { name: string; bytes: number } | null; // bytes as uploaded (f16)
  hasTokenizer: boolean;
  hasChatTemplate: boolean;
  maxContext: number | null;
  /** The adapter the limits were checked against, e.g. "nvidia / NVIDIA H100 (vulkan)"; null without one. */
  adapter: string | null;
}

export interface KvPartUsage {
  layer: number;
  part: 'keys' | 'values' | 'latent' | 'ropeKey';
  reservedBytes: number;
  usedBytes: number;
}

export interface MemoryReport {
  weightsBytes: number; // held by the backend (f16: 2 bytes a parameter)
  kvReservedBytes: number; // allocated for nCtx tokens
  kvUsedBytes: number; // holding the tokens cached now
  kvTokens: number;
  kvBytesPerToken: number; // over all layers
  nCtx: number;
  byPart: KvPartUsage[];
}

export interface SamplingSettings {
  temperature: number; // 0 = greedy
  topK: number; // 0 = off
  topP: number; // 1 = off
  repetitionPenalty: number; // 1 = off
  maxTokens: number;
  seed?: number; // uint32; random when absent
}

export type ChatMode = 'chat' | 'completion';

export interface LoadedModel {
  modelId: string;
  name: string;
  path: string;
  variant: AttentionVariant;
  backend: 'gpu' | 'cpu';
  device: string;
  dtype: 'f16' | 'f32';
  nCtx: number;
  maxContext: number;
  hasTokenizer: boolean;
  hasChatTemplate: boolean;
  /** 'chat' when the tokenizer has a chat template, else 'completion'. */
  defaultMode: ChatMode;
  /** From generation_config.json when present, else the workbench's defaults. */
  defaultSampling: SamplingSettings;
  /** Why the CPU reference runs instead of the GPU. */
  fallback: string | null;
  /** Why there is no tokenizer (prompts are then token ids). */
  tokenizerNote: string | null;
  loadMs: number;
  loadRunId: string;
  memory: MemoryReport;
}

export interface LoadModelInput {
  modelId: string;
  /** Tokens the KV cache reserves; default min(max_position_embeddings, 4096). */
  nCtx?: number;
  dtype?: 'f16' | 'f32';
  backend?: 'auto' | 'gpu' | 'cpu';
  taskId?: string;
}

// ---------- chat ----------
export type MessageRole = 'system' | 'user' | 'assistant';
export type MessageStatus = 'generating' | 'complete' | 'stopped' | 'error';

export interface Conversation {
  id: string;
  title: string;
  modelId: string | null;
  systemPrompt: string | null;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
}

export interface ReplyStats {
  mode: ChatMode;
  sampling: SamplingSettings & { seed: number };
  promptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  prefillTokPerS: number;
  decodeTokPerS: number;
  totalMs: number;
  tokenMs: number[];
  stopReason: 'max_tokens' | 'stop_token' | 'aborted';
  context: { used: number; limit: number };
  kv: { reservedBytes: number; usedBytes: number; byPart: KvPartUsage[] };
}

export interface ChatMessage {
  id: string;
  conversationId: string;
  seq: number;
  role: MessageRole;
  text: string;
  tokenIds: number[] | null;
  status: MessageStatus;
  error: string | null;
  stats: ReplyStats | null;
  runId: string | null;
  modelId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: ChatMessage[];
}

/** The prompt of one user turn: text, or token ids for models without a tokenizer. */
export interface PromptInput {
  text?: string;
  tokenIds?: number[];
}

export interface GenerationInput {
  sampling?: Partial<SamplingSettings>;
  mode?: ChatMode;
  taskId?: string;
}

export interface ReplyResult {
  userMessage: ChatMessage | null; // null for regenerate
  reply: ChatMessage;
  runId: string;
  taskId: string;
}

export interface ContextUsage {
  usedTokens: number; // the conversation as the next prompt would encode it
  draftTokens: number;
  limit: number; // the loaded model's nCtx
  remaining: number;
}

// ---------- export ----------
export interface ExportResult {
  filename: string;
  mime: string;
  text: string;
  runs: number;
  rows: number; // CSV rows after the header (JSON: metric samples)
}

// ---------- bench ----------
export interface BenchInput {
  modelId: string;
  /** Prompt lengths to time a prefill at, in tokens. */
  prefillLengths: number[];
  /** Context lengths to time decode steps at, in tokens. */
  contexts: number[];
  repetitions: number;
  /** Decode steps timed per context and repetition (default 8). */
  decodeSteps?: number;
  taskId?: string;
}

export interface BenchStarted {
  taskId: string;
  runId: string;
}

// ---------- analysis ----------
export type { AnalysisInput, AnalysisStarted, AnalysisSummary, ArrayPayload } from './analysis/types';

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
  /** Abort a load, reply or benchmark by its task id; false when it already ended. */
  cancelTask: { params: { taskId: string }; result: { cancelled: boolean } };
  /** The runs as a file's text; the renderer saves it (download) under `filename`. */
  exportRuns: { params: { ids: string[]; format: 'json' | 'csv' }; result: ExportResult };
  /**
   * The desktop app's native folder dialog; `path` is null when the user cancels. The browser host
   * answers `supported: false` (a page cannot browse the server's disk), so the renderer keeps a path field.
   */
  chooseFolder: { params: { title?: string }; result: { path: string | null; supported: boolean } };
  // models
  /** The bundled zoo (models/catalog.json) then the folders the user added. */
  listModels: { params: Record<string, never>; result: ModelList };
  /** Every problem that would stop the folder from loading; reads headers only, no weights. */
  validateModelFolder: { params: { path: string }; result: ModelCheck };
  /** Validates first; a folder with problems is refused (CheckpointError listing them). */
  addModelFolder: { params: { path: string; name?: string }; result: ModelEntry };
  removeModelFolder: { params: { id: string }; result: { removed: boolean } };
  /** Replaces the loaded model; resolves once loaded (progress events meanwhile). Recorded as a 'load' run. */
  loadModel: { params: LoadModelInput; result: LoadedModel };
  unloadModel: { params: Record<string, never>; result: { unloaded: boolean } };
  /** The loaded model with its live memory report, and the kind of task running, if any. */
  modelStatus: { params: Record<string, never>; result: { loaded: LoadedModel | null; busy: TaskKind | null } };
  // chat
  listConversations: { params: Record<string, never>; result: { conversations: Conversation[] } };
  createConversation: { params: { title?: string; modelId?: string | null; systemPrompt?: string | null }; result: Conversation };
  getConversation: { params: { id: string }; result: ConversationDetail };
  updateConversation: { params: { id: string; title?: string; systemPrompt?: string | null }; result: Conversation };
  deleteConversation: { params: { id: string }; result: { deleted: boolean } };
  /** The context meter: what the next prompt would use of the loaded model's context, with a draft. */
  contextUsage: { params: { conversationId: string; draft?: PromptInput; mode?: ChatMode }; result: ContextUsage };
  /**
   * Resolves when the reply ends (complete, stopped or error); `token` events stream it meanwhile (the
   * first token's `ms` is the time to first token). Throws ContextLengthError before storing anything
   * when the conversation leaves no room for a reply.
   */
  sendMessage: { params: { conversationId: string } & PromptInput & GenerationInput; result: ReplyResult };
  /** Stops the conversation's reply; the partial reply is kept with status 'stopped'. */
  stopGeneration: { params: { conversationId: string }; result: { stopped: boolean } };
  /** Replaces the reply to the last user message. */
  regenerate: { params: { conversationId: string } & GenerationInput; result: ReplyResult };
  /** Replaces a user message's text, drops every later message, and answers it. */
  editAndResend: { params: { messageId: string } & PromptInput & GenerationInput; result: ReplyResult };
  // benchmark
  /** Returns at once; progress and task-finished events follow, the results land on the 'bench' run. */
  startBench: { params: BenchInput; result: BenchStarted };
  // analysis (src/shared/analysis/types.ts; docs/analysis.md)
  /**
   * Analyses the loaded model on a text, token ids or a stored conversation. Returns at once with the
   * run it records (kind 'analysis'); progress and task-finished events follow. A cancelled analysis is
   * marked stopped with what it had finished.
   */
  startAnalysis: { params: AnalysisInput; result: AnalysisStarted };
  /** The stored summary of an analysis run (reopens without recomputing). */
  getAnalysis: { params: { runId: string }; result: AnalysisSummary };
  /**
   * One stored array of an analysis run (summary.arrays names them), or a slice of it: `index` fixes
   * the leading axes, e.g. thumbs [layer] → [maps, S, S].
   */
  getAnalysisArray: { params: { runId: string; name: string; index?: number[] }; result: ArrayPayload };
  /**
   * One map [T, T] at full resolution: from the run's stored maps, else recomputed on the loaded model
   * when it is the analysed one (same weight hash), else the stored thumbnail [S, S] ('thumb').
   */
  attentionMap: { params: { runId: string; layer: number; map: number }; result: ArrayPayload & { resolution: 'full' | 'thumb'; source: 'stored' | 'recomputed' } };
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
  'cancelTask',
  'exportRuns',
  'chooseFolder',
  'listModels',
  'validateModelFolder',
  'addModelFolder',
  'removeModelFolder',
  'loadModel',
  'unloadModel',
  'modelStatus',
  'listConversations',
  'createConversation',
  'getConversation',
  'updateConversation',
  'deleteConversation',
  'contextUsage',
  'sendMessage',
  'stopGeneration',
  'regenerate',
  'editAndResend',
  'startBench',
  'startAnalysis',
  'getAnalysis',
  'getAnalysisArray',
  'attentionMap',
] as const satisfies readonly MethodName[];

// ---------- events (main → renderer) ----------
export type WorkbenchEvent =
  | { type: 'run-updated'; run: Run }
  | { type: 'run-deleted'; id: string }
  | { type: 'progress'; taskId: string; label: string; done: number; total: number }
  /** One generated token; `text` is what it adds to the reply (may be '' while a character is incomplete). */
  | { type: 'token'; taskId: string; tokenId: number; text: string; index: number; ms: number; conversationId?: string; messageId?: string }
  | { type: 'task-started'; taskId: string; kind: TaskKind; label: string }
  | { type: 'task-finished'; taskId: string; kind: TaskKind; outcome: TaskOutcome; runId?: string; error?: string }
  | { type: 'model-loaded'; model: LoadedModel }
  | { type: 'model-unloaded'; modelId: string }
  | { type: 'models-changed' }
  | { type: 'conversation-updated'; conversation: Conversation }
  | { type: 'conversation-deleted'; id: string }
  | { type: 'message-updated'; message: ChatMessage }
  /** Messages dropped by regenerate or editAndResend. */
  | { type: 'messages-removed'; conversationId: string; ids: string[] };

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
