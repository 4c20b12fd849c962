// The bot's process configuration: Probot's own environment variables plus REDIS_URL, NYX_FLOWS and
// NYX_INVENTORY (SPEC §7 "Processes"). Parsed once at the entry point into a plain object; every
// other module receives the parts it needs.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { integerSetting } from '@nyx/io';

export type FlowSourceConfig =
  | { kind: 'redis' }
  | { kind: 'file'; path: string; format: 'nyx' | 'hubble' | 'calico' }
  | { kind: 'url'; url: string }
  | { kind: 'none' };

export type InventorySourceConfig = { kind: 'redis' } | { kind: 'file'; path: string } | { kind: 'none' };

export interface BotConfig {
  appId: number;
  privateKey: string;
  webhookSecret: string;
  port: number;
  host?: string;
  /** `NYX_METRICS_PORT`: serve /metrics on this port only (not on the webhook port). */
  metricsPort?: number;
  /** `https://api.github.com`, or `<protocol>://<GHE_HOST>/api/v3`. */
  baseUrl: string;
  redisUrl: string;
  flows: FlowSourceConfig;
  inventory: InventorySourceConfig;
  /** Jobs processed in parallel by this process's worker (`NYX_CONCURRENCY`, default 4). */
  concurrency: number;
  /**
   * Threads that analyse changes off the event loop (`NYX_ANALYSIS_THREADS`, default 1): each
   * analyses one change at a time, so more threads analyse more PRs at once (one core each).
   */
  analysisThreads: number;
  /** `NYX_WORKER=off` runs only the webhook server (workers elsewhere). Default on. */
  worker: boolean;
  /** Attempts per job before it is marked failed (`NYX_JOB_ATTEMPTS`, default 6). */
  attempts: number;
  /** First retry delay in ms, doubled each attempt (`NYX_BACKOFF_MS`, default 2000). */
  backoffMs: number;
  /** Seconds a loaded flow window / inventory is reused before reloading (`NYX_CACHE_SECONDS`, default 60). */
  cacheSeconds: number;
  /** BullMQ queue name (`NYX_QUEUE`, default `nyx-bot`). */
  queueName: string;
  logLevel: string;
}

export type ConfigResult = { ok: true; config: BotConfig } | { ok: false; errors: string[] };

