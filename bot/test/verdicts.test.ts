// Verdicts that must not go stale or wrong under concurrency and faults, against the real Probot
// server (real redis-server, GitHub faked at the HTTP level with fault injection).
import { pushPayload } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../src/index.js';
import {
  analyse,
  deliver,
  type Harness,
  INSTALLATION,
  OWNER,
  openPull,
  REPO,
  requestsFor,
  startHarness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  h.github.setTeam('cloudmart/storefront-team', ['alice']);
  h.github.setTeam('cloudmart/payments-team', ['paula']);
  h.github.setTeam('cloudmart/platform', ['pat']);
});
afterAll(async () => {
  await h?.close();
});

const STOREFRONT = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
const PAYMENTS_NOTE = 'namespaces/cloudmart-payments/notes.yaml';

describe('the base of a pull request', () => {
  it('an unrelated change merged to main is not counted as the PR’s change (merge base, three-dot)', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# storefront only\n` });
    // main moves on: the payments team changes its own folder.
    const main = await h.git.commit({ [PAYMENTS_NOTE]: '# payments notes\n' }, { parent: h.baseSha });
    h.repo.branches.set('main', main);
    try {
      await analyse(h, t);
      const r = requestsFor(h, t);
      const ownership = r.ownership.at(-1);
      expect(ownership?.output.text).toContain('cloudmart-storefront');
      expect(ownership?.output.text).not.toContain('payments');
      expect(r.commentPosts.at(-1)).not.toContain('payments-team');
      // The impact is that of the head merged onto the current main: the merge-base was compared.
      expect(h.github.find('GET', new RegExp(`/compare/${main}\\.\\.\\.${t.headSha}$`)).length).toBe(1);
    } finally {
      h.repo.branches.set('main', h.baseSha);
    }
  });

  it('an analysis of a superseded base that finishes last (slow or retried reads) does not overwrite the newer one', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# base race\n` });
    await analyse(h, t);
    for (const p of h.repo.pulls.values()) if (p.number !== t.number) p.state = 'closed';
    const b1 = await h.git.commit({ 'cluster/NOTES.md': 'one\n' }, { parent: h.baseSha });
    const b2 = await h.git.commit({ 'cluster/NOTES.md': 'two\n' }, { parent: b1 });
    const repoRef = { owner: OWNER, repo: REPO, installationId: INSTALLATION };
    // B1's analysis stalls reading its tree (GitHub answering slowly, then errors) …
    const release = h.github.hold('GET', new RegExp(`/git/trees/${b1}$`));
    try {
      h.repo.branches.set('main', b1);
      await deliver(h, 'push', pushPayload(repoRef, h.baseSha, b1));
      await h.github.waitFor((q) => q.path.endsWith(`/compare/${b1}...${t.headSha}`));
      // … while main moves to B2 and B2's analysis completes.
      h.repo.branches.set('main', b2);
      const before = requestsFor(h, t).ownership.length;
      await deliver(h, 'push', pushPayload(repoRef, b1, b2));
      await h.github.waitFor(
        (q) =>
          q.method === 'POST' &&
          q.path.endsWith('/check-runs') &&
          requestsFor(h, t).ownership.length > before,
      );
    } finally {
      release();
    }
    const releasedAt = Date.now();
    await h.bot.drained();
    // B1's job got its tree and finished after B2's had written: it wrote nothing.
    expect(h.github.find('GET', new RegExp(`/git/trees/${b1}$`)).length).toBeGreaterThan(0);
    const writes = h.github.requests.filter(
      (q) =>
        q.at > releasedAt &&
        ((q.method === 'POST' && q.path.endsWith('/check-runs')) ||
          q.method === 'PATCH' ||
          q.path.endsWith('/comments')),
    );
    expect(writes.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(requestsFor(h, t).ownership.at(-1)?.conclusion).toBeDefined();
  });
});

describe('the sticky comment', () => {
  const note = (id: number, login: string, body: string) => ({
    id,
    body,
    user: { login, type: 'Bot' },
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  });

  it('a create whose answer is lost (502 after GitHub stored it) leaves one comment, not two', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# lost answer\n` });
    h.github.failAfterNext('POST', new RegExp(`/issues/${t.number}/comments$`), 502);
    await analyse(h, t);
    const comments = h.repo.comments.get(t.number) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(COMMENT_MARKER);
    expect(requestsFor(h, t).commentPosts).toHaveLength(1);
  });

  it('another app’s comment with our marker is left alone; our own duplicates are cleaned up', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# marker\n` });
    const theirs = note(1, 'other-app[bot]', `${COMMENT_MARKER}\nnot ours`);
    h.repo.comments.set(t.number, [
      theirs,
      note(2, 'nyx-bot[bot]', `${COMMENT_MARKER}\nold`),
      note(3, 'nyx-bot[bot]', `${COMMENT_MARKER}\nolder duplicate`),
    ]);
    await analyse(h, t);
    const comments = h.repo.comments.get(t.number) ?? [];
    expect(comments.map((c) => c.id)).toEqual([1, 2]);
    expect(comments[0]?.body).toBe(`${COMMENT_MARKER}\nnot ours`);
    expect(comments[1]?.body).toContain('nyx-gitops · head');
    expect(requestsFor(h, t).commentPosts).toHaveLength(0);
  });
});

describe('errors that retrying cannot fix', () => {
  it('a 403 "Resource not accessible by integration" fails the job once, not six times', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# forbidden\n` });
    const path = new RegExp(`/pulls/${t.number}$`);
    h.github.failNext('GET', path, 403, 10, 'Resource not accessible by integration');
    await analyse(h, t);
    expect(h.github.find('GET', path)).toHaveLength(1);
  });
});

describe('rate limits', () => {
  it('a 429 with retry-after is waited for and the request re-sent, not the job', async () => {
    const t = await openPull(h, { [STOREFRONT]: `${h.baseFiles[STOREFRONT]}\n# slow down\n` });
    const path = new RegExp(`/pulls/${t.number}/reviews$`);
    h.github.failNext('GET', path, 429, 1, 'too many requests', { 'retry-after': '2' });
    await analyse(h, t);
    const reads = h.github.find('GET', path);
    expect(reads.map((q) => q.status)).toEqual([429, 200]);
    expect((reads[1]?.at ?? 0) - (reads[0]?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    // One attempt of the job: the PR was read once at the start and once under the lock.
    expect(h.github.find('GET', new RegExp(`/pulls/${t.number}$`))).toHaveLength(2);
    expect(requestsFor(h, t).ownership).toHaveLength(1);
  });
});

describe('a large pull request', () => {
  it('600 new policy files are read as one tarball, not 600 blob requests', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 600; i++) files[`namespaces/cloudmart-storefront/bulk-${i}.yaml`] = `# bulk ${i}\n`;
    const t = await openPull(h, files);
    const blobsBefore = h.github.find('GET', /\/git\/blobs\//).length;
    await analyse(h, t);
    expect(h.github.find('GET', new RegExp(`/tarball/${t.headSha}$`))).toHaveLength(1);
    // The base's own ~20 files may be read one by one; none of the 600.
    expect(h.github.find('GET', /\/git\/blobs\//).length - blobsBefore).toBeLessThan(50);
    expect(requestsFor(h, t).policy.at(-1)?.conclusion).toBe('success');
  });
});
