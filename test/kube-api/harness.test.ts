// `npx nyx-test-apiserver` and `npm run build:kube` as a user runs them: the `listening on` line, the
// kubeconfig's identities, a restart that keeps its objects, stopping without orphans, and the errors
// of a bad start.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, pinnedKubeVersions, runKubectl, startTestApiServer } from '../src/index.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'node_modules/.bin/nyx-test-apiserver');
const LISTENING = /^listening on https:\/\/127\.0\.0\.1:(\d+)$/m;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'nyx-kube-harness-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  port: number;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** Spawns a command that runs nyx-test-apiserver and resolves once it prints its `listening on` line. */
function startCli(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const started: Started = { child, port: 0, stdout: '', stderr: '', exited };
  return new Promise((resolvePromise, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      started.stdout += chunk;
      const match = LISTENING.exec(started.stdout);
      if (match && started.port === 0) {
        started.port = Number(match[1]);
        resolvePromise(started);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      started.stderr += chunk;
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${started.stderr}`)));
  });
}

/** Pids of live processes whose command line mentions `needle` (the state folder of a run). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // zombies (state Z) are dead; their parent has not reaped them yet
    if (cmdline.includes(needle) && !/^\d+ \(.*\) Z/.test(state)) pids.push(Number(entry));
  }
  return pids;
}

/** Waits until no process mentions `needle`; fails with the survivors' pids after `timeoutMs`. */
async function waitNoProcesses(needle: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesMentioning(needle);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still running for ${needle}: ${left.join(', ')}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('npx nyx-test-apiserver', () => {
  it('prints `listening on`, serves kubectl through its kubeconfig with three identities, and stops on SIGTERM', async () => {
    const stateDir = join(scratch, 'npx-state');
    const kubeconfig = join(scratch, 'npx-kubeconfig');
    const run = await startCli('npx', [
      'nyx-test-apiserver',
      '--port',
      '0',
      '--kubeconfig-out',
      kubeconfig,
      '--state-dir',
      stateDir,
    ]);
    expect(run.stdout).toMatch(LISTENING);
    expect(run.stdout.trim()).toBe(`listening on https://127.0.0.1:${run.port}`);

    const ready = await runKubectl(kubeconfig, ['get', '--raw', '/readyz']);
    expect(ready).toMatchObject({ code: 0, stdout: 'ok' });
    const version = await runKubectl(kubeconfig, ['version', '-o', 'json']);
    expect(version.code).toBe(0);
    const { kubernetes } = await pinnedKubeVersions();
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe(kubernetes);

    const contexts = await runKubectl(kubeconfig, ['config', 'get-contexts', '-o', 'name']);
    expect(contexts.stdout.split('\n').filter(Boolean).sort()).toEqual(['admin', 'alice', 'reconciler']);
    expect((await runKubectl(kubeconfig, ['config', 'current-context'])).stdout.trim()).toBe('admin');
    const whoami = async (context: string) =>
      JSON.parse(
        (await runKubectl(kubeconfig, ['--context', context, 'auth', 'whoami', '-o', 'json'])).stdout,
      ).status.userInfo;
    expect(await whoami('admin')).toMatchObject({
      username: 'nyx-admin',
      groups: expect.arrayContaining(['system:masters']),
    });
    expect(await whoami('alice')).toMatchObject({
      username: 'alice',
      groups: expect.arrayContaining(['ops']),
    });
    expect(await whoami('reconciler')).toMatchObject({
      username: 'system:serviceaccount:nyx-system:nyx-reconciler',
    });

    run.child.kill('SIGTERM');
    await run.exited;
    await waitNoProcesses(stateDir);
  });

  it('keeps its objects and its port across a restart on the same --state-dir', async () => {
    const stateDir = join(scratch, 'restart-state');
    const kubeconfig = join(scratch, 'restart-kubeconfig');
    const args = ['--port', '0', '--kubeconfig-out', kubeconfig, '--state-dir', stateDir];
    const first = await startCli(bin, args);
    const created = await runKubectl(kubeconfig, ['create', 'configmap', 'kept', '--from-literal=answer=42']);
    expect(created.code).toBe(0);
    first.child.kill('SIGINT');
    await first.exited;
    await waitNoProcesses(stateDir);

    const second = await startCli(bin, args);
    expect(second.port).toBe(first.port);
    const kept = await runKubectl(kubeconfig, ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.answer}']);
    expect(kept).toMatchObject({ code: 0, stdout: '42' });
    // the reconciler's token was issued before the restart and is still accepted
    const asReconciler = await runKubectl(kubeconfig, ['--context', 'reconciler', 'auth', 'whoami']);
    expect(asReconciler.stdout).toContain('system:serviceaccount:nyx-system:nyx-reconciler');
    second.child.kill('SIGTERM');
    await second.exited;
    await waitNoProcesses(stateDir);
  });

  it('stops kube-apiserver and etcd when its parent is killed', async () => {
    const stateDir = join(scratch, 'orphan-parent');
    const kubeconfig = join(scratch, 'orphan-parent-kubeconfig');
    // The parent is a shell that waits on it; SIGKILL leaves the shell no chance to pass anything on.
    const parent = await startCli('sh', [
      '-c',
      `"${bin}" --port 0 --kubeconfig-out "${kubeconfig}" --state-dir "${stateDir}" & wait`,
    ]);
    // the shell, nyx-test-apiserver, etcd and kube-apiserver
    expect(await processesMentioning(stateDir)).toHaveLength(4);
    parent.child.kill('SIGKILL');
    await waitNoProcesses(stateDir);
  });

  it('leaves no etcd or kube-apiserver behind when it is killed itself', async () => {
    const stateDir = join(scratch, 'orphan-self');
    const run = await startCli(bin, [
      '--port',
      '0',
      '--kubeconfig-out',
      join(scratch, 'k-self'),
      '--state-dir',
      stateDir,
    ]);
    // nyx-test-apiserver, etcd and kube-apiserver
    expect(await processesMentioning(stateDir)).toHaveLength(3);
    run.child.kill('SIGKILL');
    await waitNoProcesses(stateDir);
  });
});

