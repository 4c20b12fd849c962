// Which files of a policy tree are manifests, and which paths are acceptable at all. Pure: callers
// list the tree (disk, git, GitHub API) and hand the repo-relative `/`-separated paths in.

const YAML_FILE = /\.ya?ml$/i;

/**
 * Why a repo-relative path is refused, or undefined when it is fine. Refuses absolute paths (`/x`,
 * `C:/x`), `..` and `.` segments, NUL and other control characters, backslashes and empty segments
 * (`a//b`, trailing `/`).
 */
export function repoPathProblem(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'path contains a NUL or control character';
  if (path.includes('\\')) return 'path contains a backslash; use / separators';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path))
    return 'absolute paths are not allowed; paths are relative to the tree root';
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'path has an empty segment';
  if (segments.some((s) => s === '..')) return 'path leaves the tree (..)';
  if (segments.some((s) => s === '.')) return 'path has a "." segment';
  return undefined;
}

/** True when the tree uses the template layout (`cluster/`, `namespaces/<ns>/`). */
export function isTemplateLayout(allPaths: readonly string[]): boolean {
  return allPaths.some((p) => p.startsWith('cluster/') || p.startsWith('namespaces/'));
}

/**
 * The manifest files among all paths of a tree, sorted. In the template layout the `.yaml`/`.yml`
 * files at the tree root and under `cluster/` and `namespaces/` are manifests (so `.github/nyx.yml`,
 * CI files, `examples/` and `fragments/` elsewhere are not policy); otherwise every `.yaml`/`.yml`
 * file not under a dot-folder or `node_modules`. Paths refused by `repoPathProblem` are kept, so the
 * loader can report them.
 */
export function policyManifestPaths(allPaths: string[]): string[] {
  const template = isTemplateLayout(allPaths);
  return allPaths
    .filter((p) => {
      if (!YAML_FILE.test(p)) return false;
      if (template) return !p.includes('/') || p.startsWith('cluster/') || p.startsWith('namespaces/');
      const dirs = p.split('/').slice(0, -1);
      return !dirs.some((d) => d.startsWith('.') || d === 'node_modules');
    })
    .sort(comparePaths);
}

/** The namespace of a `namespaces/<ns>/…` folder, or undefined for any other path. */
export function namespaceFolder(path: string): string | undefined {
  const m = /^namespaces\/([^/]+)\/./.exec(path);
  return m ? m[1] : undefined;
}

/** Stable, locale-independent path order (code unit order). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A tree entry that is neither a file nor a folder. */
export type LinkedEntryKind = 'symlink' | 'submodule';

/**
 * Why a symlink or submodule at `path` (relative to the policy root) is refused, or undefined when
 * readers skip its folder anyway (`.git`, `node_modules`). Every reader of a policy tree (the bot
 * through the GitHub API, `nyxctl` and the reconciler on a checkout) refuses them the same way: a
 * link is followed by a checkout but not by the API, and a submodule is a folder on disk but a bare
 * commit id in the API, so following them would let two readers see two different trees.
 */
export function linkedEntryProblem(path: string, kind: LinkedEntryKind): string | undefined {
  if (path.split('/').some((s) => s === '.git' || s === 'node_modules')) return undefined;
  return kind === 'symlink'
    ? 'symlinks are not allowed under the policy root; commit the file itself (a checkout follows a link, the GitHub API does not, so readers would disagree)'
    : 'submodules are not allowed under the policy root; commit the policy files themselves (a submodule is a folder in a checkout and a bare commit id in the GitHub API, so readers would disagree)';
}
