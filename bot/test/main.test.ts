// `npx nyx-bot` as a process: refuses to start with a clear message when configuration is missing
// or malformed, prints its effective configuration with secrets masked, and serves /healthz.
import { freePort, type RedisServer, startRedis, testAppPrivateKey } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBotProcess as run } from './harness.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.close();
});

describe('nyx-bot process', () => {
  it('refuses to start and lists every missing setting', async () => {
    const p = run({ PORT: '0', NYX_CONCURRENCY: 'many' });
    expect(await p.exited).toBe(2);
    const out = p.output();
    expect(out).toContain('nyx-bot: refusing to start');
    expect(out).toContain('APP_ID is required');
    expect(out).toContain('WEBHOOK_SECRET is required');
    expect(out).toContain('REDIS_URL is required');
    expect(out).toContain('NYX_CONCURRENCY=many: expected an integer between 1 and 256');
  });

  it('prints its configuration with secrets masked and serves /healthz', async () => {
    const port = await freePort();
    const key = testAppPrivateKey();
    const p = run({
      APP_ID: '7',
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: 'very-secret-value',
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      GHE_HOST: '127.0.0.1:1',
      GHE_PROTOCOL: 'http',
      NYX_FLOWS: 'none',
      NYX_INVENTORY: 'none',
      LOG_LEVEL: 'warn',
    });
    try {
      // The process says when its server accepts connections; then /healthz must answer.
      await p.printed('nyx-bot: listening');
      const status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status);
      expect(status).toBe(200);
      const out = p.output();
      expect(out).toContain('nyx-bot configuration:');
      expect(out).toContain('GitHub API=http://127.0.0.1:1/api/v3');
      expect(out).toContain('WEBHOOK_SECRET=***');
      expect(out).not.toContain('very-secret-value');
      expect(out).not.toContain(key.split('\n')[1] ?? 'unreachable');
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('NYX_METRICS_PORT serves /metrics on its own port only; HOST defaults to every interface', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const p = run({
      APP_ID: '7',
      PRIVATE_KEY: testAppPrivateKey(),
      WEBHOOK_SECRET: 'x',
      REDIS_URL: redis.url,
      PORT: String(port),
      NYX_METRICS_PORT: String(metricsPort),
      GHE_HOST: '127.0.0.1:1',
      GHE_PROTOCOL: 'http',
      NYX_FLOWS: 'none',
      NYX_INVENTORY: 'none',
      LOG_LEVEL: 'warn',
    });
    try {
      await p.printed('nyx-bot: listening');
      expect(await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.status)).toBe(404);
      expect(await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status)).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('nyx_bot_webhooks_total');
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
