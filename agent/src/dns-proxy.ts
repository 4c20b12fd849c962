// FQDN egress by DNS (SPEC section 7, point 7): local pods' DNS queries are redirected here (the
// `dns` nat chain of the agent's script). The proxy applies the pod's egress verdict to the query
// itself, forwards it to the cluster DNS, and before the answer reaches the pod adds every answered
// address to the nft sets of the `toFqdn` rules whose name or pattern the question fits, each with
// the record's TTL (as Cilium's DNS proxy does). The kernel then matches addresses, the engine
// names: where one address serves several names (CDNs, shared hosting) the kernel allows a name the
// engine would not. Checking the TLS ClientHello server name would be the stricter way.
//
// UDP only: a pod that falls back to DNS over TCP (answers over 512 bytes) gets no answer through
// the proxy (documented limitation).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
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

export interface DnsProxyOptions {
  port: number;
  upstream: string;
  nft: string;
  /** What is enforced now (undefined before the first apply: queries are dropped). */
  current(): DnsProxyContext | undefined;
  /** Called for every answered address of a name some `toFqdn` rule names, after the nft add. */
  learned(entry: LearnedAddress): void;
  onError(error: Error): void;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

export class DnsProxy {
  private server: Socket | undefined;

  constructor(private readonly options: DnsProxyOptions) {}

  listen(): Promise<void> {
    const server = createSocket('udp4');
    this.server = server;
    server.on('message', (msg, rinfo) => {
      this.handle(msg, rinfo).catch((error) => this.options.onError(error as Error));
    });
    server.on('error', (error) => this.options.onError(error));
    return new Promise((resolve) => server.bind(this.options.port, '0.0.0.0', () => resolve()));
  }

  private async handle(query: Buffer, client: RemoteInfo): Promise<void> {
    const context = this.options.current();
    if (!context) return;
    // The pod's egress to the DNS server, as the engine decides it: a denied query is dropped.
    const flow = resolveFlow(context.evaluator.inventory, {
      src: client.address,
      dst: this.options.upstream,
      protocol: 'UDP',
      port: 53,
    });
    if (!flow.ok || context.evaluator.evaluate(flow.flow).verdict !== 'allow') return;
    const answer = await this.forward(query);
    const parsed = Packet.parse(answer) as {
      questions: Array<{ name: string }>;
      answers: Array<{ type: number; address?: string; ttl: number }>;
    };
    const name = normalizeDnsName(parsed.questions[0]?.name ?? '');
    const sets = context.fqdnSets.filter((s) => s.matches(name));
    if (sets.length > 0) {
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
    this.server?.send(answer, client.port, client.address);
  }

  private forward(query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(this.options.upstream.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`DNS upstream ${this.options.upstream} did not answer`));
      }, 5000);
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

  close(): void {
    this.server?.close();
  }
}
