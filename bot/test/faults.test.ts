// The real `nyx-bot` process under faults: Redis away or frozen, oversized and forged deliveries.
// A delivery must never be answered 2xx unless its job is stored (GitHub counts any 2xx as
// delivered and never sends it again), and nothing a forger sends may be read past the cap or logged.
import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import {
  freePort,
  type PullRequestTarget,
  pullRequestPayload,
  type RedisServer,
  sendWebhook,
  signPayload,
  startRedis,
  testAppPrivateKey,
} from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfig } from '../src/index.js';
import {
  analyse,
  EXAMPLES,
  SECRET as HARNESS_SECRET,
  openPull,
  requestsFor,
  runBotProcess,
  startHarness,
} from './harness.js';

const SECRET = 'fault-secret';
const target: PullRequestTarget = {
  owner: 'cloudmart',
  repo: 'network-policy',
  installationId: 1,
  number: 7,
  headSha: 'a'.repeat(40),
  baseSha: 'b'.repeat(40),
  author: 'dev',
};

function env(redisUrl: string, port: number): Record<string, string> {
  return {
    APP_ID: '7',
    PRIVATE_KEY: testAppPrivateKey(),
    WEBHOOK_SECRET: SECRET,
    REDIS_URL: redisUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    GHE_HOST: '127.0.0.1:1',
    GHE_PROTOCOL: 'http',
    NYX_FLOWS: 'none',
    NYX_INVENTORY: 'none',
    NYX_WORKER: 'off',
    LOG_LEVEL: 'info',
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

async function deliver(url: string): Promise<number> {
  const r = await sendWebhook({
    url,
    secret: SECRET,
    event: 'pull_request',
    payload: pullRequestPayload('opened', target),
  });
  return r.status;
}

/** A raw POST that declares `declared` bytes and sends `sent` (chunked when `declared` is undefined). */
function rawPost(
  port: number,
  options: { declared?: number; sent: number; signature: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/github/webhooks',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': 'forged-1',
          'x-hub-signature-256': options.signature,
          ...(options.declared !== undefined ? { 'content-length': String(options.declared) } : {}),
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (e) =>
      e.message.includes('EPIPE') || e.message.includes('ECONNRESET') ? undefined : reject(e),
    );
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    let left = options.sent;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('Redis away', () => {
  it('down at start: a delivery is answered 5xx within 6 s, /healthz 503 at once, SIGTERM exits within the grace period', async () => {
    const port = await freePort();
    const nothing = await freePort();
    const p = runBotProcess(env(`redis://127.0.0.1:${nothing}`, port));
    try {
      await p.printed('nyx-bot: listening');
      const d = await timed(() => deliver(`http://127.0.0.1:${port}/api/github/webhooks`));
      expect(d.value).toBeGreaterThanOrEqual(500);
      expect(d.ms).toBeLessThan(6000);
      const hz = await timed(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status));
      expect(hz.value).toBe(503);
      expect(hz.ms).toBeLessThan(1500);
    } finally {
      const stopped = await timed(async () => {
        p.child.kill('SIGTERM');
        return p.exited;
      });
      expect(stopped.ms).toBeLessThan(12_000);
    }
  });

  it('frozen (SIGSTOP): the same, and once it thaws deliveries are stored again', async () => {
    const redis = await startRedis();
    const port = await freePort();
    const p = runBotProcess(env(redis.url, port));
    try {
      await p.printed('nyx-bot: listening');
      expect(await deliver(`http://127.0.0.1:${port}/api/github/webhooks`)).toBe(200);
      redis.freeze();
      const d = await timed(() => deliver(`http://127.0.0.1:${port}/api/github/webhooks`));
      expect(d.value).toBeGreaterThanOrEqual(500);
      expect(d.ms).toBeLessThan(6000);
      const hz = await timed(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status));
      expect(hz.value).toBe(503);
      expect(hz.ms).toBeLessThan(1500);
      redis.thaw();
      await expect
        .poll(() => deliver(`http://127.0.0.1:${port}/api/github/webhooks`), { timeout: 10_000 })
        .toBe(200);
    } finally {
      redis.thaw();
      const stopped = await timed(async () => {
        p.child.kill('SIGTERM');
        return p.exited;
      });
      expect(stopped.ms).toBeLessThan(12_000);
      await redis.close();
    }
  });
});

describe('oversized and forged deliveries', () => {
  let redis: RedisServer;
  let port: number;
  let p: ReturnType<typeof runBotProcess>;
  beforeAll(async () => {
    redis = await startRedis();
    port = await freePort();
    p = runBotProcess(env(redis.url, port));
    await p.printed('nyx-bot: listening');
  });
  afterAll(async () => {
    p?.child.kill('SIGTERM');
    await p?.exited;
    await redis?.close();
  });

  it('a declared 100 MB body is refused 413 before it is read; a chunked one at the 25 MB cap', async () => {
    expect(
      await rawPost(port, { declared: 100 * 1024 * 1024, sent: 2 * 1024 * 1024, signature: 'sha256=00' }),
    ).toBe(413);
    expect(await rawPost(port, { sent: 40 * 1024 * 1024, signature: 'sha256=00' })).toBe(413);
    // The process's peak resident memory stayed far below what reading either body would take.
    const status = await readFile(`/proc/${p.child.pid}/status`, 'utf8');
    const peakKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb * 1024).toBeLessThan(300 * 1024 * 1024);
  });

  it('a forged delivery is answered 401 and its payload is never logged', async () => {
    const marker = `FORGED-${'z'.repeat(2000)}`;
    const r = await sendWebhook({
      url: `http://127.0.0.1:${port}/api/github/webhooks`,
      secret: SECRET,
      event: 'pull_request',
      payload: { ...pullRequestPayload('opened', target), marker },
      signature: signPayload('wrong-secret', '{}'),
    });
    expect(r.status).toBe(401);
    await p.printed('webhook signature does not match');
    expect(p.output()).not.toContain('FORGED-');
  });

  it('a signed body of null is answered 400, not 500', async () => {
    const r = await sendWebhook({
      url: `http://127.0.0.1:${port}/api/github/webhooks`,
      secret: SECRET,
      event: 'pull_request',
      payload: null,
    });
    expect(r.status).toBe(400);
  });
});

