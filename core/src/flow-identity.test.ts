// SPEC section 7, "Flow endpoints outlive their pods": the identity fields of a flow record
// (format, window, canonical fast path) and how a pod the inventory lacks resolves, case by case.
import { describe, expect, it } from 'vitest';
import { annotateFlowRecord } from './annotate.js';
import type { FlowRecord } from './flow-model.js';
import { FlowWindow, formatFlowLine, parseFlowLine } from './flows.js';
import { computeImpact } from './impact.js';
import { resolveFlow } from './inventory.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const encoder = new TextEncoder();

function windowOf(records: FlowRecord[]): FlowWindow {
  const w = new FlowWindow();
  for (const r of records) w.add(r);
  return w;
}

const rs = (name: string, hash: string) => ({ kind: 'ReplicaSet', name: `${name}-${hash}` });

/** Today's cluster: every pod was replaced since the window was recorded. */
const today = makeInventory({
  namespaces: { shop: { team: 'shop' }, data: { team: 'data' }, infra: {} },
  pods: [
    {
      ns: 'shop',
      name: 'web-5c6b7d8f9-bbbbb',
      ip: '10.1.0.1',
      node: 'n1',
      labels: { app: 'web', tier: 'edge', 'pod-template-hash': '5c6b7d8f9' },
      owner: rs('web', '5c6b7d8f9'),
    },
    {
      ns: 'data',
      name: 'db-1',
      ip: '10.1.0.2',
      node: 'n2',
      labels: { app: 'db' },
      ports: [{ name: 'pg', containerPort: 5432 }],
      owner: { kind: 'StatefulSet', name: 'db' },
    },
    {
      ns: 'infra',
      name: 'agent-ccccc',
      ip: '10.1.0.3',
      node: 'n1',
      labels: { app: 'agent' },
      owner: { kind: 'DaemonSet', name: 'agent' },
    },
  ],
  nodes: [
    { name: 'n1', ips: ['192.168.0.1'] },
    { name: 'n2', ips: ['192.168.0.2'] },
  ],
});

describe('identity fields in the flow format', () => {
  const line =
    '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"data/db-0","protocol":"TCP","port":5432,"srcWorkload":"shop/web","dstWorkload":"data/db","srcLabels":{"app":"web"},"dstLabels":{"app":"db"},"count":3}';

  it('parses and validates them, naming what was expected', () => {
    const r = parseFlowLine(line, 1, 'f.jsonl');
    expect(r.ok && r.record).toMatchObject({ srcWorkload: 'shop/web', dstLabels: { app: 'db' } });
    const bad = (fields: string) =>
      parseFlowLine(
        `{"src":"shop/web-1","dst":"10.0.0.1","protocol":"TCP","port":80,${fields}}`,
        7,
        'f.jsonl',
      );
    expect(bad('"srcWorkload":"other/web"')).toEqual({
      ok: false,
      error: {
        file: 'f.jsonl',
        line: 7,
        message:
          '"srcWorkload" "other/web" is not "shop/<workload>" (the workload of shop/web-1, in its namespace)',
      },
    });
    expect(bad('"srcLabels":["app=web"]').ok).toBe(false);
    expect(bad('"srcLabels":{"app":1}').ok).toBe(false);
    expect(bad('"dstWorkload":"x/y"')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('"dst" must then be "<namespace>/<pod>", not an address') },
    });
  });

  it('keeps them in the tuple: the canonical writer and the fast path agree with the parser', () => {
    const r = parseFlowLine(line, 1, 'f.jsonl');
    if (!r.ok || !r.record) throw new Error('not parsed');
    expect(formatFlowLine(r.record)).toBe(line);
    const w = new FlowWindow();
    const bytes = encoder.encode(line);
    // First sight, read from the bytes (the key is in the strict canonical shape), then a hit.
    expect(w.addCanonicalLine(bytes, 0, bytes.length)).toBe(true);
    expect(w.addCanonicalLine(bytes, 0, bytes.length)).toBe(true);
    const parsed = new FlowWindow();
    parsed.add(r.record);
    parsed.add(r.record);
    expect([...w.tuples()]).toEqual([...parsed.tuples()]);
    // Labels in another order: the same tuple, through the parser.
    const unsorted = line.replace('"dstLabels":{"app":"db"}', '"dstLabels":{"z":"1","app":"db"}');
    const u = parseFlowLine(unsorted, 2, 'f.jsonl');
    if (!u.ok || !u.record) throw new Error('not parsed');
    w.add(u.record);
    w.add({ ...u.record, dstLabels: { app: 'db', z: '1' } });
    const tuples = [...w.tuples()];
    expect(tuples).toHaveLength(2);
    expect(tuples[0]).toMatchObject({ srcWorkload: 'shop/web', count: 6, records: 2 });
    expect(tuples[1]).toMatchObject({ dstLabels: { app: 'db', z: '1' }, count: 6, records: 2 });
    // The window handed over as data reads the identities back from the keys.
    const copy = FlowWindow.fromState(w.state());
    expect([...copy.tuples()]).toEqual(tuples);
  });
});

