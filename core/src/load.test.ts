import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicySet } from './load.js';
import { type Diagnostic, formatDiagnostic, type NyxNetworkPolicy, type PolicyFile } from './model.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures');

function readFixtureTree(dir: string): PolicyFile[] {
  const out: PolicyFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else out.push({ path, content: readFileSync(join(dir, path), 'utf8') });
    }
  };
  walk('');
  return out;
}

function load(files: Record<string, string>) {
  return loadPolicySet(Object.entries(files).map(([path, content]) => ({ path, content })));
}

function errorsOf(files: Record<string, string>): string[] {
  const r = load(files);
  if (r.ok) throw new Error('expected the tree to be refused');
  return r.errors.map(formatDiagnostic);
}

/** Asserts one error at exactly `fileLine` whose message contains `text`. */
function expectError(files: Record<string, string>, fileLine: string, text: string): void {
  const errors = errorsOf(files);
  const match = errors.filter((e) => e.startsWith(`${fileLine}: `) && e.includes(text));
  expect(match, `errors were:\n${errors.join('\n')}`).toHaveLength(1);
}

const NYX = 'apiVersion: nyx.tracenyx.io/v1alpha1';

function nnp(spec: string, meta = '  name: p\n'): string {
  return `${NYX}\nkind: NyxNetworkPolicy\nmetadata:\n${meta}spec:\n${spec}`;
}

