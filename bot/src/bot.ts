// Wires the bot together for one process: the HTTP server (webhooks at /api/github/webhooks,
// capped and verified in front of Probot's middleware, see webhook-server.ts), /metrics and
// /healthz on the same server, the BullMQ queue and, unless disabled, the worker. `main.ts` calls it with the parsed configuration; the integration
// tests and the benchmark call it in-process with the same configuration.

import { createServer } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Probot, ProbotOctokit } from 'probot';
import { AnalysisPool } from './analysis-pool.js';
import { AnalysisCache } from './analyze.js';
import { nyxApp } from './app.js';
import type { BotConfig } from './config.js';
import { withDeadline } from './deadline.js';
import { appLogin, BlobCache, type GitHubClient } from './github.js';
import type { NyxJob } from './jobs.js';
import { type BotMetrics, createMetrics, metricsHandler } from './metrics.js';
import { DO_NOT_RETRY, honourRetryAfter } from './retry-after.js';
import { flowInputs } from './sources.js';
import { createWebhookServer } from './webhook-server.js';
import { startWorker } from './worker.js';

/** How long /healthz waits for Redis before answering 503. */
const HEALTH_DEADLINE_MS = 1000;

/** The queue states reported by /healthz and the `nyx_bot_queue_jobs` gauge. */
const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export interface RunningBot {
  /** `http://<host>:<port>` of Probot's server. */
  url: string;
  /** Where /metrics is served when `NYX_METRICS_PORT` is set (else `<url>/metrics`). */
  metricsUrl: string;
  webhookUrl: string;
  queue: Queue<NyxJob>;
  metrics: BotMetrics;
  log: Logger;
  /** Waits until the queue holds no waiting, delayed, prioritized or active job. */
  drained(timeoutMs?: number): Promise<void>;
  /** Pauses/resumes this process's worker (tests use it to hold jobs in the queue). */
  pauseWorker(): Promise<void>;
  resumeWorker(): void;
  close(): Promise<void>;
}

