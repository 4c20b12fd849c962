// nyx-bot end to end with real components: the real Probot server over HTTP with signed webhooks
// built from @octokit/webhooks-examples samples, a real redis-server under BullMQ, and GitHub's
// REST API faked at the HTTP level over a real git repository. Assertions are on the exact
// requests the bot makes.
import { join } from 'node:path';
import {
  checkRunRerequestedPayload,
  createGitRepo,
  issueCommentPayload,
  pullRequestPayload,
  pushPayload,
  readDirFiles,
  reviewPayload,
  sendWebhook,
  signPayload,
} from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../src/index.js';
import {
  analyse,
  deliver,
  EXAMPLES,
  type Harness,
  INSTALLATION,
  OWNER,
  openPull,
  REPO,
  requestsFor,
  SECRET,
  startHarness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.github.setTeam('cloudmart/storefront-team', ['alice', 'mallory']);
  h.github.setTeam('cloudmart/platform', ['pat']);
});

afterAll(async () => {
  await h?.close();
});

/** The template's example change as the head revision. */
async function exampleChange(): Promise<Record<string, string>> {
  return readDirFiles(join(EXAMPLES, 'change-head'));
}

describe('impact', () => {
  it('a PR that newly denies observed flows: headline first, neutral check, one sticky comment', async () => {
    const t = await openPull(h, await exampleChange(), { replace: true });
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy).toHaveLength(1);
    expect(r.policy[0]?.conclusion).toBe('neutral');
    expect(r.policy[0]?.output.title).toBe('2 observed flows would be denied');
    expect(r.policy[0]?.output.text).toContain('egress-lockdown');
    expect(r.commentPosts).toHaveLength(1);
    const body = r.commentPosts[0] ?? '';
    expect(body.startsWith(`${COMMENT_MARKER}\n⚠️ **2 observed flows would be denied**`)).toBe(true);
    expect(body).toContain(
      'cloudmart-storefront/storefront-frontend → cloudmart-analytics/analytics-collector',
    );
    expect(body).toContain('```mermaid');
    expect(body).toContain('Needs approval from');
    // Lint of the head that the base did not have is annotated on the check.
    expect(r.policy[0]?.output.annotations?.length).toBeGreaterThan(0);
    expect(r.ownership[0]?.conclusion).toBe('failure');
    // Trees and blobs came through the API, with the recursive flag.
    const trees = h.github.find('GET', /\/git\/trees\//).filter((q) => q.path.endsWith(t.headSha));
    expect(trees[0]?.query.recursive).toBe('1');
  });

  it('a PR that changes nothing observed says so plainly, with the window coverage', async () => {
    const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
    const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# reviewed\n` });
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy[0]?.conclusion).toBe('success');
    expect(r.policy[0]?.output.title).toMatch(
      /^no observed flow changes — window: [\d,]+ connections \(\d+ flows?\)/,
    );
    const body = r.commentPosts[0] ?? '';
    expect(body).toMatch(
      /✅ No observed flow changes verdict — window: .* connections \(.* flows?\), .*namespaces/,
    );
  });
});

describe('validation', () => {
  it('invalid YAML and out-of-band priorities: failure with annotations at the right lines, batched ≤50, no impact', async () => {
    const changes: Record<string, string> = {
      'namespaces/cloudmart-storefront/broken.yaml':
        'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: broken\n  labels: [unclosed\n',
    };
    for (let i = 0; i < 60; i++) {
      changes[`namespaces/cloudmart-storefront/p${i}.yaml`] = [
        'apiVersion: nyx.tracenyx.io/v1alpha1',
        'kind: NyxNetworkPolicy',
        'metadata:',
        `  name: p${i}`,
        'spec:',
        '  priority: 50',
        '  egress:',
        '    - decision: Allow',
        '',
      ].join('\n');
    }
    const t = await openPull(h, changes);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy[0]?.conclusion).toBe('failure');
    const run = h.repo.checkRuns.find((c) => c.name === 'nyx/policy' && c.head_sha === t.headSha);
    const annotations = (run?.annotations ?? []) as Array<{
      path: string;
      start_line: number;
      message: string;
    }>;
    expect(annotations.length).toBeGreaterThanOrEqual(61);
    // First request carried 50, the rest came by PATCH in batches of at most 50.
    expect(r.policy[0]?.output.annotations).toHaveLength(50);
    const patches = h.github
      .find('PATCH', /\/check-runs\/\d+$/)
      .filter((q) => q.path.endsWith(`/${run?.id}`));
    expect(patches.length).toBe(Math.ceil((annotations.length - 50) / 50));
    const p7 = annotations.find((a) => a.path === 'namespaces/cloudmart-storefront/p7.yaml');
    expect(p7?.start_line).toBe(6);
    expect(p7?.message).toMatch(/priority 50/);
    const broken = annotations.find((a) => a.path === 'namespaces/cloudmart-storefront/broken.yaml');
    expect(broken?.start_line).toBeGreaterThanOrEqual(5);
    const body = r.commentPosts[0] ?? '';
    expect(body).toContain('does not load');
    expect(body).toContain('No impact was computed on a broken tree');
    expect(body).not.toMatch(/would be denied|window:/);
  });
});

