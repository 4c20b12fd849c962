// Prometheus metrics (prom-client) on a private registry, and the `/metrics` and `/healthz`
// handlers mounted on Probot's server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface BotMetrics {
  registry: Registry;
  webhooks: Counter<'event'>;
  enqueued: Counter<'trigger'>;
  jobs: Counter<'outcome'>;
  analysesReused: Counter;
  failures: Counter<'stage'>;
  duration: Histogram<'outcome'>;
  queueDepth: Gauge<'state'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): BotMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'nyx_bot_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'nyx_bot_webhooks_total',
      help: 'Verified webhook deliveries handled, by event',
      labelNames: ['event'],
      registers: [registry],
    }),
    enqueued: new Counter({
      name: 'nyx_bot_jobs_enqueued_total',
      help: 'Jobs handed to the queue, by trigger',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'nyx_bot_jobs_total',
      help: 'Jobs finished, by outcome (done, stale, closed, failed-attempt)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    analysesReused: new Counter({
      name: 'nyx_bot_analyses_reused_total',
      help: 'Jobs that reused the analysis of the same base, head and inputs (review events)',
      registers: [registry],
    }),
    failures: new Counter({
      name: 'nyx_bot_failures_total',
      help: 'Failures, by stage',
      labelNames: ['stage'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'nyx_bot_job_duration_seconds',
      help: 'Job processing time',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'nyx_bot_queue_jobs',
      help: 'Jobs in the queue, by state',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
}

/**
 * A Probot server handler answering `GET /metrics` (Prometheus text) and `GET /healthz` (200 when
 * `health()` resolves true, 503 otherwise); other requests fall through.
 */
export function metricsHandler(
  metrics: BotMetrics,
  health: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>,
  serve: { metrics: boolean; health: boolean } = { metrics: true, health: true },
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') return false;
    if (path === '/metrics' && serve.metrics) {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return true;
    }
    if (path === '/healthz' && serve.health) {
      const h = await health().catch((error: unknown) => ({ ok: false, detail: { error: String(error) } }));
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.detail }));
      return true;
    }
    return false;
  };
}
