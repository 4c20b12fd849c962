// The agent's process configuration (SPEC section 7 "Processes", 8.4): `NYX_NODE_NAME` is required;
// everything else has a default. Parsed once at the entry point.
import { integerSetting } from '@nyx/io';

export interface AgentConfig {
  node: string;
  /** `redis://…`, or a unix socket path (`/run/redis.sock`). */
  redisUrl: string;
  /** Where the last good bundle and inventory are kept (`NYX_STATE_DIR`, default /var/lib/nyx-agent). */
  stateDir: string;
  /** The nft binary (`NYX_NFT`, default `nft` on PATH). */
  nft: string;
  /** Seconds between two reads of the kernel's flow counters (`NYX_FLOW_INTERVAL`, default 10). */
  flowIntervalSeconds: number;
  /** Days the flow store keeps what this agent writes (`NYX_FLOW_RETENTION_DAYS`, default 30). */
  flowRetentionDays: number;
  /** Seconds between two reads of the hand-off without a notification (`NYX_RESYNC_INTERVAL`, default 30). */
  resyncSeconds: number;
  /** Flow records kept in memory while Redis is away (`NYX_FLOW_BUFFER`, default 100000). */
  flowBuffer: number;
  /** Port of the DNS proxy the local pods' queries are redirected to (`NYX_DNS_PROXY_PORT`, default 5353; 0 disables FQDN enforcement). */
  dnsProxyPort: number;
  /** The cluster DNS the proxy forwards to (`NYX_DNS_UPSTREAM`, default: the first nameserver of /etc/resolv.conf). */
  dnsUpstream: string;
  /** Port of `/healthz` and `/metrics` (`NYX_METRICS_PORT`, default 9470; 0 disables them). */
  metricsPort: number;
  /** The node's pod interfaces as an nft wildcard (`NYX_POD_INTERFACES`, e.g. `cali*`; unset: off). */
  podInterfaces?: string;
  /**
   * Pod churn as element updates of the table in force (`NYX_INCREMENTAL`, default true); false:
   * every change reloads the bundle and replaces the whole table (the fallback, and the bench's baseline).
   */
  incremental: boolean;
  logLevel: string;
}

/**
 * The agent runs on the host network, so its HTTP port is a node port: one no common node
 * component uses (Calico's Felix serves 9091, Cilium's agent 9962 and 9879, node-exporter 9100).
 */
export const DEFAULT_METRICS_PORT = 9470;

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; errors: string[] };

function boolSetting(
  env: Record<string, string | undefined>,
  name: string,
  fallback: boolean,
  errors: string[],
): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  errors.push(`${name}=${env[name]}: expected true or false`);
  return fallback;
}

/** Reads the configuration from `env`; every problem is reported at once. */
export function loadConfig(env: Record<string, string | undefined>, resolvConf = ''): ConfigResult {
  const errors: string[] = [];
  const node = env.NYX_NODE_NAME?.trim() ?? '';
  if (node === '')
    errors.push('NYX_NODE_NAME is required: the name of this node as in the inventory (spec.nodeName)');
  const redisUrl = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl) && !redisUrl.startsWith('/')) {
    errors.push(`REDIS_URL=${redisUrl}: expected redis://host:port, rediss://… or a unix socket path`);
  }
  const config: AgentConfig = {
    node,
    redisUrl,
    stateDir: env.NYX_STATE_DIR?.trim() || '/var/lib/nyx-agent',
    nft: env.NYX_NFT?.trim() || 'nft',
    flowIntervalSeconds: integerSetting(env, 'NYX_FLOW_INTERVAL', 10, 1, 3600, errors),
    flowRetentionDays: integerSetting(env, 'NYX_FLOW_RETENTION_DAYS', 30, 1, 366, errors),
    resyncSeconds: integerSetting(env, 'NYX_RESYNC_INTERVAL', 30, 1, 86400, errors),
    flowBuffer: integerSetting(env, 'NYX_FLOW_BUFFER', 100_000, 100, 10_000_000, errors),
    dnsProxyPort: integerSetting(env, 'NYX_DNS_PROXY_PORT', 5353, 0, 65535, errors),
    metricsPort: integerSetting(env, 'NYX_METRICS_PORT', DEFAULT_METRICS_PORT, 0, 65535, errors),
    dnsUpstream: env.NYX_DNS_UPSTREAM?.trim() || /^nameserver\s+(\S+)/m.exec(resolvConf)?.[1] || '',
    ...(env.NYX_POD_INTERFACES?.trim() ? { podInterfaces: env.NYX_POD_INTERFACES.trim() } : {}),
    incremental: boolSetting(env, 'NYX_INCREMENTAL', true, errors),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
  if (config.podInterfaces !== undefined && !/^[A-Za-z0-9._-]+\*?$/.test(config.podInterfaces)) {
    errors.push(
      `NYX_POD_INTERFACES=${config.podInterfaces}: expected an interface name or prefix followed by * (cali*)`,
    );
  }
  if (config.metricsPort !== 0 && config.metricsPort === config.dnsProxyPort) {
    errors.push(
      `NYX_METRICS_PORT=${config.metricsPort}: the DNS proxy (NYX_DNS_PROXY_PORT) already uses that port`,
    );
  }
  if (config.dnsProxyPort !== 0 && config.dnsUpstream === '') {
    errors.push(
      'NYX_DNS_UPSTREAM is not set and /etc/resolv.conf names no nameserver: set it, or NYX_DNS_PROXY_PORT=0 to disable toFqdn enforcement',
    );
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** The configuration as printed at start: a password in REDIS_URL is masked. */
export function describeConfig(config: AgentConfig): Record<string, string | number | boolean> {
  return { ...config, redisUrl: config.redisUrl.replace(/\/\/([^@/]*)@/, '//***@') };
}
