// The source step: follows one branch of a Git repository over smart HTTP(S) with isomorphic-git
// (token auth, shallow fetch into one git directory on a volume) and reads the policy files of the
// fetched commit straight from the object store (no checkout).
import * as fs from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type PolicyFile, policyManifestPaths, repoPathProblem } from '@nyx/core';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';

/** How many commits back a fetch reaches: enough to tell a fast-forward from a rewritten history. */
export const HISTORY_DEPTH = 50;

export interface SourceLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxEntries: 100_000,
};

export interface FetchedRevision {
  revision: string;
  files: PolicyFile[];
  /** Problems with the tree itself (a symlinked manifest, a file over the limits), as `path:1`. */
  treeErrors: Array<{ file: string; line: number; message: string }>;
  /**
   * When the previously fetched revision is not an ancestor of this one within `HISTORY_DEPTH`
   * commits: the branch was force-pushed (or more commits than that landed at once).
   */
  rewrittenFrom?: string;
  /** The tip is `known` (the caller's last build): nothing was read, `files` is empty. */
  unchanged?: boolean;
}

export interface GitSourceOptions {
  url: string;
  branch: string;
  token?: string;
  /** The git directory (created when missing). */
  gitdir: string;
  limits?: SourceLimits;
}

export class GitSource {
  private lastRevision: string | undefined;
  private readonly limits: SourceLimits;

  constructor(private readonly options: GitSourceOptions) {
    this.limits = options.limits ?? DEFAULT_SOURCE_LIMITS;
  }

  /**
   * Fetches the branch tip and reads its policy files, unless the tip is `known` (the revision the
   * caller built last). Throws when the server cannot be read.
   */
  async fetch(known?: string): Promise<FetchedRevision> {
    const { url, branch, token, gitdir } = this.options;
    await mkdir(gitdir, { recursive: true });
    if (!fs.existsSync(join(gitdir, 'HEAD')))
      await git.init({ fs, gitdir, bare: true, defaultBranch: branch });
    await git.addRemote({ fs, gitdir, remote: 'origin', url, force: true });
    const result = await git.fetch({
      fs,
      http,
      gitdir,
      remote: 'origin',
      ref: branch,
      remoteRef: branch,
      singleBranch: true,
      depth: HISTORY_DEPTH,
      tags: false,
      ...(token ? { onAuth: () => ({ username: 'x-access-token', password: token }) } : {}),
    });
    const revision = result.fetchHead;
    if (!revision) throw new Error(`git fetch ${url} ${branch}: the branch does not exist`);
    const fetched: FetchedRevision =
      revision === known
        ? { revision, files: [], treeErrors: [], unchanged: true }
        : await this.read(revision);
    const previous = this.lastRevision;
    if (previous && previous !== revision && !(await this.reaches(revision, previous))) {
      fetched.rewrittenFrom = previous;
    }
    this.lastRevision = revision;
    return fetched;
  }

  /** Remembers a revision as the one seen last (after a restart: the revision the cluster holds). */
  remember(revision: string): void {
    this.lastRevision = revision;
  }

  private async reaches(oid: string, ancestor: string): Promise<boolean> {
    try {
      const commits = await git.log({ fs, gitdir: this.options.gitdir, ref: oid, depth: HISTORY_DEPTH });
      return commits.some((c) => c.oid === ancestor);
    } catch {
      return false;
    }
  }

  private async read(revision: string): Promise<FetchedRevision> {
    const gitdir = this.options.gitdir;
    const entries: Array<{ path: string; oid: string; mode: string }> = [];
    const treeErrors: FetchedRevision['treeErrors'] = [];
    let count = 0;
    await git.walk({
      fs,
      gitdir,
      trees: [git.TREE({ ref: revision })],
      map: async (path, [entry]) => {
        if (path === '.' || !entry) return true;
        if (++count > this.limits.maxEntries) {
          throw new Error(`the tree has more than ${this.limits.maxEntries} entries; refusing to read it`);
        }
        const type = await entry.type();
        if (type === 'tree') return !path.split('/').some((s) => s === 'node_modules');
        if (type === 'blob')
          entries.push({ path, oid: await entry.oid(), mode: (await entry.mode()).toString(8) });
        return true;
      },
    });
    const manifests = new Set(policyManifestPaths(entries.map((e) => e.path)));
    const files: PolicyFile[] = [];
    let total = 0;
    for (const e of entries) {
      if (!manifests.has(e.path)) continue;
      if (repoPathProblem(e.path)) {
        files.push({ path: e.path, content: '' }); // the loader reports the refused path
        continue;
      }
      if (e.mode === '120000') {
        treeErrors.push({
          file: e.path,
          line: 1,
          message: 'a symlink; policy manifests must be regular files',
        });
        continue;
      }
      const { blob } = await git.readBlob({ fs, gitdir, oid: e.oid });
      if (blob.byteLength > this.limits.maxFileBytes) {
        treeErrors.push({
          file: e.path,
          line: 1,
          message: `file is ${blob.byteLength} bytes; the limit is ${this.limits.maxFileBytes}`,
        });
        continue;
      }
      total += blob.byteLength;
      if (total > this.limits.maxTotalBytes) {
        treeErrors.push({
          file: e.path,
          line: 1,
          message: `the manifests exceed ${this.limits.maxTotalBytes} bytes in total; refusing the revision`,
        });
        break;
      }
      files.push({ path: e.path, content: Buffer.from(blob).toString('utf8') });
    }
    return { revision, files, treeErrors };
  }
}
