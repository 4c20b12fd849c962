// `npx nyx-reconciler` as users start it: refuses bad settings with a clear message (exit 2), prints
// its effective configuration with secrets masked.
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceProcessArgs } from '@nyx/test';
import { describe, expect, it } from 'vitest';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');

function run(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      sourceProcessArgs(MAIN),
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const NYXCTL = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/src/main.ts');

describe('nyxctl status and pause without a usable kubeconfig', () => {
  it('exit 2 with the kubeconfig named, not an unexpected error', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [...sourceProcessArgs(NYXCTL), 'status', '--kubeconfig', '/nonexistent/kubeconfig'],
        (error, _out, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      ),
    );
    expect(r).toEqual({
      code: 2,
      stderr: expect.stringMatching(/^nyxctl: --kubeconfig \/nonexistent\/kubeconfig: cannot use it: ENOENT/),
    });
  });
});

describe('nyx-reconciler start-up', () => {
  it('refuses to start without NYX_GIT_URL or with malformed settings, listing every problem', async () => {
    const r = await run({ NYX_GIT_POLL_INTERVAL: 'soon' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nyx-reconciler: refusing to start:');
    expect(r.stderr).toContain('NYX_GIT_URL is required');
    expect(r.stderr).toContain('NYX_GIT_POLL_INTERVAL="soon"');
    expect(r.stdout).toBe('');
  });

  it('prints its effective configuration with the token and webhook secret masked', async () => {
    const r = await run({
      NYX_GIT_URL: 'https://git.example/policies.git',
      NYX_GIT_TOKEN: 'ghp_supersecret',
      NYX_WEBHOOK_SECRET: 'hook-secret',
      KUBECONFIG: '/nonexistent/kubeconfig',
    });
    expect(r.stdout).toContain('nyx-reconciler configuration:');
    expect(r.stdout).toContain('gitUrl: https://git.example/policies.git');
    expect(r.stdout).toContain('gitToken: ***');
    expect(r.stdout).toContain('pollIntervalSeconds: 60');
    expect(`${r.stdout}${r.stderr}`).not.toContain('supersecret');
    expect(`${r.stdout}${r.stderr}`).not.toContain('hook-secret');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nyx-reconciler: failed to start:');
  });
});
