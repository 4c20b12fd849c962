// Small helpers shared by the harnesses: free loopback ports and required system binaries.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The absolute path of a binary the tests need. Missing binaries fail loudly (always, and in
 * particular when `CI=true`): real-component tests never silently skip.
 */
export async function requireBinary(name: string): Promise<string> {
  try {
    const { stdout } = await exec('sh', ['-c', `command -v ${name}`]);
    const path = stdout.trim();
    if (path) return path;
  } catch {
    // fall through to the error below
  }
  throw new Error(
    `${name} is required by this integration test but is not installed${process.env.CI === 'true' ? ' (CI=true)' : ''}; install it (e.g. apt-get install -y ${name === 'redis-server' ? 'redis-server' : name})`,
  );
}
