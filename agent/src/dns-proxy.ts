// FQDN egress by DNS (SPEC section 7, point 7): local pods' DNS queries are redirected here (the
// `dns` nat chain of the agent's script, UDP and TCP 53). The proxy applies the pod's egress
// verdict to the query itself, forwards it to the cluster DNS over the transport the pod used, and
// before the answer reaches the pod adds every answered address (A into the `_4` sets, AAAA into
// the `_6` sets) to the nft sets of the `toFqdn` rules whose name or pattern the question fits, each
// with the record's TTL (as Cilium's DNS proxy does). The kernel then matches addresses, the engine
// names: where one address serves several names (CDNs, shared hosting) the kernel allows a name the
// engine would not. Checking the TLS ClientHello server name would be the stricter way.
//
// Transports: UDP on IPv4 and IPv6, and TCP (RFC 7766: length-prefixed messages, several per
// connection), which is where a resolver retries when a UDP answer comes back truncated (TC).
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { type Evaluator, type FqdnSet, normalizeDnsName, resolveFlow } from '@nyx/core';
import dns2 from 'dns2';
import { runNft } from './nft.js';

const { Packet } = dns2;

export interface DnsProxyContext {
  evaluator: Evaluator;
  fqdnSets: readonly FqdnSet[];
}

export interface LearnedAddress {
  name: string;
  address: string;
  expiresAt: number;
}

export type DnsTransport = 'udp' | 'tcp';
export type DnsQueryResult = 'answered' | 'denied' | 'failed';

export interface DnsProxyOptions {
  port: number;
  upstream: string;
  nft: string;
  /** What is enforced now (undefined before the first apply: queries are dropped). */
  current(): DnsProxyContext | undefined;
  /** Called for every answered address of a name some `toFqdn` rule names, after the nft add. */
  learned(entry: LearnedAddress): void;
  /** Called once per query with what became of it. */
  counted?(result: DnsQueryResult, transport: DnsTransport): void;
  onError(error: Error): void;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
/** How long the upstream has to answer one query. */
const UPSTREAM_TIMEOUT_MS = 5000;
/** An idle pod connection is closed after this long (RFC 7766 suggests seconds, not minutes). */
const TCP_IDLE_MS = 10_000;

export class DnsProxy {
  private readonly udp: Socket[] = [];
  private tcp: Server | undefined;

  constructor(private readonly options: DnsProxyOptions) {}

