// The one place the agent runs `nft`: a whole script in one `nft -f -` transaction (the kernel
// applies all of it or none of it), and reads of the flow-capture sets.
import { spawn } from 'node:child_process';

/** Runs `nft` with `args`, `input` on stdin; rejects with nft's own message on failure. */
export function runNft(nft: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(nft, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', (error) => reject(new Error(`cannot run ${nft}: ${error.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`nft ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`)),
    );
    if (input !== undefined) {
      // nft may exit (on a syntax error) before it has read everything: its message is what counts.
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/** Loads `script` in one transaction; on failure the previous ruleset stays in force. */
export async function loadScript(nft: string, script: string): Promise<void> {
  await runNft(nft, ['-f', '-'], script);
}

/** One element of a flow-capture set: the tuple and how many new connections it counted. */
export interface CapturedFlow {
  src: string;
  dst: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  packets: number;
}

const PROTOCOLS: Record<string, CapturedFlow['protocol']> = {
  tcp: 'TCP',
  udp: 'UDP',
  sctp: 'SCTP',
  '6': 'TCP',
  '17': 'UDP',
  '132': 'SCTP',
};

/** The nft binary, or a function that runs nft with the given arguments (a test's `ip netns exec`). */
export type NftCommand = string | ((args: string[]) => Promise<string>);

/** One element of a tuple set: the flow, the reason id of a would-deny set, and its packet counter. */
interface TupleElement {
  src: string;
  dst: string;
  protocol: CapturedFlow['protocol'];
  port: number;
  id?: number;
  packets: number;
}

/** The elements of one set of `inet nyx` keyed `address . address . protocol . port [. id]`. */
async function readTupleSet(nft: NftCommand, set: string): Promise<TupleElement[]> {
  let text: string;
  try {
    const args = ['-j', 'list', 'set', 'inet', 'nyx', set];
    text = typeof nft === 'string' ? await runNft(nft, args) : await nft(args);
  } catch {
    return []; // absent (no such set in the script in force): nothing recorded
  }
  const out: TupleElement[] = [];
  const json = JSON.parse(text) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  for (const entry of json.nftables) {
    for (const e of entry.set?.elem ?? []) {
      const elem = (e as { elem?: { val?: unknown; counter?: { packets: number } } }).elem;
      const concat = (elem?.val as { concat?: unknown[] } | undefined)?.concat;
      if (concat?.length !== 4 && concat?.length !== 5) continue;
      const [src, dst, proto, port, id] = concat as [string, string, string | number, number, number?];
      const protocol = PROTOCOLS[String(proto)];
      if (!protocol) continue;
      out.push({
        src,
        dst,
        protocol,
        port: Number(port),
        ...(id !== undefined ? { id: Number(id) } : {}),
        packets: elem?.counter?.packets ?? 0,
      });
    }
  }
  return out;
}

/** Reads `flows4`/`flows6` of `inet nyx` (absent sets read as empty). */
export async function readCapturedFlows(nft: NftCommand): Promise<CapturedFlow[]> {
  const out: CapturedFlow[] = [];
  for (const set of ['flows4', 'flows6']) {
    for (const { id: _id, ...flow } of await readTupleSet(nft, set)) out.push(flow);
  }
  return out;
}

/** A would-deny finding the kernel counted: the flow, the id of the deciding reason, how many new connections. */
export interface KernelFinding extends CapturedFlow {
  /** Index into the script's `CompiledRuleset.wouldDenyReasons`. */
  reasonId: number;
}

/**
 * The would-deny findings of the script in force (`nyxctl compile --agent`): those decided on this
 * node (`would_deny4/6`) and the pending egress findings to pods of other nodes whose flow was
 * answered (`would_deny_pending4/6` joined with the counters of `would_deny_replied4/6`).
 */
export async function readWouldDenyFindings(nft: NftCommand): Promise<KernelFinding[]> {
  const out: KernelFinding[] = [];
  for (const family of ['4', '6']) {
    for (const f of await readTupleSet(nft, `would_deny${family}`)) {
      if (f.id !== undefined) out.push({ ...f, reasonId: f.id });
    }
    const replied = new Map<string, number>();
    for (const r of await readTupleSet(nft, `would_deny_replied${family}`)) {
      replied.set(`${r.src} ${r.dst} ${r.protocol} ${r.port}`, r.packets);
    }
    for (const p of await readTupleSet(nft, `would_deny_pending${family}`)) {
      const packets = replied.get(`${p.src} ${p.dst} ${p.protocol} ${p.port}`);
      if (packets !== undefined && p.id !== undefined) {
        out.push({ src: p.src, dst: p.dst, protocol: p.protocol, port: p.port, reasonId: p.id, packets });
      }
    }
  }
  return out.map(({ id: _id, ...f }: KernelFinding & { id?: number }) => f);
}
