// The real kubectl, run as a user types it, against a test API server's kubeconfig.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { requireBinary } from '../system.js';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `kubectl --kubeconfig <kubeconfig> ...args`; resolves with its exit code and output (a failing
 * kubectl is a result to assert on, not an exception).
 */
export async function runKubectl(
  kubeconfig: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<KubectlResult> {
  const kubectl = await requireBinary('kubectl');
  return new Promise((resolve, reject) => {
    // kubectl caches discovery and OpenAPI under ~/.kube/cache keyed by host:port for hours; a later test
    // server on a reused port would read an earlier server's resources. One cache per kubeconfig.
    const cacheDir = join(dirname(kubeconfig), 'kubectl-cache');
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
