// Where the policy repository is on GitHub (or GitHub Enterprise Server), the reconciler reports each
// revision's outcome as a commit status on its SHA (context `nyx-reconciler`): `failure` with the
// first `file:line: message` for an invalid revision, `success` once applied. REST API v3 only.

export interface CommitStatusTarget {
  /** `https://api.github.com` or `https://<host>/api/v3`. */
  apiUrl: string;
  owner: string;
  repo: string;
  token: string;
}

export const COMMIT_STATUS_CONTEXT = 'nyx-reconciler';

/**
 * The repository's commit-status endpoint: github.com repositories by default, any other host when
 * `apiUrl` (NYX_GITHUB_API_URL) names its API; undefined without a token or a `/<owner>/<repo>` path.
 */
export function commitStatusTarget(input: {
  gitUrl: string;
  token?: string;
  apiUrl?: string;
}): CommitStatusTarget | undefined {
  if (!input.token) return undefined;
  let url: URL;
  try {
    url = new URL(input.gitUrl);
  } catch {
    return undefined;
  }
  const m = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url.pathname);
  if (!m) return undefined;
  const apiUrl = input.apiUrl ?? (url.hostname === 'github.com' ? 'https://api.github.com' : undefined);
  if (!apiUrl) return undefined;
  return { apiUrl: apiUrl.replace(/\/$/, ''), owner: m[1]!, repo: m[2]!, token: input.token };
}

/** Posts one commit status; throws on a non-2xx answer. */
export async function postCommitStatus(
  target: CommitStatusTarget,
  sha: string,
  status: { state: 'success' | 'failure' | 'error' | 'pending'; description: string },
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  const description =
    status.description.length > 140 ? `${status.description.slice(0, 137)}...` : status.description;
  const res = await fetchImpl(`${target.apiUrl}/repos/${target.owner}/${target.repo}/statuses/${sha}`, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${target.token}`,
      'content-type': 'application/json',
      'user-agent': 'nyx-reconciler',
      'x-github-api-version': '2022-11-28',
    },
    body: JSON.stringify({ state: status.state, context: COMMIT_STATUS_CONTEXT, description }),
  });
  if (!res.ok) throw new Error(`commit status on ${sha}: HTTP ${res.status} ${await res.text()}`);
}
