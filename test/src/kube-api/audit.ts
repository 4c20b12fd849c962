// The test API server's audit log (JSON lines, level Metadata for every write): "who changed it".
import { readFile } from 'node:fs/promises';

/** The fields of an `audit.k8s.io/v1` Event that tests look at. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly user: { readonly username: string; readonly groups?: string[] };
  readonly impersonatedUser?: { readonly username: string; readonly groups?: string[] };
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly requestReceivedTimestamp: string;
}

/** Every event in the audit log so far (a line being written is left out). */
export async function readAuditLog(auditLogPath: string): Promise<AuditEvent[]> {
  const text = await readFile(auditLogPath, 'utf8').catch(() => '');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
}

/**
 * The first audit event matching `predicate`, waiting for the API server to write it: the log backend
 * writes an event when the response completes, a moment after the client has its answer.
 */
export async function waitForAuditEvent(
  auditLogPath: string,
  predicate: (event: AuditEvent) => boolean,
  timeoutMs = 10_000,
): Promise<AuditEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await readAuditLog(auditLogPath)).find(predicate);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no matching audit event in ${auditLogPath} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