function cnp(spec: string, name = 'c'): string {
  return `${NYX}\nkind: NyxClusterNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

describe('seed guide', () => {
  it('loads every YAML example of the hardening guide unchanged', () => {
    // The seeds live in `shared/` beside the repository (CI clones main with shared/ next to it).
    const seeds = fileURLToPath(new URL('../../../shared/seeds', import.meta.url));
    const seed = existsSync(seeds) ? readdirSync(seeds).find((f) => f.startsWith('000_')) : undefined;
    const files = readFixtureTree(join(FIXTURES, 'seed-guide'));
    if (seed) {
      // The fixtures are byte-for-byte copies of the guide's YAML.
      const guide = readFileSync(join(seeds, seed), 'utf8');
      for (const f of files) expect(guide.includes(f.content)).toBe(true);
    }
    const r = loadPolicySet(files);
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    expect(r.policySet.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'NyxClusterConfig/cluster',
      'NyxClusterNetworkPolicy/deny-public-internet',
      'NyxNetworkPolicy/payments-egress-allowlist',
    ]);
    expect(r.policySet.config?.spec).toEqual({
      defaultMode: 'deny-cross-namespace',
      enforcement: 'audit',
      excludedNamespaces: ['kube-system', 'kube-public', 'nyx-system'],
    });
    const payments = r.policySet.objects[2] as NyxNetworkPolicy;
    expect(payments.namespace).toBe('cloudmart-payments');
    expect(payments.spec.egress?.[0]?.toFqdn).toEqual([{ matchName: 'api.stripe.com' }]);
    expect(payments.source).toEqual({
      file: 'namespaces/cloudmart-payments/payments-egress-allowlist.yaml',
      line: 1,
    });
    expect(payments.lines['/spec/egress/0/ports/0/port']).toBe(20);
    expect(r.notes).toEqual([]);
  });
});

describe('routing by apiVersion and kind', () => {
  it('ignores other kinds with a note', () => {
    const r = load({
      'app.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n${nnp('  priority: 200\n')}`,
    });
    expect(r.ok).toBe(true);
    expect(r.notes.map(formatDiagnostic)).toEqual([
      'app.yaml:1: ignored apps/v1 Deployment "web": not a policy kind',
      'app.yaml:6: ignored v1 Service "web": not a policy kind',
    ]);
    if (r.ok) {
      expect(r.policySet.ignored).toHaveLength(2);
      expect(r.policySet.objects).toHaveLength(1);
    }
  });

  it('a Nyx kind under another apiVersion is an error', () => {
    expectError(
      { 'a.yaml': 'apiVersion: nyx.tracenyx.io/v1\nkind: NyxNetworkPolicy\nmetadata: {name: a}\nspec: {}\n' },
      'a.yaml:1',
      'NyxNetworkPolicy must use apiVersion nyx.tracenyx.io/v1alpha1, not nyx.tracenyx.io/v1',
    );
  });

  it('an unknown kind in the Nyx group is an error', () => {
    expectError(
      { 'a.yaml': `${NYX}\nkind: NyxNetworkPolcy\nmetadata: {name: a}\n` },
      'a.yaml:2',
      'unknown kind "NyxNetworkPolcy" in nyx.tracenyx.io/v1alpha1',
    );
  });

  it('a document that is not a mapping, or lacks kind, is an error', () => {
    const errors = errorsOf({
      'a.yaml': '- a\n- b\n---\napiVersion: v1\nmetadata: {name: x}\n---\njust text\n',
    });
    expect(errors).toEqual([
      expect.stringMatching(/^a\.yaml:1: document 1 is a list; expected a Kubernetes manifest/),
      expect.stringMatching(/^a\.yaml:4: missing field "kind"/),
      expect.stringMatching(/^a\.yaml:7: document 3 is the string "just text"/),
    ]);
  });

  it('reads the items of a v1 List (kubectl get -o yaml) with their own lines', () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: nyx.tracenyx.io/v1alpha1
    kind: NyxNetworkPolicy
    metadata:
      name: a
      namespace: shop
    spec:
      priority: 200
  - apiVersion: v1
    kind: Service
    metadata: {name: svc}
`;
    const r = load({ 'export.yaml': list });
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    expect(
      r.policySet.objects.map((o) => [o.metadata.name, o.source.line, o.lines['/spec/priority']]),
    ).toEqual([['a', 4, 10]]);
    expect(r.notes.map(formatDiagnostic)).toEqual([
      'export.yaml:11: ignored v1 Service "svc": not a policy kind',
    ]);
  });

  it('picks manifests only under cluster/ and namespaces/ in the template layout', () => {
    const r = load({
      'cluster/c.yaml': cnp('  tier: platform\n  priority: 10\n'),
      '.github/nyx.yml': 'not: [a manifest\n',
      'examples/bad.yaml': 'kind: [\n',
      'namespaces/shop/OWNERS': 'approvers: [alice]\n',
    });
    expect(r.ok).toBe(true);
  });
});

describe('schema validation', () => {
  it('unknown fields name the field, its line and a suggestion', () => {
    expectError(
      { 'a.yaml': `${NYX}\nkind: NyxNetworkPolicy\nmetadata: {name: a}\nsepc: {}\n` },
      'a.yaml:4',
      'unknown field "sepc" in NyxNetworkPolicy (did you mean "spec"?)',
    );
    expectError(
      { 'a.yaml': nnp('  egress:\n    - decision: Allow\n      toFQDN: [{matchName: a.com}]\n') },
      'a.yaml:8',
      'unknown field "toFQDN" in spec.egress[0] (did you mean "toFqdn"?)',
    );
  });

  it('wrong types name the field and what was expected', () => {
    expectError(
      { 'a.yaml': nnp('  priority: high\n') },
      'a.yaml:6',
      'spec.priority must be an integer, not the string "high"',
    );
    expectError(
      { 'a.yaml': nnp('  egress: {decision: Allow}\n') },
      'a.yaml:6',
      'spec.egress must be a list, not a mapping',
    );
    expectError(
      { 'a.yaml': nnp('  ingress:\n    - decision: Allow\n      ports: [{port: [80]}]\n') },
      'a.yaml:8',
      'spec.ingress[0].ports[0].port must be an integer or a string, not a list',
    );
  });

  it('enums list the allowed values', () => {
    expectError(
      { 'a.yaml': nnp('  enforcement: Audit\n') },
      'a.yaml:6',
      'spec.enforcement must be one of audit, enforce, not "Audit"',
    );
    expectError(
      { 'a.yaml': nnp('  ingress:\n    - decision: allow\n') },
      'a.yaml:7',
      'spec.ingress[0].decision must be one of Allow, Deny',
    );
  });

  it('missing required fields are named', () => {
    expectError(
      { 'a.yaml': `${NYX}\nkind: NyxNetworkPolicy\nmetadata: {}\nspec: {}\n` },
      'a.yaml:3',
      'missing required field metadata.name',
    );
    expectError(
      { 'a.yaml': nnp('  egress:\n    - ports: [{port: 80}]\n') },
      'a.yaml:7',
      'missing required field spec.egress[0].decision',
    );
  });

  it('names must be DNS names', () => {
    expectError(
      { 'a.yaml': nnp('  priority: 200\n', '  name: Web_Policy\n') },
      'a.yaml:4',
      'metadata.name "Web_Policy" must be a DNS subdomain',
    );
  });

  it('reports every error of every file, sorted by file and line', () => {
    const errors = errorsOf({
      'b.yaml': nnp('  priority: 50\n  enforcement: maybe\n'),
      'a.yaml': nnp('  sepc: 1\n  policyTypes: [Egres]\n'),
    });
    expect(errors.map((e) => e.split(': ')[0])).toEqual(['a.yaml:6', 'a.yaml:7', 'b.yaml:6', 'b.yaml:7']);
  });
});

describe('semantic rules (SPEC §1)', () => {
  it('NyxNetworkPolicy priority outside 100–899', () => {
    expectError(
      { 'a.yaml': nnp('  priority: 50\n') },
      'a.yaml:6',
      'priority 50 is in the platform band (0–99); namespace policies use 100–899',
    );
    expectError(
      { 'a.yaml': nnp('  priority: 950\n') },
      'a.yaml:6',
      'priority 950 is in the baseline band (900–999)',
    );
  });

  it('priority above 999', () => {
    expectError({ 'a.yaml': nnp('  priority: 1000\n') }, 'a.yaml:6', 'priority 1000 is above 999');
    expectError(
      { 'a.yaml': cnp('  tier: baseline\n  priority: 5000\n') },
      'a.yaml:7',
      'priority 5000 is above 999',
    );
  });

  it('tier platform outside 0–99', () => {
    expectError(
      { 'a.yaml': cnp('  tier: platform\n  priority: 100\n') },
      'a.yaml:7',
      'tier platform needs a priority in 0–99, not 100',
    );
  });

  it('tier baseline outside 900–999', () => {
    expectError(
      { 'a.yaml': cnp('  tier: baseline\n  priority: 50\n') },
      'a.yaml:7',
      'tier baseline needs a priority in 900–999, not 50',
    );
  });

  it('priority missing on cluster policies', () => {
    expectError(
      { 'a.yaml': cnp('  tier: platform\n') },
      'a.yaml:5',
      'missing spec.priority: cluster policies must set a priority',
    );
  });

  it('metadata.namespace must match the namespaces/<ns>/ folder', () => {
    expectError(
      { 'namespaces/shop/a.yaml': nnp('  priority: 200\n', '  name: a\n  namespace: billing\n') },
      'namespaces/shop/a.yaml:5',
      'metadata.namespace "billing" differs from the folder namespaces/shop/',
    );
  });

  it('resolves the namespace from metadata, else the folder, else default', () => {
    const r = load({
      'namespaces/shop/a.yaml': nnp('  priority: 200\n', '  name: a\n'),
      'namespaces/shop/b.yaml': nnp('  priority: 200\n', '  name: b\n  namespace: shop\n'),
      'cluster/np.yaml':
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: kube-system}\nspec: {}\n',
      'namespaces/c.yaml': nnp('  priority: 200\n', '  name: c\n'),
    });
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    expect(
      r.policySet.objects.map((o) => ('namespace' in o ? `${o.namespace}/${o.metadata.name}` : '')),
    ).toEqual(['kube-system/np', 'default/c', 'shop/a', 'shop/b']);
  });

  it('cluster-scoped kinds may not sit in a namespace folder or carry a namespace', () => {
    expectError(
      { 'namespaces/shop/c.yaml': cnp('  tier: baseline\n  priority: 950\n') },
      'namespaces/shop/c.yaml:2',
      'belongs under cluster/',
    );
    expectError(
      {
        'cluster/c.yaml': `${NYX}\nkind: NyxClusterNetworkPolicy\nmetadata: {name: c, namespace: x}\nspec: {tier: platform, priority: 1}\n`,
      },
      'cluster/c.yaml:3',
      'NyxClusterNetworkPolicy is cluster-scoped; remove metadata.namespace',
    );
  });

  it('duplicate kind/namespace/name names both places', () => {
    const files = {
      'namespaces/shop/a.yaml': nnp('  priority: 200\n', '  name: same\n'),
      'namespaces/shop/b.yaml': `# comment\n${nnp('  priority: 300\n', '  name: same\n  namespace: shop\n')}`,
    };
    expectError(
      files,
      'namespaces/shop/a.yaml:1',
      'duplicate NyxNetworkPolicy shop/same: also defined at namespaces/shop/b.yaml:2',
    );
    expectError(
      files,
      'namespaces/shop/b.yaml:2',
      'duplicate NyxNetworkPolicy shop/same: also defined at namespaces/shop/a.yaml:1',
    );
    // Same name in another namespace or of another kind is fine.
    expect(
      load({
        'namespaces/shop/a.yaml': nnp('  priority: 200\n', '  name: same\n'),
        'namespaces/web/a.yaml': nnp('  priority: 200\n', '  name: same\n'),
      }).ok,
    ).toBe(true);
  });

  it('a second NyxClusterConfig, or one not named cluster', () => {
    const config = (name: string) => `${NYX}\nkind: NyxClusterConfig\nmetadata:\n  name: ${name}\n`;
    expectError(
      { 'cluster/a.yaml': config('cluster'), 'cluster/b.yaml': config('cluster') },
      'cluster/b.yaml:1',
      'a second NyxClusterConfig ("cluster"); there is exactly one, named "cluster", already defined at cluster/a.yaml:1',
    );
    expectError(
      { 'cluster/a.yaml': config('main') },
      'cluster/a.yaml:4',
      'NyxClusterConfig must be named "cluster"',
    );
  });

  it('malformed CIDRs, and except outside cidr', () => {
    const rule = (block: string) => nnp(`  egress:\n    - decision: Deny\n      toIpBlock:\n${block}`);
    expectError(
      { 'a.yaml': rule('        cidr: 10.0.0.0/33\n') },
      'a.yaml:9',
      'cidr "10.0.0.0/33" is not a valid CIDR',
    );
    expectError(
      { 'a.yaml': rule('        cidr: 10.1/8\n') },
      'a.yaml:9',
      'cidr "10.1/8" is not a valid CIDR',
    );
    expectError({ 'a.yaml': rule('        cidr: 10.0.0.1\n') }, 'a.yaml:9', 'is not a valid CIDR');
    expectError(
      { 'a.yaml': rule('        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16, nope]\n') },
      'a.yaml:10',
      'except "nope" is not a valid CIDR',
    );
    expectError(
      { 'a.yaml': rule('        cidr: 10.0.0.0/8\n        except:\n          - 11.0.0.0/16\n') },
      'a.yaml:11',
      'except "11.0.0.0/16" is not inside cidr "10.0.0.0/8"',
    );
    expectError(
      {
        'a.yaml': nnp(
          '  ingress:\n    - decision: Allow\n      fromIpBlock: {cidr: "fd00::/8", except: ["fd00::/4"]}\n',
        ),
      },
      'a.yaml:8',
      'except "fd00::/4" is not inside cidr "fd00::/8"',
    );
    expect(load({ 'a.yaml': rule('        cidr: fd00::/8\n        except: [fd00:1::/32]\n') }).ok).toBe(true);
  });

  it('ports out of range, bad named ports, endPort rules', () => {
    const ports = (list: string) => nnp(`  ingress:\n    - decision: Allow\n      ports:\n${list}`);
    expectError(
      { 'a.yaml': ports('        - port: 70000\n') },
      'a.yaml:9',
      'port 70000 is out of range 1–65535',
    );
    expectError({ 'a.yaml': ports('        - port: 0\n') }, 'a.yaml:9', 'port 0 is out of range 1–65535');
    expectError(
      { 'a.yaml': ports('        - port: Http_Port\n') },
      'a.yaml:9',
      'named port "Http_Port" is not a valid port name',
    );
    expectError(
      { 'a.yaml': ports('        - port: "8080"\n') },
      'a.yaml:9',
      'named port "8080" is not a valid port name',
    );
    expectError(
      { 'a.yaml': ports('        - port: 8080\n          endPort: 80\n') },
      'a.yaml:10',
      'endPort 80 is below port 8080',
    );
    expectError({ 'a.yaml': ports('        - endPort: 80\n') }, 'a.yaml:9', 'endPort needs a numeric port');
    expectError(
      { 'a.yaml': ports('        - port: http\n          endPort: 80\n') },
      'a.yaml:10',
      'endPort needs a numeric port to start the range, not the named port "http"',
    );
    expect(
      load({
        'a.yaml': ports(
          '        - port: http-alt\n        - port: 8000\n          endPort: 9000\n          protocol: UDP\n',
        ),
      }).ok,
    ).toBe(true);
  });

  it('toFqdn needs ports of exactly TCP 443', () => {
    const fqdn = (ports: string) =>
      nnp(`  egress:\n    - decision: Allow\n      toFqdn: [{matchName: api.stripe.com}]\n${ports}`);
    expectError(
      { 'a.yaml': fqdn('') },
      'a.yaml:8',
      "toFqdn applies to HTTPS only: the rule's ports must be exactly TCP 443, found no ports (every port)",
    );
    expectError({ 'a.yaml': fqdn('      ports: [{port: 80}]\n') }, 'a.yaml:8', 'found TCP 80');
    expectError(
      { 'a.yaml': fqdn('      ports: [{port: 443, protocol: UDP}]\n') },
      'a.yaml:8',
      'found UDP 443',
    );
    expectError(
      { 'a.yaml': fqdn('      ports: [{port: 443}, {port: 80}]\n') },
      'a.yaml:8',
      'found TCP 443, TCP 80',
    );
    expect(load({ 'a.yaml': fqdn('      ports: [{port: 443, protocol: TCP}]\n') }).ok).toBe(true);
    expect(load({ 'a.yaml': fqdn('      ports: [{port: 443}]\n') }).ok).toBe(true);
  });

  it('toFqdn entries need exactly one valid matchName or matchPattern', () => {
    const entry = (e: string) =>
      nnp(`  egress:\n    - decision: Allow\n      ports: [{port: 443}]\n      toFqdn:\n        - ${e}\n`);
    expectError(
      { 'a.yaml': entry('{matchName: a.com, matchPattern: "*.a.com"}') },
      'a.yaml:10',
      'exactly one of matchName or matchPattern',
    );
    expectError(
      { 'a.yaml': entry('{matchName: "bad name.com"}') },
      'a.yaml:10',
      'matchName "bad name.com" is not a DNS name',
    );
    expect(load({ 'a.yaml': entry('{matchPattern: "*.example.com"}') }).ok).toBe(true);
  });

  it('invalid label selectors', () => {
    expectError(
      { 'a.yaml': nnp('  podSelector:\n    matchLabels:\n      "bad key!": x\n') },
      'a.yaml:8',
      'invalid label selector spec.podSelector: label key "bad key!"',
    );
    expectError(
      { 'a.yaml': nnp('  podSelector:\n    matchExpressions:\n      - {key: app, operator: In}\n') },
      'a.yaml:8',
      'operator In needs a non-empty values list',
    );
    expectError(
      {
        'a.yaml': nnp(
          '  egress:\n    - decision: Allow\n      to:\n        - namespaceSelector:\n            matchLabels: {team: "-x-"}\n',
        ),
      },
      'a.yaml:10',
      'invalid label selector spec.egress[0].to[0].namespaceSelector: label value "-x-"',
    );
  });

  it('an empty peer list or a peer entry with neither selector', () => {
    expectError(
      { 'a.yaml': nnp('  egress:\n    - decision: Allow\n      to: []\n') },
      'a.yaml:8',
      'empty peer list "to: []" matches nothing',
    );
    expectError(
      { 'a.yaml': nnp('  ingress:\n    - decision: Allow\n      from: []\n') },
      'a.yaml:8',
      'empty peer list "from: []"',
    );
    expectError(
      { 'a.yaml': nnp('  ingress:\n    - decision: Allow\n      from:\n        - {}\n') },
      'a.yaml:9',
      'from entry has neither namespaceSelector nor podSelector',
    );
  });

  it('runs the semantic rules even on documents with schema errors', () => {
    const errors = errorsOf({ 'a.yaml': nnp('  priority: 50\n  enforcment: audit\n') });
    expect(errors).toEqual([
      expect.stringContaining('a.yaml:6: priority 50 is in the platform band'),
      expect.stringContaining('a.yaml:7: unknown field "enforcment"'),
    ]);
  });
});

