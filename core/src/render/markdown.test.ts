import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImpactChange, ImpactReport } from '../impact.js';
import { escapeMarkdown, formatCompact, formatCount, renderImpactMarkdown } from './markdown.js';

const allowDefault = {
  verdict: 'allow' as const,
  asIfEnforced: 'allow' as const,
  reasons: [
    {
      point: 'egress' as const,
      band: 'default' as const,
      decision: 'allow' as const,
      text: 'default: allow',
    },
  ],
  asIfEnforcedReasons: [
    {
      point: 'egress' as const,
      band: 'default' as const,
      decision: 'allow' as const,
      text: 'default: allow',
    },
  ],
};

const deniedByIsolation = {
  verdict: 'deny' as const,
  asIfEnforced: 'deny' as const,
  reasons: [
    {
      point: 'ingress' as const,
      band: 'isolation' as const,
      object: 'NyxNetworkPolicy/shop/cart-ingress',
      decision: 'deny' as const,
      text: 'isolated: no rule matched',
      source: 'namespaces/shop/cart.yaml:7',
    },
  ],
  asIfEnforcedReasons: [],
};

function change(over: Partial<ImpactChange> = {}): ImpactChange {
  return {
    kind: 'newly-denied',
    src: 'shop/web',
    dst: 'shop/cart',
    protocol: 'TCP',
    port: 8080,
    count: 1200,
    flows: 2,
    firstSeen: '2026-11-20T08:00:00Z',
    lastSeen: '2026-11-23T09:00:00Z',
    before: allowDefault,
    after: deniedByIsolation,
    ...over,
  };
}

function report(over: Partial<ImpactReport> = {}): ImpactReport {
  return {
    summary: {
      newlyDenied: 0,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: 0,
    },
    changes: [],
    lint: [],
    coverage: {
      records: 812_000,
      connections: 1_234_567,
      distinctFlows: 8312,
      unresolved: 0,
      unresolvedExamples: [],
      from: '2026-11-20T00:00:00Z',
      to: '2026-11-23T00:00:00Z',
      namespaces: Array.from({ length: 41 }, (_, i) => `ns-${i}`),
    },
    ...over,
  };
}