/** Starts the server (and the worker when `config.worker`). */
export async function startBot(
  config: BotConfig,
  options: {
    log?: Logger;
    defaultMetrics?: boolean;
    /**
     * Octokit's throttling (GitHub's guidance: one write per second per process) is on in
     * production; the benchmark turns it off once to measure the worker's own throughput.
     */
    githubThrottle?: boolean;
  } = {},
): Promise<RunningBot> {
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  // The queue connection fails fast while Redis is away or frozen (no offline queue, a command
  // deadline), so a delivery is answered 5xx well within GitHub's 10 s and can be redelivered,
  // and /healthz answers 503 at once; the worker's connection retries forever (BullMQ needs it).
  const queueConnection = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 2000,
    connectTimeout: 2000,
  });
  const workerConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const plain = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  for (const c of [queueConnection, workerConnection, plain]) c.on('error', () => {});
  const queue = new Queue<NyxJob>(config.queueName, { connection: queueConnection });
  const settings = { attempts: config.attempts, backoffMs: config.backoffMs };

  const ProbotWithConfig = Probot.defaults({
    appId: config.appId,
    privateKey: config.privateKey,
    secret: config.webhookSecret,
    baseUrl: config.baseUrl,
    logLevel: config.logLevel as 'info',
    ...(options.log ? { log: options.log } : {}),
    Octokit: ProbotOctokit.plugin(honourRetryAfter as never).defaults((o: Record<string, unknown>) => ({
      ...o,
      retry: { ...(o.retry as object), doNotRetry: DO_NOT_RETRY },
      ...(options.githubThrottle === false
        ? { throttle: { ...(o.throttle as object), enabled: false } }
        : {}),
    })) as typeof ProbotOctokit,
  });
  const probot = new ProbotWithConfig({});
  await probot.load(nyxApp({ queue, settings, metrics }), {
    cwd: process.cwd(),
    addHandler: () => {},
  });
  const app: Probot = probot;
  const log = app.log;
  // Probot's middleware logs a failed handler with its whole event; this log keeps the message only.
  const middlewareLog = Object.assign(Object.create(log) as Logger, {
    error: (e: unknown) =>
      log.error(
        { err: { message: (e as { errors?: Error[] }).errors?.[0]?.message ?? String(e) } },
        'webhook handler failed: answered 500 so GitHub can redeliver',
      ),
    debug: () => {},
  });
  const webhooks = await probot.getNodeMiddleware({ log: middlewareLog });
  const health = async () => {
    // A connection still being made (just after start, after a restart) gets the same second.
    const ready =
      queueConnection.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const onReady = (): void => resolve();
            queueConnection.once('ready', onReady);
            setTimeout(() => {
              queueConnection.off('ready', onReady);
              resolve();
            }, HEALTH_DEADLINE_MS).unref();
          });
    const pong = await withDeadline(
      ready.then(() => queueConnection.ping()),
      HEALTH_DEADLINE_MS,
      'redis',
    ).catch(() => 'down');
    const counts =
      pong === 'PONG'
        ? await withDeadline(queue.getJobCounts(...DEPTH_STATES), HEALTH_DEADLINE_MS, 'redis').catch(
            () => ({}),
          )
        : {};
    return { ok: pong === 'PONG', detail: { redis: pong === 'PONG' ? 'up' : 'down', queue: counts } };
  };
  const separateMetrics = config.metricsPort !== undefined;
  const server = createWebhookServer({
    secret: config.webhookSecret,
    log,
    webhooks: webhooks as Parameters<typeof createWebhookServer>[0]['webhooks'],
    handlers: [metricsHandler(metrics, health, { metrics: !separateMetrics, health: true })],
  });
  // With NYX_METRICS_PORT, /metrics is served only there (keep that port off the public ingress).
  const metricsServer = separateMetrics
    ? createServer((req, res) => {
        metricsHandler(metrics, health, { metrics: true, health: false })(req, res).then(
          (handled) => {
            if (!handled) res.writeHead(404).end();
          },
          () => res.writeHead(500).end(),
        );
      })
    : undefined;

  let botLogin: Promise<string> | undefined;
  const pool = new AnalysisPool(config.worker ? config.analysisThreads : 0);
  const worker = config.worker
    ? startWorker({
        queueName: config.queueName,
        connection: workerConnection,
        concurrency: config.concurrency,
        deps: {
          auth: async (installationId) => (await app.auth(installationId)) as unknown as GitHubClient,
          botLogin: () => {
            botLogin ??= app
              .auth()
              .then((gh) => appLogin(gh as unknown as GitHubClient))
              .catch((error: unknown) => {
                botLogin = undefined;
                throw error;
              });
            return botLogin;
          },
          inputs: flowInputs({
            flows: config.flows,
            inventory: config.inventory,
            redis: plain,
            cacheSeconds: config.cacheSeconds,
          }),
          redis: plain,
          queue,
          settings,
          metrics,
          log,
          blobCache: new BlobCache(),
          analyses: new AnalysisCache(),
          analysis: pool,
        },
      })
    : undefined;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let metricsUrl: string | undefined;
  if (metricsServer) {
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(config.metricsPort, config.host ?? '0.0.0.0', () => resolve());
    });
    const a = metricsServer.address();
    const h = config.host && config.host !== '0.0.0.0' ? config.host : '127.0.0.1';
    metricsUrl = `http://${h}:${typeof a === 'object' && a ? a.port : config.metricsPort}/metrics`;
  }
  const host = config.host && config.host !== '0.0.0.0' ? config.host : '127.0.0.1';
  const url = `http://${host}:${port}`;

  const refreshDepth = async (): Promise<void> => {
    const counts = await queue.getJobCounts(...DEPTH_STATES);
    for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
  };
  const depthTimer = setInterval(() => refreshDepth().catch(() => {}), 5000);
  depthTimer.unref();

  return {
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    metricsUrl: metricsUrl ?? `${url}/metrics`,
    queue,
    metrics,
    log,
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      // Polls the queue's own counters (events from Redis are not replayed after a restart).
      for (;;) {
        const c = await queue
          .getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')
          .catch(() => undefined);
        if (c && Object.values(c).every((n) => n === 0)) return;
        if (Date.now() > deadline)
          throw new Error(`queue not drained within ${timeoutMs} ms: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async pauseWorker() {
      await worker?.pause();
    },
    resumeWorker() {
      worker?.resume();
    },
    async close() {
      clearInterval(depthTimer);
      metricsServer?.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await worker?.close();
      await pool.close();
      await queue.close().catch(() => {});
      await stopped;
      for (const c of [queueConnection, workerConnection, plain]) c.disconnect();
    },
  };
}
