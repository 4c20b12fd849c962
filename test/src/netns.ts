// A small cluster made of network namespaces, for the agent's kernel tests (SPEC section 7,
// `nyxctl compile` points 1-3): node namespaces joined by a bridge in a fabric namespace, pod
// namespaces on veth pairs routed per pod (a /32 route on the node, the pod's default route via
// 169.254.1.1 as Calico does), and a world namespace holding the addresses that are neither pods nor
// nodes. Every namespace runs `netns-helper.mjs`: TCP/UDP echo servers and a probe client. Only
// namespaces created here carry traffic; the host's own interfaces and ruleset are never touched.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { requireBinary } from './system.js';

const exec = promisify(execFile);

export interface ClusterSpec {
  nodes: Array<{ name: string; ip: string }>;
  /** `ip6`: an IPv6 address too, reachable from its own node (same-node IPv6 only). */
  pods: Array<{ ns: string; name: string; ip: string; ip6?: string; node: string }>;
  /** Addresses of the world namespace (neither pod nor node). */
  world: string[];
  /** Ports every namespace serves, TCP and UDP. */
  ports: number[];
  /**
   * When set, the world serves these records on UDP and TCP port 53 of its addresses (instead of
   * echoing there): A (`address`), AAAA (`address6`); `truncate`: UDP answers are empty with the TC
   * bit set, so resolvers retry over TCP.
   */
  dnsZone?: Record<string, { address?: string; address6?: string; ttl: number; truncate?: boolean }>;
  /** When set, the world's TCP 443 is a TLS echo server with this certificate (else a plain echo). */
  tls?: { cert: string; key: string };
}

export type ProbeOutcome = 'connected' | 'refused' | 'timeout' | 'error';

export interface Probe {
  /** Where the client runs: a pod `<ns>/<name>`, a node name, or `world`. */
  from: string;
  /** Source address to bind (a node's or world's address); a pod uses its own. */
  src?: string;
  dst: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  /**
   * TCP only: a TLS handshake with this server name (SNI), verifying the server's certificate
   * against `ca`, then one echo round trip: `connected` only when both complete.
   */
  tls?: { serverName: string; ca: string };
}

export interface OpenConnection {
  outcome: ProbeOutcome;
  /** One round trip on the open connection: `connected` when the echo came back in time. */
  echo(timeoutMs?: number): Promise<ProbeOutcome>;
  close(): void;
}

export interface NetnsCluster {
  readonly spec: ClusterSpec;
  /** The network namespace of a node, a pod (`<ns>/<name>`) or `world`. */
  netns(endpoint: string): string;
  /** Runs a command inside a namespace; rejects on a non-zero exit. */
  exec(endpoint: string, argv: string[], input?: string): Promise<string>;
  /** Loads an nft script in a node's namespace (`nft -f -`); rejects with nft's message on failure. */
  loadRuleset(node: string, script: string): Promise<void>;
  /** Runs probes in parallel; an unanswered one waits `timeoutMs` (the waits overlap). */
  probe(probes: readonly Probe[], timeoutMs?: number): Promise<ProbeOutcome[]>;
  /** Sequential TCP connects from `from` to `dst:port` for `durationMs`: how many completed. */
  connectRate(from: string, dst: string, port: number, durationMs: number): Promise<number>;
  /**
   * A query from `from` to `server` (A unless `type`; over UDP unless `transport`: `udp-tcp` retries
   * a truncated UDP answer over TCP as resolvers do): the answered addresses, or `timeout`.
   */
  resolve(
    from: string,
    server: string,
    name: string,
    timeoutMs?: number,
    options?: { type?: 'A' | 'AAAA'; transport?: 'udp' | 'udp-tcp' | 'tcp' },
  ): Promise<string[] | 'timeout'>;
  /** Opens a TCP connection and keeps it; `echo()` then sends one byte and waits for it back. */
  open(probe: Probe, timeoutMs?: number): Promise<OpenConnection>;
  close(): Promise<void>;
}

/**
 * Fails loudly (CI=true or not) when `ip`, `nft` or network namespaces are unavailable: the kernel
 * tests never skip.
 */
export async function requireNetns(): Promise<void> {
  await requireBinary('ip');
  await requireBinary('nft');
  const probe = `nyxprobe${process.pid}`;
  try {
    await exec('ip', ['netns', 'add', probe]);
    await exec('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset']);
  } catch (error) {
    throw new Error(
      `network namespaces and nftables are required by the agent's kernel tests (run as root with CAP_NET_ADMIN, nf_tables in the kernel)${process.env.CI === 'true' ? ' (CI=true)' : ''}: ${(error as Error).message}`,
    );
  } finally {
    await exec('ip', ['netns', 'del', probe]).catch(() => {});
  }
}

let clusters = 0;

