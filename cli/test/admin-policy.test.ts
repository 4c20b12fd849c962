// Upstream admin policy through the real nyxctl process (SPEC 9): verdicts name the tier, and
// `nyxctl convert --to v1alpha2` prints the rewrite and its proof.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { inventoryJson } from '../../core/src/testing/inventory.js';
import { nyxctl, ROOT } from './run-nyxctl.js';

const ANP = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: deny-metadata
spec:
  priority: 10
  subject:
    namespaces: {}
  egress:
  - name: metadata
    action: Deny
    to:
    - networks: ["169.254.169.254/32"]
  - action: Allow
    to:
    - namespaces: {}
    ports:
    - portNumber: {port: 8080}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nyx-admin-cli-'));
  await mkdir(join(dir, 'tree/cluster'), { recursive: true });
  await writeFile(join(dir, 'tree/cluster/admin.yaml'), ANP.replace(/\n/g, '\r\n'));
  await writeFile(
    join(dir, 'inventory.json'),
    JSON.stringify(
      inventoryJson({
        namespaces: { shop: {}, pay: {} },
        pods: [
          { ns: 'shop', name: 'web', ip: '10.1.0.1', node: 'n1' },
          {
            ns: 'pay',
            name: 'api',
            ip: '10.1.0.2',
            node: 'n1',
            ports: [{ name: 'http', containerPort: 8080 }],
          },
        ],
        nodes: [{ name: 'n1', ips: ['192.168.0.1'] }],
      }),
    ),
  );
  await writeFile(
    join(dir, 'flows.jsonl'),
    [
      { src: 'shop/web', dst: '169.254.169.254', protocol: 'TCP', port: 80 },
      { src: 'shop/web', dst: 'pay/api', protocol: 'TCP', port: 8080 },
    ]
      .map((f) => JSON.stringify(f))
      .join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nyxctl and upstream admin policy', () => {
  it('verdicts: the Admin tier denies the metadata address; the Baseline tier denies what no one allowed', async () => {
    const run = await nyxctl(
      'verdicts',
      '--policies',
      join(dir, 'tree'),
      '--inventory',
      join(dir, 'inventory.json'),
      '--flows',
      join(dir, 'flows.jsonl'),
    );
    expect(run.stderr).toBe('');
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({
      verdict: 'deny',
      reasons: [
        {
          point: 'egress',
          band: 'admin-tier',
          object: 'AdminNetworkPolicy/deny-metadata',
          apiVersion: 'policy.networking.k8s.io/v1alpha1',
          tier: 'Admin',
          priority: 10,
          rule: 0,
          ruleName: 'metadata',
          source: 'cluster/admin.yaml:10',
        },
      ],
    });
    expect(lines[1].verdict).toBe('deny');
    expect(lines[1].reasons.map((r: { band: string }) => r.band)).toEqual(['admin-tier', 'baseline-tier']);
  });

  it('convert --to v1alpha2 prints ClusterNetworkPolicy objects and proves them on the flows', async () => {
    const run = await nyxctl(
      'convert',
      '--to',
      'v1alpha2',
      join(dir, 'tree'),
      '--inventory',
      join(dir, 'inventory.json'),
      '--flows',
      join(dir, 'flows.jsonl'),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'converted 2 object(s); proof: 2 flows of ' +
        join(dir, 'flows.jsonl') +
        ', every verdict equal before and after\n',
    );
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS());
    expect(docs.map((d) => [d.kind, d.metadata.name, d.spec.tier, d.spec.priority])).toEqual([
      ['ClusterNetworkPolicy', 'deny-metadata', 'Admin', 10],
      ['ClusterNetworkPolicy', 'default', 'Baseline', 0],
    ]);
    // the rewrite alone validates
    await mkdir(join(dir, 'converted/cluster'), { recursive: true });
    await writeFile(join(dir, 'converted/cluster/admin.yaml'), run.stdout);
    const validated = await nyxctl('validate', join(dir, 'converted'));
    expect([validated.code, validated.stdout]).toEqual([0, 'ok: 2 objects in 1 file (0 ignored)\n']);
    // without --flows, generated flows
    const generated = await nyxctl(
      'convert',
      '--to',
      'v1alpha2',
      join(dir, 'tree'),
      '--inventory',
      join(dir, 'inventory.json'),
    );
    expect(generated.stderr).toMatch(
      /^converted 2 object\(s\); proof: \d+ generated flows .*every verdict equal/,
    );
    const wrong = await nyxctl(
      'convert',
      '--to',
      'v1beta1',
      join(dir, 'tree'),
      '--inventory',
      join(dir, 'inventory.json'),
    );
    expect([wrong.code, wrong.stdout]).toEqual([2, '']);
  });

  it('convert --write rewrites the files in place, proven, keeping other documents and CRLF; refuses and writes nothing otherwise', async () => {
    const tree = join(dir, 'write');
    await mkdir(join(tree, 'cluster'), { recursive: true });
    const unrelated =
      '---\r\n# kept as it is\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: notes}\r\n';
    const original = ANP.replace(/\n/g, '\r\n') + unrelated;
    await writeFile(join(tree, 'cluster/admin.yaml'), original);
    const args = ['--inventory', join(dir, 'inventory.json'), '--flows', join(dir, 'flows.jsonl')];
    const verdictsOf = async (policies: string) => {
      const run = await nyxctl('verdicts', '--policies', policies, ...args);
      return run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((v) => [v.verdict, v.asIfEnforced, v.reasons.map((r: { band: string }) => r.band)]);
    };
    const before = await verdictsOf(tree);

    const run = await nyxctl('convert', '--to', 'v1alpha2', tree, ...args, '--write');
    expect([run.code, run.stdout]).toEqual([0, '']);
    expect(run.stderr).toBe(
      `converted 2 object(s) in ${join(tree, 'cluster/admin.yaml')}; proof: 2 flows of ${join(dir, 'flows.jsonl')}, every verdict equal before and after\n`,
    );
    const written = await readFile(join(tree, 'cluster/admin.yaml'), 'utf8');
    expect(written.endsWith(unrelated)).toBe(true);
    expect(written.replace(/\r\n/g, '')).not.toContain('\n');
    expect(parseAllDocuments(written).map((d) => d.toJS()?.kind)).toEqual([
      'ClusterNetworkPolicy',
      'ClusterNetworkPolicy',
      'ConfigMap',
    ]);
    expect(await verdictsOf(tree)).toEqual(before);
    const validated = await nyxctl('validate', tree);
    expect([validated.code, validated.stdout]).toEqual([0, 'ok: 2 objects in 1 file (1 ignored)\n']);
    const again = await nyxctl('convert', '--to', 'v1alpha2', tree, '--write');
    expect([again.code, again.stderr]).toEqual([
      0,
      `nothing to convert: ${tree} has no AdminNetworkPolicy or BaselineAdminNetworkPolicy\n`,
    ]);

    // 26 rules: valid in v1alpha1 (up to 100), not in v1alpha2 (up to 25): refused, nothing written
    const many = `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: many\nspec:\n  priority: 1\n  subject:\n    namespaces: {}\n  egress:\n${'  - action: Deny\n    to:\n    - networks: ["198.51.100.0/24"]\n'.repeat(26)}`;
    const refused = join(dir, 'refused');
    await mkdir(join(refused, 'cluster'), { recursive: true });
    await writeFile(join(refused, 'cluster/many.yaml'), many);
    const no = await nyxctl('convert', '--to', 'v1alpha2', refused, '--write');
    expect([no.code, no.stdout]).toEqual([2, '']);
    expect(no.stderr).toMatch(/^\S+cluster\/many\.yaml:\d+: after conversion to v1alpha2: .*25/);
    expect(await readFile(join(refused, 'cluster/many.yaml'), 'utf8')).toBe(many);

    // without --inventory the proof runs on stand-ins; --flows alone is a usage error
    const generated = await nyxctl('convert', '--to', 'v1alpha2', join(dir, 'tree'));
    expect(generated.code).toBe(0);
    expect(generated.stderr).toMatch(/proof: \d+ generated flows \(no --inventory: .*every verdict equal/);
    const usage = await nyxctl(
      'convert',
      '--to',
      'v1alpha2',
      join(dir, 'tree'),
      '--flows',
      join(dir, 'flows.jsonl'),
    );
    expect([usage.code, usage.stdout]).toEqual([2, '']);
  });
});