describe('renderImpactMarkdown headline', () => {
  it('says plainly that nothing changes, and how much traffic was looked at', () => {
    const md = renderImpactMarkdown(report());
    expect(md.split('\n')[0]).toBe(
      '✅ No observed flow changes verdict — window: 1.2M connections (8,312 flows), 3 days (2026-11-20 → 2026-11-23), 41 namespaces',
    );
    expect(md).not.toContain('mermaid');
  });

  it('leads with the newly denied flows and their connections', () => {
    const md = renderImpactMarkdown(
      report({
        summary: {
          newlyDenied: 3,
          newlyAllowed: 0,
          newWouldDeny: 0,
          resolvedWouldDeny: 0,
          newlyDeniedRecords: 1234,
        },
        changes: [
          change(),
          change({ dst: 'shop/orders', count: 30 }),
          change({ dst: 'db/postgres', port: 5432, count: 4 }),
        ],
      }),
    );
    const lines = md.split('\n');
    expect(lines[0]).toBe('⚠️ **3 observed flows would be denied** (1,234 connections)');
    expect(lines[2]).toBe(
      '<sub>window: 1.2M connections (8,312 flows), 3 days (2026-11-20 → 2026-11-23), 41 namespaces</sub>',
    );
    expect(md).toContain('| 🔴 newly denied | 3 | 1,234 |');
    expect(md).toContain('#### Newly denied flows');
    expect(md).toContain(
      '| shop/web → shop/cart | 8080/TCP | — | 1,200 | 2026-11-23 09:00 | ingress: isolated: no rule matched \\[NyxNetworkPolicy/shop/cart-ingress\\] (namespaces/shop/cart.yaml:7) | egress: default: allow |',
    );
    expect(md).toContain('```mermaid\ngraph LR');
    expect(md).toContain('n0 -->|"TCP/8080"| n1');
    expect(md).toContain('linkStyle 0 stroke:#d73a49');
  });

  it('uses the singular for one flow and names other kinds of change when nothing is denied', () => {
    expect(
      renderImpactMarkdown(
        report({
          summary: {
            newlyDenied: 1,
            newlyAllowed: 0,
            newWouldDeny: 0,
            resolvedWouldDeny: 0,
            newlyDeniedRecords: 1,
          },
          changes: [change({ count: 1 })],
        }),
      ).split('\n')[0],
    ).toBe('⚠️ **1 observed flow would be denied** (1 connection)');
    const wouldDeny = change({
      kind: 'new-would-deny',
      src: 'payments/api',
      dst: '54.1.2.3',
      port: 443,
      serverName: 'api.stripe.com',
      after: {
        ...allowDefault,
        asIfEnforced: 'deny',
        asIfEnforcedReasons: [
          {
            point: 'egress',
            band: 'platform',
            object: 'NyxClusterNetworkPolicy/deny-public-internet',
            rule: 0,
            decision: 'deny',
            text: 'NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny',
            source: 'cluster/deny.yaml:14',
            audit: true,
          },
        ],
      },
    });
    const md = renderImpactMarkdown(
      report({
        summary: {
          newlyDenied: 0,
          newlyAllowed: 2,
          newWouldDeny: 1,
          resolvedWouldDeny: 0,
          newlyDeniedRecords: 0,
        },
        changes: [
          wouldDeny,
          change({ kind: 'newly-allowed', before: deniedByIsolation, after: allowDefault }),
          change({ kind: 'newly-allowed', dst: 'shop/x', before: deniedByIsolation, after: allowDefault }),
        ],
      }),
    );
    expect(md.split('\n')[0]).toBe(
      '✅ No observed flow would be denied (2 flows newly allowed, 1 new would-deny finding) — window: 1.2M connections (8,312 flows), 3 days (2026-11-20 → 2026-11-23), 41 namespaces',
    );
    expect(md).toContain('#### New would-deny findings (audit)');
    expect(md).toContain(
      'egress: NyxClusterNetworkPolicy/deny-public-internet egress\\[0\\] Deny (audit) (cluster/deny.yaml:14)',
    );
    expect(md).toContain('#### Other changes');
    expect(md).toContain('| 🟢 newly allowed | shop/web → shop/cart |');
    expect(md).toContain('-.->|"TCP/443"|');
    expect(md).toContain('stroke-dasharray:5 5');
  });

  it('never confuses "nothing breaks" with "nothing was looked at"', () => {
    const empty = report({
      coverage: {
        records: 0,
        connections: 0,
        distinctFlows: 0,
        unresolved: 0,
        unresolvedExamples: [],
        namespaces: [],
      },
    });
    expect(renderImpactMarkdown(empty).split('\n')[0]).toMatch(
      /^❔ \*\*No observed flows to check this change against\*\*/,
    );
    const unresolved = report({
      coverage: {
        records: 5,
        connections: 5,
        distinctFlows: 2,
        unresolved: 5,
        unresolvedExamples: ['src: pod "shop/ghost" is not in the inventory'],
        namespaces: [],
      },
    });
    const md = renderImpactMarkdown(unresolved);
    expect(md.split('\n')[0]).toMatch(
      /^❔ \*\*No observed flow could be evaluated\*\* — all 5 flow records name pods/,
    );
    expect(md).toContain('- src: pod &quot;shop/ghost&quot; is not in the inventory');
  });

  it('mentions unresolved records and an unknown time range in the window statement', () => {
    const md = renderImpactMarkdown(
      report({
        coverage: {
          records: 10,
          connections: 10,
          distinctFlows: 3,
          unresolved: 2,
          unresolvedExamples: [],
          namespaces: ['shop'],
        },
      }),
    );
    expect(md.split('\n')[0]).toBe(
      "✅ No observed flow changes verdict — window: 10 connections (3 flows), time range unknown, 1 namespace; 2 flow records not evaluated (pods not in the inventory) — **partial result**: only 80% of the window's connections could be evaluated (the rest name pods gone from the inventory), so more may break than this says",
    );
  });
});

describe('renderImpactMarkdown window statement', () => {
  it('words short and long windows', () => {
    const at = (from: string, to: string) =>
      renderImpactMarkdown(
        report({
          coverage: {
            records: 2,
            connections: 2,
            distinctFlows: 1,
            unresolved: 0,
            unresolvedExamples: [],
            from,
            to,
            namespaces: ['a'],
          },
        }),
      ).split('\n')[0];
    expect(at('2026-11-22T10:00:00Z', '2026-11-22T10:00:00Z')).toContain('under a minute (2026-11-22)');
    expect(at('2026-11-22T10:00:00Z', '2026-11-22T10:45:00Z')).toContain('45 minutes (2026-11-22)');
    expect(at('2026-11-22T10:00:00Z', '2026-11-23T08:00:00Z')).toContain(
      '22 hours (2026-11-22 → 2026-11-23)',
    );
    expect(at('2026-11-01T00:00:00Z', '2026-11-23T00:00:00Z')).toContain('22 days (2026-11-01 → 2026-11-23)');
  });
});

