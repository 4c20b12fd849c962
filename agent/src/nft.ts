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

/** Reads `flows4`/`flows6` of `inet nyx` (absent sets read as empty). */
export async function readCapturedFlows(nft: string): Promise<CapturedFlow[]> {
  const out: CapturedFlow[] = [];
  for (const set of ['flows4', 'flows6']) {
    let text: string;
    try {
      text = await runNft(nft, ['-j', 'list', 'set', 'inet', 'nyx', set]);
    } catch {
      continue;
    }
    const json = JSON.parse(text) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
    for (const entry of json.nftables) {
      for (const e of entry.set?.elem ?? []) {
        const elem = (e as { elem?: { val?: unknown; counter?: { packets: number } } }).elem;
        const concat = (elem?.val as { concat?: unknown[] } | undefined)?.concat;
        if (concat?.length !== 4) continue;
        const [src, dst, proto, port] = concat as [string, string, string | number, number];
        const protocol = PROTOCOLS[String(proto)];
        if (!protocol) continue;
        out.push({ src, dst, protocol, port: Number(port), packets: elem?.counter?.packets ?? 0 });
      }
    }
  }
  return out;
}