describe('nyxctl lint and upstream admin policy', () => {
  it('prints a rule the Admin tier shadows at its file:line, naming the shadowing object and where it decides (tree path)', async () => {
    const tree = join(dir, 'lint');
    await mkdir(join(tree, 'cluster'), { recursive: true });
    await mkdir(join(tree, 'namespaces/shop'), { recursive: true });
    await writeFile(join(tree, 'cluster/admin.yaml'), ANP);
    await writeFile(join(tree, 'namespaces/shop/OWNERS'), 'approvers: [shop-team]\n');
    await writeFile(
      join(tree, 'namespaces/shop/allow.yaml'),
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: metadata\nspec:\n  egress:\n  - decision: Allow\n    toIpBlock: {cidr: 169.254.169.254/32}\n    ports: [{port: 443}]\n',
    );
    const run = await nyxctl('lint', tree, '--inventory', join(dir, 'inventory.json'));
    expect(run.stdout.split('\n')).toContain(
      `${join(tree, 'namespaces/shop/allow.yaml')}:7: warning shadowed-rule: egress[0] Allow never decides: AdminNetworkPolicy/deny-metadata egress rule "metadata" Deny (policy.networking.k8s.io/v1alpha1, tier Admin, priority 10) matches every flow it could match and decides first (the Admin tier decides at cluster/admin.yaml:10: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there)`,
    );
  });
});

