// Runs the real `nyxctl` binary (through tsx, as users do) from the repository root or elsewhere.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'node_modules/.bin/nyxctl');

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
    execFile(BIN, args, { cwd, env: { ...process.env, NYX_DEBUG: '' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
