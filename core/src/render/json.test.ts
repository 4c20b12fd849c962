import { describe, expect, it } from 'vitest';
import type { ImpactReport } from '../impact.js';
import { impactToJson } from './json.js';

const report: ImpactReport = {
  summary: { newlyDenied: 1, newlyAllowed: 0, newWouldDeny: 0, resolvedWouldDeny: 0, newlyDeniedRecords: 15 },
  changes: [
    {
      kind: 'newly-denied',
      src: 'shop/web',
      dst: 'shop/cart',
      protocol: 'TCP',
      port: 8080,
      count: 15,
      flows: 2,
      lastSeen: '2026-11-23T09:00:00Z',
      before: {
        verdict: 'allow',
        asIfEnforced: 'allow',
        reasons: [{ text: 'default: allow', decision: 'allow', band: 'default', point: 'egress' }],
        asIfEnforcedReasons: [],
      },
      after: {
        verdict: 'deny',
        asIfEnforced: 'deny',
        reasons: [
          {
            source: 'namespaces/shop/cart.yaml:7',
            text: 'isolated: no rule matched',
            decision: 'deny',
            object: 'NyxNetworkPolicy/shop/cart-ingress',
            band: 'isolation',
            point: 'ingress',
          },
        ],
        asIfEnforcedReasons: [],
      },
    },
  ],
  lint: [
    {
      hint: 'fix it',
      message: 'the policy selects no pod',
      line: 9,
      file: 'namespaces/shop/b.yaml',
      rule: 'selector-matches-nothing',
      severity: 'warning',
    },
  ],
  coverage: {
    namespaces: ['db', 'shop'],
    unresolvedExamples: [],
    unresolved: 0,
    distinctFlows: 4,
    connections: 30,
    records: 6,
  },
};

describe('impactToJson', () => {
  it('has the SPEC section 7 shape with a stable key order', () => {
    const json = impactToJson(report);
    expect(Object.keys(json)).toEqual(['summary', 'changes', 'lint', 'coverage']);
    expect(Object.keys(json.summary)).toEqual([
      'newlyDenied',
      'newlyAllowed',
      'newWouldDeny',
      'resolvedWouldDeny',
      'newlyDeniedRecords',
    ]);
    const c = json.changes[0]!;
    expect(Object.keys(c)).toEqual([
      'kind',
      'src',
      'dst',
      'protocol',
      'port',
      'count',
      'firstSeen',
      'lastSeen',
      'flows',
      'before',
      'after',
    ]);
    expect(c.firstSeen).toBeNull();
    expect(Object.keys(c.after)).toEqual(['verdict', 'asIfEnforced', 'reasons', 'asIfEnforcedReasons']);
    expect(Object.keys(c.after.reasons[0]!)).toEqual([
      'point',
      'band',
      'object',
      'decision',
      'text',
      'source',
    ]);
    expect(Object.keys(json.lint[0]!)).toEqual(['severity', 'rule', 'file', 'line', 'message', 'hint']);
    expect(json.coverage).toEqual({
      records: 6,
      connections: 30,
      distinctFlows: 4,
      unresolved: 0,
      unresolvedExamples: [],
      skippedLines: 0,
      skipped: {},
      from: null,
      to: null,
      namespaces: ['db', 'shop'],
      resolution: {
        direct: { records: 6, connections: 30 },
        workload: { records: 0, connections: 0 },
        labels: { records: 0, connections: 0 },
        podName: { records: 0, connections: 0 },
        unresolved: { records: 0, connections: 0 },
        resolvedConnectionsShare: 1,
        partial: false,
      },
    });
  });

  it('is plain data: serialises deterministically and does not share arrays with the report', () => {
    const a = JSON.stringify(impactToJson(report));
    expect(JSON.parse(a)).toEqual(impactToJson(report));
    expect(a).toBe(JSON.stringify(impactToJson(structuredClone(report))));
    const json = impactToJson(report);
    json.coverage.namespaces.push('x');
    expect(report.coverage.namespaces).toEqual(['db', 'shop']);
  });

  it('includes serverName only when present', () => {
    const withName = impactToJson({
      ...report,
      changes: [{ ...report.changes[0]!, serverName: 'api.stripe.com' }],
    });
    expect(Object.keys(withName.changes[0]!).slice(4, 6)).toEqual(['port', 'serverName']);
  });
});
