// Wires the bot together for one process: Probot's server (webhooks at /api/github/webhooks,
// signature verified by Probot), /metrics and /healthz on the same server, the BullMQ queue and,
// unless disabled, the worker. `main.ts` calls it with the parsed configuration; the integration
// tests and the benchmark call it in-process with the same configuration.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Probot, ProbotOctokit, Server } from 'probot';
import { AnalysisCache } from './analyze.js';
import { nyxApp } from './app.js';
import type { BotConfig } from './config.js';
import { BlobCache, type GitHubClient } from './github.js';
import type { NyxJob } from './jobs.js';
import { type BotMetrics, createMetrics, metricsHandler } from './metrics.js';
import { flowInputs } from './sources.js';
import { startWorker } from './worker.js';

/** The queue states reported by /healthz and the `nyx_bot_queue_jobs` gauge. */
const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export interface RunningBot {
  /** `http://<host>:<port>` of Probot's server. */
  url: string;
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
  // The queue connection fails fast while Redis is away so a delivery gets an error answer (and
  // can be redelivered) instead of hanging; the worker's connection retries forever (BullMQ needs it).
  const queueConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
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
    ...(options.githubThrottle === false
      ? {
          Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({
            ...o,
            throttle: { ...(o.throttle as object), enabled: false },
          })) as typeof ProbotOctokit,
        }
      : {}),
  });
  const server = new Server({
    Probot: ProbotWithConfig,
    port: config.port,
    ...(config.host ? { host: config.host } : {}),
    enableStaticFiles: false,
    ...(options.log ? { log: options.log } : {}),
  });
  let probot: Probot | undefined;
  await server.load((app, { addHandler }) => {
    probot = app;
    nyxApp({ queue, settings, metrics })(app, { addHandler, cwd: process.cwd() });
    addHandler(
      metricsHandler(metrics, async () => {
        const pong = await plain.ping().catch(() => 'down');
        const counts = await queue.getJobCounts(...DEPTH_STATES).catch(() => ({}));
        return { ok: pong === 'PONG', detail: { redis: pong === 'PONG' ? 'up' : 'down', queue: counts } };
      }),
    );
  });
  if (!probot) throw new Error('Probot did not load the app');
  const app: Probot = probot;
  const log = app.log;

  const worker = config.worker
    ? startWorker({
        queueName: config.queueName,
        connection: workerConnection,
        concurrency: config.concurrency,
        deps: {
          auth: async (installationId) => (await app.auth(installationId)) as unknown as GitHubClient,
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
        },
      })
    : undefined;

  const http = await server.start();
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
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
      await worker?.close();
      await queue.close();
      await server.stop();
      for (const c of [queueConnection, workerConnection, plain]) c.disconnect();
    },
  };
}
