// One measurement in a fresh process, so that its peak RSS is its own. Prints one JSON line:
//   floor <flows>                              JSON.parse of every line, read as nyxctl reads it
//   impact <base> <head> <inventory> <flows>   the full `nyxctl impact` path, output discarded
// Time is measured inside the process, after module loading (tsx start-up is not the engine's).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

async function floor(file: string): Promise<{ records: number }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let records = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const value = JSON.parse(line) as { port?: number };
    if (value.port !== undefined) records++;
  }
  return { records };
}

async function impact(
  base: string,
  head: string,
  inventory: string,
  flows: string,
): Promise<{ outputChars: number }> {
  // Loaded here so that the floor's process carries no engine. Markdown: the bot's comment.
  const { countingSink, runImpact } = await import('@nyx/cli');
  const out = countingSink();
  const code = await runImpact(
    { base, head, inventory, flows, format: 'markdown' },
    { out, err: countingSink(), progress: false, now: () => performance.now() },
  );
  if (code !== 0) throw new Error(`impact exited ${code}`);
  return { outputChars: out.length };
}

const [mode, ...args] = process.argv.slice(2);
const started = performance.now();
const result =
  mode === 'floor'
    ? await floor(args[0]!)
    : mode === 'impact'
      ? await impact(args[0]!, args[1]!, args[2]!, args[3]!)
      : undefined;
if (!result) throw new Error(`unknown mode ${mode}`);
const ms = performance.now() - started;
// maxRSS is in kilobytes.
process.stdout.write(
  `${JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, ...result })}\n`,
);
