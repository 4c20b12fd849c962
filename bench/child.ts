// One measurement in a fresh process, so that its peak RSS is its own. Prints one JSON line:
//   floor <flows>                              JSON.parse of every line, read as nyxctl reads it
//   impact <base> <head> <inventory> <flows>   the full `nyxctl impact` path, output discarded
// Time is measured inside the process, after module loading (tsx start-up is not the engine's).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

interface Result {
  ms: number;
  [key: string]: unknown;
}

async function floor(file: string): Promise<Result> {
  const started = performance.now();
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let records = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const value = JSON.parse(line) as { port?: number };
    if (value.port !== undefined) records++;
  }
  return { ms: performance.now() - started, records };
}

async function impact(base: string, head: string, inventory: string, flows: string): Promise<Result> {
  // Loaded here (and before the clock starts) so that the floor's process carries no engine.
  const { countingSink, runImpact } = await import('@nyx/cli');
  const out = countingSink();
  const phases: Record<string, number> = {};
  const started = performance.now();
  let last = started;
  const mark = (phase: string): void => {
    const now = performance.now();
    phases[phase] = now - last;
    last = now;
  };
  // Markdown: the bot's comment.
  const code = await runImpact(
    { base, head, inventory, flows, format: 'markdown' },
    { out, err: countingSink(), progress: false, now: () => performance.now(), mark },
  );
  if (code !== 0) throw new Error(`impact exited ${code}`);
  return { ms: performance.now() - started, outputChars: out.length, phases };
}

const [mode, ...args] = process.argv.slice(2);
const result =
  mode === 'floor'
    ? await floor(args[0]!)
    : mode === 'impact'
      ? await impact(args[0]!, args[1]!, args[2]!, args[3]!)
      : undefined;
if (!result) throw new Error(`unknown mode ${mode}`);
// maxRSS is in kilobytes.
process.stdout.write(
  `${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
);
