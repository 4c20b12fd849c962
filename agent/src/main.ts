// `npx nyx-agent`: configuration once, the last good state from disk before anything else, then the
// Redis hand-off. One try/catch: a start-up failure exits 1 with its message.
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Agent } from './agent.js';
import { describeConfig, loadConfig } from './config.js';
import { createAgentMetrics, serveMetrics } from './metrics.js';

const resolvConf = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
const result = loadConfig(process.env, resolvConf);
if (!result.ok) {
  for (const e of result.errors) process.stderr.write(`nyx-agent: ${e}\n`);
  process.exit(2);
}
const config = result.config;
const log = pino({ level: config.logLevel, base: { node: config.node } });
log.info({ config: describeConfig(config) }, 'nyx-agent starting');

try {
  const agent = new Agent(config, log, createAgentMetrics());
  // Up first: /healthz answers 503 until a ruleset is in force.
  const http =
    config.metricsPort === 0
      ? undefined
      : await serveMetrics({
          metrics: agent.metrics,
          health: () => agent.readiness(),
          port: config.metricsPort,
        });
  // Enforce what was last enforced before talking to anything (SPEC section 6).
  await agent.applyLastGood();
  await agent.startDnsProxy();
  agent.connect(
    (role) =>
      new Redis(config.redisUrl, {
        lazyConnect: false,
        // Commands fail fast while Redis is away (flows are buffered, the state on disk stays in
        // force); the subscriber queues its SUBSCRIBE until Redis is back.
        ...(role === 'commands' ? { maxRetriesPerRequest: 1, enableOfflineQueue: false } : {}),
      }),
  );
  const stop = async (): Promise<void> => {
    http?.close();
    await agent.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
} catch (error) {
  log.error({ error: (error as Error).message }, 'nyx-agent failed to start');
  process.exit(1);
}