describe('renderImpactMarkdown content', () => {
  it('renders new lint findings and caller sections', () => {
    const md = renderImpactMarkdown(
      report({
        lint: [
          {
            severity: 'warning',
            rule: 'selector-matches-nothing',
            object: 'NyxNetworkPolicy/shop/ghost',
            file: 'namespaces/shop/ghost.yaml',
            line: 9,
            message: 'the policy selects no pod: no pod has app=ghost',
            hint: 'fix the podSelector',
          },
        ],
      }),
      { sections: [{ title: 'Ownership', body: '✅ approved by @shop-team' }] },
    );
    expect(md).toContain('| 📝 new lint findings | 1 | |');
    expect(md).toContain(
      '| ⚠️ warning | namespaces/shop/ghost.yaml:9 | the policy selects no pod: no pod has app=ghost<br><sub>NyxNetworkPolicy/shop/ghost · selector-matches-nothing</sub> | fix the podSelector |',
    );
    expect(md).toContain('#### Ownership\n\n✅ approved by @shop-team');
  });

  it('escapes pipes, HTML, Markdown and mentions in user-controlled strings, in tables and in the graph', () => {
    const evil = change({
      src: 'shop/<img src=x onerror=alert(1)>',
      dst: 'a|b',
      serverName: '@admin *bold* [x](javascript:alert(1)) `code`',
    });
    const md = renderImpactMarkdown(
      report({
        summary: {
          newlyDenied: 1,
          newlyAllowed: 0,
          newWouldDeny: 0,
          resolvedWouldDeny: 0,
          newlyDeniedRecords: 1200,
        },
        changes: [evil],
      }),
    );
    expect(md).not.toContain('<img');
    expect(md).not.toContain('a|b');
    expect(md).not.toContain('@admin');
    expect(md).toContain('shop/&lt;img src=x onerror=alert(1)&gt; → a&#124;b');
    expect(md).toContain('@&#8203;admin \\*bold\\* \\[x\\](javascript:alert(1)) \\`code\\`');
    expect(md).toContain('n0["shop/#60;img src#61;x onerror#61;alert#40;1#41;#62;"]');
    expect(md).toContain('n1["a#124;b"]');
    // Every table row still has exactly the header's number of cells.
    const row = md.split('\n').find((l) => l.startsWith('| shop/&lt;img'))!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(8);
  });

  it('escapes directly', () => {
    expect(escapeMarkdown('a|b<c>&d\n#1 @x _y_')).toBe('a&#124;b&lt;c&gt;&amp;d #&#8203;1 @&#8203;x \\_y\\_');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCompact(9812)).toBe('9,812');
    expect(formatCompact(48_213)).toBe('48.2k');
    expect(formatCompact(1_234_567)).toBe('1.2M');
    expect(formatCompact(123_456_789)).toBe('123M');
  });
});

describe('renderImpactMarkdown size cap', () => {
  const many = Array.from({ length: 10_000 }, (_, i) =>
    change({ src: `ns-${i % 97}/web-${i}`, dst: `ns-${i % 89}/api-${i}`, count: 10_000 - i }),
  );
  const big = report({
    summary: {
      newlyDenied: 10_000,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: 50_005_000,
    },
    changes: many,
  });

  it('stays under the default 65,000 with 10,000 changes, truncating with a link to the full report', () => {
    const md = renderImpactMarkdown(big, { fullReportUrl: 'https://ci.example/run/42/impact.json' });
    expect(md.length).toBeLessThanOrEqual(65_000);
    expect(md.split('\n')[0]).toBe('⚠️ **10,000 observed flows would be denied** (50,005,000 connections)');
    expect(md).toMatch(
      /…and [\d,]+ more newly denied flows — see the \[full report\]\(https:\/\/ci\.example\/run\/42\/impact\.json\)/,
    );
    expect(md).toContain('<details open>\n<summary><strong>Newly denied flows</strong> (10,000)</summary>');
    // The biggest flows are the ones kept.
    expect(md).toContain('| ns-0/web-0 → ns-0/api-0 |');
    expect(md).not.toContain('ns-96/web-9996');
  });

  it('honours a small maxLength, dropping rows and the graph before cutting', () => {
    const md = renderImpactMarkdown(big, { maxLength: 4000 });
    expect(md.length).toBeLessThanOrEqual(4000);
    expect(md.split('\n')[0]).toContain('10,000 observed flows would be denied');
    expect(md).toMatch(/…and [\d,]+ more newly denied flows — see the full report/);
    const tiny = renderImpactMarkdown(big, { maxLength: 300 });
    expect(tiny.length).toBeLessThanOrEqual(300);
    expect(tiny).toContain('report truncated to 300 characters');
  });

  it('caps the graph', () => {
    const md = renderImpactMarkdown(big, { maxLength: 1_000_000 });
    expect(md).toContain('The graph shows 25 of 10,000 changed edges.');
    expect((md.match(/linkStyle/g) ?? []).length).toBe(25);
  });
});

