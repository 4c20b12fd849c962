// Everything the worker reads from and writes to GitHub, through the REST API (v3) only, with the
// slice of Octokit it needs (`request`), so it works the same against github.com, GitHub Enterprise
// Server and the HTTP-level fake of the tests. Octokit's throttling and retry plugins (part of
// ProbotOctokit) apply to every call made here.
import {
  CODEOWNERS_LOCATIONS,
  comparePaths,
  isOwnersFile,
  type LinkedEntryKind,
  linkedEntryProblem,
  normalizeHandle,
  type PolicyFile,
  policyManifestPaths,
  repoPathProblem,
} from '@nyx/core';
import { BoundedMap } from './bounded-map.js';
import { readTarball } from './tarball.js';

/** The slice of Octokit used here (a ProbotOctokit satisfies it). */
export interface GitHubClient {
  // biome-ignore lint/suspicious/noExplicitAny: Octokit's typed routes are narrowed at each call site below.
  request(route: string, params?: Record<string, unknown>): Promise<{ data: any; status: number }>;
}

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface TreeBlob {
  path: string;
  sha: string;
  size: number;
  /** Set for a symlink or a submodule: never read, refused under the policy root. */
  linked?: LinkedEntryKind;
}

/**
 * What the bot reads of one revision through the API (the blob sizes come from the tree listing).
 * Not `TreeLimits` of `@nyx/io`, which bounds a walk of a directory on disk.
 */
export interface ApiTreeLimits {
  /** Largest policy file read, in bytes (default 1 MiB). */
  maxFileBytes: number;
  /** Largest total read per revision, in bytes (default 32 MiB). */
  maxTotalBytes: number;
  /** Most files read per revision (default 5000). */
  maxFiles: number;
}

export const DEFAULT_API_TREE_LIMITS: Readonly<ApiTreeLimits> = Object.freeze({
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  maxFiles: 5000,
});

/** A problem with the tree itself (truncated, too big, a bad path): reported, never silently skipped. */
export class TreeError extends Error {}

/**
 * Every blob, symlink and submodule of a commit's tree (`GET /repos/{o}/{r}/git/trees/{sha}?recursive=1`);
 * refuses truncated trees.
 */
export async function listTree(gh: GitHubClient, ref: RepoRef, sha: string): Promise<TreeBlob[]> {
  const { data } = await gh.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', {
    ...ref,
    tree_sha: sha,
    recursive: '1',
  });
  if (data.truncated) {
    throw new TreeError(
      `the git tree of ${sha.slice(0, 12)} is too large for GitHub's recursive tree API (truncated); keep the policy repository under 100,000 entries or set policyRoot in .github/nyx.yml`,
    );
  }
  const out: TreeBlob[] = [];
  for (const e of data.tree as Array<{
    path: string;
    type: string;
    sha: string;
    size?: number;
    mode?: string;
  }>) {
    const linked: LinkedEntryKind | undefined =
      e.type === 'commit' ? 'submodule' : e.mode === '120000' ? 'symlink' : undefined;
    if (e.type !== 'blob' && !linked) continue;
    out.push({ path: e.path, sha: e.sha, size: e.size ?? 0, ...(linked ? { linked } : {}) });
  }
  return out;
}

/** `policyRoot` relative path, or undefined when `path` is outside the root. */
function underRoot(root: string, path: string): string | undefined {
  if (root === '') return path;
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : undefined;
}

/**
 * Which blobs of a tree the engine needs: the policy manifests and `OWNERS` files under
 * `policyRoot` (paths made relative to it), plus the repository's CODEOWNERS when the root is the
 * repository root (CODEOWNERS patterns are repository paths). Every path is checked with
 * `repoPathProblem`; a symlink or submodule under the root is refused (`linkedEntryProblem`), as
 * `nyxctl` refuses it on a checkout, so both read the same tree.
 */
export function selectPolicyBlobs(blobs: readonly TreeBlob[], policyRoot: string): TreeBlob[] {
  const relative: TreeBlob[] = [];
  // Refusals in path order (the first is reported, as the disk reader reports it).
  for (const b of [...blobs].sort((x, y) => comparePaths(x.path, y.path))) {
    const rel = underRoot(policyRoot, b.path);
    if (rel === undefined) continue;
    const problem = repoPathProblem(rel) ?? (b.linked ? linkedEntryProblem(rel, b.linked) : undefined);
    if (problem) throw new TreeError(`${b.path}:1: ${problem}`);
    if (b.linked) continue;
    relative.push({ ...b, path: rel });
  }
  const manifests = new Set(policyManifestPaths(relative.map((b) => b.path)));
  return relative.filter(
    (b) =>
      manifests.has(b.path) ||
      isOwnersFile(b.path) ||
      (policyRoot === '' && CODEOWNERS_LOCATIONS.includes(b.path)),
  );
}

