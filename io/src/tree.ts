// Reading a policy tree from disk: the manifests (as `policyManifestPaths` picks them), every OWNERS
// file, CODEOWNERS (root, `.github/`, `docs/`) and `.github/nyx.yml`, with repo-relative `/` paths.
// Sizes are checked with stat() before anything is read. Symlinks and submodules are refused
// (`linkedEntryProblem`), exactly as the bot refuses them in a tree it reads through the API.
//
// The file system is used synchronously on purpose: a tree is thousands of small files, and each
// asynchronous call costs a thread-pool round trip and promise bookkeeping that is many times the
// cost of the call itself (4,000 files: about 50 ms synchronously, 800 ms through fs/promises).
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  comparePaths,
  DEFAULT_YAML_LIMITS,
  linkedEntryProblem,
  type PolicyFile,
  policyManifestPaths,
  repoPathProblem,
} from '@nyx/core';
import { InputError, wholeFileError } from './errors.js';

export interface TreeLimits {
  /** Largest file read, in bytes (default 1 MiB, the YAML loader's own limit). */
  maxFileBytes?: number;
  /** Budget over all files read, in bytes (default 64 MiB). */
  maxTotalBytes?: number;
  /** Most directory entries visited (default 100,000), so a huge checkout cannot stall the walk. */
  maxEntries?: number;
}

export const DEFAULT_TREE_LIMITS: Readonly<Required<TreeLimits>> = Object.freeze({
  maxFileBytes: DEFAULT_YAML_LIMITS.maxBytes,
  maxTotalBytes: 64 * 1024 * 1024,
  maxEntries: 100_000,
});

const CODEOWNERS_PATHS = new Set(['CODEOWNERS', '.github/CODEOWNERS', 'docs/CODEOWNERS']);
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

/** Files besides manifests that the bot and lint read from a tree. */
export function isTreeMetadataPath(path: string): boolean {
  return (
    path === 'OWNERS' || path.endsWith('/OWNERS') || CODEOWNERS_PATHS.has(path) || path === '.github/nyx.yml'
  );
}

/**
 * Reads the policy files of the tree at `dir`. Throws an `InputError` (`path:1: message`, `wholeFileError`)
 * for a missing directory, a file over the size limit, a total over the budget, a symlink or a
 * submodule (a folder holding `.git`, or a path listed in the root's `.gitmodules`).
 */
export async function readPolicyTree(dir: string, limits?: TreeLimits): Promise<PolicyFile[]> {
  const lim = { ...DEFAULT_TREE_LIMITS, ...limits };
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) throw wholeFileError(dir, 'not a directory');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw wholeFileError(dir, 'cannot open the policy directory (does it exist?)');
  }

  // 1. List every file (repo-relative path → real path on disk). `dir` itself may be a link; inside
  // it, links and submodules are refused wherever they are (see `linkedEntryProblem`); the first in
  // path order is reported, as the bot reports it.
  const refused: Array<{ path: string; problem: string }> = [];
  const refuse = (relPath: string, kind: 'symlink' | 'submodule'): void => {
    const problem = linkedEntryProblem(relPath, kind);
    if (problem) refused.push({ path: relPath, problem });
  };
  for (const path of gitmodulePaths(root)) refuse(path, 'submodule');
  const found = new Map<string, string>();
  let entries = 0;
  const pending: Array<{ real: string; rel: string }> = [{ real: root, rel: '' }];
  while (pending.length > 0) {
    const { real, rel } = pending.pop()!;
    // Entry types come with the listing, without a stat per file.
    const dirents = readdirSync(real, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const dirent of dirents) {
      const name = dirent.name;
      if (++entries > lim.maxEntries) {
        throw wholeFileError(
          rel || '.',
          `more than ${lim.maxEntries} directory entries; refusing to walk this tree`,
        );
      }
      if (SKIPPED_DIRS.has(name)) {
        // A checked-out submodule is a folder with its own `.git` (a file or a folder).
        if (name === '.git' && rel !== '') refuse(rel, 'submodule');
        continue;
      }
      const relPath = rel ? `${rel}/${name}` : name;
      if (dirent.isSymbolicLink()) {
        refuse(relPath, 'symlink');
        continue;
      }
      const full = join(real, name);
      if (dirent.isDirectory()) pending.push({ real: full, rel: relPath });
      else if (dirent.isFile()) found.set(relPath, full);
    }
  }

  const [first] = refused.sort((a, b) => comparePaths(a.path, b.path));
  if (first) throw wholeFileError(first.path, first.problem);

  // 2. Pick what the engine reads, check sizes before reading anything.
  const all = [...found.keys()];
  const wanted = new Set([...policyManifestPaths(all), ...all.filter(isTreeMetadataPath)]);
  const picked = all.filter((p) => wanted.has(p)).sort();
  for (const path of picked) {
    const problem = repoPathProblem(path);
    if (problem) throw wholeFileError(path, problem);
  }
  let total = 0;
  for (const path of picked) {
    const size = statSync(found.get(path)!).size;
    if (size > lim.maxFileBytes) {
      throw wholeFileError(path, `file is ${size} bytes; the limit is ${lim.maxFileBytes} bytes per file`);
    }
    total += size;
    if (total > lim.maxTotalBytes) {
      throw wholeFileError(
        path,
        `the policy files total more than ${lim.maxTotalBytes} bytes; refusing to read further`,
      );
    }
  }

  // 3. Read.
  return picked.map((path) => {
    const content = readFileSync(found.get(path)!, 'utf8');
    // The file may have grown since stat(); never hand on more than the limit.
    if (Buffer.byteLength(content) > lim.maxFileBytes) {
      throw wholeFileError(path, `file grew past the limit of ${lim.maxFileBytes} bytes while being read`);
    }
    return { path, content };
  });
}

/** The `path = …` entries of `<root>/.gitmodules` (an uninitialised submodule is an empty folder on disk). */
function gitmodulePaths(root: string): string[] {
  const file = join(root, '.gitmodules');
  if (!existsSync(file)) return [];
  return [...readFileSync(file, 'utf8').matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)].map((m) => m[1] ?? '');
}
