import { describe, expect, it } from 'vitest';
import type { PolicyFile, PolicyObject, PolicySet } from './model.js';
import {
  type ApprovalGroup,
  approvalStatus,
  changedObjects,
  codeOwnersPatternMatches,
  loadOwnership,
  type Ownership,
  ownersForChange,
  parseOwners,
  requiredApprovals,
  teamHandles,
} from './ownership.js';

const baseFiles: PolicyFile[] = [
  { path: 'OWNERS', content: 'approvers:\n  - acme/platform\n' },
  {
    path: 'cluster/OWNERS',
    content: 'approvers:\n  - "@acme/platform"\nreviewers:\n  - alice\nlabels:\n  - area/cluster\n',
  },
  { path: 'namespaces/shop/OWNERS', content: 'approvers:\n  - acme/shop-team\n  - Bob\n' },
  { path: 'namespaces/shop/allow.yaml', content: 'kind: NyxNetworkPolicy\n' },
  { path: 'namespaces/blog/policy.yaml', content: 'kind: NyxNetworkPolicy\n' },
];

function ownership(files: PolicyFile[] = baseFiles): Ownership {
  const r = loadOwnership(files);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.ownership;
}

const teams = new Map([
  ['acme/platform', new Set(['alice', 'Carol'])],
  ['ACME/shop-team', new Set(['dave'])],
]);