/** Builds the cluster of `spec`; `close()` deletes every namespace it made. */
export async function startNetnsCluster(spec: ClusterSpec): Promise<NetnsCluster> {
  await requireNetns();
  const prefix = `nyx${process.pid % 100000}c${clusters++}`;
  const names = new Map<string, string>();
  names.set('fabric', `${prefix}-fabric`);
  names.set('world', `${prefix}-world`);
  for (const [i, n] of spec.nodes.entries()) names.set(n.name, `${prefix}-n${i}`);
  for (const [i, p] of spec.pods.entries()) names.set(`${p.ns}/${p.name}`, `${prefix}-p${i}`);
  const netns = (endpoint: string): string => {
    const name = names.get(endpoint);
    if (!name) throw new Error(`no namespace for ${endpoint}`);
    return name;
  };
  const created: string[] = [];
  const helpers = new Map<string, Helper>();

  const sh = async (ns: string, script: string[]): Promise<void> => {
    await exec('ip', ['netns', 'exec', ns, 'sh', '-ec', script.join('\n')]);
  };
  const close = async (): Promise<void> => {
    for (const h of helpers.values()) h.stop();
    for (const ns of created.reverse()) await exec('ip', ['netns', 'del', ns]).catch(() => {});
  };

  try {
    for (const ns of names.values()) {
      await exec('ip', ['netns', 'add', ns]);
      created.push(ns);
    }
    const fabric = netns('fabric');
    const FABRIC_WORLD = '192.168.255.254';
    const common = (ns: string) => [
      'ip link set lo up',
      'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter',
      'echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter',
      `: ${ns}`,
    ];
    await sh(fabric, [...common(fabric), 'ip link add br0 type bridge', 'ip link set br0 up']);
    // Nodes and world on the fabric bridge; each node is a router for its pods.
    const attach = async (endpoint: string, port: string) => {
      await exec('ip', [
        '-n',
        fabric,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        netns(endpoint),
      ]);
      await sh(fabric, [`ip link set ${port} master br0`, `ip link set ${port} up`]);
    };
    for (const [i, n] of spec.nodes.entries()) await attach(n.name, `n${i}`);
    await attach('world', 'w0');
    await sh(netns('world'), [
      ...common('world'),
      `ip addr add ${FABRIC_WORLD}/16 dev eth0`,
      'ip link set eth0 up',
      ...spec.world.map((ip) => `ip addr add ${ip}/32 dev lo`),
      ...spec.pods.map((p) => `ip route add ${p.ip}/32 via ${nodeIp(spec, p.node)}`),
    ]);
    for (const [i, n] of spec.nodes.entries()) {
      const ns = netns(n.name);
      const script = [
        ...common(ns),
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
        'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding',
        `ip addr add ${n.ip}/16 dev eth0`,
        'ip link set eth0 up',
        `ip route add default via ${FABRIC_WORLD}`,
      ];
      for (const [j, p] of spec.pods.entries()) {
        if (p.node !== n.name) {
          script.push(`ip route add ${p.ip}/32 via ${nodeIp(spec, p.node)}`);
          continue;
        }
        const pod = netns(`${p.ns}/${p.name}`);
        const veth = `p${j}`;
        await exec('ip', [
          '-n',
          ns,
          'link',
          'add',
          veth,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          pod,
        ]);
        script.push(
          `ip addr add 169.254.1.1/32 dev ${veth}`,
          `ip link set ${veth} up`,
          `ip route add ${p.ip}/32 dev ${veth}`,
          ...(p.ip6
            ? [`ip -6 addr add fe80::1/64 dev ${veth} nodad`, `ip -6 route add ${p.ip6}/128 dev ${veth}`]
            : []),
        );
        await sh(pod, [
          ...common(pod),
          `ip addr add ${p.ip}/32 dev eth0`,
          'ip link set eth0 up',
          'ip route add 169.254.1.1 dev eth0',
          'ip route add default via 169.254.1.1 dev eth0',
          ...(p.ip6
            ? [`ip -6 addr add ${p.ip6}/128 dev eth0 nodad`, 'ip -6 route add default via fe80::1 dev eth0']
            : []),
        ]);
      }
      void i;
      await sh(ns, script);
    }
    const endpoints = [
      'world',
      ...spec.nodes.map((n) => n.name),
      ...spec.pods.map((p) => `${p.ns}/${p.name}`),
    ];
    await Promise.all(
      endpoints.map(async (e) => {
        const zone = e === 'world' && spec.dnsZone ? JSON.stringify(spec.dnsZone) : undefined;
        const tls = e === 'world' && spec.tls ? JSON.stringify(spec.tls) : undefined;
        helpers.set(e, await startHelper(netns(e), addressesOf(spec, e), spec.ports, zone, tls));
      }),
    );
  } catch (error) {
    await close();
    throw error;
  }

  let nextId = 0;
  return {
    spec,
    netns,
    async exec(endpoint, argv, input) {
      return runIn(netns(endpoint), argv, input);
    },
    async loadRuleset(node, script) {
      await runIn(netns(node), ['nft', '-f', '-'], script);
    },
    async probe(probes, timeoutMs = 1500) {
      return Promise.all(
        probes.map((p) => {
          const helper = helpers.get(p.from);
          if (!helper) throw new Error(`no helper for ${p.from}`);
          return helper.probe({
            id: nextId++,
            protocol: p.protocol,
            host: p.dst,
            port: p.port,
            ...(p.src ? { localAddress: p.src } : {}),
            ...(p.tls ? { tls: p.tls } : {}),
            timeoutMs,
          });
        }),
      );
    },
    async connectRate(from, dst, port, durationMs) {
      const helper = helpers.get(from);
      if (!helper) throw new Error(`no helper for ${from}`);
      const { addresses } = await helper.query({ id: nextId++, op: 'rate', host: dst, port, durationMs });
      return Number(addresses?.[0] ?? 0);
    },
    async resolve(from, server, name, timeoutMs = 1500, options = {}) {
      const helper = helpers.get(from);
      if (!helper) throw new Error(`no helper for ${from}`);
      const { outcome, addresses } = await helper.query({
        id: nextId++,
        op: 'dns',
        server,
        name,
        timeoutMs,
        ...options,
      });
      return outcome === 'connected' ? (addresses ?? []) : 'timeout';
    },
    async open(p, timeoutMs = 1500) {
      const helper = helpers.get(p.from);
      if (!helper) throw new Error(`no helper for ${p.from}`);
      const conn = nextId++;
      const outcome = await helper.probe({
        id: conn,
        op: 'open',
        protocol: 'TCP',
        host: p.dst,
        port: p.port,
        ...(p.src ? { localAddress: p.src } : {}),
        timeoutMs,
      });
      return {
        outcome,
        echo: (echoTimeoutMs = 1500) =>
          helper.probe({ id: nextId++, op: 'echo', conn, timeoutMs: echoTimeoutMs }),
        close: () => helper.send({ op: 'close', conn }),
      };
    },
    close,
  };
}

