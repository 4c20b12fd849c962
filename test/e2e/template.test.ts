// The policy repository template must stay a working example: it validates (through the library
// and through the real `nyxctl` binary), its example change differs from it only in the files the
// change is meant to touch, and that change's impact shows what the README promises.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  changedObjects,
  compileEvaluator,
  computeImpact,
  lintPolicySet,
  loadOwnership,
  loadPolicySet,
  type PolicyFile,
  type PolicySet,
  requiredApprovals,
  resolveFlow,
} from '@nyx/core';
import { readFlowFile, readFlowWindow, readInventoryFile, readPolicyTree } from '@nyx/io';
import { sourceProcessArgs } from '@nyx/test';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const template = path.join(root, 'policy-repo-template');
const examples = path.join(template, 'examples');
const headDir = path.join(examples, 'change-head');
/** `nyxctl` from its sources (the built bin is run by pack-install.test.ts). */
const nyxctl = process.execPath;
const nyxctlArgs = (...args: string[]): string[] => [
  ...sourceProcessArgs(path.join(root, 'cli/src/main.ts')),
  ...args,
];

/** The files the prepared change adds or modifies, relative to the tree root. */
const CHANGED_BY_EXAMPLE = [
  'namespaces/cloudmart-storefront/api-ingress.yaml',
  'namespaces/cloudmart-storefront/egress-lockdown.yaml',
];

function load(files: PolicyFile[]): PolicySet {
  const r = loadPolicySet(files);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.policySet;
}

/** The parts of a tree that the example change mirrors: cluster/, namespaces/ and the root OWNERS. */
function policyPart(files: PolicyFile[]): Map<string, string> {
  return new Map(
    files
      .filter((f) => f.path.startsWith('cluster/') || f.path.startsWith('namespaces/') || f.path === 'OWNERS')
      .map((f) => [f.path, f.content]),
  );
}

