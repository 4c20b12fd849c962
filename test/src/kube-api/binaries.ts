// Where the test kube-apiserver and etcd binaries live, which versions they must be, and how to check
// a binary is the one the pinned go.mod builds. The versions have one home: test/kube-api/go.mod.
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The command that builds the binaries; every "not built" error names it. */
export const KUBE_BUILD_COMMAND = 'npm run build:kube';

/** The Go module that pins kube-apiserver and etcd (go.mod + go.sum). */
export const KUBE_GO_MODULE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../kube-api');

export interface KubeVersions {
  /** `k8s.io/kubernetes` version, e.g. `v1.34.4` */
  readonly kubernetes: string;
  /** `go.etcd.io/etcd/server/v3` version, e.g. `v3.6.4` */
  readonly etcd: string;
}

export type KubeBinaryName = 'kube-apiserver' | 'etcd';

/** Reads the pinned versions from test/kube-api/go.mod. */
export async function pinnedKubeVersions(goModDir: string = KUBE_GO_MODULE_DIR): Promise<KubeVersions> {
  const goMod = await readFile(join(goModDir, 'go.mod'), 'utf8');
  const versionOf = (modulePath: string): string => {
    const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const match = new RegExp(`^\\s*${escaped} (v\\d+\\.\\d+\\.\\d+)\\b`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`${join(goModDir, 'go.mod')}: no pinned version of ${modulePath}`);
    return match[1];
  };
  return { kubernetes: versionOf('k8s.io/kubernetes'), etcd: versionOf('go.etcd.io/etcd/server/v3') };
}

/**
 * The folder holding the binaries: `NYX_KUBE_BIN_DIR` when set, else a per-user cache shared by every
 * checkout of the repository, keyed by both versions so that a version bump never runs a stale binary.
 */
export function kubeBinDir(versions: KubeVersions, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NYX_KUBE_BIN_DIR) return resolve(env.NYX_KUBE_BIN_DIR);
  const cacheRoot = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(cacheRoot, 'nyx-gitops', 'kube-api', `${versions.kubernetes}-${versions.etcd}`);
}

/** What `<binary> --version` prints for the pinned version (one line of its output). */
export function expectedVersionLine(name: KubeBinaryName, versions: KubeVersions): string {
  return name === 'kube-apiserver'
    ? `Kubernetes ${versions.kubernetes}`
    : `etcd Version: ${versions.etcd.replace(/^v/, '')}`;
}

export type BinaryState =
  | { readonly state: 'ok'; readonly path: string }
  | { readonly state: 'missing'; readonly path: string }
  | { readonly state: 'stale'; readonly path: string; readonly found: string };

/** Whether `dir/name` exists and `--version` reports the pinned version. */
export function checkBinary(dir: string, name: KubeBinaryName, versions: KubeVersions): Promise<BinaryState> {
  return checkBinaryAt(join(dir, name), name, versions);
}

/** Whether the file at `path` is `name` at the pinned version, by its `--version`. */
export async function checkBinaryAt(
  path: string,
  name: KubeBinaryName,
  versions: KubeVersions,
): Promise<BinaryState> {
  try {
    await access(path, constants.X_OK);
  } catch {
    return { state: 'missing', path };
  }
  const expected = expectedVersionLine(name, versions);
  try {
    const { stdout } = await exec(path, ['--version'], { timeout: 30_000 });
    const lines = stdout.split('\n').map((line) => line.trim());
    if (lines.includes(expected)) return { state: 'ok', path };
    return { state: 'stale', path, found: lines.find((line) => line !== '') ?? '(no output)' };
  } catch (error) {
    return { state: 'stale', path, found: `--version failed: ${(error as Error).message}` };
  }
}

export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly versions: KubeVersions;
}

/**
 * The paths of both binaries, checked against the pinned versions. Throws, naming the build command,
 * when either is missing or stale: tests never skip for want of them.
 */
export async function requireKubeBinaries(env: NodeJS.ProcessEnv = process.env): Promise<KubeBinaries> {
  const versions = await pinnedKubeVersions();
  const dir = kubeBinDir(versions, env);
  const [apiserver, etcd] = await Promise.all([
    checkBinary(dir, 'kube-apiserver', versions),
    checkBinary(dir, 'etcd', versions),
  ]);
  const problems = [apiserver, etcd].flatMap((binary) =>
    binary.state === 'missing'
      ? [`${binary.path} is not built`]
      : binary.state === 'stale'
        ? [`${binary.path} is stale (${binary.found})`]
        : [],
  );
  if (problems.length > 0) {
    throw new Error(
      `${problems.join('; ')}: run \`${KUBE_BUILD_COMMAND}\` (builds kube-apiserver ${versions.kubernetes} and etcd ${versions.etcd} from test/kube-api/go.mod)${env.CI === 'true' ? ' (CI=true: .ci/run builds them before the tests)' : ''}`,
    );
  }
  return { kubeApiserver: apiserver.path, etcd: etcd.path, versions };
}
