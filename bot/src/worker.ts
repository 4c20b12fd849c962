// The BullMQ worker: for each job, read the PR and both trees through the GitHub API, analyse
// (pure), then write the check runs and the sticky comment. Jobs for a head that is no longer the
// PR's head are dropped; errors are retried with exponential backoff by BullMQ (GitHub errors,
// Redis errors), except problems that retrying cannot fix.
import {
  type Diagnostic,
  escapeMarkdown,
  evaluate,
  type FlowRecord,
  type Inventory,
  type LoadResult,
  loadPolicySet,
  markdownReason,
  type Reason,
  resolveEndpoint,
  teamHandles,
} from '@nyx/core';
import { type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AnalysisPool } from './analysis-pool.js';
import { type AnalysisCache, ownershipVerdict } from './analyze.js';
import { OWNERSHIP_CHECK, ownershipCheck, POLICY_CHECK, unreadableTreeComment } from './comment.js';
import {
  BlobCache,
  branchTip,
  changedPaths,
  createCheckRun,
  type GitHubClient,
  getPull,
  listOpenPulls,
  listReviews,
  listTree,
  mergeBase,
  mergedTree,
  postComment,
  type RepoRef,
  readBlobs,
  selectPolicyBlobs,
  type TreeBlob,
  TreeError,
  teamMembers,
  upsertStickyComment,
} from './github.js';
import { enqueue, type NyxJob, type QueueSettings } from './jobs.js';
import type { BotMetrics } from './metrics.js';
import { DEFAULT_REPO_CONFIG, parseRepoConfig, REPO_CONFIG_PATH, type RepoConfig } from './repo-config.js';
import type { FlowInputs } from './sources.js';

export interface WorkerDeps {
  /** An installation-authenticated client (ProbotOctokit: throttling and retry plugins included). */
  auth(installationId: number): Promise<GitHubClient>;
  /** This app's bot login (`<slug>[bot]`): the author of the sticky comments that are ours. */
  botLogin(): Promise<string>;
  inputs: FlowInputs;
  /** `analyzeChange` and the rendering of its verdict off the event loop (an `AnalysisPool`). */
  analysis: Pick<AnalysisPool, 'analyze' | 'render'>;
  /** A plain (non-blocking) connection for locks. */
  redis: Redis;
  queue: Queue<NyxJob>;
  settings: QueueSettings;
  metrics: BotMetrics;
  log: Logger;
  blobCache?: BlobCache;
  /** Analyses of base/head pairs already done, for review events (see `AnalysisCache`). */
  analyses?: AnalysisCache;
}

export type JobOutcome = 'done' | 'stale' | 'closed' | 'refreshed' | 'explained';

/**
 * The per-PR lock lives 15 s and is renewed every 5 s while its job runs, so a worker killed while
 * holding it (SIGKILL, OOM) stalls that PR for 15 s at most; a job waits up to 2 minutes for it.
 */
const LOCK_TTL_MS = 15_000;
const LOCK_RENEW_MS = 5_000;
const LOCK_WAIT_MS = 120_000;

