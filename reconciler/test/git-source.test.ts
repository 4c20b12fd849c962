// The source step against a real git server (git http-backend over smart HTTP), pushed to with the
// real git CLI.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepo, type GitRepo, type GitServer, pushToServer, startGitServer } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../src/git-source.js';

const POLICY = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: allow-web
spec:
  priority: 200
  podSelector: {}
  ingress:
    - decision: Allow
`;

describe('GitSource over smart HTTP', () => {
  let server: GitServer;
  let repo: GitRepo;
  let remote: string;
  let stateDir: string;

  beforeAll(async () => {
    server = await startGitServer();
    repo = await createGitRepo();
    remote = await server.createRepo('policies');
    stateDir = await mkdtemp(join(tmpdir(), 'nyx-source-'));
  });
  afterAll(async () => {
    await server?.close();
    await repo?.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('fetches the branch tip and reads only the manifests', async () => {
    const first = await repo.commit({
      'namespaces/shop/allow.yaml': POLICY,
      'namespaces/shop/OWNERS': 'approvers: [alice]\n',
      'README.md': '# policies\n',
      'examples/x.yaml': 'not: policy\n',
    });
    await pushToServer(repo, remote, first);
    const source = new GitSource({ url: remote, branch: 'main', gitdir: join(stateDir, 'a') });
    const fetched = await source.fetch();
    expect(fetched.revision).toBe(first);
    expect(fetched.files.map((f) => f.path)).toEqual(['namespaces/shop/allow.yaml']);
    expect(fetched.files[0]?.content).toBe(POLICY);
    expect(fetched.rewrittenFrom).toBeUndefined();

    const second = await repo.commit({ 'namespaces/shop/allow.yaml': null, 'cluster/x.yaml': POLICY });
    await pushToServer(repo, remote, second);
    const next = await source.fetch();
    expect(next.revision).toBe(second);
    expect(next.files.map((f) => f.path)).toEqual(['cluster/x.yaml']);
    expect(next.rewrittenFrom).toBeUndefined();
    // A poll of a tip already built reads nothing.
    expect(await source.fetch(second)).toEqual({
      revision: second,
      files: [],
      treeErrors: [],
      unchanged: true,
    });
  });

  it('refuses oversized manifests and symlinked ones as tree errors (path:1), reading nothing more', async () => {
    const big = `${POLICY}# ${'x'.repeat(5000)}\n`;
    const sha = await repo.commit({ 'namespaces/shop/big.yaml': big, 'namespaces/shop/ok.yaml': POLICY });
    await pushToServer(repo, remote, sha);
    const source = new GitSource({
      url: remote,
      branch: 'main',
      gitdir: join(stateDir, 'limits'),
      limits: { maxFileBytes: 4096, maxTotalBytes: 1 << 20, maxEntries: 1000 },
    });
    const fetched = await source.fetch();
    expect(fetched.treeErrors).toEqual([
      {
        file: 'namespaces/shop/big.yaml',
        line: 1,
        message: `file is ${Buffer.byteLength(big)} bytes; the limit is 4096`,
      },
    ]);
    expect(fetched.files.map((f) => f.path)).toContain('namespaces/shop/ok.yaml');
    expect(fetched.files.map((f) => f.path)).not.toContain('namespaces/shop/big.yaml');

    // A symlink (mode 120000, as git stores one) named like a manifest, pointing outside the tree.
    const git = async (args: string[], input?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile('git', args, { cwd: repo.dir }, (e, out) =>
          e ? reject(e) : resolve(out.trim()),
        );
        child.stdin?.on('error', () => {});
        if (input === undefined) child.stdin?.end();
        else child.stdin?.end(input);
      });
    const target = await git(['hash-object', '-w', '--stdin'], '/etc/passwd');
    const ok = await git(['hash-object', '-w', '--stdin'], POLICY);
    const tree = await git(['mktree'], `120000 blob ${target}\tlink.yaml\n100644 blob ${ok}\tok.yaml\n`);
    const linked = await git(['commit-tree', tree, '-p', sha, '-m', 'symlink']);
    await pushToServer(repo, remote, linked);
    const withLink = await source.fetch();
    expect(withLink.treeErrors).toEqual([
      { file: 'link.yaml', line: 1, message: 'a symlink; policy manifests must be regular files' },
    ]);
    expect(withLink.files.map((f) => f.path)).toEqual(['ok.yaml']);
  });

  it('reports a force-pushed history', async () => {
    const source = new GitSource({ url: remote, branch: 'main', gitdir: join(stateDir, 'b') });
    const before = await source.fetch();
    const rewritten = await repo.commit({ 'cluster/y.yaml': POLICY }, { replace: true, parent: '' });
    await pushToServer(repo, remote, rewritten, { force: true });
    const after = await source.fetch();
    expect(after.revision).toBe(rewritten);
    expect(after.rewrittenFrom).toBe(before.revision);
  });

  it('sends the token and fails on server errors without a revision', async () => {
    server.requireToken('s3cret');
    try {
      const withToken = new GitSource({
        url: remote,
        branch: 'main',
        token: 's3cret',
        gitdir: join(stateDir, 'c'),
      });
      expect((await withToken.fetch()).files.length).toBeGreaterThan(0);
      const without = new GitSource({ url: remote, branch: 'main', gitdir: join(stateDir, 'd') });
      await expect(without.fetch()).rejects.toThrow(/401/);
    } finally {
      server.requireToken(undefined);
    }
    server.failNext(1, 503);
    const failing = new GitSource({ url: remote, branch: 'main', gitdir: join(stateDir, 'e') });
    await expect(failing.fetch()).rejects.toThrow(/503/);
  });
});