describe('resolving a pod the inventory lacks (SPEC section 7)', () => {
  it('a StatefulSet pod: by its recorded workload, or by its name', () => {
    const byWorkload = resolveFlow(today, {
      src: 'shop/web-5c6b7d8f9-bbbbb',
      dst: 'data/db-0',
      protocol: 'TCP',
      port: 5432,
      dstWorkload: 'data/db',
    });
    expect(byWorkload.ok && byWorkload.flow.dst).toMatchObject({
      kind: 'pod',
      pod: { name: 'db-0', workload: 'data/db', labels: { app: 'db' }, nodeName: 'n2' },
    });
    expect(byWorkload.ok && byWorkload.fallbacks).toEqual({
      dst: {
        by: 'workload',
        text: 'pod data/db-0 is gone: evaluated as data/db-1, a current pod of its workload data/db',
      },
    });
    const byName = resolveFlow(today, { src: '192.168.0.1', dst: 'data/db-0', protocol: 'TCP', port: 5432 });
    expect(byName.ok && byName.fallbacks?.dst?.by).toBe('pod-name');
  });

  it('a DaemonSet pod: by its name; from a node, the workload’s pod on that node', () => {
    const r = resolveFlow(today, {
      src: '192.168.0.1',
      dst: 'infra/agent-x2kqp',
      protocol: 'TCP',
      port: 9100,
    });
    expect(r.ok && r.flow.dst).toMatchObject({
      kind: 'pod',
      pod: { workload: 'infra/agent', nodeName: 'n1' },
    });
    expect(r.ok && r.fallbacks?.dst?.text).toBe(
      'pod infra/agent-x2kqp is gone: evaluated as infra/agent-ccccc, a current pod of the workload infra/agent read from its name',
    );
  });

  it('a workload deleted since: unresolved, counted, and verdicts name the pod', () => {
    const gone: FlowRecord = {
      src: 'shop/cart-7d9f8b6c4-x2kqp',
      dst: 'data/db-0',
      protocol: 'TCP',
      port: 5432,
      srcWorkload: 'shop/cart',
      count: 7,
    };
    expect(resolveFlow(today, gone)).toEqual({
      ok: false,
      reason: 'src: pod "shop/cart-7d9f8b6c4-x2kqp" is not in the inventory',
    });
    // Recorded labels in a namespace that is gone too: unresolved as well.
    const nsGone: FlowRecord = {
      src: 'old/api-7d9f8b6c4-x2kqp',
      dst: 'data/db-0',
      protocol: 'TCP',
      port: 5432,
      srcLabels: { app: 'api' },
      count: 2,
    };
    expect(resolveFlow(today, nsGone).ok).toBe(false);
    const policies = loadPolicies({
      'cluster/config.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata: {name: cluster}
spec: {defaultMode: allow}
`,
    });
    const ok: FlowRecord = {
      src: 'shop/web-5c6b7d8f9-bbbbb',
      dst: 'data/db-1',
      protocol: 'TCP',
      port: 5432,
      count: 1,
    };
    const report = computeImpact({
      base: policies,
      head: policies,
      inventory: today,
      window: windowOf([gone, nsGone, ok]),
    });
    expect(report.coverage.unresolved).toBe(2);
    expect(report.coverage.resolution).toEqual({
      direct: { records: 1, connections: 1 },
      workload: { records: 0, connections: 0 },
      labels: { records: 0, connections: 0 },
      podName: { records: 0, connections: 0 },
      unresolved: { records: 2, connections: 9 },
    });
  });

  it('a workload whose labels changed since: the recorded labels decide, and the explanation says so', () => {
    // Today web runs with tier: edge; the window saw it with tier: frontend, which the change denies.
    const base = loadPolicies({
      'cluster/config.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata: {name: cluster}
spec: {defaultMode: allow}
`,
    });
    const head = loadPolicies({
      'cluster/config.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata: {name: cluster}
spec: {defaultMode: allow}
`,
      'namespaces/data/deny-frontend.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata: {name: deny-frontend, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - decision: Deny
      from: [{namespaceSelector: {matchLabels: {team: shop}}, podSelector: {matchLabels: {tier: frontend}}}]
`,
    });
    const recorded: FlowRecord = {
      src: 'shop/web-7d9f8b6c4-x2kqp',
      dst: 'data/db-1',
      protocol: 'TCP',
      port: 5432,
      srcLabels: { app: 'web', tier: 'frontend' },
      count: 40,
    };
    const report = computeImpact({ base, head, inventory: today, window: windowOf([recorded]) });
    expect(report.summary).toMatchObject({ newlyDenied: 1, newlyDeniedRecords: 40 });
    expect(report.changes[0]).toMatchObject({
      src: 'shop/web',
      dst: 'data/db',
      resolvedBy: { labels: 40 },
      resolutionNotes: [
        'pod shop/web-7d9f8b6c4-x2kqp is gone: evaluated with its recorded labels {app=web, tier=frontend} (its container ports are unknown, so a rule on a named port cannot match it)',
      ],
    });
    expect(report.coverage.resolution?.labels).toEqual({ records: 1, connections: 40 });
    // The same flow without recorded labels resolves by its name to today's pod (tier: edge): not denied.
    const { srcLabels: _, ...unlabelled } = recorded;
    const byName = computeImpact({ base, head, inventory: today, window: windowOf([unlabelled]) });
    expect(byName.summary.newlyDenied).toBe(0);
    expect(byName.coverage.resolution?.podName).toEqual({ records: 1, connections: 40 });
    // With its workload recorded, today's pods of that workload stand in (first in SPEC's order).
    const withWorkload = computeImpact({
      base,
      head,
      inventory: today,
      window: windowOf([{ ...recorded, srcWorkload: 'shop/web' }]),
    });
    expect(withWorkload.summary.newlyDenied).toBe(0);
    expect(withWorkload.coverage.resolution?.workload).toEqual({ records: 1, connections: 40 });
  });

  it('a labels stand-in has no named ports: a rule on a named port cannot match it', () => {
    const policies = loadPolicies({
      'namespaces/data/db.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata: {name: db, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      ports: [{port: pg}]
`,
    });
    const flow: FlowRecord = {
      src: 'shop/web-5c6b7d8f9-bbbbb',
      dst: 'data/db-0',
      protocol: 'TCP',
      port: 5432,
    };
    const withLabels = resolveFlow(today, { ...flow, dstLabels: { app: 'db' } });
    const withWorkload = resolveFlow(today, { ...flow, dstWorkload: 'data/db' });
    if (!withLabels.ok || !withWorkload.ok) throw new Error('unresolved');
    expect(withLabels.fallbacks?.dst?.text).toContain('a rule on a named port cannot match it');
    const impact = (records: FlowRecord[]) =>
      computeImpact({ base: policies, head: policies, inventory: today, window: windowOf(records) });
    expect(impact([{ ...flow, dstWorkload: 'data/db' }]).coverage.resolution?.workload.records).toBe(1);
    const evaluator = (r: FlowRecord) => {
      const resolved = resolveFlow(today, r);
      if (!resolved.ok) throw new Error(resolved.reason);
      return resolved;
    };
    expect(evaluator({ ...flow, dstLabels: { app: 'db' } }).flow.dst).toMatchObject({
      kind: 'pod',
      pod: { ports: [] },
    });
    expect(evaluator({ ...flow, dstWorkload: 'data/db' }).flow.dst).toMatchObject({
      kind: 'pod',
      pod: { ports: [{ name: 'pg', containerPort: 5432, protocol: 'TCP' }] },
    });
  });

  it('annotate writes the identity of every pod end, names a pod given by its IP, leaves the rest', () => {
    const r = annotateFlowRecord(today, { src: '10.1.0.1', dst: 'data/db-1', protocol: 'TCP', port: 5432 });
    expect(r).toEqual({
      src: 'named',
      dst: 'annotated',
      record: {
        src: 'shop/web-5c6b7d8f9-bbbbb',
        dst: 'data/db-1',
        protocol: 'TCP',
        port: 5432,
        srcWorkload: 'shop/web',
        srcLabels: { app: 'web', tier: 'edge' },
        dstWorkload: 'data/db',
        dstLabels: { app: 'db' },
      },
    });
    expect(
      annotateFlowRecord(today, { src: 'shop/gone-1', dst: '8.8.8.8', protocol: 'UDP', port: 53 }),
    ).toMatchObject({
      src: 'unknown-pod',
      dst: 'not-a-pod',
      record: { src: 'shop/gone-1', dst: '8.8.8.8' },
    });
  });
});

describe('the report says how much of the window resolved', () => {
  it('names each fallback in the window statement and calls a result under 90% partial in the headline', async () => {
    const { renderImpactMarkdown } = await import('./render/markdown.js');
    const { impactToJson } = await import('./render/json.js');
    const cfg = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata: {name: cluster}
spec: {defaultMode: allow}
`;
    const base = loadPolicies({ 'cluster/config.yaml': cfg });
    const head = loadPolicies({
      'cluster/config.yaml': cfg.replace('allow', 'deny'),
    });
    const records: FlowRecord[] = [
      {
        src: 'shop/web-7d9f8b6c4-x2kqp',
        dst: 'data/db-1',
        protocol: 'TCP',
        port: 5432,
        srcWorkload: 'shop/web',
        count: 60,
      },
      { src: 'shop/gone-7d9f8b6c4-x2kqp', dst: 'data/db-1', protocol: 'TCP', port: 5432, count: 40 },
    ];
    const report = computeImpact({ base, head, inventory: today, window: windowOf(records) });
    const md = renderImpactMarkdown(report);
    const [headline, , window] = md.split('\n');
    expect(headline).toBe(
      "⚠️ **1 observed flow would be denied** (60 connections) — **partial result**: only 60% of the window's connections could be evaluated (the rest name pods gone from the inventory), so more may break than this says",
    );
    expect(window).toContain('connections resolved: 0% directly, 60% by recorded workload, 40% not at all');
    expect(md).toContain(
      'connections resolved 60 by recorded workload: pod shop/web-7d9f8b6c4-x2kqp is gone',
    );
    expect(impactToJson(report).coverage.resolution).toMatchObject({
      workload: { records: 1, connections: 60 },
      unresolved: { records: 1, connections: 40 },
      resolvedConnectionsShare: 0.6,
      partial: true,
    });
    // 90% resolved is whole: no "partial" in the headline.
    const whole = computeImpact({
      base,
      head,
      inventory: today,
      window: windowOf([
        { ...records[0]!, count: 90 },
        { ...records[1]!, count: 10 },
      ]),
    });
    expect(renderImpactMarkdown(whole).split('\n')[0]).not.toContain('partial');
  });
});