/** A per-PR lock so that two jobs of one PR never write the sticky comment at the same time. */
async function withPullLock<T>(redis: Redis, key: string, fn: () => Promise<T>): Promise<T> {
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const lockKey = `nyx:bot:lock:${key}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  let delay = 20;
  while ((await redis.set(lockKey, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock of ${key}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  const renew = setInterval(() => {
    redis
      .eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
        1,
        lockKey,
        token,
        String(LOCK_TTL_MS),
      )
      .catch(() => {});
  }, LOCK_RENEW_MS);
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      lockKey,
      token,
    );
  }
}

/**
 * 4xx answers other than rate limiting will not get better by retrying; a 403 is rate limiting
 * unless GitHub says the resource is not accessible (a missing App permission or installation).
 */
function permanent(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  if (status === 403) return /not accessible/i.test((error as Error).message ?? '');
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 429 && status !== 409;
}

/** Reads a file of one revision through its tree listing (used for `.github/nyx.yml`). */
async function readTreeFile(
  gh: GitHubClient,
  ref: RepoRef,
  tree: readonly TreeBlob[],
  path: string,
  cache: BlobCache,
): Promise<string | undefined> {
  const entry = tree.find((b) => b.path === path && !b.linked);
  if (!entry) return undefined;
  const [file] = await readBlobs(gh, ref, [entry], { cache });
  return file?.content;
}

/**
 * `.github/nyx.yml` of the base revision: the repository configuration comes from the base branch,
 * like ownership. A file that does not parse yields the defaults and its errors.
 */
async function baseRepoConfig(
  gh: GitHubClient,
  ref: RepoRef,
  baseTree: readonly TreeBlob[],
  cache: BlobCache,
): Promise<{ config: Readonly<RepoConfig>; errors: Diagnostic[] }> {
  const parsed = parseRepoConfig(await readTreeFile(gh, ref, baseTree, REPO_CONFIG_PATH, cache));
  return parsed.ok
    ? { config: parsed.config, errors: [] }
    : { config: DEFAULT_REPO_CONFIG, errors: parsed.errors };
}

/** What every pull-request job starts from: the repository, an installation client and the blob cache. */
async function jobClient(
  job: NyxJob,
  deps: WorkerDeps,
): Promise<{ ref: RepoRef; gh: GitHubClient; cache: BlobCache }> {
  return {
    ref: { owner: job.owner, repo: job.repo },
    gh: await deps.auth(job.installationId),
    cache: deps.blobCache ?? new BlobCache(),
  };
}

async function analyzePull(job: Extract<NyxJob, { kind: 'analyze' }>, deps: WorkerDeps): Promise<JobOutcome> {
  const { ref, gh, cache } = await jobClient(job, deps);
  const pull = await getPull(gh, ref, job.pr);
  if (pull.state !== 'open') return 'closed';
  if (job.headSha && pull.headSha !== job.headSha) return 'stale';
  const headSha = pull.headSha;
  // The base is the branch's tip (a push job names the tip it was sent for); the PR's changes are
  // counted from the merge base, and the impact is that of the head merged onto the tip.
  const baseSha = job.baseSha ?? (await branchTip(gh, ref, pull.baseRef)) ?? pull.baseSha;
  const forkPoint = await mergeBase(gh, ref, baseSha, headSha);

  const [baseTree, headTree, forkTree] = await Promise.all([
    listTree(gh, ref, baseSha),
    listTree(gh, ref, headSha),
    forkPoint === baseSha ? undefined : listTree(gh, ref, forkPoint),
  ]);
  const { config: repoConfig, errors: configErrors } = await baseRepoConfig(gh, ref, baseTree, cache);
  const root = repoConfig.policyRoot;

  const [window, inv, observedWouldDeny] = await Promise.all([
    deps.inputs.window(repoConfig.windowHours),
    deps.inputs.inventory(),
    deps.inputs.wouldDeny(repoConfig.windowHours),
  ]);
  const cacheKey = deps.analyses?.key({
    repo: `${job.owner}/${job.repo}`,
    baseSha,
    headSha,
    root,
    window,
    inventory: inv.inventory,
  });
  let analysis = cacheKey === undefined ? undefined : deps.analyses?.get(cacheKey);
  if (analysis) {
    deps.metrics.analysesReused.inc();
  } else {
    try {
      const baseBlobs = selectPolicyBlobs(baseTree, root);
      const headBlobs = selectPolicyBlobs(headTree, root);
      const changedFiles = changedPaths(forkTree ? selectPolicyBlobs(forkTree, root) : baseBlobs, headBlobs);
      // The base first: the merged tree shares every blob but the changed ones, which are then the
      // only blobs read for it (the cache, by blob sha, also serves later jobs on the same base).
      const baseFiles = await readBlobs(gh, ref, baseBlobs, { cache, displayRoot: root, commit: baseSha });
      const headFiles = await readBlobs(gh, ref, mergedTree(baseBlobs, headBlobs, changedFiles), {
        cache,
        displayRoot: root,
        commit: headSha,
      });
      analysis = await deps.analysis.analyze({
        baseFiles,
        headFiles,
        changedFiles,
        inventory: inv.inventory,
        window,
      });
    } catch (error) {
      if (!(error instanceof TreeError)) throw error;
      // A tree the bot refuses to read is reported, not retried: on the comment (an earlier head's
      // verdict must not stand) and on both checks (ownership cannot be judged, so it fails closed).
      return withPullLock(deps.redis, `${job.owner}/${job.repo}#${job.pr}`, async () => {
        const current = await getPull(gh, ref, job.pr);
        if (current.headSha !== headSha) return 'stale';
        await upsertStickyComment(
          gh,
          ref,
          job.pr,
          unreadableTreeComment(headSha, error.message),
          await deps.botLogin(),
        );
        await createCheckRun(gh, ref, {
          name: POLICY_CHECK,
          headSha,
          conclusion: 'failure',
          title: 'policy tree not readable',
          summary: escapeMarkdown(error.message),
        });
        await createCheckRun(gh, ref, {
          name: OWNERSHIP_CHECK,
          headSha,
          conclusion: 'failure',
          title: 'ownership not evaluated: the policy tree could not be read',
          summary: 'Required approvals are not evaluated on a tree the bot refuses to read; see nyx/policy.',
        });
        return 'done';
      });
    }
    if (cacheKey !== undefined) deps.analyses?.set(cacheKey, analysis);
  }
  const reviews = await listReviews(gh, ref, job.pr);
  const approvers = reviews.filter((r) => r.state.toUpperCase() === 'APPROVED').map((r) => r.user);
  const members = await teamMembers(gh, teamHandles(analysis.groups), approvers);
  const approval = ownershipVerdict({
    analysis,
    reviews,
    author: pull.author,
    headSha,
    teamMembers: members,
  });

  return withPullLock(deps.redis, `${job.owner}/${job.repo}#${job.pr}`, async () => {
    // Re-check right before writing: a newer head or base may have arrived while we computed (a
    // job retried after errors must not overwrite the verdict on a newer base).
    const current = await getPull(gh, ref, job.pr);
    if (current.headSha !== headSha) return 'stale';
    const currentBase = (await branchTip(gh, ref, current.baseRef)) ?? current.baseSha;
    if (currentBase !== baseSha) return 'stale';
    // The comment goes first (it is what reviewers wait for; Octokit spaces writes a second apart);
    // its full-report link is the PR's checks tab, known before the check runs exist.
    // Rendered on a thread: a report of thousands of changes takes a while to write out.
    const review = job.trigger.startsWith('pull_request_review');
    const rendered = await deps.analysis.render({
      comment: {
        analysis,
        approval,
        headSha,
        policyRoot: root,
        maxLength: repoConfig.maxCommentLength,
        ...(observedWouldDeny ? { observedWouldDeny } : {}),
        ...(current.htmlUrl
          ? {
              fullReportUrl: `${current.htmlUrl}/checks`,
              // The pull request's page is <repository>/pull/<n>.
              repositoryUrl: current.htmlUrl.replace(/\/pull\/\d+$/, ''),
            }
          : {}),
      },
      // A review changes only who approved: the policy verdict of this head stands.
      ...(review
        ? {}
        : {
            policy: {
              analysis,
              headSha,
              policyRoot: root,
              conclusionOnNewlyDenied: repoConfig.conclusionOnNewlyDenied,
              configErrors,
            },
          }),
    });
    await upsertStickyComment(gh, ref, job.pr, rendered.comment, await deps.botLogin());
    if (rendered.policy) await createCheckRun(gh, ref, rendered.policy);
    await createCheckRun(gh, ref, ownershipCheck({ approval, headSha }));
    return 'done';
  });
}