/** Parses `NYX_FLOWS`: `redis`, `none`, an `http(s)://` URL, or a file path, optionally `hubble:`/`calico:`/`nyx:` prefixed. */
export function parseFlowSource(raw: string | undefined): FlowSourceConfig | string {
  const value = (raw ?? 'redis').trim();
  if (value === 'redis') return { kind: 'redis' };
  if (value === 'none') return { kind: 'none' };
  if (/^https?:\/\//.test(value)) return { kind: 'url', url: value };
  const m = value.match(/^(nyx|hubble|calico):(.+)$/);
  if (m) return { kind: 'file', path: m[2] ?? '', format: m[1] as 'nyx' | 'hubble' | 'calico' };
  if (value === '') return 'NYX_FLOWS is empty: expected `redis`, `none`, a file path or an http(s) URL';
  return { kind: 'file', path: value, format: 'nyx' };
}

/**
 * Reads the configuration from `env`. Required: `APP_ID`, `PRIVATE_KEY` or `PRIVATE_KEY_PATH`,
 * `WEBHOOK_SECRET`, `REDIS_URL`. Every problem is reported at once.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ConfigResult {
  const errors: string[] = [];
  const appId = Number(env.APP_ID);
  if (!env.APP_ID) errors.push('APP_ID is required: the numeric id of the GitHub App');
  else if (!Number.isInteger(appId) || appId <= 0)
    errors.push(`APP_ID=${env.APP_ID}: expected a positive integer`);

  let privateKey = env.PRIVATE_KEY?.replace(/\\n/g, '\n') ?? '';
  if (!privateKey && env.PRIVATE_KEY_PATH) {
    try {
      privateKey = readFile(env.PRIVATE_KEY_PATH);
    } catch (error) {
      errors.push(`PRIVATE_KEY_PATH=${env.PRIVATE_KEY_PATH}: cannot read it (${(error as Error).message})`);
    }
  }
  if (!privateKey && !env.PRIVATE_KEY_PATH)
    errors.push('PRIVATE_KEY or PRIVATE_KEY_PATH is required: the GitHub App private key (PEM)');
  else if (privateKey && !/-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey)) {
    // A base64-encoded key on one line is accepted, as Probot does.
    const decoded = Buffer.from(privateKey, 'base64').toString('utf8');
    if (/-----BEGIN (RSA )?PRIVATE KEY-----/.test(decoded)) privateKey = decoded;
    else
      errors.push(
        'PRIVATE_KEY: expected a PEM private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)',
      );
  }

  if (privateKey && /-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey)) {
    // Checked now, not at the first job: a key that does not parse would fail every job.
    try {
      createPrivateKey(privateKey);
    } catch (error) {
      errors.push(`PRIVATE_KEY: not a usable private key (${(error as Error).message})`);
    }
  }

  const webhookSecret = env.WEBHOOK_SECRET ?? '';
  if (!webhookSecret)
    errors.push('WEBHOOK_SECRET is required: the secret GitHub signs webhook deliveries with');

  const port = integerSetting(env, 'PORT', 3000, 0, 65535, errors);

  let baseUrl = 'https://api.github.com';
  if (env.GHE_HOST) {
    const protocol = env.GHE_PROTOCOL ?? 'https';
    if (protocol !== 'http' && protocol !== 'https')
      errors.push(`GHE_PROTOCOL=${protocol}: expected http or https`);
    if (/[/\s]/.test(env.GHE_HOST))
      errors.push(`GHE_HOST=${env.GHE_HOST}: expected a host name (and optional :port), no scheme or path`);
    baseUrl = `${protocol}://${env.GHE_HOST}/api/v3`;
  }

  const redisUrl = env.REDIS_URL ?? '';
  if (!redisUrl)
    errors.push(
      'REDIS_URL is required: the Redis the job queue (and the flow store) live in, e.g. redis://127.0.0.1:6379',
    );
  else if (!/^rediss?:\/\//.test(redisUrl))
    errors.push(`REDIS_URL: expected redis:// or rediss://, got ${mask(redisUrl)}`);

  const flows = parseFlowSource(env.NYX_FLOWS);
  if (typeof flows === 'string') errors.push(flows);
  const inventoryRaw = (env.NYX_INVENTORY ?? 'redis').trim();
  const inventory: InventorySourceConfig =
    inventoryRaw === 'redis'
      ? { kind: 'redis' }
      : inventoryRaw === 'none'
        ? { kind: 'none' }
        : { kind: 'file', path: inventoryRaw };
  if (inventoryRaw === '') errors.push('NYX_INVENTORY is empty: expected `redis`, `none` or a file path');

  const workerRaw = (env.NYX_WORKER ?? 'on').toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(workerRaw))
    errors.push(`NYX_WORKER=${env.NYX_WORKER}: expected on or off`);

  const config: BotConfig = {
    appId,
    privateKey,
    webhookSecret,
    port,
    baseUrl,
    redisUrl,
    flows: typeof flows === 'string' ? { kind: 'none' } : flows,
    inventory,
    concurrency: integerSetting(env, 'NYX_CONCURRENCY', 4, 1, 256, errors),
    analysisThreads: integerSetting(env, 'NYX_ANALYSIS_THREADS', 1, 1, 64, errors),
    worker: ['on', 'true', '1'].includes(workerRaw),
    attempts: integerSetting(env, 'NYX_JOB_ATTEMPTS', 6, 1, 100, errors),
    backoffMs: integerSetting(env, 'NYX_BACKOFF_MS', 2000, 1, 3_600_000, errors),
    cacheSeconds: integerSetting(env, 'NYX_CACHE_SECONDS', 60, 0, 86_400, errors),
    queueName: env.NYX_QUEUE || 'nyx-bot',
    logLevel: env.LOG_LEVEL || 'info',
  };
  if (env.HOST) config.host = env.HOST;
  if (env.NYX_METRICS_PORT) config.metricsPort = integerSetting(env, 'NYX_METRICS_PORT', 0, 0, 65535, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

function mask(url: string): string {
  return redactUrl(url);
}

/** A URL fit for logs: user, password and every query value masked (`?token=…` is a secret too). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    for (const key of [...new Set(u.searchParams.keys())]) u.searchParams.set(key, '***');
    return u.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@').replace(/\?.*$/, '?***');
  }
}

/** The effective configuration as printable lines, secrets masked. */
export function describeConfig(c: BotConfig): string[] {
  const flows =
    c.flows.kind === 'file'
      ? `${c.flows.format}:${c.flows.path}`
      : c.flows.kind === 'url'
        ? mask(c.flows.url)
        : c.flows.kind;
  return [
    `APP_ID=${c.appId}`,
    `PRIVATE_KEY=*** (${c.privateKey.length} chars)`,
    'WEBHOOK_SECRET=***',
    `PORT=${c.port}${c.host ? ` HOST=${c.host}` : ''}${c.metricsPort !== undefined ? ` NYX_METRICS_PORT=${c.metricsPort}` : ''}`,
    `GitHub API=${c.baseUrl}`,
    `REDIS_URL=${mask(c.redisUrl)}`,
    `NYX_FLOWS=${flows}`,
    `NYX_INVENTORY=${c.inventory.kind === 'file' ? c.inventory.path : c.inventory.kind}`,
    `NYX_WORKER=${c.worker ? 'on' : 'off'} NYX_CONCURRENCY=${c.concurrency} NYX_ANALYSIS_THREADS=${c.analysisThreads} NYX_JOB_ATTEMPTS=${c.attempts} NYX_BACKOFF_MS=${c.backoffMs}`,
    `NYX_CACHE_SECONDS=${c.cacheSeconds} NYX_QUEUE=${c.queueName}`,
  ];
}