describe('upstream NetworkPolicy', () => {
  // From https://kubernetes.io/docs/concepts/services-networking/network-policies/
  const docsExample = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
spec:
  podSelector: {}
  policyTypes:
  - Ingress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-all-egress
spec:
  podSelector: {}
  egress:
  - {}
  policyTypes:
  - Egress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: multi-port-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
    - Egress
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/24
      ports:
        - protocol: TCP
          port: 32000
          endPort: 32768
`;

  it('loads the examples of the Kubernetes documentation', () => {
    const r = load({ 'netpol.yaml': docsExample });
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    expect(
      r.policySet.objects.map((o) => `${o.kind}/${'namespace' in o ? o.namespace : ''}/${o.metadata.name}`),
    ).toEqual([
      'NetworkPolicy/default/test-network-policy',
      'NetworkPolicy/default/default-deny-ingress',
      'NetworkPolicy/default/allow-all-egress',
      'NetworkPolicy/default/multi-port-egress',
    ]);
  });

  it('applies the upstream peer rules', () => {
    const np = (peer: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec:\n  ingress:\n    - from:\n        - ${peer}\n`;
    expectError(
      { 'a.yaml': np('{}') },
      'a.yaml:7',
      'peer entry must set podSelector, namespaceSelector or ipBlock',
    );
    expectError(
      { 'a.yaml': np('{podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}') },
      'a.yaml:7',
      'ipBlock or selectors, not both',
    );
    expectError(
      { 'a.yaml': np('{ipBlock: {cidr: 300.0.0.0/8}}') },
      'a.yaml:7',
      'cidr "300.0.0.0/8" is not a valid CIDR',
    );
    // An empty `from: []` is upstream's "every source" and stays legal there.
    expect(
      load({
        'a.yaml':
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec:\n  ingress: [{from: []}]\n',
      }).ok,
    ).toBe(true);
  });

  it('a NetworkPolicy of another apiVersion is ignored with a note', () => {
    const r = load({
      'a.yaml': 'apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n',
    });
    expect(r.notes.map(formatDiagnostic)).toEqual([
      'a.yaml:1: ignored crd.projectcalico.org/v1 NetworkPolicy "x": not a policy kind',
    ]);
  });
});

