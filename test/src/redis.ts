// A real redis-server on a free loopback port, for integration tests. No persistence by default
// (`--save '' --appendonly no`); `stop({ save: true })` issues `SHUTDOWN SAVE`, which writes a
// snapshot into the server's private temp dir so that `restart()` on the same port comes back with
// the same data, as a production Redis with persistence would after a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireBinary } from './system.js';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * The server's unix socket: reachable from every network namespace (the agent tests run agents
   * inside namespaces that cannot reach the host's loopback). ioredis takes the path as its URL.
   */
  readonly socketPath: string;
  /** Stops the server; with `save: true` it snapshots first so `restart()` keeps the data. */
  stop(options?: { save?: boolean }): Promise<void>;
  /** Starts the server again on the same port and data dir. */
  restart(): Promise<void>;
  /** Stops for good and removes the data dir. */
  close(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing (a frozen Redis). */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
}

/** Launches `redis-server` on 127.0.0.1 and a free port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const binary = await requireBinary('redis-server');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'nyx-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--unixsocket',
        join(dir, 'redis.sock'),
        '--unixsocketperm',
        '700',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      proc.once('exit', (code) =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
      proc.once('error', reject);
    });
  };

  const stop = async (options: { save?: boolean } = {}): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    await sendInline(port, options.save ? 'SHUTDOWN SAVE' : 'SHUTDOWN NOSAVE').catch(() =>
      proc.kill('SIGKILL'),
    );
    await exited;
    child = undefined;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    socketPath: join(dir, 'redis.sock'),
    stop,
    restart: async () => {
      await stop({ save: true });
      await launch();
    },
    freeze: () => {
      child?.kill('SIGSTOP');
    },
    thaw: () => {
      child?.kill('SIGCONT');
    },
    close: async () => {
      child?.kill('SIGCONT');
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one inline Redis command and waits for the server to answer or close the connection. */
function sendInline(port: number, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(`${command}\r\n`));
    socket.on('data', () => socket.end());
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}
