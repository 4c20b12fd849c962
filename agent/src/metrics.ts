// The agent's Prometheus metrics (prom-client, a private registry) and its HTTP endpoint:
// `GET /metrics` and `GET /healthz` on `NYX_METRICS_PORT` (the bot's setting name; the agent runs
// on the host network, so it has no port of its own to share).
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface AgentMetrics {
  registry: Registry;
  /** Ruleset loads, by result (`applied`, `failed`: compile or nft refused). */
  applies: Counter<'result'>;
  /** Build (compile) plus `nft -f`, of the loads that succeeded. */
  applyDuration: Histogram;
  /** Size of the script in force: rules (nft statements), named sets, set elements. */
  ruleset: Gauge<'kind'>;
  /** Local pod addresses the script in force enforces. */
  localPods: Gauge;
  /** Flow records read from the kernel, and those dropped while the buffer was full. */
  flowRecords: Counter;
  flowRecordsDropped: Counter;
  /** New connections the kernel counted as would-deny findings (SPEC section 3). */
  wouldDenyConnections: Counter;
  /** Would-deny records dropped while the buffer was full. */
  wouldDenyDropped: Counter;
  /** DNS queries of local pods, by result (`answered`, `denied`, `failed`) and transport. */
  dnsQueries: Counter<'result' | 'transport'>;
}

export function createAgentMetrics(options: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'nyx_agent_' });
  const registers = [registry];
  return {
    registry,
    applies: new Counter({
      name: 'nyx_agent_applies_total',
      help: 'Ruleset loads, by result (applied, failed)',
      labelNames: ['result'],
      registers,
    }),
    applyDuration: new Histogram({
      name: 'nyx_agent_apply_duration_seconds',
      help: 'Compile and nft -f of a ruleset that loaded',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ruleset: new Gauge({
      name: 'nyx_agent_ruleset_size',
      help: 'Size of the ruleset in force, by kind (rules, sets, set_elements, script_bytes)',
      labelNames: ['kind'],
      registers,
    }),
    localPods: new Gauge({
      name: 'nyx_agent_local_pod_addresses',
      help: 'Local pod addresses the ruleset in force enforces',
      registers,
    }),
    flowRecords: new Counter({
      name: 'nyx_agent_flow_records_total',
      help: 'Flow records read from the kernel capture sets',
      registers,
    }),
    flowRecordsDropped: new Counter({
      name: 'nyx_agent_flow_records_dropped_total',
      help: 'Flow records dropped because the buffer was full while Redis was away',
      registers,
    }),
    wouldDenyConnections: new Counter({
      name: 'nyx_agent_would_deny_connections_total',
      help: 'New connections the kernel recorded as would-deny findings (an audit object would deny them)',
      registers,
    }),
    wouldDenyDropped: new Counter({
      name: 'nyx_agent_would_deny_records_dropped_total',
      help: 'Would-deny records dropped because the buffer was full while Redis was away',
      registers,
    }),
    dnsQueries: new Counter({
      name: 'nyx_agent_dns_queries_total',
      help: 'DNS queries of local pods through the proxy, by result (answered, denied, failed) and transport',
      labelNames: ['result', 'transport'],
      registers,
    }),
  };
}

/** Counts of one nft script: statements (rule lines), named sets and their elements. */
export function rulesetSize(script: string): { rules: number; sets: number; elements: number } {
  let rules = 0;
  let sets = 0;
  let elements = 0;
  let inElements = false;
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (inElements) {
      elements += line.split(',').filter((e) => e.trim() !== '' && e.trim() !== '}').length;
      if (line.endsWith('}')) inElements = false;
      continue;
    }
    if (line.startsWith('set ') || line.startsWith('map ')) sets++;
    else if (line.startsWith('elements = {')) inElements = true;
    else if (
      !/^(table|delete table|chain|type|flags|size|timeout|counter|policy|\}|counter \w+ \{)/.test(line) &&
      !line.endsWith('{')
    )
      rules++;
  }
  return { rules, sets, elements };
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` (200 and the detail when `health()`
 * says ready, 503 otherwise) on `port` (0: an ephemeral port, as tests use).
 */
export function serveMetrics(options: {
  metrics: AgentMetrics;
  health: () => { ready: boolean; detail: Record<string, unknown> };
  port: number;
  host?: string;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          res.end(text);
        },
        (error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(error.message);
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const h = options.health();
      res.writeHead(h.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ready ? 'ok' : 'unavailable', ...h.detail }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: /metrics and /healthz are served here\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve(server));
  });
}
