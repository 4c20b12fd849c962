// Signed webhook deliveries, starting from the real sample payloads of @octokit/webhooks-examples
// and adapted to a test repository.
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface WebhookDefinition {
  name: string;
  examples: Array<Record<string, unknown> & { action?: string }>;
}

let definitions: WebhookDefinition[] | undefined;

/** A deep copy of a real sample payload for `event` (and `action`, when given). */
export function examplePayload(event: string, action?: string): Record<string, unknown> {
  definitions ??= require('@octokit/webhooks-examples') as WebhookDefinition[];
  const def = definitions.find((d) => d.name === event);
  const example = def?.examples.find((e) => action === undefined || e.action === action);
  if (!example)
    throw new Error(`@octokit/webhooks-examples has no ${event}${action ? `.${action}` : ''} sample`);
  return structuredClone(example);
}

export interface PullRequestTarget {
  owner: string;
  repo: string;
  installationId: number;
  number: number;
  headSha: string;
  baseSha: string;
  baseRef?: string;
  author: string;
}

function adaptRepository(
  payload: Record<string, unknown>,
  t: Pick<PullRequestTarget, 'owner' | 'repo' | 'installationId'>,
): void {
  const repository = (payload.repository ?? {}) as Record<string, unknown>;
  payload.repository = {
    ...repository,
    name: t.repo,
    full_name: `${t.owner}/${t.repo}`,
    owner: { ...((repository.owner as object) ?? {}), login: t.owner },
    default_branch: 'main',
  };
  payload.installation = { id: t.installationId, node_id: 'fake' };
}

function adaptPull(pr: Record<string, unknown>, t: PullRequestTarget): Record<string, unknown> {
  const head = (pr.head ?? {}) as Record<string, unknown>;
  const base = (pr.base ?? {}) as Record<string, unknown>;
  return {
    ...pr,
    number: t.number,
    state: 'open',
    draft: false,
    user: { ...((pr.user as object) ?? {}), login: t.author, type: 'User' },
    head: { ...head, sha: t.headSha, ref: `pr-${t.number}` },
    base: { ...base, sha: t.baseSha, ref: t.baseRef ?? 'main' },
  };
}

/** A `pull_request` payload (opened, synchronize, reopened, edited, ready_for_review, …). */
export function pullRequestPayload(
  action: string,
  t: PullRequestTarget,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const sample = examplePayload(
    'pull_request',
    ['opened', 'synchronize', 'reopened', 'ready_for_review'].includes(action) ? action : 'opened',
  );
  adaptRepository(sample, t);
  sample.action = action;
  sample.number = t.number;
  sample.pull_request = adaptPull(sample.pull_request as Record<string, unknown>, t);
  return { ...sample, ...extra };
}

/** A `pull_request_review` payload. */
export function reviewPayload(
  action: 'submitted' | 'dismissed',
  t: PullRequestTarget,
  review: { user: string; state: string; commitId: string },
): Record<string, unknown> {
  const sample = examplePayload('pull_request_review', action);
  adaptRepository(sample, t);
  sample.pull_request = adaptPull(sample.pull_request as Record<string, unknown>, t);
  sample.review = {
    ...((sample.review as object) ?? {}),
    user: { login: review.user, type: 'User' },
    state: review.state.toLowerCase(),
    commit_id: review.commitId,
  };
  return sample;
}

/** An `issue_comment.created` payload on the pull request. */
export function issueCommentPayload(
  t: PullRequestTarget,
  body: string,
  commenter = 'someone',
): Record<string, unknown> {
  const sample = examplePayload('issue_comment', 'created');
  adaptRepository(sample, t);
  const issue = (sample.issue ?? {}) as Record<string, unknown>;
  sample.issue = { ...issue, number: t.number, pull_request: { url: `https://fake/pulls/${t.number}` } };
  sample.comment = { ...((sample.comment as object) ?? {}), body, user: { login: commenter, type: 'User' } };
  return sample;
}

/** A `check_run.rerequested` payload for a check run on `t.headSha`. */
export function checkRunRerequestedPayload(
  t: PullRequestTarget,
  name = 'nyx/policy',
): Record<string, unknown> {
  const sample = examplePayload('check_run', 'rerequested');
  adaptRepository(sample, t);
  const run = (sample.check_run ?? {}) as Record<string, unknown>;
  sample.check_run = {
    ...run,
    name,
    head_sha: t.headSha,
    pull_requests: [{ number: t.number, head: { sha: t.headSha }, base: { sha: t.baseSha, ref: 'main' } }],
  };
  return sample;
}

/** A `push` payload to `ref` (default `refs/heads/main`). */
export function pushPayload(
  t: Pick<PullRequestTarget, 'owner' | 'repo' | 'installationId'>,
  before: string,
  after: string,
  ref = 'refs/heads/main',
): Record<string, unknown> {
  const sample = examplePayload('push');
  adaptRepository(sample, t);
  return { ...sample, ref, before, after };
}

/** `sha256=<hex>` as GitHub puts in `X-Hub-Signature-256`. */
export function signPayload(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookResponse {
  status: number;
  body: string;
  deliveryId: string;
}

/** POSTs a signed delivery to `url` (the app's `/api/github/webhooks`). */
export async function sendWebhook(options: {
  url: string;
  secret: string;
  event: string;
  payload: unknown;
  deliveryId?: string;
  /** Overrides the signature (to test forged deliveries). */
  signature?: string;
}): Promise<WebhookResponse> {
  const body = JSON.stringify(options.payload);
  const deliveryId = options.deliveryId ?? randomUUID();
  const response = await fetch(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': options.event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': options.signature ?? signPayload(options.secret, body),
      'user-agent': 'GitHub-Hookshot/test',
    },
    body,
  });
  return { status: response.status, body: await response.text(), deliveryId };
}

let key: string | undefined;

/** An RSA private key (PKCS#8 PEM) for a test GitHub App; generated once per process. */
export function testAppPrivateKey(): string {
  key ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return key;
}
