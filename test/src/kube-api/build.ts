// Builds kube-apiserver and etcd from the Go module in test/kube-api/ (go.mod + go.sum pin every
// module by checksum) into the binary cache. A binary already present at the pinned version is kept.
import { spawn } from 'node:child_process';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkBinary,
  checkBinaryAt,
  KUBE_GO_MODULE_DIR,
  type KubeBinaryName,
  type KubeVersions,
} from './binaries.js';

/** The Go package each binary is built from (both are `tool` lines in test/kube-api/go.mod). */
const GO_PACKAGES: Record<KubeBinaryName, string> = {
  'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
  etcd: 'go.etcd.io/etcd/server/v3',
};

/**
 * Link flags. Kubernetes stamps its version at link time (hack/lib/version.sh); without it the server
 * reports v0.0.0-master, and kubectl (which picks its own minor from the server's) would misjudge it.
 */
function ldflags(name: KubeBinaryName, versions: KubeVersions): string {
  const flags = ['-s', '-w'];
  if (name === 'kube-apiserver') {
    const [major, minor] = versions.kubernetes.replace(/^v/, '').split('.');
    const pkg = 'k8s.io/component-base/version';
    flags.push(
      `-X ${pkg}.gitVersion=${versions.kubernetes}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    );
  }
  return flags.join(' ');
}

export interface BuildReport {
  readonly name: KubeBinaryName;
  readonly path: string;
  /** `kept`: already present at the pinned version; `built`: compiled now. */
  readonly outcome: 'kept' | 'built';
  readonly seconds: number;
}

/** Builds whichever of the two binaries is missing or stale into `dir`. */
export async function buildKubeBinaries(options: {
  dir: string;
  versions: KubeVersions;
  log: (line: string) => void;
}): Promise<BuildReport[]> {
  const { dir, versions, log } = options;
  await mkdir(dir, { recursive: true });
  const reports: BuildReport[] = [];
  for (const name of ['kube-apiserver', 'etcd'] as const) {
    const version = name === 'kube-apiserver' ? versions.kubernetes : versions.etcd;
    const existing = await checkBinary(dir, name, versions);
    if (existing.state === 'ok') {
      log(`${name} ${version} is already built at ${existing.path}: nothing to do`);
      reports.push({ name, path: existing.path, outcome: 'kept', seconds: 0 });
      continue;
    }
    if (existing.state === 'stale') log(`${existing.path} is stale (${existing.found}): rebuilding`);
    log(`building ${name} ${version} (${GO_PACKAGES[name]}) into ${dir} …`);
    const started = performance.now();
    // Built beside its final name and renamed, so a concurrent or interrupted build never leaves a
    // half-written binary where the tests look.
    const partial = join(dir, `.${name}.${process.pid}.partial`);
    try {
      await goBuild(['-trimpath', '-ldflags', ldflags(name, versions), '-o', partial, GO_PACKAGES[name]]);
      const built = await checkBinaryAt(partial, name, versions);
      if (built.state !== 'ok') {
        const found = built.state === 'stale' ? built.found : 'no binary';
        throw new Error(`${name} built from test/kube-api/go.mod reports "${found}", not ${version}`);
      }
      await rename(partial, existing.path);
    } finally {
      await rm(partial, { force: true });
    }
    const seconds = (performance.now() - started) / 1000;
    log(`built ${existing.path} in ${seconds.toFixed(0)} s`);
    reports.push({ name, path: existing.path, outcome: 'built', seconds });
  }
  return reports;
}

function goBuild(args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('go', ['build', ...args], {
      cwd: KUBE_GO_MODULE_DIR,
      // CGO off: static binaries that need no C toolchain. -mod=readonly: go.sum is the pin, a build
      // never rewrites it.
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error('go is not installed: building the test kube-apiserver and etcd needs Go 1.24 or newer')
          : error,
      ),
    );
    child.once('exit', (code, signal) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`go build ${args.at(-1)} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}