describe('hostile input', () => {
  const noStack = (errors: Diagnostic[]) => {
    for (const e of errors) expect(e.message).not.toMatch(/\n|\bat .*:\d+:\d+/);
  };

  it('path traversal and absolute paths are refused', () => {
    for (const path of [
      '../etc/x.yaml',
      '/etc/x.yaml',
      'a/../../x.yaml',
      'a\\b.yaml',
      'a//b.yaml',
      'a\u0000.yaml',
    ]) {
      const r = load({ [path]: nnp('  priority: 200\n') });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]?.message).toMatch(/^refused path: /);
    }
  });

  it('user text in messages is escaped and shortened, one diagnostic per line', () => {
    const errors = errorsOf({
      'a.yaml': `${NYX}\nkind: NyxClusterConfig\nmetadata: {name: "x\\ny"}\n---\n${nnp(`  egress:\n    - decision: Deny\n      toIpBlock: {cidr: "${'9'.repeat(5000)}"}\n`)}`,
    });
    for (const e of errors) {
      expect(e).not.toContain('\n');
      expect(e.length).toBeLessThan(400);
    }
    expect(errors.some((e) => e.includes('"x\\ny"'))).toBe(true);
  });

  it('unreadable YAML gives file:line', () => {
    expectError(
      { 'a.yaml': 'apiVersion: v1\nkind: [unclosed\nmetadata: x\n' },
      'a.yaml:3',
      'YAML syntax error',
    );
    expectError(
      { 'a.yaml': `${NYX}\nkind: NyxNetworkPolicy\nkind: NyxNetworkPolicy\n` },
      'a.yaml:3',
      'duplicate key "kind"',
    );
  });

  it('a 50 MB file is refused by size', () => {
    const big = `# ${'x'.repeat(50 * 1024 * 1024)}\n`;
    const started = Date.now();
    const r = load({ 'big.yaml': big });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map(formatDiagnostic)).toEqual([
        `big.yaml:1: file is ${big.length} bytes; the limit is 1048576 bytes (1 MiB)`,
      ]);
      noStack(r.errors);
    }
  });

  it('an alias bomb is refused quickly', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`,
      );
    }
    const started = Date.now();
    const r = load({ 'bomb.yaml': `${levels.join('\n')}\n` });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(formatDiagnostic(r.errors[0]!)).toMatch(/^bomb\.yaml:1: too many alias expansions/);
      noStack(r.errors);
    }
  });

  it('10,000-deep nesting gives a clear error, not a stack overflow', () => {
    for (const content of [
      '['.repeat(10_000) + ']'.repeat(10_000),
      `${'- '.repeat(10_000)}x\n`,
      `a: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`,
    ]) {
      const r = load({ 'deep.yaml': content });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(formatDiagnostic(r.errors[0]!)).toMatch(/^deep\.yaml:1: nesting deeper than 100 levels/);
        noStack(r.errors);
      }
    }
  });

  const tree = (tag: string) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) {
      files[`namespaces/ns-${i % 50}/p-${i}.yaml`] = nnp(
        `  podSelector:\n    matchLabels: {app: a${i}}\n  priority: ${100 + (i % 800)}\n  policyTypes: [Egress]\n  egress:\n    - decision: Allow\n      to:\n        - podSelector: {matchLabels: {app: db}}\n      ports: [{port: 5432}]\n    - decision: Allow\n      toIpBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n`,
        `  name: p-${i}-${tag}\n`,
      );
    }
    return files;
  };
  it('loads a 2,000-policy tree, and the same files again (the parse memo) to the same objects', () => {
    // How fast is the benchmark's business (`npm run bench`), not a test's: no time bound here.
    const files = tree('big');
    const first = load(files);
    const again = load(files);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(first.policySet.objects).toHaveLength(2000);
    expect(again.policySet.objects).toEqual(first.policySet.objects);
  });

  it('memoised parses are not shared between callers', () => {
    const files = { 'namespaces/shop/a.yaml': nnp('  priority: 200\n', '  name: memo\n') };
    const first = load(files);
    if (!first.ok) throw new Error('expected ok');
    (first.policySet.objects[0]!.spec as { priority?: number }).priority = 5;
    const second = load(files);
    if (!second.ok) throw new Error('expected ok');
    expect((second.policySet.objects[0]!.spec as { priority?: number }).priority).toBe(200);
  });
});

describe('invalid fixture tree', () => {
  it('reports every error of test/fixtures/invalid exactly as expected-errors.txt lists them', () => {
    const dir = join(FIXTURES, 'invalid');
    const r = loadPolicySet(readFixtureTree(dir));
    expect(r.ok).toBe(false);
    const expected = readFileSync(join(dir, 'expected-errors.txt'), 'utf8').trimEnd().split('\n');
    if (!r.ok) expect(r.errors.map(formatDiagnostic)).toEqual(expected);
    expect(r.notes.map(formatDiagnostic)).toEqual([
      'namespaces/billing/deployment.yaml:1: ignored apps/v1 Deployment "web": not a policy kind',
    ]);
  });
});

describe('upstream YAML as exported and as copied (issue 15)', () => {
  it('accepts and ignores a top-level status, as kubectl get -o yaml and --dry-run -o yaml print it', () => {
    const r = load({
      'namespaces/shop/np.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: shop
  creationTimestamp: null
spec:
  podSelector: {}
  policyTypes: [Ingress]
status: {}
`,
      'namespaces/shop/nyx.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web
spec:
  podSelector: {}
status:
  observedGeneration: 3
`,
    });
    expect(r.ok ? r.policySet.objects.map((o) => o.metadata.name) : r.errors).toEqual(['deny-all', 'web']);
    expect(r.ok && r.policySet.objects.some((o) => 'status' in o)).toBe(false);
  });

  it('reads null as absent in an upstream NetworkPolicy, as the API server does', () => {
    // The widely copied "allow from a namespace" recipe, with an empty `matchLabels:`.
    const r = load({
      'namespaces/web/np.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-allow-prod
  labels: null
spec:
  podSelector:
    matchLabels:
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              purpose: production
          podSelector: null
      ports: null
  egress: null
`,
    });
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    expect(r.policySet.objects[0]?.spec).toEqual({
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'production' } } }] }],
    });
  });

  it('still refuses a null list item and nulls in Nyx kinds, at their line', () => {
    expect(
      errorsOf({
        'namespaces/web/np.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: np
spec:
  podSelector: {}
  ingress:
    - from:
        - null
`,
      }).some((e) => e.startsWith('namespaces/web/np.yaml:9:')),
    ).toBe(true);
    expect(
      errorsOf({
        'namespaces/web/nyx.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: nyx
spec:
  podSelector:
    matchLabels:
`,
      }).some((e) => e.startsWith('namespaces/web/nyx.yaml:7:')),
    ).toBe(true);
  });

  it('names the other file of a duplicate the way the caller displays paths', () => {
    const doc =
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: same\nspec: {}\n';
    const r = loadPolicySet(
      [
        { path: 'namespaces/shop/a.yaml', content: doc },
        { path: 'namespaces/shop/b.yaml', content: doc },
      ],
      { displayPath: (p) => `tree/${p}` },
    );
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual([
      'duplicate NyxNetworkPolicy shop/same: also defined at tree/namespaces/shop/b.yaml:1',
      'duplicate NyxNetworkPolicy shop/same: also defined at tree/namespaces/shop/a.yaml:1',
    ]);
  });
});

