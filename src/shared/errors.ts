// Errors that cross the process boundary (IPC or HTTP/WebSocket) as {name, message, details}
// and are rebuilt on the other side with the same class, so callers can `instanceof` them.

export interface SerializedError {
  name: string;
  message: string;
  details?: Record<string, unknown>;
}

export class WorkbenchError extends Error {
  details?: Record<string, unknown>;
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The caller sent a request that does not match the API contract. */
export class InvalidRequestError extends WorkbenchError {}
/** A run, model or other record does not exist. */
export class NotFoundError extends WorkbenchError {}
/** No usable GPU adapter, or the adapter lacks a feature/limit the model needs. */
export class GpuUnavailableError extends WorkbenchError {}
/**
 * A command the engine gave the GPU failed (a kernel that did not compile or validate on this adapter,
 * memory the driver could not allocate): the results of that call are invalid.
 */
export class GpuCommandError extends WorkbenchError {}
/** A checkpoint folder is malformed (config, safetensors, shapes, tokenizer). */
export class CheckpointError extends WorkbenchError {}
/** The prompt plus requested tokens do not fit the model's context. */
export class ContextLengthError extends WorkbenchError {}
/** The operation was cancelled by the user. */
export class CancelledError extends WorkbenchError {}
/** Storage failed (disk full, database locked or corrupt). */
export class StorageError extends WorkbenchError {}
/** Missing authentication token for the browser host. */
export class UnauthorizedError extends WorkbenchError {}

const classes: Record<string, new (message: string, details?: Record<string, unknown>) => WorkbenchError> = {
  WorkbenchError,
  InvalidRequestError,
  NotFoundError,
  GpuUnavailableError,
  GpuCommandError,
  CheckpointError,
  ContextLengthError,
  CancelledError,
  StorageError,
  UnauthorizedError,
};

export function serializeError(err: unknown): SerializedError {
  if (err instanceof WorkbenchError) return { name: err.name, message: err.message, details: err.details };
  if (err instanceof Error) return { name: 'WorkbenchError', message: err.message, details: { cause: err.name } };
  return { name: 'WorkbenchError', message: String(err) };
}

export function deserializeError(e: SerializedError): WorkbenchError {
  const Cls = classes[e.name] ?? WorkbenchError;
  return new Cls(e.message, e.details);
}