describe('a bad start says why', () => {
  const runToEnd = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    try {
      const { stdout, stderr } = await exec(bin, args, { cwd: root, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  it('a port already taken', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((done) =>
      taken.listen(0, '127.0.0.1', () => done((taken.address() as { port: number }).port)),
    );
    try {
      const result = await runToEnd(['--port', String(port), '--kubeconfig-out', join(scratch, 'k-taken')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(result.stdout).not.toContain('listening on');
    } finally {
      taken.close();
    }
  });

  it('binaries not built, or stale, name the build command', async () => {
    const empty = join(scratch, 'no-binaries');
    const missing = await runToEnd(['--port', '0', '--kubeconfig-out', join(scratch, 'k-missing')], {
      ...process.env,
      NYX_KUBE_BIN_DIR: empty,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(empty, 'kube-apiserver')} is not built`);
    expect(missing.stderr).toContain('run `npm run build:kube`');

    const stale = join(scratch, 'stale-binaries');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'kube-apiserver'), '#!/bin/sh\necho "Kubernetes v1.20.0"\n', { mode: 0o755 });
    await writeFile(join(stale, 'etcd'), '#!/bin/sh\necho "etcd Version: 3.4.23"\n', { mode: 0o755 });
    await expect(startTestApiServer({ env: { ...process.env, NYX_KUBE_BIN_DIR: stale } })).rejects.toThrow(
      /kube-apiserver is stale \(Kubernetes v1\.20\.0\).*etcd is stale \(etcd Version: 3\.4\.23\): run `npm run build:kube`/,
    );
  });

  it('etcd that cannot start, with its last log lines', async () => {
    const stateDir = join(scratch, 'etcd-broken');
    await mkdir(stateDir, { recursive: true });
    // etcd's data folder is a file: etcd exits at once
    await writeFile(join(stateDir, 'etcd'), 'not a folder\n');
    const started = startTestApiServer({ stateDir });
    await expect(started).rejects.toThrow(
      /etcd exited \(exit code \d+\) before it was ready; last lines of .*etcd\.log:\n {2}\| /,
    );
    await waitNoProcesses(stateDir);
  });

  it('etcd not ready in time, with its last log lines, and nothing left running', async () => {
    const stateDir = join(scratch, 'etcd-slow');
    const database = join(stateDir, 'etcd/member/snap/db');
    await mkdir(join(stateDir, 'etcd/member/snap'), { recursive: true, mode: 0o700 });
    await writeFile(database, '');
    // Another process holds the lock on etcd's database: etcd waits for it, alive and never ready.
    const holder = spawn('flock', ['--exclusive', database, 'sleep', '120'], { stdio: 'ignore' });
    try {
      await expect(startTestApiServer({ stateDir, readyTimeoutMs: 3_000 })).rejects.toThrow(
        /^etcd was not ready within 3 s; last lines of .*etcd\.log:/,
      );
      // (the lock holder's own command line names the database, not the flag)
      await waitNoProcesses(`--data-dir=${join(stateDir, 'etcd')}`);
    } finally {
      holder.kill();
    }
  });

  it('bad flags exit 2 with the usage', async () => {
    const result = await runToEnd(['--port', 'eighty', '--kubeconfig-out', join(scratch, 'k-usage')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be 0..65535');
    expect(result.stderr).toContain(
      'usage: nyx-test-apiserver --port 0 --kubeconfig-out FILE [--state-dir DIR]',
    );
    const noKubeconfig = await runToEnd(['--port', '0']);
    expect(noKubeconfig.code).toBe(2);
    expect(noKubeconfig.stderr).toContain('--kubeconfig-out FILE is required');
  });
});

describe('npm run build:kube', () => {
  it('does nothing, and says so, when both binaries are built at the pinned versions', async () => {
    const versions = await pinnedKubeVersions();
    const { stdout } = await exec('npm', ['run', '--silent', 'build:kube'], { cwd: root });
    const dir = kubeBinDir(versions);
    expect(stdout).toContain(
      `kube-apiserver ${versions.kubernetes} is already built at ${join(dir, 'kube-apiserver')}: nothing to do`,
    );
    expect(stdout).toContain(`etcd ${versions.etcd} is already built at ${join(dir, 'etcd')}: nothing to do`);
    expect(stdout).not.toContain('building');
  });

  it('rebuilds a stale binary and keeps the one that is current', async () => {
    const versions = await pinnedKubeVersions();
    const dir = join(scratch, 'rebuild');
    await mkdir(dir, { recursive: true });
    await copyFile(join(kubeBinDir(versions), 'kube-apiserver'), join(dir, 'kube-apiserver'));
    await writeFile(join(dir, 'etcd'), '#!/bin/sh\necho "etcd Version: 3.4.23"\n', { mode: 0o755 });
    const { stdout } = await exec('npm', ['run', '--silent', 'build:kube'], {
      cwd: root,
      env: { ...process.env, NYX_KUBE_BIN_DIR: dir },
    });
    expect(stdout).toContain(
      `kube-apiserver ${versions.kubernetes} is already built at ${join(dir, 'kube-apiserver')}: nothing to do`,
    );
    expect(stdout).toContain(`${join(dir, 'etcd')} is stale (etcd Version: 3.4.23): rebuilding`);
    expect(stdout).toContain(`built ${join(dir, 'etcd')} in`);
    const { stdout: version } = await exec(join(dir, 'etcd'), ['--version']);
    expect(version).toContain(`etcd Version: ${versions.etcd.replace(/^v/, '')}`);
    // nothing half-written is left beside the binaries
    expect((await readdir(dir)).sort()).toEqual(['etcd', 'kube-apiserver']);
  });
});