describe('a flow source URL with credentials', () => {
  it('is fetched with Basic auth (not refused by fetch at every job), and the password is never printed', async () => {
    const lines = await readFile(join(EXAMPLES, 'flows.jsonl'), 'utf8');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      if (req.headers.authorization !== `Basic ${Buffer.from('nyx:hunter2').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(lines);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address() as { port: number };
    const h = await startHarness({
      NYX_FLOWS: `http://nyx:hunter2@127.0.0.1:${address.port}/flows?token=abc`,
    });
    try {
      expect(describeConfig(h.config).join('\n')).not.toMatch(/hunter2|abc/);
      const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
      const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# url flows\n` });
      await analyse(h, t);
      const policy = requestsFor(h, t).policy.at(-1);
      expect(policy?.conclusion).toBe('success');
      expect(policy?.output.summary).toMatch(/Window: [1-9]\d* records/);
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      await h.close();
      server.close();
    }
  });
});

describe('a worker killed while it holds a PR', () => {
  it('SIGKILL inside the per-PR lock: the lock lapses within 15 s and is renewed while a job runs', async () => {
    const h = await startHarness();
    const port = await freePort();
    const p = runBotProcess({
      APP_ID: '1',
      PRIVATE_KEY: testAppPrivateKey(),
      WEBHOOK_SECRET: HARNESS_SECRET,
      REDIS_URL: h.redis.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      GHE_HOST: h.github.host,
      GHE_PROTOCOL: 'http',
      NYX_FLOWS: join(EXAMPLES, 'flows.jsonl'),
      NYX_INVENTORY: join(EXAMPLES, 'inventory.json'),
      NYX_QUEUE: 'killed-worker',
      LOG_LEVEL: 'warn',
    });
    const redis = new Redis(h.redis.url);
    let release = (): void => {};
    try {
      await p.printed('nyx-bot: listening');
      const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
      const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# killed\n` });
      release = h.github.hold('GET', new RegExp(`/issues/${t.number}/comments$`));
      const r = await sendWebhook({
        url: `http://127.0.0.1:${port}/api/github/webhooks`,
        secret: HARNESS_SECRET,
        event: 'pull_request',
        payload: pullRequestPayload('opened', t),
      });
      expect(r.status).toBe(200);
      const lockKey = `nyx:bot:lock:${t.owner}/${t.repo}#${t.number}`;
      await expect.poll(() => redis.exists(lockKey), { timeout: 30_000 }).toBe(1);
      // Held past one renewal period, the lock is still there with a fresh lifetime …
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect(await redis.pttl(lockKey)).toBeGreaterThan(8000);
      // … and once its holder is killed it lapses within 15 s instead of 120 s.
      p.child.kill('SIGKILL');
      await p.exited;
      const left = await redis.pttl(lockKey);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(15_000);
    } finally {
      release();
      p.child.kill('SIGKILL');
      redis.disconnect();
      await h.close();
    }
  });
});