// SPEC 9.4: every reader of a verdict names the object, its API version, tier, priority and rule.
// Base: the template; head: the template plus test/fixtures/admin-change (an Admin Deny, an Admin
// Pass with the namespace policy that then decides, a Baseline Deny); its flows: one each.
describe('explain and impact name object, API version, tier, priority and rule of upstream admin policy', () => {
  const TEMPLATE = join(ROOT, 'policy-repo-template');
  const FIXTURE = join(ROOT, 'test/fixtures/admin-change');
  const INVENTORY = join(TEMPLATE, 'examples/inventory.json');
  const FLOWS = join(FIXTURE, 'flows.jsonl');
  let head: string;
  beforeAll(async () => {
    head = join(dir, 'admin-head');
    for (const part of ['cluster', 'namespaces', 'OWNERS'])
      await cp(join(TEMPLATE, part), join(head, part), { recursive: true });
    for (const part of ['cluster', 'namespaces'])
      await cp(join(FIXTURE, part), join(head, part), { recursive: true });
  });
  const ADMIN_DENY =
    'ClusterNetworkPolicy/deny-storefront-telemetry ingress rule "storefront-otlp" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 20)';
  const PASS =
    'AdminNetworkPolicy/analytics-delegates egress rule "metadata-proxy" Pass (policy.networking.k8s.io/v1alpha1, tier Admin, priority 5)';
  const BASELINE_DENY =
    'ClusterNetworkPolicy/storefront-api-default-deny ingress rule "everyone-else" Deny (policy.networking.k8s.io/v1alpha2, tier Baseline, priority 20)';
  const explain = (format: string, from: string, to: string, port: string) =>
    nyxctl(
      'explain',
      '--policies',
      head,
      '--inventory',
      INVENTORY,
      '--from',
      from,
      '--to',
      to,
      '--port',
      port,
      '--format',
      format,
    );

  it('explain (text): the deciding line of each case', async () => {
    const lines = async (from: string, to: string, port: string) => {
      const run = await explain('text', from, to, port);
      expect(run.code).toBe(0);
      return run.stdout
        .split('\n\nas if')[0]!
        .split('\n')
        .filter((l) => /^ {2}(egress|ingress) /.test(l));
    };
    expect(
      await lines(
        'cloudmart-storefront/storefront-frontend',
        'cloudmart-analytics/analytics-collector',
        '4317',
      ),
    ).toContain(
      `  ingress deny   admin-tier    ${ADMIN_DENY}  [${join(head, 'cluster/admin-deny-storefront-telemetry.yaml')}:14]`,
    );
    expect(await lines('cloudmart-analytics/analytics-worker', '169.254.169.254', '80')).toEqual([
      `  egress  allow  application   NyxNetworkPolicy/cloudmart-analytics/allow-metadata-proxy egress[0] Allow (after ${PASS}  [${join(head, 'cluster/admin-pass.yaml')}:14])  [${join(head, 'namespaces/cloudmart-analytics/allow-metadata-proxy.yaml')}:11]`,
    ]);
    expect(
      await lines('cloudmart-storefront/storefront-frontend', 'cloudmart-storefront/storefront-api', '8080'),
    ).toContain(
      `  ingress deny   baseline-tier ${BASELINE_DENY}  [${join(head, 'cluster/baseline-storefront-api.yaml')}:18]`,
    );
  });

  it('explain (JSON): the fields of each case, the Pass as passedBy', async () => {
    const reasons = async (from: string, to: string, port: string) => {
      const run = await explain('json', from, to, port);
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout).reasons;
    };
    expect(
      await reasons(
        'cloudmart-storefront/storefront-frontend',
        'cloudmart-analytics/analytics-collector',
        '4317',
      ),
    ).toContainEqual({
      point: 'ingress',
      band: 'admin-tier',
      object: 'ClusterNetworkPolicy/deny-storefront-telemetry',
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      tier: 'Admin',
      priority: 20,
      rule: 0,
      ruleName: 'storefront-otlp',
      decision: 'deny',
      text: ADMIN_DENY,
      source: 'cluster/admin-deny-storefront-telemetry.yaml:14',
    });
    expect(await reasons('cloudmart-analytics/analytics-worker', '169.254.169.254', '80')).toEqual([
      {
        point: 'egress',
        band: 'application',
        object: 'NyxNetworkPolicy/cloudmart-analytics/allow-metadata-proxy',
        rule: 0,
        decision: 'allow',
        text: 'NyxNetworkPolicy/cloudmart-analytics/allow-metadata-proxy egress[0] Allow',
        source: 'namespaces/cloudmart-analytics/allow-metadata-proxy.yaml:11',
        passedBy: [
          {
            object: 'AdminNetworkPolicy/analytics-delegates',
            apiVersion: 'policy.networking.k8s.io/v1alpha1',
            tier: 'Admin',
            priority: 5,
            rule: 0,
            ruleName: 'metadata-proxy',
            text: PASS,
            source: 'cluster/admin-pass.yaml:14',
          },
        ],
      },
    ]);
    expect(
      await reasons(
        'cloudmart-storefront/storefront-frontend',
        'cloudmart-storefront/storefront-api',
        '8080',
      ),
    ).toContainEqual(
      expect.objectContaining({
        band: 'baseline-tier',
        object: 'ClusterNetworkPolicy/storefront-api-default-deny',
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        tier: 'Baseline',
        priority: 20,
        rule: 0,
        ruleName: 'everyone-else',
      }),
    );
  });

  it('impact (Markdown and JSON): the newly denied and newly allowed rows name them', async () => {
    const args = ['--base', TEMPLATE, '--head', head, '--inventory', INVENTORY, '--flows', FLOWS];
    const markdown = await nyxctl('impact', ...args);
    expect(markdown.code).toBe(0);
    const md = (text: string) => text.replace(/"/g, '&quot;').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
    expect(markdown.stdout).toContain(
      `ingress: ${md(ADMIN_DENY)} (cluster/admin-deny-storefront-telemetry.yaml:14)`,
    );
    expect(markdown.stdout).toContain(
      `ingress: ${md(BASELINE_DENY)} (cluster/baseline-storefront-api.yaml:18)`,
    );
    expect(markdown.stdout).toContain(
      `egress: NyxNetworkPolicy/cloudmart-analytics/allow-metadata-proxy egress${md('[0]')} Allow (after ${md(PASS)} (cluster/admin-pass.yaml:14)) (namespaces/cloudmart-analytics/allow-metadata-proxy.yaml:11)`,
    );
    const json = JSON.parse((await nyxctl('impact', ...args, '--format', 'json')).stdout);
    expect(json.summary).toMatchObject({ newlyDenied: 2, newlyAllowed: 1 });
    const after = (dst: string) =>
      json.changes.find((c: { dst: string }) => c.dst === dst).after.reasons as Array<
        Record<string, unknown>
      >;
    expect(after('cloudmart-analytics/analytics-collector')).toContainEqual(
      expect.objectContaining({
        band: 'admin-tier',
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        tier: 'Admin',
        priority: 20,
        ruleName: 'storefront-otlp',
      }),
    );
    expect(after('cloudmart-storefront/storefront-api')).toContainEqual(
      expect.objectContaining({
        band: 'baseline-tier',
        tier: 'Baseline',
        priority: 20,
        ruleName: 'everyone-else',
      }),
    );
    expect(after('169.254.169.254')[0]).toMatchObject({
      band: 'application',
      passedBy: [
        {
          object: 'AdminNetworkPolicy/analytics-delegates',
          tier: 'Admin',
          priority: 5,
          ruleName: 'metadata-proxy',
        },
      ],
    });
  });
});