describe('escapeMarkdown property', () => {
  it('never lets a pipe, tag, mention, reference or line break through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        // A mention or reference sign only ever comes followed by a zero-width space, which breaks it.
        const e = escapeMarkdown(s)
          .replace(/[@#]&#8203;/g, '')
          .replace(/&(amp|lt|gt|quot|#124|#8203|#32|#9);/g, '');
        expect(e).not.toMatch(/[|<>@#\n\r]/);
      }),
    );
  });
});

describe('skipped lines of the flow file (issue 15)', () => {
  const coverage = {
    connections: 0,
    distinctFlows: 0,
    unresolved: 0,
    unresolvedExamples: [],
    namespaces: [],
  };

  it('says why an empty window is empty', () => {
    const md = renderImpactMarkdown(
      report({
        coverage: {
          ...coverage,
          records: 0,
          skipped: { 'not a flow (src)': 6 },
          skippedLines: 6,
        },
      }),
    );
    expect(md.split('\n')[0]).toBe(
      '❔ **No observed flows to check this change against** — the flow window is empty (skipped 6 lines of the flow file: 6 × not a flow (src)), so its effect on traffic is unknown',
    );
  });

  it('counts them by reason in the window statement', () => {
    const md = renderImpactMarkdown(
      report({
        coverage: {
          ...coverage,
          records: 4,
          connections: 4,
          distinctFlows: 4,
          namespaces: ['shop'],
          skipped: { 'reply packet': 2, 'TCP packet after the connection opened': 1 },
          skippedLines: 3,
        },
      }),
    );
    expect(md.split('\n')[0]).toBe(
      '✅ No observed flow changes verdict — window: 4 connections (4 flows), time range unknown, 1 namespace; skipped 3 lines of the flow file: 2 × reply packet, 1 × TCP packet after the connection opened',
    );
  });
});

describe('a newly denied row says what to do (issue 15)', () => {
  const denied = (c: ImpactChange) =>
    report({
      summary: {
        newlyDenied: 1,
        newlyAllowed: 0,
        newWouldDeny: 0,
        resolvedWouldDeny: 0,
        newlyDeniedRecords: 1200,
      },
      changes: [c],
    });
  const lastCell = (md: string) =>
    md
      .split('\n')
      .find((l) => l.startsWith('| shop/web'))!
      .split(' | ')
      .pop()!
      .replace(/ \|$/, '');

  it('links the deciding file on the head commit and names the folder to allow it in', () => {
    const md = renderImpactMarkdown(denied(change()), {
      sourceUrl: (path, line) => `https://github.example/acme/policy/blob/${'a'.repeat(40)}/${path}#L${line}`,
    });
    expect(md).toContain('| what to do |');
    expect(lastCell(md)).toBe(
      `[namespaces/shop/cart.yaml:7](https://github.example/acme/policy/blob/${'a'.repeat(40)}/namespaces/shop/cart.yaml#L7): allow it with a rule in namespaces/shop/ or revert this change`,
    );
  });

  it('names the file and line without a link, and a deny rule to revert', () => {
    const byRule = change({
      after: {
        ...deniedByIsolation,
        reasons: [
          {
            point: 'egress',
            band: 'application',
            object: 'NyxNetworkPolicy/shop/lockdown',
            rule: 2,
            decision: 'deny',
            text: 'NyxNetworkPolicy/shop/lockdown egress[2] Deny',
            source: 'namespaces/shop/lockdown.yaml:30',
          },
        ],
      },
    });
    expect(lastCell(renderImpactMarkdown(denied(byRule)))).toBe(
      'namespaces/shop/lockdown.yaml:30: allow it in namespaces/shop/ or revert this rule',
    );
  });
});
