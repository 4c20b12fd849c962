import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nyxctl, nyxctlFrom, ROOT } from './run-nyxctl.js';

const F = 'cli/test/fixtures';

const policies = ['--policies', `${F}/base`, '--inventory', `${F}/inventory.json`];

describe('nyxctl validate', () => {
  it('prints only a summary line for a valid tree', async () => {
    const r = await nyxctl('validate', `${F}/base`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 5 policy objects in 5 manifest files; the Deployment is ignored (OWNERS files are not manifests).
    expect(r.stdout).toBe('ok: 5 objects in 5 files (1 ignored)\n');
  });

  it('exits 2 with every error as file:line: message and nothing on stdout', async () => {
    const r = await nyxctl('validate', `${F}/invalid`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    for (const line of lines)
      expect(line).toMatch(/^cli\/test\/fixtures\/invalid\/namespaces\/shop\/bad\.yaml:\d+: \S/);
    // priority 50 (line 7) is in the platform band; the second object names another namespace (line 14).
    expect(
      lines.some((l) => l.startsWith(`${F}/invalid/namespaces/shop/bad.yaml:7: `) && l.includes('50')),
    ).toBe(true);
    expect(lines.some((l) => /bad\.yaml:1[1-5]: /.test(l) && l.includes('payments'))).toBe(true);
  });
});

describe('nyxctl verdicts', () => {
  it('prints one JSON line per flow in input order with both verdicts and reasons', async () => {
    const r = await nyxctl('verdicts', ...policies, '--flows', `${F}/flows.jsonl`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    // 9 lines, one blank: 8 flows, in the order of the file.
    expect(out.map((o) => `${o.src}>${o.dst}:${o.port}`)).toEqual([
      'shop/web-0>shop/api-0:8080',
      'shop/web-0>payments/api-0:8080',
      'payments/api-0>52.1.2.3:443',
      'payments/api-0>203.0.113.9:443',
      '10.0.1.10>198.51.100.7:80',
      'payments/api-0>52.1.2.4:443',
      'payments/api-0>kube-system/coredns-0:53',
      'shop/web-0>shop/api-0:8080',
    ]);
    for (const o of out) {
      expect(o.verdict).toMatch(/^(allow|deny)$/);
      expect(o.asIfEnforced).toMatch(/^(allow|deny)$/);
      expect(Array.isArray(o.reasons) && o.reasons.length > 0).toBe(true);
      expect(Array.isArray(o.asIfEnforcedReasons)).toBe(true);
    }
    expect(out[0]).toMatchObject({ count: 40, firstSeen: '2026-11-20T10:00:00Z', verdict: 'allow' });
    expect(out[0].reasons).toContainEqual(
      expect.objectContaining({
        point: 'ingress',
        band: 'application',
        object: 'NyxNetworkPolicy/shop/allow-web-to-api',
        rule: 0,
      }),
    );
    // Cross-namespace, nothing allows it: the backstop denies at the source.
    expect(out[1]).toMatchObject({ verdict: 'deny', asIfEnforced: 'deny' });
    expect(out[1].reasons).toContainEqual(
      expect.objectContaining({ point: 'egress', band: 'default', decision: 'deny' }),
    );
    expect(out[2]).toMatchObject({ verdict: 'allow', serverName: 'api.stripe.com' });
    expect(out[3].verdict).toBe('deny');
    expect(out[3].reasons).toContainEqual(
      expect.objectContaining({
        band: 'platform',
        object: 'NyxClusterNetworkPolicy/deny-bad-ranges',
        decision: 'deny',
      }),
    );
    // The audit policy would deny plaintext HTTP: a would-deny finding.
    expect(out[4]).toMatchObject({ verdict: 'allow', asIfEnforced: 'deny' });
    expect(out[4].asIfEnforcedReasons).toContainEqual(
      expect.objectContaining({ object: 'NyxNetworkPolicy/shop/audit-plain-http', decision: 'deny' }),
    );
    // The allowlist isolates payments egress: anything but Stripe is denied.
    expect(out[5].verdict).toBe('deny');
    expect(out[5].reasons).toContainEqual(expect.objectContaining({ band: 'isolation', decision: 'deny' }));
    expect(out[6].verdict).toBe('allow');
    expect(out[6].reasons).toContainEqual(expect.objectContaining({ band: 'excluded-namespace' }));
  });

  it('treats a pod the inventory lacks as an input error naming the flow line', async () => {
    const r = await nyxctl('verdicts', ...policies, '--flows', `${F}/flows-unknown-pod.jsonl`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^cli\/test\/fixtures\/flows-unknown-pod\.jsonl:2: .*shop\/ghost-1/m);
    expect(r.stderr).not.toMatch(/jsonl:1:/);
  });

  it('reports every error of every input and prints nothing on stdout', async () => {
    const r = await nyxctl(
      'verdicts',
      '--policies',
      `${F}/invalid`,
      '--inventory',
      `${F}/inventory.json`,
      '--flows',
      `${F}/flows-malformed.jsonl`,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^cli\/test\/fixtures\/invalid\/namespaces\/shop\/bad\.yaml:7: /m);
    expect(r.stderr).toMatch(/^cli\/test\/fixtures\/flows-malformed\.jsonl:2: .*port/m);
    expect(r.stderr).toMatch(/^cli\/test\/fixtures\/flows-malformed\.jsonl:3: /m);
    for (const line of r.stderr.trimEnd().split('\n')) expect(line).toMatch(/^[^\s:]+:\d+: \S/);
  });

  it('reports the tree first, then the flow problems in line order (malformed and unresolved alike), capped', async () => {
    // Pass 1 runs on its own thread and resolves tuples as it reads: a malformed line and a line
    // whose pod is gone come out in the order of the file, whichever found them.
    const dir = mkdtempSync(join(tmpdir(), 'nyx-verdicts-order-'));
    const flows = join(dir, 'flows.jsonl');
    const good = '{"src":"shop/web-0","dst":"shop/api-0","protocol":"TCP","port":8080}';
    const lines: string[] = [];
    for (let i = 0; i < 15; i++) {
      lines.push(
        good,
        '{"src":"shop/web-0"',
        `{"src":"shop/web-0","dst":"shop/ghost-${i}","protocol":"TCP","port":8080}`,
      );
      lines.push(`{"src":"shop/web-0","dst":"shop/ghost-${i}","protocol":"TCP","port":8080,"count":2}`);
    }
    writeFileSync(flows, `${lines.join('\n')}\n`);
    const r = await nyxctl(
      'verdicts',
      '--policies',
      `${F}/invalid`,
      '--inventory',
      `${F}/inventory.json`,
      '--flows',
      flows,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const err = r.stderr.trimEnd().split('\n');
    const firstFlow = err.findIndex((l) => l.startsWith(flows));
    expect(firstFlow).toBeGreaterThan(0);
    expect(err.slice(0, firstFlow).every((l) => l.startsWith(`${F}/invalid/`))).toBe(true);
    const flowLines = err.slice(firstFlow);
    // 15 malformed + 30 lines of gone pods = 45 problems: 20 told, in line order, then the rest counted.
    expect(flowLines).toHaveLength(21);
    const numbers = flowLines.slice(0, 20).map((l) => Number(l.slice(flows.length + 1).split(':')[0]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(numbers.slice(0, 6)).toEqual([2, 3, 4, 6, 7, 8]);
    expect(flowLines[1]).toContain('shop/ghost-0');
    expect(flowLines[20]).toBe(`${flows}: …and 25 more problems in this flow file`);
  });

  it('is a usage error (exit 2) when a required option is missing, and documents exit codes in --help', async () => {
    const missing = await nyxctl('verdicts', ...policies);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('--flows');
    const help = await nyxctl('verdicts', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*0 +ok[\s\S]*1 +findings[\s\S]*2 +invalid input/);
  });
});

describe('nyxctl explain', () => {
  const flow = [
    '--from',
    'payments/api-0',
    '--to',
    '203.0.113.9',
    '--port',
    '443',
    '--server-name',
    'evil.example',
  ];

  it('explains each enforcement point in text', async () => {
    const r = await nyxctl('explain', ...policies, ...flow);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('effective: deny');
    expect(r.stdout).toContain('as if every audit object were enforced: deny');
    expect(r.stdout).toMatch(
      /egress +deny +platform +NyxClusterNetworkPolicy\/deny-bad-ranges egress\[0\] Deny/,
    );
    expect(r.stdout).toContain(`[${F}/base/cluster/deny-bad-ranges.yaml:14]`);
    expect(r.stdout).toContain('pod payments/api-0');
    expect(r.stdout).toContain('world 203.0.113.9');
  });

  it('prints JSON with both verdicts and reasons', async () => {
    const r = await nyxctl('explain', ...policies, ...flow, '--format', 'json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verdict: 'deny', asIfEnforced: 'deny', wouldDeny: false });
    expect(out.reasons).toContainEqual(
      expect.objectContaining({
        point: 'egress',
        band: 'platform',
        object: 'NyxClusterNetworkPolicy/deny-bad-ranges',
      }),
    );
  });
});

describe('nyxctl impact', () => {
  const args = [
    '--base',
    `${F}/base`,
    '--head',
    `${F}/head`,
    '--inventory',
    `${F}/inventory.json`,
    '--flows',
    `${F}/flows.jsonl`,
  ];

  it('prints the SPEC section 7 JSON', async () => {
    const r = await nyxctl('impact', ...args, '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // The head turns shop's web -> api allow into a deny: one distinct flow, 42 connections.
    expect(report.summary).toMatchObject({ newlyDenied: 1, newlyAllowed: 0, newlyDeniedRecords: 42 });
    expect(report.summary).toHaveProperty('newWouldDeny');
    expect(report.summary).toHaveProperty('resolvedWouldDeny');
    expect(report.changes).toHaveLength(1);
    const change = report.changes[0];
    for (const key of [
      'src',
      'dst',
      'protocol',
      'port',
      'count',
      'firstSeen',
      'lastSeen',
      'before',
      'after',
    ]) {
      expect(change).toHaveProperty(key);
    }
    expect(change).toMatchObject({
      protocol: 'TCP',
      port: 8080,
      count: 42,
      firstSeen: '2026-11-20T10:00:00Z',
      lastSeen: '2026-11-23T09:00:00Z',
    });
    expect(change.before).toMatchObject({ verdict: 'allow' });
    expect(change.after).toMatchObject({ verdict: 'deny' });
    expect(change.after.reasons).toContainEqual(
      expect.objectContaining({ object: 'NyxNetworkPolicy/shop/allow-web-to-api' }),
    );
    expect(Array.isArray(report.lint)).toBe(true);
    expect(report.coverage).toMatchObject({ records: 8, distinctFlows: 7, unresolved: 0 });
    for (const key of ['from', 'to', 'namespaces']) expect(report.coverage).toHaveProperty(key);
  });

  it('counts pods the inventory lacks as unresolved instead of failing, but refuses malformed lines', async () => {
    const base = ['--base', `${F}/base`, '--head', `${F}/head`, '--inventory', `${F}/inventory.json`];
    const unknown = await nyxctl(
      'impact',
      ...base,
      '--flows',
      `${F}/flows-unknown-pod.jsonl`,
      '--format',
      'json',
    );
    expect(unknown.code).toBe(0);
    expect(JSON.parse(unknown.stdout).coverage).toMatchObject({ records: 2, unresolved: 1 });
    const malformed = await nyxctl('impact', ...base, '--flows', `${F}/flows-malformed.jsonl`);
    expect(malformed.code).toBe(2);
    expect(malformed.stdout).toBe('');
    expect(malformed.stderr).toMatch(/^cli\/test\/fixtures\/flows-malformed\.jsonl:2: /m);
    expect(malformed.stderr).toMatch(/^cli\/test\/fixtures\/flows-malformed\.jsonl:3: /m);
  });

  it('reads the flows on its worker thread from any working directory', async () => {
    const absolute = args.map((a) => (a.startsWith('--') ? a : join(ROOT, a)));
    const here = await nyxctl('impact', ...absolute, '--format', 'json');
    const elsewhere = await nyxctlFrom(tmpdir(), 'impact', ...absolute, '--format', 'json');
    expect(elsewhere.stderr).toBe('');
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stdout).toBe(here.stdout);
  });

  it('prints the Markdown comment by default', async () => {
    const r = await nyxctl('impact', ...args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shop/web-0');
    expect(r.stdout).toContain('allow-web-to-api');
  });
});

describe('nyxctl lint', () => {
  it('prints findings as file:line: severity rule: message and exits 1 exactly when one is an error', async () => {
    const r = await nyxctl(
      'lint',
      `${F}/base`,
      '--inventory',
      `${F}/inventory.json`,
      '--flows',
      `${F}/flows.jsonl`,
    );
    expect([0, 1]).toContain(r.code);
    const lines = r.stdout === '' ? [] : r.stdout.trimEnd().split('\n');
    for (const line of lines)
      expect(line).toMatch(/^cli\/test\/fixtures\/base\/\S+:\d+: (error|warning|info) [a-z0-9-]+: /);
    expect(r.code).toBe(lines.some((l) => /:\d+: error /.test(l)) ? 1 : 0);
    expect(r.stderr).toMatch(/^lint: \d+ errors?, \d+ warnings?, \d+ info$/m);
  });

  it('exits 1 when a finding is an error, with the findings as JSON on request', async () => {
    const text = await nyxctl('lint', `${F}/lint-error`);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^cli\/test\/fixtures\/lint-error\/namespaces\/shop\/allow\.yaml:1: error missing-owners: .+ \(add namespaces\/shop\/OWNERS/m,
    );
    expect(text.stdout).toMatch(/allow\.yaml:22: warning ignored-direction: /m);
    const json = await nyxctl('lint', `${F}/lint-error`, '--format', 'json');
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout);
    expect(out.summary.errors).toBeGreaterThanOrEqual(1);
    expect(out.findings[0]).toMatchObject({
      severity: 'error',
      rule: 'missing-owners',
      file: `${F}/lint-error/namespaces/shop/allow.yaml`,
      line: 1,
    });
  });

  it('exits 2 on an invalid tree', async () => {
    const r = await nyxctl('lint', `${F}/invalid`, '--format', 'json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad\.yaml:7: /);
  });
});
