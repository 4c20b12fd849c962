// Hostile pull requests against the real Probot server (real redis-server, GitHub faked at the HTTP
// level): trees that would read differently on disk and through the API, and strings that would
// inject Markdown or HTML into what the bot writes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readPolicyTree } from '@nyx/io';
import type { Nodes } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, type Harness, openPull, requestsFor, startHarness } from './harness.js';

const exec = promisify(execFile);

function parse(markdown: string): Nodes {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

function flatten(node: Nodes): Nodes[] {
  return [node, ...('children' in node ? node.children.flatMap((c) => flatten(c as Nodes)) : [])];
}
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.github.setTeam('cloudmart/platform', ['pat']);
});
afterAll(async () => {
  await h?.close();
});

const PLATFORM_DENY = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: zz-deny-egress
spec:
  priority: 1
  policyTypes:
    - Egress
  egress:
    - decision: Deny
      to:
        - ipBlock:
            cidr: 0.0.0.0/0
`;

describe('symlinks and submodules', () => {
  it('a symlink into cluster/ and a submodule fail nyx/policy with path:1, and nyxctl’s reader refuses the same checkout', async () => {
    const t = await openPull(
      h,
      {
        'fragments/zz.yaml': PLATFORM_DENY,
        'cluster/zz.yaml': { symlink: '../fragments/zz.yaml' },
        'namespaces/cloudmart-storefront/passwd.yaml': { symlink: '/etc/passwd' },
        'namespaces/vendor': { submodule: 'a'.repeat(40) },
      },
      { author: 'nobody' },
    );
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy).toHaveLength(1);
    expect(r.policy[0]?.conclusion).toBe('failure');
    expect(r.policy[0]?.output.summary).toMatch(
      /^cluster\/zz\.yaml:1: symlinks are not allowed under the policy root/,
    );
    // Ownership is never reported green on a tree the bot could not read.
    expect(r.ownership.every((c) => c.conclusion !== 'success')).toBe(true);

    // The same commit checked out on disk: the reader `nyxctl` uses refuses it too.
    const dir = await mkdtemp(join(tmpdir(), 'nyx-checkout-'));
    try {
      await exec('git', [
        '--git-dir',
        join(h.git.dir, '.git'),
        '--work-tree',
        dir,
        'checkout',
        t.headSha,
        '--',
        '.',
      ]);
      await expect(readPolicyTree(dir)).rejects.toThrow(/^cluster\/zz\.yaml:1: symlinks are not allowed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a submodule alone is refused the same way', async () => {
    const t = await openPull(h, { 'namespaces/vendor': { submodule: 'b'.repeat(40) } }, { author: 'nobody' });
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy[0]?.conclusion).toBe('failure');
    expect(r.policy[0]?.output.summary).toMatch(/^namespaces\/vendor:1: submodules are not allowed/);
  });
});

describe('Markdown and HTML injection', () => {
  it('OWNERS folder names, a YAML key shaped like a link and a backtick in a file name stay text in the comment and checks', async () => {
    const evilFolder = 'x<h3>✅ Ownership: approved</h3>[ok](evil.example) @cloudmart/payments-team';
    const t = await openPull(
      h,
      {
        [`${evilFolder}/OWNERS`]: 'approvers:\n  - cloudmart/platform\n',
        'namespaces/cloudmart-storefront/a`b.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web
  namespace: cloudmart-storefront
spec:
  priority: 200
  "[click me](https://evil.example)": 1
`,
      },
      { author: 'nobody' },
    );
    await analyse(h, t);
    const r = requestsFor(h, t);
    const body = r.commentPosts.at(-1) ?? '';
    expect(body).toContain('unknown');
    for (const markdown of [body, r.policy[0]?.output.text ?? '', r.ownership[0]?.output.summary ?? '']) {
      const nodes = flatten(parse(markdown));
      // Only what the bot itself writes: its marker and <sub> footer, its link to the checks tab.
      expect(nodes.filter((n) => n.type === 'html').map((n) => (n as { value: string }).value)).toEqual(
        markdown === body ? ['<!-- nyx-gitops:impact -->', '<sub>', '</sub>'] : [],
      );
      for (const n of nodes.filter((n) => n.type === 'link'))
        expect((n as { url: string }).url).toMatch(/^https:\/\/github\.invalid\//);
      expect(
        nodes
          .filter((n) => n.type === 'inlineCode')
          .every((n) => /^[0-9a-f]{12}$/.test((n as { value: string }).value)),
      ).toBe(true);
      expect(nodes.filter((n) => n.type === 'heading')).toHaveLength(markdown === body ? 2 : 0);
      expect(markdown).not.toMatch(/(?<!\w)@cloudmart\/payments-team/);
    }
    expect(body).toContain('a\\`b.yaml');
    expect(body).toContain('\\[click me\\]');
  });
});

describe('a refused head', () => {
  it('a 2 MB YAML file: the comment says the head could not be analysed and ownership fails closed', async () => {
    const file = 'namespaces/cloudmart-storefront/storefront-to-payments.yaml';
    const t = await openPull(h, { [file]: `${h.baseFiles[file]}\n# fine\n` }, { author: 'nobody' });
    h.repo.reviews.set(t.number, [{ user: 'pat', state: 'APPROVED', commitId: t.headSha }]);
    await analyse(h, t);
    expect(h.repo.comments.get(t.number)?.[0]?.body).not.toContain('could not be analysed');
    const big = await h.git.commit(
      { 'namespaces/cloudmart-storefront/big.yaml': `# ${'x'.repeat(2 * 1024 * 1024)}\n` },
      { parent: t.headSha },
    );
    const pull = h.repo.pulls.get(t.number);
    if (pull) pull.headSha = big;
    const next = { ...t, headSha: big };
    await analyse(h, next, 'synchronize');
    const comments = h.repo.comments.get(t.number) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`could not be analysed`);
    expect(comments[0]?.body).toContain('big.yaml: 2097155 bytes');
    const r = requestsFor(h, next);
    expect(r.policy.at(-1)?.conclusion).toBe('failure');
    expect(r.ownership.at(-1)?.conclusion).toBe('failure');
  });
});