  async listen(): Promise<void> {
    const { port } = this.options;
    const bindUdp = (type: 'udp4' | 'udp6', address: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = createSocket({ type, ...(type === 'udp6' ? { ipv6Only: true } : {}) });
        socket.once('error', reject);
        socket.on('message', (msg, rinfo) => {
          this.answer(msg, rinfo.address, 'udp')
            .then((answer) => {
              if (answer) socket.send(answer, rinfo.port, rinfo.address);
            })
            .catch((error) => this.options.onError(error as Error));
        });
        socket.bind(port, address, () => {
          socket.off('error', reject);
          socket.on('error', (error) => this.options.onError(error));
          this.udp.push(socket);
          resolve();
        });
      });
    await bindUdp('udp4', '0.0.0.0');
    // IPv6 pods' queries (redirected to the node's address on their interface); a node without
    // IPv6 has none.
    await bindUdp('udp6', '::').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') throw error;
    });
    this.tcp = createServer((socket) => this.serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      this.tcp!.once('error', reject);
      // Both families where the node has IPv6 (the default dual-stack socket), else IPv4.
      this.tcp!.listen(port, () => {
        this.tcp!.off('error', reject);
        this.tcp!.on('error', (error) => this.options.onError(error));
        resolve();
      });
    });
  }

  /** One pod connection: length-prefixed queries in, length-prefixed answers out, in order. */
  private serveTcp(socket: TcpSocket): void {
    const client = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const query = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        chain = chain.then(async () => {
          const answer = await this.answer(query, client, 'tcp').catch((error) => {
            this.options.onError(error as Error);
            return undefined;
          });
          // A refused query closes the connection: the pod sees what a dropped packet gives it.
          if (!answer) socket.destroy();
          else if (!socket.destroyed) socket.write(frame(answer));
        });
      }
    });
  }

  /**
   * The answer to `query` from the pod at `client`, after its addresses are in the kernel;
   * undefined when the pod's egress to the DNS server is denied (the query is dropped).
   */
  private async answer(query: Buffer, client: string, transport: DnsTransport): Promise<Buffer | undefined> {
    const count = this.options.counted ?? (() => {});
    const context = this.options.current();
    if (!context) {
      count('denied', transport);
      return undefined;
    }
    // The pod's egress to the DNS server, as the engine decides it: a denied query is dropped.
    const flow = resolveFlow(context.evaluator.inventory, {
      src: client,
      dst: this.options.upstream,
      protocol: transport === 'udp' ? 'UDP' : 'TCP',
      port: 53,
    });
    if (!flow.ok || context.evaluator.evaluate(flow.flow).verdict !== 'allow') {
      count('denied', transport);
      return undefined;
    }
    let answer: Buffer;
    try {
      answer = transport === 'udp' ? await this.forwardUdp(query) : await this.forwardTcp(query);
    } catch (error) {
      count('failed', transport);
      throw error;
    }
    await this.learn(context, answer);
    count('answered', transport);
    return answer;
  }

  /** Adds the answered A/AAAA addresses to the sets of the `toFqdn` rules the question fits. */
  private async learn(context: DnsProxyContext, answer: Buffer): Promise<void> {
    const parsed = Packet.parse(answer) as {
      questions: Array<{ name: string }>;
      answers: Array<{ type: number; address?: string; ttl: number }>;
    };
    const name = normalizeDnsName(parsed.questions[0]?.name ?? '');
    const sets = context.fqdnSets.filter((s) => s.matches(name));
    if (sets.length === 0) return;
    const lines: string[] = [];
    const now = Date.now();
    for (const a of parsed.answers) {
      if ((a.type !== TYPE_A && a.type !== TYPE_AAAA) || !a.address) continue;
      const ttl = Math.max(1, a.ttl);
      const suffix = a.type === TYPE_A ? '4' : '6';
      for (const set of sets)
        lines.push(`add element inet nyx ${set.name}_${suffix} { ${a.address} timeout ${ttl}s }`);
      this.options.learned({ name, address: a.address, expiresAt: now + ttl * 1000 });
    }
    // The addresses are in the kernel before the pod can connect to them.
    if (lines.length > 0) await runNft(this.options.nft, ['-f', '-'], `${lines.join('\n')}\n`);
  }

  private forwardUdp(query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(this.options.upstream.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`DNS upstream ${this.options.upstream} did not answer over UDP`));
      }, UPSTREAM_TIMEOUT_MS);
      socket.on('message', (msg) => {
        clearTimeout(timer);
        socket.close();
        resolve(msg);
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        socket.close();
        reject(error);
      });
      socket.send(query, 53, this.options.upstream);
    });
  }

  /** One query over a fresh TCP connection to the upstream (what the pod's retry asked for). */
  private forwardTcp(query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.options.upstream, port: 53 });
      let received = Buffer.alloc(0);
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.setTimeout(UPSTREAM_TIMEOUT_MS, () =>
        fail(new Error(`DNS upstream ${this.options.upstream} did not answer over TCP`)),
      );
      socket.on('error', fail);
      socket.on('data', (data: Buffer) => {
        received = Buffer.concat([received, data]);
        if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
          socket.end();
          resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
        }
      });
      socket.on('end', () =>
        fail(new Error(`DNS upstream ${this.options.upstream} closed without an answer`)),
      );
      socket.write(frame(query));
    });
  }

  close(): void {
    for (const socket of this.udp) socket.close();
    this.tcp?.close();
  }
}

/** A DNS message with its two-byte length prefix (DNS over TCP). */
function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}
