// Impact survives rollouts (SPEC section 7, "Flow endpoints outlive their pods"): the template's
// example window replayed after every pod was renamed gives the same newly denied flows and counts,
// by each fallback in turn (recorded workload, recorded labels, workload read from the pod name),
// through the library and through the real `nyxctl` (flows annotate, impact).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  annotateFlowRecord,
  computeImpact,
  type FlowRecord,
  FlowWindow,
  formatFlowLine,
  type ImpactReport,
  type Inventory,
  loadPolicySet,
  type PolicyFile,
  type PolicySet,
  parseInventory,
} from '@nyx/core';
import { readFlowFile, readPolicyTree } from '@nyx/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutInventoryJson } from '../../core/src/testing/rollout.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const template = path.join(root, 'policy-repo-template');
const examples = path.join(template, 'examples');
const nyxctl = path.join(root, 'node_modules/.bin/nyxctl');

function load(files: PolicyFile[]): PolicySet {
  const r = loadPolicySet(files);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.policySet;
}

function inventoryOf(json: unknown): Inventory {
  const r = parseInventory(json, 'inventory.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.inventory;
}

function windowOf(records: FlowRecord[]): FlowWindow {
  const w = new FlowWindow();
  for (const r of records) w.add(r);
  return w;
}

/** What a reviewer reads of a report: every change with both explanations, the summary, lint. */
function essence(report: ImpactReport) {
  return {
    summary: report.summary,
    changes: report.changes.map(({ resolvedBy: _r, resolutionNotes: _n, ...change }) => change),
    lint: report.lint,
    records: report.coverage.records,
    connections: report.coverage.connections,
    unresolved: report.coverage.unresolved,
  };
}

let base: PolicySet;
let head: PolicySet;
let inventoryJson: unknown;
let renamedJson: unknown;
let records: FlowRecord[];
let dir: string;

beforeAll(async () => {
  base = load(await readPolicyTree(template));
  head = load(await readPolicyTree(path.join(examples, 'change-head')));
  inventoryJson = JSON.parse(await readFile(path.join(examples, 'inventory.json'), 'utf8'));
  renamedJson = rolloutInventoryJson(inventoryJson);
  records = [];
  for await (const { record } of readFlowFile(path.join(examples, 'flows.jsonl'))) records.push(record);
  dir = await mkdtemp(path.join(tmpdir(), 'nyx-rollout-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('impact after every pod of the template was renamed', () => {
  it('renames every pod (new names, new addresses) and keeps the workloads', () => {
    const before = inventoryOf(inventoryJson);
    const after = inventoryOf(renamedJson);
    expect(after.pods.size).toBe(before.pods.size);
    for (const ref of before.pods.keys()) expect(after.pods.has(ref), ref).toBe(false);
    const workloads = (inv: Inventory) => [...inv.pods.values()].map((p) => p.workload).sort();
    expect(workloads(after)).toEqual(workloads(before));
  });

  it('gives the same newly denied flows and counts by each fallback in turn', () => {
    const plain = computeImpact({
      base,
      head,
      inventory: inventoryOf(inventoryJson),
      window: windowOf(records),
    });
    // The measurement: 2 newly denied flows, 17,167 connections.
    expect(plain.summary.newlyDenied).toBe(2);
    expect(plain.summary.newlyDeniedRecords).toBe(17_167);
    expect(plain.coverage.resolution?.direct.connections).toBe(plain.coverage.connections);

    const renamed = inventoryOf(renamedJson);
    const old = inventoryOf(inventoryJson);
    const annotated = records.map((r) => annotateFlowRecord(old, r).record);
    const cases = {
      workload: annotated.map(({ srcLabels: _s, dstLabels: _d, ...r }) => r),
      labels: annotated.map(({ srcWorkload: _s, dstWorkload: _d, ...r }) => r),
      podName: records,
    } as const;
    for (const [by, window] of Object.entries(cases)) {
      const report = computeImpact({ base, head, inventory: renamed, window: windowOf(window) });
      expect(essence(report), by).toEqual(essence(plain));
      const r = report.coverage.resolution!;
      expect(r.unresolved.connections, by).toBe(0);
      expect(r[by as keyof typeof cases].connections, by).toBeGreaterThan(0);
      // Ends given as addresses (the host-network kube-proxy pods) resolve directly, the rest by the fallback.
      expect(r.direct.connections + r[by as keyof typeof cases].connections, by).toBe(
        plain.coverage.connections,
      );
      for (const c of report.changes.filter((x) => x.kind === 'newly-denied')) {
        expect(c.resolvedBy?.[by as keyof typeof cases], `${by} ${c.src} -> ${c.dst}`).toBe(c.count);
        const wording = {
          workload: 'a current pod of its workload',
          labels: 'recorded labels',
          podName: 'read from its name',
        }[by as keyof typeof cases];
        expect(c.resolutionNotes?.join(' '), by).toContain(wording);
      }
    }
  });

  it('without identity fields and with the workloads gone, says the result is partial', () => {
    // Every pod of the cloudmart namespaces deleted (not renamed): nothing resolves them.
    const json = structuredClone(inventoryJson) as {
      items: Array<{ kind: string; metadata: { namespace?: string } }>;
    };
    json.items = json.items.filter(
      (i) => i.kind !== 'Pod' || !i.metadata.namespace?.startsWith('cloudmart-'),
    );
    const report = computeImpact({ base, head, inventory: inventoryOf(json), window: windowOf(records) });
    expect(report.coverage.resolution!.unresolved.connections).toBeGreaterThan(0);
    expect(report.summary.newlyDenied).toBe(0);
  });

  it('through nyxctl: flows annotate with the old inventory, impact with the renamed one', async () => {
    const renamedFile = path.join(dir, 'inventory-after.json');
    await writeFile(renamedFile, JSON.stringify(renamedJson));
    const annotatedFile = path.join(dir, 'flows.annotated.jsonl');
    const annotate = await run(nyxctl, [
      'flows',
      'annotate',
      '--inventory',
      path.join(examples, 'inventory.json'),
      '--flows',
      path.join(examples, 'flows.jsonl'),
    ]);
    await writeFile(annotatedFile, annotate.stdout);
    const lines = annotate.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(records.length);
    expect(lines[0]).toBe(formatFlowLine(annotateFlowRecord(inventoryOf(inventoryJson), records[0]!).record));
    expect(lines[0]).toContain('"srcWorkload":"cloudmart-storefront/storefront-api"');
    expect(annotate.stderr).toMatch(/^flows annotate: 626 records; \d+ pod ends annotated/);

    const impact = async (inventory: string, flows: string) =>
      JSON.parse(
        (
          await run(nyxctl, [
            'impact',
            '--base',
            template,
            '--head',
            path.join(examples, 'change-head'),
            '--inventory',
            inventory,
            '--flows',
            flows,
            '--format',
            'json',
          ])
        ).stdout,
      );
    const plain = await impact(path.join(examples, 'inventory.json'), path.join(examples, 'flows.jsonl'));
    const after = await impact(renamedFile, annotatedFile);
    expect(after.summary).toEqual(plain.summary);
    expect(after.summary).toMatchObject({ newlyDenied: 2, newlyDeniedRecords: 17_167 });
    expect(after.coverage.resolution.unresolved).toEqual({ records: 0, connections: 0 });
    expect(after.coverage.resolution.workload.connections).toBeGreaterThan(0);
    expect(after.coverage.resolution.partial).toBe(false);

    const markdown = (
      await run(nyxctl, [
        'impact',
        '--base',
        template,
        '--head',
        path.join(examples, 'change-head'),
        '--inventory',
        renamedFile,
        '--flows',
        annotatedFile,
      ])
    ).stdout;
    expect(markdown.split('\n')[0]).toContain('2 observed flows would be denied');
    expect(markdown).toContain('by recorded workload');
  });
});