/** A content cache keyed by blob sha: base and head share most blobs. */
export class BlobCache extends BoundedMap<string, string> {
  constructor(maxEntries = 20_000) {
    super(maxEntries);
  }
}

/**
 * Past this many blobs missing from the cache, a revision is read as one tarball instead of one
 * request per blob (a 5,000-file tree would otherwise spend a whole hour's rate budget).
 */
export const TARBALL_THRESHOLD = 100;
/** The most a tarball may unpack to (it holds the whole repository, not only the policy tree). */
const MAX_TARBALL_BYTES = 1024 * 1024 * 1024;

/** The contents of `blobs` (paths relative to `root`) from the tarball of `commit`, by blob sha. */
async function readFromTarball(
  gh: GitHubClient,
  ref: RepoRef,
  commit: string,
  root: string,
  blobs: readonly TreeBlob[],
): Promise<Map<string, string>> {
  const byPath = new Map(blobs.map((b) => [root ? `${root}/${b.path}` : b.path, b.sha]));
  const { data } = await gh.request('GET /repos/{owner}/{repo}/tarball/{ref}', {
    ...ref,
    ref: commit,
    request: { parseSuccessResponseBody: false },
  });
  const files = await readTarball(data as AsyncIterable<Uint8Array>, (p) => byPath.has(p), MAX_TARBALL_BYTES);
  const out = new Map<string, string>();
  for (const [path, content] of files) out.set(byPath.get(path) as string, content);
  return out;
}

/**
 * Reads the blobs within the limits: from the cache, else one request per blob
 * (`GET /repos/{o}/{r}/git/blobs/{sha}`, at most `parallel` at a time), or, when `commit` is given
 * and at least `TARBALL_THRESHOLD` are missing, from the commit's tarball in one request.
 */
export async function readBlobs(
  gh: GitHubClient,
  ref: RepoRef,
  blobs: readonly TreeBlob[],
  options: {
    limits?: ApiTreeLimits;
    cache?: BlobCache;
    parallel?: number;
    displayRoot?: string;
    /** The commit the blobs belong to (enables the tarball). */
    commit?: string;
  } = {},
): Promise<PolicyFile[]> {
  const limits = options.limits ?? DEFAULT_API_TREE_LIMITS;
  const shown = (p: string): string => (options.displayRoot ? `${options.displayRoot}/${p}` : p);
  if (blobs.length > limits.maxFiles) {
    throw new TreeError(
      `the policy tree has ${blobs.length} files; the bot reads at most ${limits.maxFiles}`,
    );
  }
  let total = 0;
  for (const b of blobs) {
    if (b.size > limits.maxFileBytes) {
      throw new TreeError(
        `${shown(b.path)}: ${b.size} bytes; policy files are limited to ${limits.maxFileBytes} bytes`,
      );
    }
    total += b.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new TreeError(
      `the policy tree holds ${total} bytes; the bot reads at most ${limits.maxTotalBytes}`,
    );
  }
  const missing = blobs.filter((b) => options.cache?.get(b.sha) === undefined);
  const prefetched =
    options.commit && missing.length >= TARBALL_THRESHOLD
      ? await readFromTarball(gh, ref, options.commit, options.displayRoot ?? '', missing)
      : new Map<string, string>();
  const out: PolicyFile[] = new Array(blobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < blobs.length) {
      const i = next++;
      const b = blobs[i] as TreeBlob;
      let content = options.cache?.get(b.sha) ?? prefetched.get(b.sha);
      if (content !== undefined) options.cache?.set(b.sha, content);
      else {
        const { data } = await gh.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', {
          ...ref,
          file_sha: b.sha,
        });
        content = Buffer.from(
          String(data.content ?? ''),
          data.encoding === 'base64' ? 'base64' : 'utf8',
        ).toString('utf8');
        options.cache?.set(b.sha, content);
      }
      out[i] = { path: b.path, content };
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel ?? 8, blobs.length) }, worker));
  return out;
}

/** Paths (relative to the policy root) whose blob differs between two trees, sorted. */
export function changedPaths(base: readonly TreeBlob[], head: readonly TreeBlob[]): string[] {
  const before = new Map(base.map((b) => [b.path, b.sha]));
  const after = new Map(head.map((b) => [b.path, b.sha]));
  const out = new Set<string>();
  for (const [p, sha] of after) if (before.get(p) !== sha) out.add(p);
  for (const p of before.keys()) if (!after.has(p)) out.add(p);
  return [...out].sort();
}

