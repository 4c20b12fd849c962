// The reconciler's configuration, read once from the environment (SPEC §7 processes, §8.4 settings).
// Only NYX_GIT_URL is required; every other setting has the default documented here and in README.

export interface ReconcilerConfig {
  gitUrl: string;
  gitBranch: string;
  gitToken?: string;
  /** Seconds between polls. */
  pollIntervalSeconds: number;
  /** Path of a kubeconfig file; undefined → in-cluster configuration. */
  kubeconfig?: string;
  redisUrl: string;
  port: number;
  webhookSecret?: string;
  /** GitHub API for commit statuses on a repository outside github.com (`https://<host>/api/v3`). */
  githubApiUrl?: string;
  /** Where the working copy of the policy repository lives (a volume). */
  stateDir: string;
  /** Namespace of the reconciler's status ConfigMap, Lease and revision-level Events. */
  namespace: string;
  /** This replica's identity in the Lease. */
  identity: string;
  leaderElection: boolean;
  leaseDurationSeconds: number;
  maxRevertsPerMinute: number;
  inventoryDebounceMs: number;
  logLevel: string;
}

export type ConfigResult = { ok: true; config: ReconcilerConfig } | { ok: false; errors: string[] };

type Env = Readonly<Record<string, string | undefined>>;

function positiveNumber(
  env: Env,
  name: string,
  fallback: number,
  errors: string[],
  options: { integer?: boolean; min?: number } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  const min = options.min ?? Number.MIN_VALUE;
  if (!Number.isFinite(n) || n < min || (options.integer && !Number.isInteger(n))) {
    errors.push(
      `${name}=${JSON.stringify(raw)}: expected ${options.integer ? 'an integer' : 'a number'} ≥ ${min}`,
    );
    return fallback;
  }
  return n;
}

/** Reads and checks the configuration; every problem is reported, not only the first. */
export function readConfig(env: Env, hostname = 'nyx-reconciler'): ConfigResult {
  const errors: string[] = [];
  const gitUrl = env.NYX_GIT_URL ?? '';
  if (gitUrl === '') errors.push('NYX_GIT_URL is required: the policy repository to follow (https://…)');
  else {
    try {
      const u = new URL(gitUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') {
        errors.push(`NYX_GIT_URL=${JSON.stringify(gitUrl)}: expected an http(s) URL (smart HTTP)`);
      }
      if (u.username || u.password) {
        errors.push('NYX_GIT_URL must not carry credentials; put the token in NYX_GIT_TOKEN');
      }
    } catch {
      errors.push(`NYX_GIT_URL=${JSON.stringify(gitUrl)}: not a URL`);
    }
  }
  const gitBranch = env.NYX_GIT_BRANCH || 'main';
  if (!/^[A-Za-z0-9._/-]+$/.test(gitBranch) || gitBranch.includes('..')) {
    errors.push(`NYX_GIT_BRANCH=${JSON.stringify(gitBranch)}: not a branch name`);
  }
  const port = positiveNumber(env, 'PORT', 8080, errors, { integer: true, min: 0 });
  if (port > 65535) errors.push(`PORT=${port}: expected 0–65535`);
  const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl))
    errors.push(`REDIS_URL=${JSON.stringify(redisUrl)}: expected redis://…`);
  const config: ReconcilerConfig = {
    gitUrl,
    gitBranch,
    pollIntervalSeconds: positiveNumber(env, 'NYX_GIT_POLL_INTERVAL', 60, errors),
    redisUrl,
    port,
    stateDir: env.NYX_STATE_DIR || '/var/lib/nyx-reconciler',
    namespace: env.NYX_NAMESPACE || env.POD_NAMESPACE || 'nyx-system',
    identity: env.POD_NAME || hostname,
    leaderElection: (env.NYX_LEADER_ELECTION ?? 'true') !== 'false',
    leaseDurationSeconds: positiveNumber(env, 'NYX_LEASE_DURATION', 15, errors, { min: 1 }),
    maxRevertsPerMinute: positiveNumber(env, 'NYX_DRIFT_MAX_REVERTS_PER_MINUTE', 5, errors, {
      integer: true,
      min: 1,
    }),
    inventoryDebounceMs: positiveNumber(env, 'NYX_INVENTORY_DEBOUNCE_MS', 100, errors, { min: 0 }),
    logLevel: env.LOG_LEVEL || 'info',
  };
  if (env.NYX_LEADER_ELECTION !== undefined && !['true', 'false'].includes(env.NYX_LEADER_ELECTION)) {
    errors.push(`NYX_LEADER_ELECTION=${JSON.stringify(env.NYX_LEADER_ELECTION)}: expected true or false`);
  }
  if (env.NYX_GIT_TOKEN) config.gitToken = env.NYX_GIT_TOKEN;
  if (env.NYX_WEBHOOK_SECRET) config.webhookSecret = env.NYX_WEBHOOK_SECRET;
  if (env.KUBECONFIG) config.kubeconfig = env.KUBECONFIG;
  if (env.NYX_GITHUB_API_URL) {
    if (/^https?:\/\//.test(env.NYX_GITHUB_API_URL)) config.githubApiUrl = env.NYX_GITHUB_API_URL;
    else errors.push(`NYX_GITHUB_API_URL=${JSON.stringify(env.NYX_GITHUB_API_URL)}: expected an http(s) URL`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** The effective configuration with secrets masked, for the start-up log line. */
export function describeConfig(config: ReconcilerConfig): Record<string, unknown> {
  return {
    ...config,
    gitToken: config.gitToken ? '***' : '(none)',
    webhookSecret: config.webhookSecret ? '***' : '(none: unsigned pushes only nudge a fetch)',
    kubeconfig: config.kubeconfig ?? '(in-cluster)',
    redisUrl: config.redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
  };
}
