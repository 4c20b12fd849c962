// A real git server for integration tests: Git's own smart HTTP CGI (`git http-backend`) behind a
// small Node HTTP server on a free loopback port. It serves bare repositories that tests push to with
// the real `git` CLI (`pushToServer`), accepts pushes (receive-pack) and, for fault injection, can
// answer the next requests with an HTTP error or require a token.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GitRepo } from './git-repo.js';
import { requireBinary } from './system.js';

const exec = promisify(execFile);

export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The directory of the bare repositories. */
  readonly root: string;
  /** Creates an empty bare repository `<name>.git`; returns its clone URL. */
  createRepo(name: string): Promise<string>;
  /** Answers the next `count` requests with `status` (fault injection). */
  failNext(count: number, status?: number): void;
  /** Requires HTTP Basic auth with this password (any user name); undefined turns it off. */
  requireToken(token: string | undefined): void;
  /** Requests served so far (upload-pack and receive-pack), by path. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Starts `git http-backend` behind a Node HTTP server on 127.0.0.1. */
export async function startGitServer(): Promise<GitServer> {
  await requireBinary('git');
  const { stdout } = await exec('git', ['--exec-path']);
  const backend = join(stdout.trim(), 'git-http-backend');
  const root = await mkdtemp(join(tmpdir(), 'nyx-git-server-'));
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let token: string | undefined;
  const requests: string[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (failures.count > 0) {
      failures.count--;
      res.writeHead(failures.status, { 'content-type': 'text/plain' }).end('injected failure\n');
      return;
    }
    let user = 'nyx-test';
    if (token !== undefined) {
      const auth = req.headers.authorization ?? '';
      const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : '';
      const password = decoded.slice(decoded.indexOf(':') + 1);
      if (password !== token) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="nyx-test"' }).end('unauthorized\n');
        return;
      }
      user = decoded.slice(0, decoded.indexOf(':')) || user;
    }
    const child = spawn(backend, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: root,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      const endLf = head.indexOf('\n\n');
      const cut = end >= 0 ? end : endLf;
      if (cut < 0) return;
      const sepLength = end >= 0 ? 4 : 2;
      const lines = head.subarray(0, cut).toString('latin1').split(/\r?\n/);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersDone = true;
      const rest = head.subarray(cut + sepLength);
      if (rest.length > 0) res.write(rest);
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => {
      if (!headersDone) {
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`git http-backend exited ${code}: ${stderr}`);
      } else res.end();
    });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    root,
    requests,
    async createRepo(name) {
      await exec('git', ['init', '-q', '--bare', '-b', 'main', join(root, `${name}.git`)]);
      await exec('git', ['-C', join(root, `${name}.git`), 'config', 'http.receivepack', 'true']);
      return `${url}/${name}.git`;
    },
    failNext(count, status = 500) {
      failures = { count, status };
    },
    requireToken(t) {
      token = t;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Pushes `commit` of a local repository to `branch` of a server repository with the real `git push`
 * over smart HTTP; `force` allows a non-fast-forward (a force push).
 */
export async function pushToServer(
  repo: GitRepo,
  remoteUrl: string,
  commit: string,
  options: { branch?: string; force?: boolean; token?: string } = {},
): Promise<void> {
  const branch = options.branch ?? 'main';
  const target = options.token
    ? remoteUrl.replace('http://', `http://x-access-token:${options.token}@`)
    : remoteUrl;
  await exec(
    'git',
    ['push', '-q', ...(options.force ? ['--force'] : []), target, `${commit}:refs/heads/${branch}`],
    {
      cwd: repo.dir,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', HOME: repo.dir, GIT_CONFIG_NOSYSTEM: '1' },
    },
  );
}
