// Runs the real `nyxctl` process from the repository root or elsewhere: its sources through tsx, so a
// test never runs stale built output (the built bin is run by test/e2e/pack-install.test.ts).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { sourceProcessArgs } from '@nyx/test';

export const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'cli/src/main.ts');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function nyxctl(...args: string[]): Promise<Run> {
  return nyxctlFrom(ROOT, ...args);
}

/** `nyxctl` run from `cwd`, as from a policy repository elsewhere on disk. */
export function nyxctlFrom(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...sourceProcessArgs(MAIN), ...args],
      { cwd, env: { ...process.env, NYX_DEBUG: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