/**
 * The tree a pull request would have once merged onto the current base, as far as the policy files
 * go: the base's blobs, with each path the PR changed (`changed`, against the merge base) taken
 * from the head (or removed, when the head removed it). This is what the impact is computed on.
 */
export function mergedTree(
  base: readonly TreeBlob[],
  head: readonly TreeBlob[],
  changed: readonly string[],
): TreeBlob[] {
  const out = new Map(base.map((b) => [b.path, b]));
  const after = new Map(head.map((b) => [b.path, b]));
  for (const p of changed) {
    const b = after.get(p);
    if (b) out.set(p, b);
    else out.delete(p);
  }
  return [...out.values()].sort((x, y) => comparePaths(x.path, y.path));
}

/** The tip of a branch (`GET /repos/{o}/{r}/git/ref/heads/{branch}`), or undefined when it does not exist. */
export async function branchTip(gh: GitHubClient, ref: RepoRef, branch: string): Promise<string | undefined> {
  try {
    const { data } = await gh.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
      ...ref,
      ref: `heads/${branch}`,
    });
    return data.object?.sha;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}

/**
 * The merge base of `base` and `head` (`GET /repos/{o}/{r}/compare/{base}...{head}`): what a pull
 * request's changes are counted from, as GitHub's own "Files changed" does.
 */
export async function mergeBase(gh: GitHubClient, ref: RepoRef, base: string, head: string): Promise<string> {
  const { data } = await gh.request('GET /repos/{owner}/{repo}/compare/{basehead}', {
    ...ref,
    basehead: `${base}...${head}`,
    per_page: 1,
  });
  const sha = data.merge_base_commit?.sha;
  if (typeof sha !== 'string')
    throw new TreeError(`${base.slice(0, 12)} and ${head.slice(0, 12)} share no history`);
  return sha;
}

export interface PullState {
  number: number;
  state: string;
  headSha: string;
  baseSha: string;
  baseRef: string;
  author: string;
  /** The PR's web page (its `/checks` tab holds the full report). */
  htmlUrl?: string;
}

/** The fields of a pull request object of the REST API that the bot reads. */
interface PullData {
  number: number;
  state: string;
  head: { sha: string };
  base: { sha: string; ref: string };
  user?: { login: string } | null;
  html_url?: string;
}

function pullState(data: PullData): PullState {
  return {
    number: data.number,
    state: data.state,
    headSha: data.head.sha,
    baseSha: data.base.sha,
    baseRef: data.base.ref,
    author: data.user?.login ?? '',
    ...(data.html_url ? { htmlUrl: data.html_url } : {}),
  };
}

export async function getPull(gh: GitHubClient, ref: RepoRef, number: number): Promise<PullState> {
  const { data } = await gh.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
    ...ref,
    pull_number: number,
  });
  return pullState({ ...data, number });
}

/** Every page of a list endpoint (100 per page). */
async function listAll<T>(
  gh: GitHubClient,
  route: string,
  params: Record<string, unknown>,
  max = 50,
): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page <= max; page++) {
    const { data } = await gh.request(route, { ...params, per_page: 100, page });
    out.push(...(data as T[]));
    if ((data as T[]).length < 100) break;
  }
  return out;
}

export async function listOpenPulls(gh: GitHubClient, ref: RepoRef, baseRef: string): Promise<PullState[]> {
  const data = await listAll<PullData>(gh, 'GET /repos/{owner}/{repo}/pulls', {
    ...ref,
    state: 'open',
    base: baseRef,
  });
  return data.filter((p) => p.base.ref === baseRef).map(pullState);
}

export async function listReviews(
  gh: GitHubClient,
  ref: RepoRef,
  number: number,
): Promise<Array<{ user: string; state: string; commitId: string }>> {
  const data = await listAll<{ user?: { login: string } | null; state: string; commit_id: string }>(
    gh,
    'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    { ...ref, pull_number: number },
  );
  return data
    .filter((r) => r.user?.login)
    .map((r) => ({ user: r.user?.login ?? '', state: r.state, commitId: r.commit_id }));
}

/**
 * Which of `users` are active members of each `org/team` handle
 * (`GET /orgs/{org}/teams/{team_slug}/memberships/{username}`; 404 means not a member).
 */
export async function teamMembers(
  gh: GitHubClient,
  teams: readonly string[],
  users: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const team of new Set(teams.map(normalizeHandle))) {
    const [org, slug] = team.split('/');
    if (!org || !slug) continue;
    const members = new Set<string>();
    for (const user of new Set(users.map((u) => u.toLowerCase()))) {
      try {
        const { data } = await gh.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
          org,
          team_slug: slug,
          username: user,
        });
        if (data.state === 'active') members.add(user);
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
      }
    }
    out.set(team, members);
  }
  return out;
}

