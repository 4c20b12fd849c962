// What the reconciler's integration tests run against: the real kube-apiserver + etcd (one per test
// file), the project's CRDs and the reconciler's RBAC from deploy/, a git http-backend server the
// tests push to with the git CLI, and a real redis-server.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createGitRepo,
  type GitRepo,
  type GitServer,
  pushToServer,
  type RedisServer,
  runKubectl,
  sourceProcessArgs,
  startGitServer,
  startRedis,
  startTestApiServer,
  type TestApiServer,
} from '@nyx/test';
import { pino } from 'pino';
import { type RunningReconciler, startReconciler } from '../src/app.js';
import { type ReconcilerConfig, readConfig } from '../src/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WEBHOOK_SECRET = 'push-secret';

export interface World {
  api: TestApiServer;
  /** A kubeconfig whose current context is the reconciler's service account. */
  reconcilerKubeconfig: string;
  git: GitServer;
  repo: GitRepo;
  remote: string;
  redis: RedisServer;
  dir: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** kubectl that may fail: its exit code and output. */
  kubectlResult(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Commits `files` and pushes them with the git CLI; returns the commit. */
  commitAndPush(
    files: Record<string, string | null>,
    options?: { force?: boolean; parent?: string; replace?: boolean },
  ): Promise<string>;
  /** Fetches the server's branch into the local repository: the next commit builds on it. */
  pull(): Promise<void>;
  config(overrides?: Record<string, string>): ReconcilerConfig;
  startReconciler(overrides?: Record<string, string>): Promise<RunningReconciler>;
  /** Runs the real `nyxctl` with the cluster admin's kubeconfig. */
  nyxctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Sends a signed push webhook to a running reconciler. */
  push(r: RunningReconciler, after: string): Promise<number>;
  close(): Promise<void>;
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startWorld(): Promise<World> {
  const [api, git, redis, repo] = await Promise.all([
    startTestApiServer(),
    startGitServer(),
    startRedis(),
    createGitRepo(),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'nyx-reconciler-test-'));
  const kubectlResult = async (args: string[], input?: string) =>
    runKubectl(api.kubeconfigPath, args, input === undefined ? {} : { input });
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectlResult(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await kubectl(['apply', '-f', join(ROOT, 'deploy/crds/')]);
  await kubectl(['apply', '-f', join(ROOT, 'deploy/reconciler/rbac.yaml')]);
  await kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all']);
  const reconcilerKubeconfig = join(dir, 'reconciler.kubeconfig');
  await copyFile(api.kubeconfigPath, reconcilerKubeconfig);
  const switched = await runKubectl(reconcilerKubeconfig, ['config', 'use-context', 'reconciler']);
  if (switched.code !== 0) throw new Error(switched.stderr);
  const remote = await git.createRepo('acme/policies');
  let n = 0;
  let nextParent: string | undefined;
  const world: World = {
    api,
    reconcilerKubeconfig,
    git,
    repo,
    remote,
    redis,
    dir,
    kubectl,
    kubectlResult,
    async commitAndPush(files, options = {}) {
      const parent = options.parent ?? nextParent;
      nextParent = undefined;
      const sha = await repo.commit(files, {
        ...(parent !== undefined ? { parent } : {}),
        ...(options.replace ? { replace: true } : {}),
      });
      await pushToServer(repo, remote, sha, { force: options.force ?? false });
      return sha;
    },
    async pull() {
      await promisify(execFile)('git', ['fetch', '-q', remote, 'main'], {
        cwd: repo.dir,
        env: { ...process.env, HOME: dir },
      });
      nextParent = (
        await promisify(execFile)('git', ['rev-parse', 'FETCH_HEAD'], { cwd: repo.dir })
      ).stdout.trim();
    },
    config(overrides = {}) {
      const r = readConfig({
        NYX_GIT_URL: remote,
        KUBECONFIG: reconcilerKubeconfig,
        REDIS_URL: redis.url,
        PORT: '0',
        NYX_STATE_DIR: join(dir, `state-${n++}`),
        NYX_GIT_POLL_INTERVAL: '3600',
        NYX_WEBHOOK_SECRET: WEBHOOK_SECRET,
        NYX_LEADER_ELECTION: 'false',
        NYX_INVENTORY_DEBOUNCE_MS: '20',
        LOG_LEVEL: 'silent',
        ...overrides,
      });
      if (!r.ok) throw new Error(r.errors.join('\n'));
      return r.config;
    },
    async startReconciler(overrides = {}) {
      const config = world.config(overrides);
      return startReconciler(config, {
        listenAddress: '127.0.0.1',
        log: pino({ level: process.env.NYX_TEST_LOG ?? 'silent' }),
      });
    },
    nyxctl(args) {
      return new Promise((done) => {
        execFile(
          process.execPath,
          [...sourceProcessArgs(join(ROOT, 'cli/src/main.ts')), ...args, '--kubeconfig', api.kubeconfigPath],
          (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    },
    async push(r, after) {
      const body = JSON.stringify({ ref: 'refs/heads/main', after });
      const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
      const res = await fetch(`${r.url}/hooks/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
      });
      return res.status;
    },
    async close() {
      await Promise.allSettled([api.stop(), git.close(), redis.close(), repo.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

export const nnp = (name: string, priority: number, extra = ''): string =>
  `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
spec:
  priority: ${priority}
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      from:
        - podSelector: {}${extra}
`;

export const CLUSTER_CONFIG = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata:
  name: cluster
spec:
  defaultMode: allow
`;