/** `nyx_bot_analyses_reused_total` as the bot's /metrics shows it. */
async function analysesReused(): Promise<number> {
  const text = await (await fetch(`${h.bot.url}/metrics`)).text();
  return Number(/^nyx_bot_analyses_reused_total (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

describe('ownership', () => {
  const storefrontFile = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
  const touch = (path: string): Record<string, string> => ({
    [path]: `${h.baseFiles[path]}\n# touched ${Math.random()}\n`,
  });

  it('a namespace change approved by its owner turns nyx/ownership green on the review', async () => {
    const t = await openPull(h, touch(storefrontFile));
    await analyse(h, t);
    expect(requestsFor(h, t).ownership.at(-1)?.conclusion).toBe('failure');
    h.repo.reviews.set(t.number, [{ user: 'alice', state: 'APPROVED', commitId: t.headSha }]);
    const reusedBefore = await analysesReused();
    const blobReadsBefore = h.github.find('GET', /\/git\/blobs\//).length;
    await deliver(
      h,
      'pull_request_review',
      reviewPayload('submitted', t, { user: 'alice', state: 'APPROVED', commitId: t.headSha }),
    );
    await h.bot.drained();
    const r = requestsFor(h, t);
    expect(r.ownership.at(-1)?.conclusion).toBe('success');
    // Only approvals changed: the analysis of this base and head is reused, no blob is read again.
    expect(await analysesReused()).toBe(reusedBefore + 1);
    expect(h.github.find('GET', /\/git\/blobs\//)).toHaveLength(blobReadsBefore);
    expect(
      h.github.find('GET', /\/orgs\/cloudmart\/teams\/storefront-team\/memberships\/alice$/).length,
    ).toBeGreaterThan(0);
    // Still one comment, edited in place.
    expect(r.commentPosts).toHaveLength(1);
    expect(r.comments).toHaveLength(1);
    expect(r.comments[0]?.body).toContain('approved by @alice');
  });

  it('a cluster change approved only by a namespace owner stays pending', async () => {
    const t = await openPull(h, touch('cluster/baseline.yaml'));
    h.repo.reviews.set(t.number, [{ user: 'alice', state: 'APPROVED', commitId: t.headSha }]);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.ownership.at(-1)?.conclusion).toBe('failure');
    expect(r.ownership.at(-1)?.output.title).toContain('@cloudmart/platform');
  });

  it("the author's own approval does not count", async () => {
    const t = await openPull(h, touch(storefrontFile), { author: 'alice' });
    h.repo.reviews.set(t.number, [{ user: 'alice', state: 'APPROVED', commitId: t.headSha }]);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.ownership.at(-1)?.conclusion).toBe('failure');
    expect(r.ownership.at(-1)?.output.text).toContain("author's own approval");
  });

  it('a PR adding its author to OWNERS does not make the author an owner', async () => {
    const owners = 'namespaces/cloudmart-storefront/OWNERS';
    const t = await openPull(
      h,
      { ...touch(storefrontFile), [owners]: 'approvers:\n  - cloudmart/storefront-team\n  - eve\n' },
      { author: 'eve' },
    );
    h.repo.reviews.set(t.number, [{ user: 'eve', state: 'APPROVED', commitId: t.headSha }]);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.ownership.at(-1)?.conclusion).toBe('failure');
    expect(r.ownership.at(-1)?.output.text).not.toContain('approved by @eve');
  });
});

describe('webhooks and the queue', () => {
  it('a forged signature is refused and nothing is enqueued', async () => {
    const t = await openPull(h, {});
    const before = await h.bot.queue.count();
    const requestsBefore = h.github.requests.length;
    const payload = pullRequestPayload('opened', t);
    const response = await sendWebhook({
      url: h.bot.webhookUrl,
      secret: SECRET,
      event: 'pull_request',
      payload,
      signature: signPayload('not-the-secret', JSON.stringify(payload)),
    });
    expect([400, 401]).toContain(response.status);
    expect(await h.bot.queue.count()).toBe(before);
    expect(await h.bot.queue.getJob(`cloudmart/network-policy#${t.number}@${t.headSha}`)).toBeUndefined();
    expect(h.github.requests.length).toBe(requestsBefore);
  });

  it('the same delivery twice runs once', async () => {
    const t = await openPull(h, {
      'namespaces/cloudmart-storefront/storefront-to-payments.yaml': `${h.baseFiles['namespaces/cloudmart-storefront/storefront-to-payments.yaml']}\n# twice\n`,
    });
    const payload = pullRequestPayload('opened', t);
    const enqueued = async (): Promise<number> =>
      (await h.bot.metrics.enqueued.get()).values.reduce((a, v) => a + v.value, 0);
    const before = await enqueued();
    await deliver(h, 'pull_request', payload, 'delivery-twice');
    await deliver(h, 'pull_request', payload, 'delivery-twice');
    await h.bot.drained();
    // nyx_bot_jobs_enqueued_total counts the job once, not the dropped duplicate.
    expect((await enqueued()) - before).toBe(1);
    // Redelivered later (after completion) it is still recognised.
    await deliver(h, 'pull_request', payload, 'delivery-twice');
    await h.bot.drained();
    const r = requestsFor(h, t);
    expect(r.policy).toHaveLength(1);
    expect(r.commentPosts).toHaveLength(1);
  });

  it('20 synchronize events in a burst: one comment, reflecting the last head', async () => {
    const t = await openPull(h, {});
    const heads: string[] = [];
    for (let i = 0; i < 20; i++) {
      heads.push(
        await h.git.commit(
          { [`namespaces/cloudmart-storefront/burst-${i}.yaml`]: `# burst ${i}\n` },
          { parent: h.baseSha },
        ),
      );
    }
    const last = heads[19] ?? '';
    // GitHub's view: the PR's head is the last push by the time the worker asks.
    const pull = h.repo.pulls.get(t.number);
    if (pull) pull.headSha = last;
    await Promise.all(
      heads.map((sha) =>
        deliver(h, 'pull_request', pullRequestPayload('synchronize', { ...t, headSha: sha })),
      ),
    );
    await h.bot.drained();
    const posts = h.github.find('POST', new RegExp(`/issues/${t.number}/comments$`));
    expect(posts).toHaveLength(1);
    const comments = h.repo.comments.get(t.number) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(last.slice(0, 12));
    const checkHeads = h.github
      .find('POST', /\/check-runs$/)
      .map((q) => (q.body as { head_sha: string }).head_sha);
    for (const sha of heads.slice(0, 19)) expect(checkHeads).not.toContain(sha);
    expect(checkHeads.filter((s) => s === last)).toHaveLength(2);
  });

  it('Redis restarted while a job is queued: the job completes afterwards, once', async () => {
    const t = await openPull(h, {
      'namespaces/cloudmart-storefront/storefront-to-payments.yaml': `${h.baseFiles['namespaces/cloudmart-storefront/storefront-to-payments.yaml']}\n# restart\n`,
    });
    await h.bot.pauseWorker();
    await deliver(h, 'pull_request', pullRequestPayload('opened', t));
    expect(await h.bot.queue.getWaitingCount()).toBe(1);
    await h.redis.restart();
    h.bot.resumeWorker();
    await h.bot.drained(90_000);
    const r = requestsFor(h, t);
    expect(r.commentPosts).toHaveLength(1);
    expect(r.policy).toHaveLength(1);
  });

  it('retries GitHub errors (Octokit retry plugin, then BullMQ backoff)', async () => {
    const t = await openPull(h, {
      'namespaces/cloudmart-storefront/storefront-to-payments.yaml': `${h.baseFiles['namespaces/cloudmart-storefront/storefront-to-payments.yaml']}\n# retry\n`,
    });
    h.github.failNext('POST', new RegExp(`/issues/${t.number}/comments$`), 502, 1);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(h.repo.comments.get(t.number)).toHaveLength(1);
    expect(r.commentPosts.length).toBeGreaterThan(1);
  });

  it('serves /healthz and /metrics on the Probot server', async () => {
    const health = await fetch(`${h.bot.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', redis: 'up' });
    const metrics = await (await fetch(`${h.bot.url}/metrics`)).text();
    expect(metrics).toMatch(/nyx_bot_jobs_total\{outcome="done"\} \d+/);
    expect(metrics).toMatch(/nyx_bot_jobs_total\{outcome="stale"\} \d+/);
    expect(metrics).toContain('nyx_bot_job_duration_seconds_bucket');
  });
});

describe('commands and re-evaluation', () => {
  it('/nyx explain replies with the verdict at head and its reasons', async () => {
    const t = await openPull(h, await exampleChange(), { replace: true });
    await deliver(
      h,
      'issue_comment',
      issueCommentPayload(
        t,
        '/nyx explain cloudmart-storefront/storefront-frontend-7c9f8b6d5-2lq8x cloudmart-analytics/analytics-collector-7b6c5d4f8-h2kdm 4317',
      ),
    );
    await h.bot.drained();
    const posts = requestsFor(h, t).commentPosts;
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain('**deny**');
    expect(posts[0]).toContain('isolated: no rule matched');
    expect(posts[0]).not.toContain(COMMENT_MARKER);
  });

  it('/nyx rerun and a re-requested check analyse the current head again, editing the same comment', async () => {
    const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
    const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# rerun\n` });
    await analyse(h, t);
    await deliver(h, 'issue_comment', issueCommentPayload(t, '/nyx rerun'));
    await h.bot.drained();
    await deliver(h, 'check_run', checkRunRerequestedPayload(t));
    await h.bot.drained();
    const r = requestsFor(h, t);
    expect(r.policy).toHaveLength(3);
    expect(r.commentPosts).toHaveLength(1);
    expect(r.comments).toHaveLength(1);
  });

  it('a push to the default branch re-analyses the open PRs on it against the new base', async () => {
    const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
    const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# push\n` });
    await analyse(h, t);
    // Only this PR stays open, so the refresh touches it alone.
    for (const p of h.repo.pulls.values()) if (p.number !== t.number) p.state = 'closed';
    const newBase = await h.git.commit({ 'cluster/NOTES.md': 'platform notes\n' }, { parent: h.baseSha });
    h.repo.branches.set('main', newBase);
    await deliver(
      h,
      'push',
      pushPayload({ owner: OWNER, repo: REPO, installationId: INSTALLATION }, h.baseSha, newBase),
    );
    await h.bot.drained();
    expect(h.github.find('GET', new RegExp(`/git/trees/${newBase}$`)).length).toBeGreaterThan(0);
    expect(requestsFor(h, t).policy).toHaveLength(2);
    expect(requestsFor(h, t).commentPosts).toHaveLength(1);
  });
});

describe('.github/nyx.yml', () => {
  it('a policy tree in a sub-folder, with failure on newly denied flows', async () => {
    const git = await createGitRepo();
    try {
      const prefix = (files: Record<string, string>): Record<string, string> =>
        Object.fromEntries(Object.entries(files).map(([p, c]) => [`policies/${p}`, c]));
      const base = await git.commit({
        ...prefix(h.baseFiles),
        '.github/nyx.yml': 'policyRoot: policies\nconclusionOnNewlyDenied: failure\nwindow: 7d\n',
        'README.md': 'not policy\n',
      });
      const head = await git.commit(
        {
          ...prefix(await exampleChange()),
          '.github/nyx.yml': 'policyRoot: policies\nconclusionOnNewlyDenied: failure\nwindow: 7d\n',
          'README.md': 'not policy\n',
        },
        { replace: true, parent: base },
      );
      const repo = h.github.addRepo({ owner: OWNER, name: 'nested', git });
      repo.pulls.set(1, { number: 1, headSha: head, baseSha: base, author: 'dev-author' });
      const t = {
        owner: OWNER,
        repo: 'nested',
        installationId: INSTALLATION,
        number: 1,
        headSha: head,
        baseSha: base,
        author: 'dev-author',
      };
      await deliver(h, 'pull_request', pullRequestPayload('opened', t));
      await h.bot.drained();
      const run = repo.checkRuns.find((c) => c.name === 'nyx/policy');
      expect(run?.conclusion).toBe('failure');
      expect(run?.output?.title).toBe('2 observed flows would be denied');
      const paths = (run?.annotations ?? []).map((a) => (a as { path: string }).path);
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) expect(p.startsWith('policies/namespaces/')).toBe(true);
      expect(repo.comments.get(1)?.[0]?.body).toContain('2 observed flows would be denied');
    } finally {
      await git.close();
    }
  });
});
