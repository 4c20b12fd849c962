// The reconciler's HTTP endpoints: /healthz, /readyz, /metrics, /status and the push webhook
// /hooks/push (SPEC §8.4: with a secret, a valid X-Hub-Signature-256 is required; without one an
// unsigned push is only a nudge to fetch, since nothing in it is applied).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerHandlers {
  registry: Registry;
  webhookSecret?: string;
  branch: string;
  ready: () => boolean;
  status: () => unknown;
  /** A verified (or, without a secret, any) push to the followed branch. */
  onPush: (info: { after?: string }) => void;
}

/** True when `signature` is `sha256=<hex>` of HMAC-SHA256(`secret`, `body`). */
export function verifySignature(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createReconcilerServer(h: ServerHandlers): Server {
  return createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    try {
      if (req.method === 'GET' && path === '/healthz') return send(200, 'ok\n');
      if (req.method === 'GET' && path === '/readyz')
        return h.ready() ? send(200, 'ready\n') : send(503, 'not ready\n');
      if (req.method === 'GET' && path === '/metrics') {
        return send(200, await h.registry.metrics(), h.registry.contentType);
      }
      if (req.method === 'GET' && path === '/status') {
        return send(200, `${JSON.stringify(h.status(), null, 2)}\n`, 'application/json');
      }
      if (path === '/hooks/push') {
        if (req.method !== 'POST') return send(405, 'POST only\n');
        const body = await readBody(req);
        if (!body) return send(413, 'payload too large\n');
        if (h.webhookSecret) {
          const sig = req.headers['x-hub-signature-256'];
          if (!verifySignature(h.webhookSecret, body, Array.isArray(sig) ? sig[0] : sig)) {
            return send(401, 'invalid or missing X-Hub-Signature-256\n');
          }
        }
        let payload: { ref?: unknown; after?: unknown } = {};
        try {
          payload = body.length > 0 ? (JSON.parse(body.toString('utf8')) as typeof payload) : {};
        } catch {
          // an unparsable body is still a nudge: it carries nothing that is applied
        }
        if (typeof payload.ref === 'string' && payload.ref !== `refs/heads/${h.branch}`) {
          return send(202, `ignored: not refs/heads/${h.branch}\n`);
        }
        h.onPush(typeof payload.after === 'string' ? { after: payload.after } : {});
        return send(202, 'fetch scheduled\n');
      }
      send(404, 'not found\n');
    } catch (e) {
      send(500, `${String(e)}\n`);
    }
  });
}