describe('policy-repo-template', () => {
  it('loads without errors: the template layout, OWNERS everywhere, fragments and examples not loaded', async () => {
    const files = await readPolicyTree(template);
    const r = loadPolicySet(files);
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    const ids = r.policySet.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(ids).toContain('NyxClusterConfig/cluster');
    expect(ids).toContain('ClusterNetworkPolicy/deny-cloud-metadata');
    expect(ids).toContain('ClusterNetworkPolicy/payments-deny-cross-namespace');
    expect(ids).toContain('NyxClusterNetworkPolicy/deny-public-internet');
    expect(ids).toContain('NyxClusterNetworkPolicy/allow-dns');
    expect(ids).toContain('NyxNetworkPolicy/payments-egress-allowlist');
    // fragments/ and examples/ are not policy: no CHANGE-ME selector, no example-change objects
    expect(r.policySet.objects.every((o) => !o.source.file.startsWith('fragments/'))).toBe(true);
    expect(r.policySet.objects.every((o) => !o.source.file.startsWith('examples/'))).toBe(true);
    expect(r.policySet.config?.spec).toMatchObject({
      defaultMode: 'deny-cross-namespace',
      enforcement: 'audit',
    });

    const owners = loadOwnership(files);
    expect(owners.ok).toBe(true);
    if (!owners.ok) return;
    for (const ns of [
      'cloudmart-storefront',
      'cloudmart-payments',
      'cloudmart-analytics',
      'monitoring',
      'ingress-nginx',
    ]) {
      expect(owners.ownership.owners.get(`namespaces/${ns}`)?.approvers.length, ns).toBeGreaterThan(0);
    }
    expect(owners.ownership.owners.get('cluster')?.approvers).toEqual(['cloudmart/platform']);
  });

  it('every fragment loads once copied into a namespace folder, as the fragments README says', async () => {
    const fragments = (await readPolicyTree(path.join(template, 'fragments'))).filter((f) =>
      f.path.endsWith('.yaml'),
    );
    expect(fragments.map((f) => f.path).sort()).toEqual([
      'allow-dns.yaml',
      'allow-from-ingress-controller.yaml',
      'allow-prometheus-scrape.yaml',
      'default-deny.yaml',
    ]);
    const copied = fragments.map((f) => ({ path: `namespaces/demo/${f.path}`, content: f.content }));
    const policySet = load(copied);
    expect(policySet.objects.map((o) => ('namespace' in o ? o.namespace : undefined))).toEqual(
      fragments.map(() => 'demo'),
    );
  });

  it('`nyxctl validate policy-repo-template` exits 0 (the template CI)', async () => {
    const { stdout, stderr } = await run(nyxctl, nyxctlArgs('validate', 'policy-repo-template'), {
      cwd: root,
    });
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^ok: \d+ objects/);
    // The template's own CI runs the same command from inside the template.
    const workflow = await readFile(path.join(template, '.github/workflows/validate.yml'), 'utf8');
    expect(workflow).toContain('run: nyxctl validate .');
    const inside = await run(nyxctl, nyxctlArgs('validate', '.'), { cwd: template });
    expect(inside.stdout).toMatch(/^ok: /);
  });

  it('lints clean with the example inventory and flows (no errors, no warnings)', async () => {
    const files = await readPolicyTree(template);
    const policySet = load(files);
    const inventory = await readInventoryFile(path.join(examples, 'inventory.json'));
    const findings = lintPolicySet({ policySet, files, inventory });
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('one example of each upstream tier: each decides a flow of the example window, and needs the platform owners', async () => {
    const files = await readPolicyTree(template);
    const policySet = load(files);
    const inventory = await readInventoryFile(path.join(examples, 'inventory.json'));
    const evaluator = compileEvaluator(policySet, inventory);
    const decidedBy = new Map<string, string[]>();
    for await (const { record } of readFlowFile(path.join(examples, 'flows.jsonl'))) {
      const resolved = resolveFlow(inventory, record);
      if (!resolved.ok) throw new Error(resolved.reason);
      const v = evaluator.evaluate(resolved.flow);
      for (const r of v.reasons) {
        if (r.band !== 'admin-tier' && r.band !== 'baseline-tier') continue;
        const key = `${r.band} ${r.object} ${r.ruleName} ${r.decision} (${r.apiVersion}, tier ${r.tier}, priority ${r.priority}) ${v.verdict}`;
        decidedBy.set(key, [...(decidedBy.get(key) ?? []), `${record.src} -> ${record.dst}:${record.port}`]);
      }
    }
    expect(Object.fromEntries(decidedBy)).toEqual({
      'admin-tier ClusterNetworkPolicy/deny-cloud-metadata cloud-metadata deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 10) deny':
        ['cloudmart-storefront/storefront-api-64d8f5c7b9-kx7tn -> 169.254.169.254:80'],
      'baseline-tier ClusterNetworkPolicy/payments-deny-cross-namespace other-namespaces deny (policy.networking.k8s.io/v1alpha2, tier Baseline, priority 10) deny':
        [
          'cloudmart-analytics/analytics-worker-85f9d7c6b4-r9mzs -> cloudmart-payments/cloudmart-payments-5f7d9c8b6-j4npx:8080',
        ],
    });
    // Ownership: the upstream objects live in cluster/ and need the platform owners.
    const owners = loadOwnership(files);
    if (!owners.ok) throw new Error('template OWNERS invalid');
    for (const file of [
      'cluster/admin-deny-cloud-metadata.yaml',
      'cluster/baseline-payments-cross-namespace.yaml',
    ]) {
      const edited = load(
        files.map((f) =>
          f.path === file ? { ...f, content: f.content.replace('priority: 10', 'priority: 11') } : f,
        ),
      );
      const groups = requiredApprovals({
        ownership: owners.ownership,
        changedFiles: [file],
        changedObjects: changedObjects(policySet, edited),
      });
      expect(
        groups.map((g) => g.approvers),
        file,
      ).toEqual([['cloudmart/platform']]);
    }
  });

  it('examples/change-head differs from the template only in the files the change touches', async () => {
    const base = policyPart(await readPolicyTree(template));
    const head = policyPart(await readPolicyTree(headDir));
    const differing = [...new Set([...base.keys(), ...head.keys()])]
      .filter((p) => base.get(p) !== head.get(p))
      .sort();
    expect(differing).toEqual(CHANGED_BY_EXAMPLE);
  });

  it("the example change's impact: newly denied flows, a new would-deny in audit, new lint findings", async () => {
    const baseFiles = await readPolicyTree(template);
    const headFiles = await readPolicyTree(headDir);
    const base = load(baseFiles);
    const head = load(headFiles);
    const inventory = await readInventoryFile(path.join(examples, 'inventory.json'));
    const window = await readFlowWindow(path.join(examples, 'flows.jsonl'));
    const report = computeImpact({ base, head, inventory, window, baseFiles, headFiles });

    expect(report.coverage.unresolved).toBe(0);
    expect(report.coverage.records).toBeGreaterThan(300);
    expect(report.summary.newlyDenied).toBeGreaterThanOrEqual(1);
    expect(report.summary.newWouldDeny).toBeGreaterThanOrEqual(1);
    expect(report.lint.length).toBeGreaterThanOrEqual(1);
    // What the README tells: the storefront forgot the telemetry collector (now denied), the
    // audit-staged api-ingress has a label typo (would deny the frontend), and the e-mail provider
    // allow is shadowed by the platform's deny-public-internet.
    const newlyDenied = report.changes.filter(
      (c) => c.before.verdict === 'allow' && c.after.verdict === 'deny',
    );
    expect(newlyDenied.map((c) => `${c.dst}:${c.port}`)).toContain(
      'cloudmart-analytics/analytics-collector:4317',
    );
    const rules = report.lint.map((f) => f.rule);
    expect(rules).toContain('shadowed-rule');
    expect(rules).toContain('selector-matches-nothing');

    // Ownership of the change: the storefront owners, read from the base.
    const owners = loadOwnership(baseFiles);
    if (!owners.ok) throw new Error('base OWNERS invalid');
    const groups = requiredApprovals({
      ownership: owners.ownership,
      changedFiles: CHANGED_BY_EXAMPLE,
      changedObjects: changedObjects(base, head),
    });
    expect(groups.map((g) => [g.reason, g.approvers])).toEqual([
      ['namespaces/cloudmart-storefront/ changed', ['cloudmart/storefront-team']],
    ]);
  });

  it('the README demo command runs on the template and reports the newly denied flows', async () => {
    const { stdout } = await run(
      nyxctl,
      nyxctlArgs(
        'impact',
        '--base',
        'policy-repo-template',
        '--head',
        'policy-repo-template/examples/change-head',
        '--inventory',
        'policy-repo-template/examples/inventory.json',
        '--flows',
        'policy-repo-template/examples/flows.jsonl',
        '--format',
        'json',
      ),
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout) as {
      summary: { newlyDenied: number; newWouldDeny: number };
      lint: unknown[];
    };
    expect(report.summary.newlyDenied).toBeGreaterThanOrEqual(1);
    expect(report.summary.newWouldDeny).toBeGreaterThanOrEqual(1);
    expect(report.lint.length).toBeGreaterThanOrEqual(1);
    const readme = await readFile(path.join(template, 'README.md'), 'utf8');
    expect(readme).toContain(
      'nyxctl impact --base policy-repo-template --head policy-repo-template/examples/change-head --inventory policy-repo-template/examples/inventory.json --flows policy-repo-template/examples/flows.jsonl',
    );
  });
});