describe('parseOwners', () => {
  it('reads approvers, reviewers and labels, stripping @', () => {
    const r = parseOwners('cluster/OWNERS', baseFiles[1]!.content);
    expect(r).toEqual({
      ok: true,
      owners: {
        path: 'cluster/OWNERS',
        approvers: ['acme/platform'],
        reviewers: ['alice'],
        labels: ['area/cluster'],
      },
    });
  });

  it('refuses unknown keys, bad handles and empty approvers at their line', () => {
    const r = parseOwners('namespaces/x/OWNERS', 'approver:\n  - bob\nreviewers:\n  - "not a handle"\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`);
    expect(text).toContain(
      'namespaces/x/OWNERS:1: unknown key "approver"; OWNERS takes approvers, reviewers and labels',
    );
    expect(text).toContain(
      'namespaces/x/OWNERS:4: reviewers[0]: "not a handle" is not a GitHub user or org/team handle',
    );
    expect(text.some((t) => t.includes('approvers: expected a non-empty list'))).toBe(true);
  });

  it('refuses a file that is not a mapping', () => {
    const r = parseOwners('OWNERS', '- alice\n');
    expect(r.ok).toBe(false);
  });
});

describe('codeOwnersPatternMatches', () => {
  it('follows gitignore-style anchoring and globs', () => {
    expect(codeOwnersPatternMatches('/cluster/', 'cluster/config.yaml')).toBe(true);
    expect(codeOwnersPatternMatches('/cluster/', 'namespaces/cluster/x.yaml')).toBe(false);
    expect(codeOwnersPatternMatches('*.yaml', 'namespaces/a/b.yaml')).toBe(true);
    expect(codeOwnersPatternMatches('namespaces/*/OWNERS', 'namespaces/a/OWNERS')).toBe(true);
    expect(codeOwnersPatternMatches('namespaces/**/x.yaml', 'namespaces/a/b/x.yaml')).toBe(true);
    expect(codeOwnersPatternMatches('docs', 'a/docs/readme.md')).toBe(true);
    expect(codeOwnersPatternMatches('*', 'anything/at/all')).toBe(true);
    expect(codeOwnersPatternMatches('docs/*', 'docs/a.md')).toBe(true);
    expect(codeOwnersPatternMatches('docs/*', 'docs/deep/a.md')).toBe(false);
    expect(codeOwnersPatternMatches('apps/', 'x/apps/a.yaml')).toBe(true);
  });
});

describe('requiredApprovals', () => {
  it('a change under cluster/ needs cluster/OWNERS', () => {
    const groups = requiredApprovals({
      ownership: ownership(),
      changedFiles: ['cluster/guardrails.yaml'],
      changedObjects: [],
    });
    expect(groups).toEqual([
      {
        id: 'cluster/OWNERS',
        reason: 'cluster/ changed',
        approvers: ['acme/platform'],
        paths: ['cluster/guardrails.yaml'],
      },
    ]);
  });

  it('a namespace change needs that namespace; an object in the 0–99 band also needs the platform', () => {
    const groups = requiredApprovals({
      ownership: ownership(),
      changedFiles: ['namespaces/shop/allow.yaml'],
      changedObjects: [
        {
          id: 'NyxNetworkPolicy/shop/allow',
          kind: 'NyxNetworkPolicy',
          file: 'namespaces/shop/allow.yaml',
          change: 'modified',
          priorities: [500, 50],
        },
      ],
    });
    expect(groups.map((g) => [g.id, g.reason])).toEqual([
      ['namespaces/shop/OWNERS', 'namespaces/shop/ changed'],
      ['cluster/OWNERS', 'NyxNetworkPolicy/shop/allow is in the platform band (0–99)'],
    ]);
  });

  it('a cluster-scoped object outside cluster/ needs the platform', () => {
    const groups = requiredApprovals({
      ownership: ownership(),
      changedFiles: ['namespaces/shop/sneaky.yaml'],
      changedObjects: [
        {
          id: 'NyxClusterNetworkPolicy/sneaky',
          kind: 'NyxClusterNetworkPolicy',
          file: 'namespaces/shop/sneaky.yaml',
          change: 'added',
          priorities: [950],
        },
      ],
    });
    expect(groups.map((g) => g.id)).toEqual(['namespaces/shop/OWNERS', 'cluster/OWNERS']);
  });

  it('upstream admin policy (SPEC 9) is cluster-wide: it needs the platform owners wherever it lives', () => {
    for (const kind of [
      'AdminNetworkPolicy',
      'BaselineAdminNetworkPolicy',
      'ClusterNetworkPolicy',
    ] as const) {
      const groups = requiredApprovals({
        ownership: ownership(),
        changedFiles: ['apps/admin.yaml'],
        changedObjects: [{ id: `${kind}/x`, kind, file: 'apps/admin.yaml', change: 'added', priorities: [] }],
      });
      expect(groups.map((g) => [g.id, g.reason])).toContainEqual([
        'cluster/OWNERS',
        `${kind}/x is cluster-scoped`,
      ]);
    }
  });

  it('an OWNERS change needs the parent level; a namespace without OWNERS falls back to the root', () => {
    const groups = requiredApprovals({
      ownership: ownership(),
      changedFiles: ['namespaces/shop/OWNERS', 'cluster/OWNERS', 'namespaces/blog/policy.yaml'],
      changedObjects: [],
    });
    expect(groups).toEqual([
      {
        id: 'OWNERS',
        reason:
          'namespaces/shop/OWNERS changed (ownership file); cluster/OWNERS changed (ownership file); namespaces/blog/ changed',
        approvers: ['acme/platform'],
        paths: ['namespaces/shop/OWNERS', 'cluster/OWNERS', 'namespaces/blog/policy.yaml'],
      },
    ]);
  });

  it('uses CODEOWNERS only where no OWNERS covers the path (last matching line wins)', () => {
    const own = ownership([
      { path: 'namespaces/shop/OWNERS', content: 'approvers: [bob]\n' },
      {
        path: '.github/CODEOWNERS',
        content: '# owners\n* @acme/admins\n/namespaces/blog/ @erin # blog\n',
      },
      { path: 'CODEOWNERS', content: '* @ignored\n' },
    ]);
    expect(own.codeownersFile).toBe('.github/CODEOWNERS');
    const groups = requiredApprovals({
      ownership: own,
      changedFiles: ['namespaces/shop/a.yaml', 'namespaces/blog/b.yaml', 'cluster/c.yaml'],
      changedObjects: [],
    });
    expect(groups.map((g) => [g.id, g.approvers])).toEqual([
      ['namespaces/shop/OWNERS', ['bob']],
      ['.github/CODEOWNERS:3', ['erin']],
      ['.github/CODEOWNERS:2', ['acme/admins']],
    ]);
  });

  it('a path nobody owns gives a group that can never be satisfied', () => {
    const groups = requiredApprovals({
      ownership: ownership([]),
      changedFiles: ['cluster/x.yaml'],
      changedObjects: [],
    });
    const status = approvalStatus({
      groups,
      reviews: [{ user: 'alice', state: 'APPROVED', commitId: 'h' }],
      author: 'zed',
      headSha: 'h',
      teamMembers: teams,
    });
    expect(status.satisfied).toBe(false);
    expect(status.groups[0]!.explanation).toContain('no owner covers cluster/x.yaml');
  });
});

describe('approvalStatus', () => {
  const clusterGroup: ApprovalGroup = {
    id: 'cluster/OWNERS',
    reason: 'cluster/ changed',
    approvers: ['acme/platform'],
    paths: ['cluster/x.yaml'],
  };
  const shopGroup: ApprovalGroup = {
    id: 'namespaces/shop/OWNERS',
    reason: 'namespaces/shop/ changed',
    approvers: ['acme/shop-team', 'Bob'],
    paths: ['namespaces/shop/a.yaml'],
  };

  it('explains what is missing in human words', () => {
    const s = approvalStatus({
      groups: [clusterGroup],
      reviews: [],
      author: 'zed',
      headSha: 'h1',
      teamMembers: teams,
    });
    expect(s.satisfied).toBe(false);
    expect(s.groups[0]!.explanation).toBe('cluster/ changed: needs @acme/platform');
    expect(s.summary).toBe(
      'Ownership: 1 of 1 required approval missing: cluster/ changed: needs @acme/platform',
    );
  });

  it('team members satisfy team handles, users match case-insensitively without @', () => {
    const s = approvalStatus({
      groups: [clusterGroup, shopGroup],
      reviews: [
        { user: 'carol', state: 'APPROVED', commitId: 'h1' },
        { user: '@BOB', state: 'APPROVED', commitId: 'h1' },
      ],
      author: 'zed',
      headSha: 'h1',
      teamMembers: teams,
    });
    expect(s.satisfied).toBe(true);
    expect(s.groups.map((g) => g.explanation)).toEqual([
      'cluster/ changed: approved by @carol (member of @acme/platform)',
      'namespaces/shop/ changed: approved by @bob',
    ]);
  });

  it("never counts the author's own approval", () => {
    const s = approvalStatus({
      groups: [shopGroup],
      reviews: [{ user: 'bob', state: 'APPROVED', commitId: 'h1' }],
      author: 'Bob',
      headSha: 'h1',
      teamMembers: teams,
    });
    expect(s.satisfied).toBe(false);
    expect(s.groups[0]!.explanation).toBe(
      "namespaces/shop/ changed: needs one of @acme/shop-team, @Bob (the author's own approval (@bob) does not count)",
    );
  });

  it('ignores approvals of an older commit and approvals later withdrawn', () => {
    const s = approvalStatus({
      groups: [clusterGroup, shopGroup],
      reviews: [
        { user: 'alice', state: 'APPROVED', commitId: 'old' },
        { user: 'dave', state: 'APPROVED', commitId: 'h2' },
        { user: 'dave', state: 'COMMENTED', commitId: 'h2' },
        { user: 'bob', state: 'APPROVED', commitId: 'h2' },
        { user: 'bob', state: 'CHANGES_REQUESTED', commitId: 'h2' },
      ],
      author: 'zed',
      headSha: 'h2',
      teamMembers: teams,
    });
    expect(s.groups[0]!.satisfied).toBe(false);
    expect(s.groups[0]!.explanation).toContain('approval by @alice is on an older commit');
    // dave's comment after approving does not undo the approval
    expect(s.groups[1]!.satisfied).toBe(true);
    expect(s.groups[1]!.approvedBy).toBe('dave');
  });

  it('nothing required is satisfied', () => {
    const s = approvalStatus({ groups: [], reviews: [], author: 'a', headSha: 'h', teamMembers: new Map() });
    expect(s).toEqual({ satisfied: true, groups: [], summary: 'No ownership approval required.' });
  });
});

describe('a pull request that adds itself as owner gains nothing', () => {
  it('ownership comes from the base: the new OWNERS file of the head is not consulted', () => {
    // The head adds namespaces/blog/OWNERS naming the author, and changes the blog policy.
    const headFiles: PolicyFile[] = [
      ...baseFiles,
      { path: 'namespaces/blog/OWNERS', content: 'approvers:\n  - mallory\n' },
    ];
    const r = ownersForChange({
      baseFiles,
      changedFiles: ['namespaces/blog/OWNERS', 'namespaces/blog/policy.yaml'],
      changedObjects: [],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.groups.map((g) => g.approvers)).toEqual([['acme/platform']]);
    const status = approvalStatus({
      groups: r.groups,
      reviews: [{ user: 'mallory', state: 'APPROVED', commitId: 'h' }],
      author: 'mallory',
      headSha: 'h',
      teamMembers: teams,
    });
    expect(status.satisfied).toBe(false);
    // Had we (wrongly) read the head's OWNERS, mallory would own the blog namespace:
    const wrong = loadOwnership(headFiles);
    expect(wrong.ok && wrong.ownership.owners.get('namespaces/blog')?.approvers).toEqual(['mallory']);
  });

  it('adding oneself to an existing OWNERS does not help either', () => {
    const r = ownersForChange({ baseFiles, changedFiles: ['namespaces/shop/OWNERS'], changedObjects: [] });
    expect(r.ok && r.groups.map((g) => [g.id, g.approvers])).toEqual([['OWNERS', ['acme/platform']]]);
  });
});

describe('changedObjects', () => {
  const obj = (name: string, priority: number, file = 'namespaces/shop/p.yaml'): PolicyObject => ({
    apiVersion: 'nyx.tracenyx.io/v1alpha1',
    kind: 'NyxNetworkPolicy',
    metadata: { name, namespace: 'shop' },
    namespace: 'shop',
    spec: { priority, podSelector: { matchLabels: { app: 'a' } } },
    source: { file, line: 1 },
    lines: {},
  });
  const set = (...objects: PolicyObject[]): PolicySet => ({ objects, ignored: [] });

  it('reports added, removed and modified objects with both priorities; moves with equal content are unchanged', () => {
    const base = set(obj('keep', 500), obj('move', 300), obj('gone', 200), obj('bump', 400));
    const head = set(
      obj('keep', 500),
      obj('move', 300, 'namespaces/shop/q.yaml'),
      obj('bump', 50),
      obj('new', 600),
    );
    expect(changedObjects(base, head)).toEqual([
      {
        id: 'NyxNetworkPolicy/shop/bump',
        kind: 'NyxNetworkPolicy',
        file: 'namespaces/shop/p.yaml',
        change: 'modified',
        priorities: [400, 50],
      },
      {
        id: 'NyxNetworkPolicy/shop/new',
        kind: 'NyxNetworkPolicy',
        file: 'namespaces/shop/p.yaml',
        change: 'added',
        priorities: [600],
      },
      {
        id: 'NyxNetworkPolicy/shop/gone',
        kind: 'NyxNetworkPolicy',
        file: 'namespaces/shop/p.yaml',
        change: 'removed',
        priorities: [200],
      },
    ]);
  });
});

describe('teamHandles', () => {
  it('lists the teams to resolve, normalized and once each', () => {
    expect(
      teamHandles([
        { id: 'a', reason: 'r', approvers: ['ACME/Platform', 'bob'], paths: [] },
        { id: 'b', reason: 'r', approvers: ['@acme/platform', 'acme/shop-team'], paths: [] },
      ]),
    ).toEqual(['acme/platform', 'acme/shop-team']);
  });
});