/** `/nyx explain <src> <dst> <port>`: the verdict at the head, with reasons, as a reply. */
async function explainFlow(job: Extract<NyxJob, { kind: 'explain' }>, deps: WorkerDeps): Promise<JobOutcome> {
  const { ref, gh, cache } = await jobClient(job, deps);
  const pull = await getPull(gh, ref, job.pr);
  const tree = await listTree(gh, ref, pull.headSha);
  const baseTree = await listTree(gh, ref, pull.baseSha);
  const root = (await baseRepoConfig(gh, ref, baseTree, cache)).config.policyRoot;
  const files = await readBlobs(gh, ref, selectPolicyBlobs(tree, root), { cache, displayRoot: root });
  const { inventory } = await deps.inputs.inventory();
  const body = explainReply(job, pull.headSha, loadPolicySet(files), inventory);
  await postComment(gh, ref, job.pr, body);
  return 'explained';
}

/** The reasons as a Markdown list; their text names objects and files of the PR, so it is escaped. */
export function reasonList(reasons: readonly Reason[]): string {
  return reasons.map((r) => `- ${markdownReason(r)}`).join('\n');
}

/** The reply to `/nyx explain`: the verdict at the head with its reasons, or why there is none. */
function explainReply(
  job: Extract<NyxJob, { kind: 'explain' }>,
  headSha: string,
  loaded: LoadResult,
  inventory: Inventory,
): string {
  const head = `\`/nyx explain ${job.src} ${job.dst} ${job.port}\` at \`${headSha.slice(0, 12)}\``;
  if (!loaded.ok)
    return `${head}: the policy tree does not load (${loaded.errors.length} errors, see the nyx/policy check).`;
  const unknown = [job.src, job.dst].filter((e) => e.includes('/') && !resolveEndpoint(inventory, e));
  if (unknown.length > 0) return `${head}: ${unknown.join(', ')} is not in the inventory.`;
  const flow: FlowRecord = { src: job.src, dst: job.dst, protocol: job.protocol, port: job.port };
  const v = evaluate(loaded.policySet, inventory, flow);
  return [
    `${head}: **${v.verdict}** (as if enforced: **${v.asIfEnforced}**)`,
    '',
    reasonList(v.reasons),
    ...(v.asIfEnforced !== v.verdict
      ? ['', 'As if every object were enforced:', '', reasonList(v.asIfEnforcedReasons)]
      : []),
  ].join('\n');
}