describe('loading the head of a change with the base (sameAs)', () => {
  const policy = (name: string, port: number) => `${NYX}
kind: NyxNetworkPolicy
metadata: { name: ${name}, namespace: shop }
spec:
  egress:
    - decision: Allow
      ports: [{ protocol: TCP, port: ${port} }]
`;
  const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n';
  const baseFiles: PolicyFile[] = [
    { path: 'namespaces/shop/a.yaml', content: policy('a', 80) },
    { path: 'namespaces/shop/b.yaml', content: policy('b', 81) },
    { path: 'namespaces/shop/c.yaml', content: `${policy('c', 82)}---\n${deployment}` },
    { path: 'namespaces/shop/gone.yaml', content: policy('gone', 83) },
  ];
  const headFiles: PolicyFile[] = [
    { path: 'namespaces/shop/a.yaml', content: policy('a', 80) },
    { path: 'namespaces/shop/b.yaml', content: policy('b', 8080) },
    { path: 'namespaces/shop/c.yaml', content: `${policy('c', 82)}---\n${deployment}` },
    { path: 'namespaces/shop/d.yaml', content: policy('d', 84) },
  ];
  const ok = (r: ReturnType<typeof loadPolicySet>) => {
    if (!r.ok) throw new Error(r.errors.map(formatDiagnostic).join('\n'));
    return r;
  };

  it('gives what a load of its own gives, sharing the objects of the files left alone', () => {
    const base = ok(loadPolicySet(baseFiles));
    const head = ok(loadPolicySet(headFiles, { sameAs: { files: baseFiles, result: base } }));
    expect(head).toEqual(ok(loadPolicySet(headFiles)));
    const byName = (r: typeof base, name: string) =>
      r.policySet.objects.find((o) => o.metadata.name === name);
    expect(byName(head, 'a')).toBe(byName(base, 'a'));
    expect(byName(head, 'c')).toBe(byName(base, 'c'));
    expect(byName(head, 'b')).not.toBe(byName(base, 'b'));
    expect(head.notes.map(formatDiagnostic)).toEqual([
      'namespaces/shop/c.yaml:9: ignored apps/v1 Deployment "web": not a policy kind',
    ]);
  });

  it('still refuses what is wrong in the head, shared files included', () => {
    const base = ok(loadPolicySet(baseFiles));
    const duplicate = { path: 'namespaces/shop/a2.yaml', content: policy('a', 80) };
    const head = loadPolicySet([...headFiles, duplicate], { sameAs: { files: baseFiles, result: base } });
    expect(head.ok).toBe(false);
    if (!head.ok)
      expect(head.errors.map(formatDiagnostic).join('\n')).toContain('duplicate NyxNetworkPolicy shop/a');
  });
});
