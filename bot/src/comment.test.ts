import type { ApprovalStatus, ImpactChange, ImpactReport, Reason } from '@nyx/core';
import { describe, expect, it } from 'vitest';
import type { Analysis } from './analyze.js';
import { composeComment, GITHUB_COMMENT_LIMIT, ownershipCheck, policyCheck } from './comment.js';
import { COMMENT_MARKER } from './github.js';

const deny: Reason = {
  point: 'egress',
  band: 'isolation',
  object: 'NyxNetworkPolicy/shop/lockdown',
  decision: 'deny',
  text: 'isolated: no rule matched',
  source: 'namespaces/shop/lockdown.yaml:12',
};
const allow: Reason = { point: 'egress', band: 'default', decision: 'allow', text: 'default: allow' };

function change(i: number): ImpactChange {
  return {
    kind: 'newly-denied',
    src: `shop/web-${i}`,
    dst: `db/postgres-${i % 97}`,
    protocol: 'TCP',
    port: 5432 + (i % 50),
    count: 1000 - (i % 1000),
    flows: 1,
    firstSeen: '2026-11-20T00:00:00Z',
    lastSeen: '2026-11-22T00:00:00Z',
    before: { verdict: 'allow', asIfEnforced: 'allow', reasons: [allow], asIfEnforcedReasons: [allow] },
    after: { verdict: 'deny', asIfEnforced: 'deny', reasons: [deny], asIfEnforcedReasons: [deny] },
  };
}

function hugeReport(n: number): ImpactReport {
  return {
    summary: {
      newlyDenied: n,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: n * 500,
    },
    changes: Array.from({ length: n }, (_, i) => change(i)),
    lint: [],
    coverage: {
      records: 1_200_000,
      connections: 5_000_000,
      distinctFlows: 100_000,
      unresolved: 0,
      unresolvedExamples: [],
      from: '2026-11-20T00:00:00Z',
      to: '2026-11-23T00:00:00Z',
      namespaces: ['db', 'shop'],
    },
  };
}

const pending: ApprovalStatus = {
  satisfied: false,
  summary: 'Ownership: 1 of 1 required approval missing',
  groups: [
    {
      id: 'namespaces/shop/OWNERS',
      reason: 'namespaces/shop/ changed',
      approvers: ['acme/shop-team'],
      paths: ['namespaces/shop/lockdown.yaml'],
      satisfied: false,
      facts: { state: 'pending', staleOwners: [] },
      explanation: 'namespaces/shop/ changed: needs @acme/shop-team',
    },
  ],
};

/** A valid change whose impact newly denies `flows` flows, with no approvals required. */
function okAnalysis(flows: number): Analysis {
  return { kind: 'ok', report: hugeReport(flows), changedObjectIds: [], groups: [], ownershipErrors: [] };
}

describe('composeComment', () => {
  it('keeps a 10,000-flow impact under GitHub’s comment limit, headline first, with a pointer to the full report', () => {
    const analysis = okAnalysis(10_000);
    const url = 'https://github.example/acme/policy/runs/42';
    const body = composeComment({ analysis, approval: pending, headSha: 'a'.repeat(40), fullReportUrl: url });
    expect(body.length).toBeLessThan(GITHUB_COMMENT_LIMIT);
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body.startsWith(`${COMMENT_MARKER}\n`)).toBe(true);
    expect(body.split('\n')[1]).toContain('10,000 observed flows would be denied');
    expect(body).toContain(url);
    expect(body).toContain('Needs approval from @acme/shop-team');
  });

  it('links the rule that newly denies a flow to the file on the head commit, under the policy root', () => {
    const body = composeComment({
      analysis: okAnalysis(1),
      approval: pending,
      headSha: 'c'.repeat(40),
      policyRoot: 'policies',
      repositoryUrl: 'https://github.example/acme/policy',
    });
    expect(body).toContain(
      `[namespaces/shop/lockdown.yaml:12](https://github.example/acme/policy/blob/${'c'.repeat(40)}/policies/namespaces/shop/lockdown.yaml#L12): allow it with a rule in namespaces/shop/ or revert this change`,
    );
  });

  it('honours a smaller configured limit', () => {
    const analysis = okAnalysis(10_000);
    const body = composeComment({ analysis, approval: pending, headSha: 'b'.repeat(40), maxLength: 5000 });
    expect(body.length).toBeLessThanOrEqual(5000);
    expect(body).toContain('observed flows would be denied');
  });

  it('lists validation errors with the policy root prefix and computes no impact', () => {
    const analysis: Analysis = {
      kind: 'invalid',
      revision: 'head',
      errors: [
        { file: 'namespaces/shop/a.yaml', line: 7, message: 'priority 50 is in the platform band (0–99)' },
      ],
      groups: [],
      ownershipErrors: [],
    };
    const body = composeComment({
      analysis,
      approval: pending,
      headSha: 'c'.repeat(40),
      policyRoot: 'policies',
    });
    expect(body).toContain('- policies/namespaces/shop/a.yaml:7: priority 50');
    expect(body).toContain('No impact was computed');
    const check = policyCheck({
      analysis,
      headSha: 'c'.repeat(40),
      policyRoot: 'policies',
      conclusionOnNewlyDenied: 'neutral',
    });
    expect(check.conclusion).toBe('failure');
    expect(check.annotations?.[0]).toMatchObject({
      path: 'policies/namespaces/shop/a.yaml',
      start_line: 7,
      annotation_level: 'failure',
    });
  });
});

describe('check runs', () => {
  it('nyx/policy uses the configured conclusion when observed flows would be denied, success otherwise', () => {
    const denied = okAnalysis(3);
    expect(policyCheck({ analysis: denied, headSha: 'd', conclusionOnNewlyDenied: 'failure' })).toMatchObject(
      {
        conclusion: 'failure',
        title: '3 observed flows would be denied',
      },
    );
    const quiet = okAnalysis(0);
    expect(
      policyCheck({ analysis: quiet, headSha: 'd', conclusionOnNewlyDenied: 'failure' }).conclusion,
    ).toBe('success');
  });

  it('nyx/ownership names who must approve', () => {
    expect(ownershipCheck({ approval: pending, headSha: 'e' })).toMatchObject({
      conclusion: 'failure',
      title: 'Needs approval from @acme/shop-team',
    });
    expect(ownershipCheck({ approval: { ...pending, satisfied: true }, headSha: 'e' }).conclusion).toBe(
      'success',
    );
  });
});