/** Push to a base branch: re-analyse each open PR on it against the new base. */
async function refreshBase(job: Extract<NyxJob, { kind: 'refresh' }>, deps: WorkerDeps): Promise<JobOutcome> {
  const gh = await deps.auth(job.installationId);
  const pulls = await listOpenPulls(gh, { owner: job.owner, repo: job.repo }, job.baseRef);
  for (const p of pulls) {
    const { added } = await enqueue(
      deps.queue,
      {
        kind: 'analyze',
        owner: job.owner,
        repo: job.repo,
        installationId: job.installationId,
        deliveryId: job.deliveryId,
        trigger: 'push',
        pr: p.number,
        headSha: p.headSha,
        baseSha: job.baseSha,
        variant: `base-${job.baseSha}`,
      },
      deps.settings,
    );
    if (added) deps.metrics.enqueued.inc({ trigger: 'push' });
  }
  return 'refreshed';
}

/** Processes one job (exported for tests and the benchmark). */
export async function processJob(data: NyxJob, deps: WorkerDeps): Promise<JobOutcome> {
  const started = process.hrtime.bigint();
  try {
    const outcome =
      data.kind === 'analyze'
        ? await analyzePull(data, deps)
        : data.kind === 'explain'
          ? await explainFlow(data, deps)
          : await refreshBase(data, deps);
    deps.metrics.jobs.inc({ outcome });
    deps.metrics.duration.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    deps.log.info({ job: data.kind, repo: `${data.owner}/${data.repo}`, outcome }, `job ${outcome}`);
    return outcome;
  } catch (error) {
    deps.metrics.jobs.inc({ outcome: 'failed-attempt' });
    deps.metrics.failures.inc({ stage: data.kind });
    deps.log.warn({ err: error, job: data.kind, repo: `${data.owner}/${data.repo}` }, 'job attempt failed');
    if (permanent(error)) throw new UnrecoverableError((error as Error).message);
    throw error;
  }
}

/** Starts the BullMQ worker on its own (blocking) connection. */
export function startWorker(options: {
  queueName: string;
  connection: Redis;
  concurrency: number;
  deps: WorkerDeps;
}): Worker<NyxJob, JobOutcome> {
  const worker = new Worker<NyxJob, JobOutcome>(
    options.queueName,
    (job: Job<NyxJob>) => processJob(job.data, options.deps),
    {
      connection: options.connection,
      concurrency: options.concurrency,
      // Jobs whose worker vanished (crash, Redis restart) are picked up again.
      stalledInterval: 15_000,
      maxStalledCount: 2,
    },
  );
  worker.on('error', (error) => options.deps.log.warn({ err: error }, 'worker connection error'));
  return worker;
}