/** GitHub's limits for check run output. */
export const CHECK_TEXT_LIMIT = 65_535;
export const ANNOTATIONS_PER_REQUEST = 50;

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  conclusion: 'success' | 'failure' | 'neutral' | 'action_required';
  title: string;
  summary: string;
  text?: string;
  annotations?: CheckAnnotation[];
  detailsUrl?: string;
}

function clip(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = '\n\n… (truncated to GitHub’s check output limit)';
  return text.slice(0, limit - note.length) + note;
}

/**
 * Creates a completed check run; annotations beyond the first 50 are added by further
 * `PATCH /check-runs/{id}` requests of at most 50 each (GitHub's per-request limit).
 */
export async function createCheckRun(
  gh: GitHubClient,
  ref: RepoRef,
  input: CheckRunInput,
): Promise<{ id: number; htmlUrl?: string }> {
  const annotations = input.annotations ?? [];
  const output = (batch: CheckAnnotation[]): Record<string, unknown> => ({
    title: clip(input.title, 1000),
    summary: clip(input.summary, CHECK_TEXT_LIMIT),
    ...(input.text ? { text: clip(input.text, CHECK_TEXT_LIMIT) } : {}),
    ...(batch.length > 0 ? { annotations: batch } : {}),
  });
  const { data } = await gh.request('POST /repos/{owner}/{repo}/check-runs', {
    ...ref,
    name: input.name,
    head_sha: input.headSha,
    status: 'completed',
    conclusion: input.conclusion,
    completed_at: new Date().toISOString(),
    ...(input.detailsUrl ? { details_url: input.detailsUrl } : {}),
    output: output(annotations.slice(0, ANNOTATIONS_PER_REQUEST)),
  });
  for (let i = ANNOTATIONS_PER_REQUEST; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    await gh.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      ...ref,
      check_run_id: data.id,
      output: output(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST)),
    });
  }
  return { id: data.id, htmlUrl: data.html_url };
}

/** The hidden marker that identifies the bot's sticky comment. */
export const COMMENT_MARKER = '<!-- nyx-gitops:impact -->';

/** `<slug>[bot]`: the login GitHub gives this app's comments (`GET /app`, app-authenticated). */
export async function appLogin(gh: GitHubClient): Promise<string> {
  const { data } = await gh.request('GET /app');
  return `${data.slug}[bot]`;
}

type IssueComment = { id: number; body?: string; user?: { login?: string; type?: string } | null };

/**
 * Creates or edits in place the one comment carrying `COMMENT_MARKER` written by this app
 * (`login`): another app's or a human's comment with the marker is never touched. A create whose
 * answer was lost (a 5xx or a dropped connection after GitHub stored it) is not simply retried:
 * the comments are listed again first, so a retry never leaves a second sticky comment. Extra
 * comments of ours with the marker (left by an older version or a race) are deleted, oldest kept.
 */
export async function upsertStickyComment(
  gh: GitHubClient,
  ref: RepoRef,
  number: number,
  body: string,
  login: string,
): Promise<{ id: number; created: boolean }> {
  const ours = async (): Promise<IssueComment[]> =>
    (
      await listAll<IssueComment>(gh, 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...ref,
        issue_number: number,
      })
    )
      .filter((c) => c.user?.login === login && c.body?.includes(COMMENT_MARKER))
      .sort((a, b) => a.id - b.id);
  let mine = await ours();
  let created = false;
  for (let attempt = 1; mine.length === 0; attempt++) {
    try {
      // No transport-level retry for this request: a retried POST is how duplicates are made.
      await gh.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...ref,
        issue_number: number,
        body,
        request: { retries: 0 },
      });
      created = true;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (attempt >= 3 || (status !== undefined && status < 500 && status !== 429)) throw error;
    }
    mine = await ours();
  }
  const [keep, ...extra] = mine as [IssueComment, ...IssueComment[]];
  for (const c of extra) {
    await gh.request('DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...ref,
      comment_id: c.id,
    });
  }
  if (keep.body !== body) {
    await gh.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...ref,
      comment_id: keep.id,
      body,
    });
  }
  return { id: keep.id, created };
}

/** A new comment on the pull request (`/nyx explain` replies with one). */
export async function postComment(
  gh: GitHubClient,
  ref: RepoRef,
  number: number,
  body: string,
): Promise<{ id: number }> {
  const { data } = await gh.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
    ...ref,
    issue_number: number,
    body,
  });
  return { id: data.id };
}
