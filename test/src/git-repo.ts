// A real git repository in a temp dir, built with the `git` CLI: tests commit base and head
// revisions of a policy tree and the fake GitHub API serves trees and blobs straight from it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './system.js';

const exec = promisify(execFile);

export interface TreeEntry {
  path: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  size?: number;
}

/** What a commit writes at a path: file content, `null` (delete), a symlink or a submodule (gitlink). */
export type FileChange = string | null | { symlink: string } | { submodule: string };

export interface GitRepo {
  readonly dir: string;
  /**
   * Writes `files` (path → content, `null` deletes, `{ symlink }`, `{ submodule: <commit sha> }`) on
   * top of `parent` (default: the last commit) and commits; returns the new commit sha.
   * `replace: true` starts from an empty tree.
   */
  commit(
    files: Record<string, FileChange>,
    options?: { message?: string; parent?: string; replace?: boolean },
  ): Promise<string>;
  /** Recursive tree of a commit or tree sha, as `git ls-tree -r -t -l`. */
  tree(sha: string): Promise<TreeEntry[]>;
  /** Raw bytes of a blob, or undefined when there is no such blob. */
  blob(sha: string): Promise<Buffer | undefined>;
  /** File content at a commit, or undefined. */
  show(commit: string, path: string): Promise<Buffer | undefined>;
  /** The tree sha of a commit. */
  treeOf(commit: string): Promise<string>;
  /** `git archive --format=tar.gz --prefix=<prefix>`: a commit as GitHub's tarball endpoint serves it. */
  archive(commit: string, prefix: string): Promise<Buffer | undefined>;
  /** `git merge-base a b`, or undefined when the commits share no history. */
  mergeBase(a: string, b: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Reads every file under `dir` (relative `/` paths → content), skipping `.git`. */
export async function readDirFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out[relative(dir, full).split('\\').join('/')] = await readFile(full, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

/** Creates an empty repository (no commits yet). */
export async function createGitRepo(): Promise<GitRepo> {
  await requireBinary('git');
  const dir = await mkdtemp(join(tmpdir(), 'nyx-git-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'nyx test',
    GIT_AUTHOR_EMAIL: 'test@nyx.invalid',
    GIT_COMMITTER_NAME: 'nyx test',
    GIT_COMMITTER_EMAIL: 'test@nyx.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: dir,
  };
  const git = async (args: string[]): Promise<string> =>
    (await exec('git', args, { cwd: dir, env, maxBuffer: 256 * 1024 * 1024 })).stdout;
  const gitBuffer = async (args: string[]): Promise<Buffer | undefined> => {
    try {
      return (await exec('git', args, { cwd: dir, env, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }))
        .stdout;
    } catch {
      return undefined;
    }
  };
  await git(['init', '-q', '-b', 'main']);
  let last: string | undefined;
  let counter = 0;

  const repo: GitRepo = {
    dir,
    async commit(files, options = {}) {
      const parent = options.parent ?? last;
      // Build the commit in a private index so that commits on other parents stay independent.
      const index = join(dir, '.git', `nyx-index-${counter++}`);
      const ienv = { ...env, GIT_INDEX_FILE: index };
      const g = async (args: string[], input?: string): Promise<string> => {
        const child = execFile('git', args, { cwd: dir, env: ienv, maxBuffer: 256 * 1024 * 1024 });
        const result = new Promise<string>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout?.on('data', (c) => {
            out += c;
          });
          child.stderr?.on('data', (c) => {
            err += c;
          });
          child.on('close', (code) =>
            code === 0 ? resolve(out) : reject(new Error(`git ${args.join(' ')}: ${err}`)),
          );
        });
        if (input !== undefined) child.stdin?.end(input);
        else child.stdin?.end();
        return result;
      };
      if (parent && !options.replace) await g(['read-tree', parent]);
      else await g(['read-tree', '--empty']);
      for (const [path, content] of Object.entries(files)) {
        if (content === null) {
          await g(['update-index', '--force-remove', '--', path]);
          continue;
        }
        if (typeof content === 'object') {
          if ('submodule' in content) {
            await g(['update-index', '--add', '--cacheinfo', `160000,${content.submodule},${path}`]);
            continue;
          }
          const link = (await g(['hash-object', '-w', '--stdin'], content.symlink)).trim();
          await g(['update-index', '--add', '--cacheinfo', `120000,${link},${path}`]);
          continue;
        }
        const tmp = join(dir, '.git', 'nyx-blob');
        await mkdir(dirname(tmp), { recursive: true });
        await writeFile(tmp, content);
        const sha = (await g(['hash-object', '-w', tmp])).trim();
        await g(['update-index', '--add', '--cacheinfo', `100644,${sha},${path}`]);
      }
      const tree = (await g(['write-tree'])).trim();
      const args = ['commit-tree', tree, '-m', options.message ?? `commit ${counter}`];
      if (parent) args.push('-p', parent);
      const sha = (await g(args)).trim();
      await rm(index, { force: true });
      last = sha;
      await git(['update-ref', 'refs/heads/main', sha]);
      return sha;
    },
    async tree(sha) {
      const out = await git(['ls-tree', '-r', '-t', '-l', '-z', '--full-tree', sha]);
      return out
        .split('\0')
        .filter(Boolean)
        .map((line) => {
          const tab = line.indexOf('\t');
          const [mode, type, objSha, size] = line.slice(0, tab).split(/\s+/);
          const entry: TreeEntry = {
            path: line.slice(tab + 1),
            mode: mode ?? '',
            type: (type ?? 'blob') as TreeEntry['type'],
            sha: objSha ?? '',
          };
          if (size && size !== '-') entry.size = Number(size);
          return entry;
        });
    },
    blob: (sha) => gitBuffer(['cat-file', 'blob', sha]),
    show: (commit, path) => gitBuffer(['show', `${commit}:${path}`]),
    async treeOf(commit) {
      return (await git(['rev-parse', `${commit}^{tree}`])).trim();
    },
    archive: (commit, prefix) => gitBuffer(['archive', '--format=tar.gz', `--prefix=${prefix}`, commit]),
    async mergeBase(a, b) {
      const out = await gitBuffer(['merge-base', a, b]);
      return out ? out.toString('utf8').trim() || undefined : undefined;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
  return repo;
}
