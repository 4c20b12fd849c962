// Whole-process figures, as a user runs the commands: the built `nyxctl` (start-up included), timed
// from outside against a floor process of the same kind, in alternating pairs, medians compared
// (SPEC 8.9). Wall time is taken around the child; peak RSS from GNU time (`/usr/bin/time -f %M`)
// when the machine has it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const NYXCTL = join(ROOT, 'cli/bin/nyxctl.js');
const FLOOR = join(ROOT, 'bench/floor.mjs');
const GNU_TIME = '/usr/bin/time';

interface Sample {
  ms: number;
  maxRssBytes: number | undefined;
}

/** Runs `node ...args` once (stdout discarded); its wall time and, with GNU time, its peak RSS. */
function timed(args: string[], scratch: string): Promise<Sample> {
  const rssFile = join(scratch, 'rss');
  const withTime = existsSync(GNU_TIME);
  const [file, argv] = withTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
    : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}:\n${stderr}`));
      const kb = withTime ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : Number.NaN;
      resolve({ ms, maxRssBytes: Number.isFinite(kb) ? kb * 1024 : undefined });
    });
  });
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface WholeProcessPair {
  label: string;
  floorLabel: string;
  floorMs: number;
  ms: number;
  maxRssBytes: number | undefined;
  runs: number;
}

/** `pairs` alternating runs of the floor and the command; medians of each. */
export async function measurePair(
  label: string,
  command: string[],
  floorLabel: string,
  floor: string[],
  pairs: number,
): Promise<WholeProcessPair> {
  const scratch = mkdtempSync(join(tmpdir(), 'nyx-bench-'));
  try {
    await timed(floor, scratch); // warm the file cache for both
    const floors: number[] = [];
    const runs: Sample[] = [];
    for (let i = 0; i < pairs; i++) {
      floors.push((await timed(floor, scratch)).ms);
      runs.push(await timed(command, scratch));
    }
    const rss = runs.map((r) => r.maxRssBytes).filter((b): b is number => b !== undefined);
    return {
      label,
      floorLabel,
      floorMs: median(floors),
      ms: median(runs.map((r) => r.ms)),
      maxRssBytes: rss.length > 0 ? Math.max(...rss) : undefined,
      runs: pairs,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export const nyxctl = (...args: string[]): string[] => [NYXCTL, ...args];
export const readlineFloor = (flows: string): string[] => [FLOOR, flows];
export const emptyNode = ['-e', '0'];
