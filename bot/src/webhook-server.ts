// The bot's HTTP server: GitHub's deliveries at /api/github/webhooks, /healthz and /metrics. Probot's
// webhook middleware does the routing to the app's handlers; in front of it this server refuses
// what must never be read or logged: a body over GitHub's 25 MB cap is answered 413 before it is
// read (from Content-Length, or as soon as a chunked body passes the cap), a body whose
// X-Hub-Signature-256 does not match is answered 401 and logged by delivery id only (never its
// payload), and a signed body that is not a JSON object is answered 400.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export const WEBHOOK_PATH = '/api/github/webhooks';
/** GitHub caps webhook payloads at 25 MB; anything larger is not a delivery. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

type Middleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => Promise<unknown>;
type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function answer(res: ServerResponse, status: number, message: string, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'application/json',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(JSON.stringify({ error: message }));
}

/** The body, or undefined once more than `max` bytes arrived (then the caller answers 413). */
function readCapped(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export function signatureMatches(secret: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createWebhookServer(options: {
  secret: string;
  log: Logger;
  webhooks: Middleware;
  /** Tried in order for every other request (health, metrics). */
  handlers: Handler[];
  maxBodyBytes?: number;
}): Server {
  const max = options.maxBodyBytes ?? MAX_WEBHOOK_BYTES;
  const log = options.log;

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const delivery = String(req.headers['x-github-delivery'] ?? '');
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      log.warn({ deliveryId: delivery, bytes: declared }, 'webhook body over the size cap: refused unread');
      return answer(res, 413, `payloads are limited to ${max} bytes`, true);
    }
    const signature = req.headers['x-hub-signature-256'];
    if (typeof signature !== 'string') {
      return answer(res, 400, 'X-Hub-Signature-256 is required', true);
    }
    const body = await readCapped(req, max);
    if (!body) {
      log.warn({ deliveryId: delivery }, 'webhook body over the size cap: refused');
      return answer(res, 413, `payloads are limited to ${max} bytes`, true);
    }
    if (!signatureMatches(options.secret, body, signature)) {
      log.warn({ deliveryId: delivery, bytes: body.length }, 'webhook signature does not match: refused');
      return answer(res, 401, 'signature does not match');
    }
    const text = body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return answer(res, 400, 'the body is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return answer(res, 400, 'the body is not a JSON object');
    }
    // Probot's middleware reads a string body as is and verifies it again.
    (req as IncomingMessage & { body?: string }).body = text;
    await options.webhooks(req, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path === WEBHOOK_PATH && req.method === 'POST') return webhook(req, res);
    for (const h of options.handlers) if (await h(req, res)) return;
    answer(res, 404, 'not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: { message: (error as Error).message } }, 'request failed');
      answer(res, 500, 'internal error');
    });
  });
  // A slow sender cannot hold a connection open forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}
