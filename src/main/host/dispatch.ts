// One request → one envelope, the same for both hosts: validate the params against the contract,
// call the handler, and serialise any failure so the other side can rebuild the error class.
import type { ApiHandlers, Envelope, MethodName } from '../../shared/api';
import { WorkbenchError, serializeError } from '../../shared/errors';
import { validateRequest } from '../../shared/validate';

export async function dispatch(handlers: ApiHandlers, method: MethodName, params: unknown): Promise<Envelope<unknown>> {
  try {
    const valid = validateRequest(method, params);
    const handler = handlers[method] as (p: unknown) => unknown;
    return { ok: true, result: await handler(valid) };
  } catch (err) {
    // Contract errors are the caller's business; anything else is a bug worth a line in the log.
    if (!(err instanceof WorkbenchError)) console.error(`${method} failed:`, err);
    return { ok: false, error: serializeError(err) };
  }
}
