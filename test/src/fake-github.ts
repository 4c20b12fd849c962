// A fake GitHub REST API (v3) at the HTTP level, serving one or more repositories from REAL git
// repositories (see git-repo.ts). It records every request so tests assert on exactly what the
// bot asked and wrote. Served under `/api/v3` as GitHub Enterprise Server does, so the bot is
// pointed at it with `GHE_HOST=127.0.0.1:<port>` and `GHE_PROTOCOL=http`.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GitRepo } from './git-repo.js';

export interface RecordedRequest {
  method: string;
  /** Path without the `/api/v3` prefix and without the query string. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  at: number;
}

export interface FakePull {
  number: number;
  headSha: string;
  baseSha: string;
  baseRef?: string;
  author: string;
  state?: 'open' | 'closed';
  draft?: boolean;
}

export interface FakeReview {
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
  commitId: string;
}

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status?: string;
  conclusion?: string;
  output?: { title?: string; summary?: string; text?: string; annotations?: unknown[] };
  /** Every annotation sent for this run, over all requests. */
  annotations: unknown[];
}

export interface FakeRepoState {
  owner: string;
  name: string;
  git: GitRepo;
  defaultBranch: string;
  pulls: Map<number, FakePull>;
  reviews: Map<number, FakeReview[]>;
  comments: Map<number, FakeComment[]>;
  checkRuns: FakeCheckRun[];
  /** Makes `GET .../git/trees/<sha>` answer `truncated: true` (to test the refusal). */
  truncatedTrees: Set<string>;
  /** Branch name → tip commit, served by `GET .../git/ref/heads/<branch>` (404 when absent). */
  branches: Map<string, string>;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` (the API itself is under `/api/v3`). */
  readonly url: string;
  readonly port: number;
  /** `127.0.0.1:<port>`: what `GHE_HOST` should be. */
  readonly host: string;
  readonly requests: RecordedRequest[];
  addRepo(options: { owner: string; name: string; git: GitRepo; defaultBranch?: string }): FakeRepoState;
  repo(fullName: string): FakeRepoState;
  /** `org/team` → members (lower-case compare). */
  setTeam(team: string, members: string[]): void;
  /** The next `times` requests matching `method` and `path` answer `status` (fault injection). */
  failNext(
    method: string,
    path: RegExp,
    status: number,
    times?: number,
    message?: string,
    headers?: Record<string, string>,
  ): void;
  /**
   * The next `times` requests matching `method` and `path` are carried out, then answered `status`
   * (an answer lost after GitHub acted on the request).
   */
  failAfterNext(method: string, path: RegExp, status: number, times?: number): void;
  /** Requests matching `method` and `path` wait until the returned release function is called. */
  hold(method: string, path: RegExp): () => void;
  /** Resolves with the first recorded request (past or future) matching `predicate`. */
  waitFor(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Requests filtered by method and path pattern. */
  find(method: string, path: RegExp): RecordedRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

const BOT_LOGIN = 'nyx-bot[bot]';

/** Starts the fake API on a free loopback port. */
export async function startFakeGitHub(): Promise<FakeGitHub> {
  const repos = new Map<string, FakeRepoState>();
  const teams = new Map<string, Set<string>>();
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(1000);
  const faults: Array<{
    method: string;
    path: RegExp;
    status: number;
    times: number;
    after?: boolean;
    message?: string;
    headers?: Record<string, string>;
  }> = [];
  const holds: Array<{ method: string; path: RegExp; released: Promise<void> }> = [];
  let nextId = 1000;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { message: String(error) });
    });
  });

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (Buffer.isBuffer(body)) {
      res.writeHead(status, { 'content-type': 'application/x-gzip', ...headers });
      res.end(body);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/api\/v3/, '');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body,
      headers: req.headers,
      status: 0,
      at: Date.now(),
    };
    for (const h of holds) if (h.method === method && h.path.test(path)) await h.released;
    const fault = faults.find((f) => f.method === method && f.path.test(path) && f.times > 0);
    let status: number;
    let payload: unknown;
    let headers: Record<string, string> = {};
    if (fault) {
      fault.times--;
      if (fault.after) await route(method, path, url.searchParams, body);
      status = fault.status;
      payload = { message: fault.message ?? `injected ${fault.status}` };
      headers = fault.headers ?? {};
    } else {
      [status, payload] = await route(method, path, url.searchParams, body);
    }
    record.status = status;
    requests.push(record);
    send(res, status, payload, headers);
    events.emit('request', record);
  }

  async function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): Promise<[number, unknown]> {
    let m: RegExpMatchArray | null;
    m = method === 'POST' ? path.match(/^\/app\/installations\/(\d+)\/access_tokens$/) : null;
    if (m) {
      return [
        201,
        {
          token: `ghs_fake_${m[1]}`,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: {},
        },
      ];
    }
    if (method === 'GET' && path === '/app')
      return [200, { id: 1, slug: BOT_LOGIN.replace(/\[bot\]$/, ''), name: 'nyx-bot' }];
    m = method === 'GET' ? path.match(/^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/) : null;
    if (m) {
      const members = teams.get(`${m[1]}/${m[2]}`.toLowerCase());
      const user = decodeURIComponent(m[3] ?? '').toLowerCase();
      if (!members?.has(user)) return [404, { message: 'Not Found' }];
      return [200, { state: 'active', role: 'member', url: '' }];
    }
    m = path.match(/^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/);
    if (!m) return [404, { message: `Not Found: ${path}` }];
    const repo = repos.get(`${m[1]}/${m[2]}`.toLowerCase());
    if (!repo) return [404, { message: 'Not Found' }];
    const rest = m[3] ?? '';
    const n = (s: string | undefined): number => Number(s);

    m = method === 'GET' ? rest.match(/^\/git\/trees\/([0-9a-f]{40})$/) : null;
    if (m) {
      const sha = m[1] ?? '';
      let entries = await repo.git.tree(sha).catch(() => undefined);
      if (!entries) return [404, { message: 'Not Found' }];
      if (query.get('recursive') === null) entries = entries.filter((e) => !e.path.includes('/'));
      const treeSha = await repo.git.treeOf(sha).catch(() => sha);
      return [
        200,
        {
          sha: treeSha,
          truncated: repo.truncatedTrees.has(sha),
          tree: entries.map((e) => ({ path: e.path, mode: e.mode, type: e.type, sha: e.sha, size: e.size })),
        },
      ];
    }
    m = method === 'GET' ? rest.match(/^\/tarball\/([0-9a-f]{40})$/) : null;
    if (m) {
      const sha = m[1] ?? '';
      const data = await repo.git.archive(sha, `${repo.owner}-${repo.name}-${sha.slice(0, 7)}/`);
      if (!data) return [404, { message: 'Not Found' }];
      return [200, data];
    }
    m = method === 'GET' ? rest.match(/^\/git\/ref\/(.+)$/) : null;
    if (m) {
      const branch = decodeURIComponent(m[1] ?? '').replace(/^heads\//, '');
      const sha = repo.branches.get(branch);
      if (!sha) return [404, { message: 'Not Found' }];
      return [200, { ref: `refs/heads/${branch}`, object: { sha, type: 'commit' } }];
    }
    m = method === 'GET' ? rest.match(/^\/compare\/([0-9a-f]{40})\.\.\.([0-9a-f]{40})$/) : null;
    if (m) {
      const mergeBase = await repo.git.mergeBase(m[1] ?? '', m[2] ?? '');
      if (!mergeBase) return [404, { message: 'No common ancestor' }];
      return [200, { merge_base_commit: { sha: mergeBase }, base_commit: { sha: m[1] } }];
    }
    m = method === 'GET' ? rest.match(/^\/git\/blobs\/([0-9a-f]{40})$/) : null;
    if (m) {
      const data = await repo.git.blob(m[1] ?? '');
      if (!data) return [404, { message: 'Not Found' }];
      return [200, { sha: m[1], size: data.length, encoding: 'base64', content: data.toString('base64') }];
    }
    m = method === 'GET' ? rest.match(/^\/contents\/(.+)$/) : null;
    if (m) {
      const ref = query.get('ref') ?? repo.defaultBranch;
      const data = await repo.git.show(ref, decodeURIComponent(m[1] ?? ''));
      if (!data) return [404, { message: 'Not Found' }];
      return [
        200,
        { type: 'file', encoding: 'base64', size: data.length, path: m[1], content: data.toString('base64') },
      ];
    }
    if (method === 'GET' && rest === '/pulls') {
      const state = query.get('state') ?? 'open';
      const list = [...repo.pulls.values()].filter((p) => state === 'all' || (p.state ?? 'open') === state);
      return [
        200,
        paginate(
          list.map((p) => pullJson(repo, p)),
          query,
        ),
      ];
    }
    m = method === 'GET' ? rest.match(/^\/pulls\/(\d+)$/) : null;
    if (m) {
      const pull = repo.pulls.get(n(m[1]));
      return pull ? [200, pullJson(repo, pull)] : [404, { message: 'Not Found' }];
    }
    m = method === 'GET' ? rest.match(/^\/pulls\/(\d+)\/reviews$/) : null;
    if (m) {
      const list = (repo.reviews.get(n(m[1])) ?? []).map((r, i) => ({
        id: i + 1,
        user: { login: r.user, type: 'User' },
        state: r.state,
        commit_id: r.commitId,
        submitted_at: new Date().toISOString(),
      }));
      return [200, paginate(list, query)];
    }
    m = method === 'GET' ? rest.match(/^\/pulls\/(\d+)\/files$/) : null;
    if (m) {
      const pull = repo.pulls.get(n(m[1]));
      if (!pull) return [404, { message: 'Not Found' }];
      const [a, b] = await Promise.all([repo.git.tree(pull.baseSha), repo.git.tree(pull.headSha)]);
      const before = new Map(a.filter((e) => e.type === 'blob').map((e) => [e.path, e.sha]));
      const after = new Map(b.filter((e) => e.type === 'blob').map((e) => [e.path, e.sha]));
      const files: Array<{ filename: string; status: string }> = [];
      for (const [p, sha] of after) {
        if (!before.has(p)) files.push({ filename: p, status: 'added' });
        else if (before.get(p) !== sha) files.push({ filename: p, status: 'modified' });
      }
      for (const p of before.keys()) if (!after.has(p)) files.push({ filename: p, status: 'removed' });
      return [200, paginate(files, query)];
    }
    m = rest.match(/^\/issues\/(\d+)\/comments$/);
    if (m) {
      const list = repo.comments.get(n(m[1])) ?? [];
      repo.comments.set(n(m[1]), list);
      if (method === 'GET') return [200, paginate(list, query)];
      if (method === 'POST') {
        const now = new Date().toISOString();
        const comment: FakeComment = {
          id: nextId++,
          body: String((body as { body?: string })?.body ?? ''),
          user: { login: BOT_LOGIN, type: 'Bot' },
          created_at: now,
          updated_at: now,
        };
        list.push(comment);
        return [201, comment];
      }
    }
    m = method === 'DELETE' ? rest.match(/^\/issues\/comments\/(\d+)$/) : null;
    if (m) {
      for (const list of repo.comments.values()) {
        const i = list.findIndex((c) => c.id === n(m?.[1]));
        if (i >= 0) {
          list.splice(i, 1);
          return [204, undefined];
        }
      }
      return [404, { message: 'Not Found' }];
    }
    m = method === 'PATCH' ? rest.match(/^\/issues\/comments\/(\d+)$/) : null;
    if (m) {
      for (const list of repo.comments.values()) {
        const comment = list.find((c) => c.id === n(m?.[1]));
        if (comment) {
          comment.body = String((body as { body?: string })?.body ?? '');
          comment.updated_at = new Date().toISOString();
          return [200, comment];
        }
      }
      return [404, { message: 'Not Found' }];
    }
    if (method === 'POST' && rest === '/check-runs') {
      const b = (body ?? {}) as Omit<FakeCheckRun, 'id' | 'annotations'>;
      if (!b.name || !b.head_sha) return [422, { message: 'name and head_sha are required' }];
      const annotations = b.output?.annotations ?? [];
      if (annotations.length > 50) return [422, { message: 'at most 50 annotations per request' }];
      const run: FakeCheckRun = { ...b, id: nextId++, annotations: [...annotations] };
      repo.checkRuns.push(run);
      return [201, run];
    }
    m = method === 'PATCH' ? rest.match(/^\/check-runs\/(\d+)$/) : null;
    if (m) {
      const run = repo.checkRuns.find((r) => r.id === n(m?.[1]));
      if (!run) return [404, { message: 'Not Found' }];
      const b = (body ?? {}) as Partial<FakeCheckRun>;
      const annotations = b.output?.annotations ?? [];
      if (annotations.length > 50) return [422, { message: 'at most 50 annotations per request' }];
      Object.assign(run, { ...b, annotations: [...run.annotations, ...annotations] });
      return [200, run];
    }
    // Commit statuses (the reconciler's report on a revision); read back from `requests`.
    m = method === 'POST' ? rest.match(/^\/statuses\/([0-9a-f]{40})$/) : null;
    if (m) {
      const b = (body ?? {}) as { state?: string; context?: string; description?: string };
      if (!['error', 'failure', 'pending', 'success'].includes(b.state ?? '')) {
        return [422, { message: 'state must be error, failure, pending or success' }];
      }
      if ((b.description ?? '').length > 140) return [422, { message: 'description is too long (140)' }];
      return [201, { id: nextId++, sha: m[1], ...b }];
    }
    return [404, { message: `Not Found: ${method} ${path}` }];
  }

  function pullJson(repo: FakeRepoState, p: FakePull): unknown {
    const full = `${repo.owner}/${repo.name}`;
    return {
      number: p.number,
      state: p.state ?? 'open',
      draft: p.draft ?? false,
      user: { login: p.author, type: 'User' },
      head: { sha: p.headSha, ref: `pr-${p.number}`, repo: { full_name: full } },
      base: { sha: p.baseSha, ref: p.baseRef ?? repo.defaultBranch, repo: { full_name: full } },
      html_url: `https://github.invalid/${full}/pull/${p.number}`,
    };
  }

  function paginate<T>(list: T[], query: URLSearchParams): T[] {
    const perPage = Number(query.get('per_page') ?? 30);
    const page = Number(query.get('page') ?? 1);
    return list.slice((page - 1) * perPage, page * perPage);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const fake: FakeGitHub = {
    url: `http://127.0.0.1:${port}`,
    port,
    host: `127.0.0.1:${port}`,
    requests,
    addRepo({ owner, name, git, defaultBranch }) {
      const state: FakeRepoState = {
        owner,
        name,
        git,
        defaultBranch: defaultBranch ?? 'main',
        pulls: new Map(),
        reviews: new Map(),
        comments: new Map(),
        checkRuns: [],
        truncatedTrees: new Set(),
        branches: new Map(),
      };
      repos.set(`${owner}/${name}`.toLowerCase(), state);
      return state;
    },
    repo(fullName) {
      const r = repos.get(fullName.toLowerCase());
      if (!r) throw new Error(`fake GitHub has no repository ${fullName}`);
      return r;
    },
    setTeam(team, members) {
      teams.set(team.toLowerCase(), new Set(members.map((u) => u.toLowerCase())));
    },
    failNext(method, path, status, times = 1, message, headers) {
      faults.push({
        method: method.toUpperCase(),
        path,
        status,
        times,
        ...(message ? { message } : {}),
        ...(headers ? { headers } : {}),
      });
    },
    failAfterNext(method, path, status, times = 1) {
      faults.push({ method: method.toUpperCase(), path, status, times, after: true });
    },
    hold(method, path) {
      let release = (): void => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const entry = { method: method.toUpperCase(), path, released };
      holds.push(entry);
      return () => {
        holds.splice(holds.indexOf(entry), 1);
        release();
      };
    },
    waitFor(predicate, timeoutMs = 60_000) {
      const found = requests.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('request', listener);
          reject(new Error(`fake GitHub: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (r: RecordedRequest): void => {
          if (!predicate(r)) return;
          clearTimeout(timer);
          events.off('request', listener);
          resolve(r);
        };
        events.on('request', listener);
      });
    },
    find(method, path) {
      return requests.filter((r) => r.method === method.toUpperCase() && path.test(r.path));
    },
    clearRequests() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