function nodeIp(spec: ClusterSpec, node: string): string {
  const found = spec.nodes.find((n) => n.name === node);
  if (!found) throw new Error(`pod on unknown node ${node}`);
  return found.ip;
}

/** Runs `argv` in `ns` with `input` on stdin; rejects with stderr on a non-zero exit. */
export function runIn(ns: string, argv: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${argv.join(' ')} in ${ns} exited ${code}: ${stderr}`)),
    );
    if (input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

interface Helper {
  probe(request: Record<string, unknown> & { id: number }): Promise<ProbeOutcome>;
  query(
    request: Record<string, unknown> & { id: number },
  ): Promise<{ outcome: ProbeOutcome; addresses?: string[] }>;
  send(message: Record<string, unknown>): void;
  stop(): void;
}

function addressesOf(spec: ClusterSpec, endpoint: string): string[] {
  if (endpoint === 'world') return spec.world;
  const node = spec.nodes.find((n) => n.name === endpoint);
  if (node) return [node.ip];
  return spec.pods
    .filter((p) => `${p.ns}/${p.name}` === endpoint)
    .flatMap((p) => (p.ip6 ? [p.ip, p.ip6] : [p.ip]));
}

function startHelper(
  ns: string,
  addresses: string[],
  ports: number[],
  dnsZone?: string,
  tls?: string,
): Promise<Helper> {
  const helper = join(import.meta.dirname, 'netns-helper.mjs');
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, helper, addresses.join(','), ...ports.map(String)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...(dnsZone ? { NYX_HELPER_DNS_ZONE: dnsZone } : {}),
        ...(tls ? { NYX_HELPER_TLS: tls } : {}),
      },
    },
  );
  const pending = new Map<number, (outcome: ProbeOutcome, addresses?: string[]) => void>();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`netns helper in ${ns} exited ${code} before it was ready`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as {
        ready?: boolean;
        id?: number;
        outcome?: ProbeOutcome;
        addresses?: string[];
        count?: number;
      };
      if (message.ready) {
        resolve({
          probe: (request) =>
            new Promise((done) => {
              pending.set(request.id, done);
              child.stdin!.write(`${JSON.stringify(request)}\n`);
            }),
          query: (request) =>
            new Promise((done) => {
              pending.set(request.id, (outcome, addresses) =>
                done({ outcome, ...(addresses ? { addresses } : {}) }),
              );
              child.stdin!.write(`${JSON.stringify(request)}\n`);
            }),
          send: (message) => child.stdin!.write(`${JSON.stringify(message)}\n`),
          stop: () => {
            child.stdin!.end();
            child.kill();
          },
        });
        return;
      }
      if (message.id !== undefined && message.outcome) {
        pending.get(message.id)?.(
          message.outcome,
          message.count !== undefined ? [String(message.count)] : message.addresses,
        );
        pending.delete(message.id);
      }
    });
  });
}
