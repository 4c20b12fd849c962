import { describe, expect, it } from 'vitest';
import { nyxctl } from './run-nyxctl.js';

const C = 'cli/test/fixtures/conformance';
const INVENTORY = `${C}/inventory.json`;

interface Reason {
  point?: string;
  band: string;
  object?: string;
  rule?: number;
  decision: string;
  text: string;
}

function compact(reasons: Reason[]): string {
  return reasons
    .map(
      (r) =>
        `${r.point ?? '-'}:${r.band}:${r.object?.split('/').at(-1) ?? '-'}:${r.rule ?? '-'}:${r.decision}`,
    )
    .join(' ');
}

function summary(o: {
  verdict: string;
  asIfEnforced: string;
  reasons: Reason[];
  asIfEnforcedReasons: Reason[];
}) {
  const effective = compact(o.reasons);
  const asIf = compact(o.asIfEnforcedReasons);
  return `${o.verdict} ${o.asIfEnforced} | ${effective}${asIf === effective ? '' : ` | ${asIf}`}`;
}

async function verdicts(tree: string, flows: string): Promise<Array<Record<string, unknown>>> {
  const r = await nyxctl('verdicts', '--policies', tree, '--inventory', INVENTORY, '--flows', flows);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('SPEC §1 validation through nyxctl validate', () => {
  it('reports every validation error of SPEC §1 as file:line: message, exit 2, nothing on stdout', async () => {
    const r = await nyxctl('validate', `${C}/invalid`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    for (const line of lines)
      expect(line).toMatch(/^cli\/test\/fixtures\/conformance\/invalid\/\S+\.yaml:\d+: \S/);
    const at = (file: string, line: number, ...words: string[]) => {
      const prefix = `${C}/invalid/${file}:${line}: `;
      const hit = lines.find((l) => l.startsWith(prefix) && words.every((w) => l.includes(w)));
      expect(hit, `${prefix}… ${words.join(', ')}\n${r.stderr}`).toBeDefined();
    };
    at('cluster/unknown-kind.yaml', 2, 'unknown kind', 'NyxFirewall'); // unknown kind
    at('cluster/unknown-field.yaml', 8, 'unknown field', 'colour'); // unknown field
    at('namespaces/shop/priority-platform.yaml', 6, '50', '100–899'); // NyxNetworkPolicy outside 100–899
    at('namespaces/shop/priority-baseline.yaml', 6, '900', '100–899');
    at('cluster/platform-range.yaml', 7, 'platform', '0–99'); // tier platform outside 0–99
    at('cluster/baseline-range.yaml', 7, 'baseline', '900–999'); // tier baseline outside 900–999
    at('cluster/above-999.yaml', 7, '1000', '999'); // priority above 999
    at('cluster/no-priority.yaml', 5, 'priority'); // priority is required on cluster policies
    at('namespaces/shop/wrong-ns.yaml', 5, 'payments', 'namespaces/shop/'); // namespace ≠ folder
    at('namespaces/shop/dup.yaml', 7, 'duplicate', 'shop/dup'); // same kind/namespace/name
    at('cluster/config.yaml', 7, 'second NyxClusterConfig'); // a second NyxClusterConfig
    at('namespaces/shop/bad-cidr.yaml', 9, '10.0.0.0/33', 'CIDR'); // malformed CIDR
    at('namespaces/shop/bad-port.yaml', 9, '70000', '1–65535'); // port out of range
    at('namespaces/shop/bad-endport.yaml', 10, 'endPort 80', '8080'); // endPort < port
    at('namespaces/shop/fqdn-port.yaml', 9, 'toFqdn', 'TCP 443'); // toFqdn not on exactly TCP 443
    at('namespaces/shop/fqdn-noports.yaml', 8, 'toFqdn', 'TCP 443');
    at('namespaces/shop/bad-selector.yaml', 8, 'label selector'); // invalid label selector
    at('namespaces/shop/empty-peers.yaml', 8, 'empty peer list'); // empty peer list
    at('namespaces/shop/peer-neither.yaml', 9, 'neither namespaceSelector nor podSelector'); // peer with neither
    at('namespaces/shop/wrong-api.yaml', 1, 'NyxNetworkPolicy', 'nyx.tracenyx.io/v1alpha1'); // Nyx kind, other apiVersion
  });

  it('accepts a valid tree with exactly one summary line and ignores other kinds', async () => {
    const walk = await nyxctl('validate', `${C}/walk`);
    expect(walk).toEqual({ code: 0, stdout: 'ok: 19 objects in 8 files (1 ignored)\n', stderr: '' });
    // A flat directory of .yml files; the Deployment and Service are ignored, not errors.
    const flat = await nyxctl('validate', `${C}/flat`);
    expect(flat).toEqual({ code: 0, stdout: 'ok: 1 object in 1 file (2 ignored)\n', stderr: '' });
    // The note naming each ignored object is printed on request.
    const verbose = await nyxctl('validate', '--verbose', `${C}/flat`);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toContain(`${C}/flat/policies.yml:1: ignored apps/v1 Deployment "d"`);
    expect(verbose.stderr).toContain(`${C}/flat/policies.yml:7: ignored v1 Service "d"`);
  });
});

describe('SPEC §2 and §7 through nyxctl verdicts', () => {
  it('resolves endpoints (pod IP, node address, world, hostNetwork pod = node) and short-circuits', async () => {
    // The config is `defaultMode: deny` in audit: the effective walk behaves as allow (SPEC §3), the
    // as-if-enforced walk denies; `monitoring` is excluded whatever the config's own enforcement.
    const out = await verdicts(`${C}/resolution`, `${C}/resolution/flows.jsonl`);
    const byNote = Object.fromEntries(out.map((o) => [o.note as string, summary(o as never)]));
    expect(byNote).toEqual({
      'pod ips':
        'allow deny | egress:default:cluster:-:allow ingress:default:cluster:-:allow | egress:default:cluster:-:deny ingress:default:cluster:-:deny',
      'node-a to pod on node-b':
        'allow deny | ingress:default:cluster:-:allow | ingress:default:cluster:-:deny',
      'node-local probe': 'allow allow | ingress:node-local:-:-:allow',
      'hostNetwork pod = node-a, probe': 'allow allow | ingress:node-local:-:-:allow',
      'hostNetwork pod = node-a, other node':
        'allow deny | ingress:default:cluster:-:allow | ingress:default:cluster:-:deny',
      'same pod': 'allow allow | egress:same-pod:-:-:allow ingress:same-pod:-:-:allow',
      'same pod by ip': 'allow allow | egress:same-pod:-:-:allow ingress:same-pod:-:-:allow',
      'world to pod': 'allow deny | ingress:default:cluster:-:allow | ingress:default:cluster:-:deny',
      'pod to world': 'allow deny | egress:default:cluster:-:allow | egress:default:cluster:-:deny',
      'world to node': 'allow allow | -:no-enforcement-point:-:-:allow',
      'excluded src':
        'allow allow | egress:excluded-namespace:-:-:allow ingress:excluded-namespace:-:-:allow',
      'excluded dst':
        'allow allow | egress:excluded-namespace:-:-:allow ingress:excluded-namespace:-:-:allow',
      'no Namespace object':
        'allow deny | egress:default:cluster:-:allow ingress:default:cluster:-:allow | egress:default:cluster:-:deny ingress:default:cluster:-:deny',
      'pod to node': 'allow deny | egress:default:cluster:-:allow | egress:default:cluster:-:deny',
      // The flow format has no reply marker: a record is a connection attempt and is evaluated; an
      // unknown field such as `reply` is passed through like any other.
      'marked as reply':
        'allow deny | egress:default:cluster:-:allow ingress:default:cluster:-:allow | egress:default:cluster:-:deny ingress:default:cluster:-:deny',
      // 10.1.0.30 is other/x-0's address, still listed by an earlier, finished (Succeeded) pod in the
      // excluded `monitoring`: the running pod holds the address, so the flow is not excluded.
      'address of a finished pod reused by a running one':
        'allow deny | egress:default:cluster:-:allow ingress:default:cluster:-:allow | egress:default:cluster:-:deny ingress:default:cluster:-:deny',
    });
    // SPEC §4 reason texts.
    const text = (note: string) => (out.find((o) => o.note === note)!.reasons as Reason[])[0]!.text;
    expect(text('node-local probe')).toBe('node-local probe');
    expect(text('excluded src')).toBe('excluded namespace');
    expect(text('pod to world')).toContain('default: allow');
    expect((out[0]!.asIfEnforcedReasons as Reason[])[0]!.text).toBe('default: deny');
    // The input record comes back whole, in input order, plus the verdict fields.
    expect(out.map((o) => o.note)).toEqual(Object.keys(byNote));
    expect(out[0]).toMatchObject({
      src: '10.1.0.10',
      dst: '10.1.0.11',
      protocol: 'TCP',
      port: 8080,
      count: 3,
      firstSeen: '2026-11-20T10:00:00Z',
      lastSeen: '2026-11-20T11:00:00Z',
      note: 'pod ips',
    });
    expect(out.find((o) => o.note === 'marked as reply')).toMatchObject({ reply: true, protocol: 'TCP' });
    for (const o of out) {
      expect(Object.keys(o)).toEqual(expect.arrayContaining(['verdict', 'asIfEnforced', 'reasons']));
    }
  });

  it('walks the bands in order with the SPEC §2 peer, port and isolation rules', async () => {
    const out = await verdicts(`${C}/walk`, `${C}/walk/flows.jsonl`);
    const got = Object.fromEntries(out.map((o) => [o.id as string, summary(o as never)]));
    expect(got).toEqual({
      // named port `http` = 8080/TCP on the destination pod; api-ingress has no policyTypes: no isolation
      a: 'allow allow | egress:application:web-egress:0:allow ingress:default:cluster:-:allow',
      b: 'deny deny | egress:isolation:web-egress:-:deny ingress:application:api-ingress:0:deny',
      c: 'allow allow | egress:application:web-egress:1:allow ingress:default:cluster:-:allow',
      d: 'deny deny | egress:isolation:web-egress:-:deny ingress:default:cluster:-:allow',
      e: 'allow allow | egress:application:web-egress:5:allow ingress:networkpolicy:pay-np:0:allow',
      f: 'allow allow | egress:application:web-egress:3:allow',
      g: 'allow allow | egress:application:web-egress:3:allow',
      h: 'allow allow | egress:application:web-egress:4:allow',
      i: 'deny deny | egress:isolation:web-egress:-:deny',
      j: 'deny deny | egress:isolation:web-egress:-:deny',
      k: 'deny deny | egress:isolation:web-egress:-:deny',
      l: 'deny deny | egress:isolation:web-egress:-:deny',
      m: 'deny deny | egress:platform:deny-ssh-out:0:deny',
      n: 'deny deny | egress:platform:deny-x:0:deny ingress:platform:other-ingress:0:allow',
      o: 'allow allow | egress:platform:allow-x-early:0:allow ingress:platform:other-ingress:0:allow',
      p: 'allow allow | egress:default:cluster:-:allow ingress:default:cluster:-:allow',
      q: 'deny deny | egress:baseline:baseline-deny-world:0:deny',
      r: 'allow allow | egress:baseline:baseline-allow-dns:0:allow',
      s: 'deny deny | egress:default:cluster:-:deny ingress:default:cluster:-:deny | egress:default:cluster:-:deny ingress:isolation:iso-audit:-:deny',
      t: 'allow deny | egress:networkpolicy:pay-egress-np:0:allow | egress:platform:audit-deny-pay-dns:0:deny',
      u: 'allow allow | egress:excluded-namespace:-:-:allow ingress:excluded-namespace:-:-:allow',
      v: 'allow allow | ingress:default:cluster:-:allow',
      w: 'deny deny | ingress:networkpolicy:pay-egress-np:-:deny',
      x: 'deny deny | egress:default:cluster:-:deny ingress:networkpolicy:pay-np:0:allow',
      y: 'allow deny | ingress:default:cluster:-:allow | ingress:isolation:iso-audit:-:deny',
      z: 'allow allow | ingress:default:cluster:-:allow | ingress:application:iso-audit:0:allow',
      aa: 'deny deny | egress:isolation:web-egress:-:deny ingress:default:cluster:-:allow',
      ab: 'allow allow | egress:default:cluster:-:allow ingress:default:cluster:-:allow',
      ac: 'allow allow | egress:application:pay-prio-allow:0:allow',
      ad: 'deny deny | egress:application:pay-prio-deny:0:deny',
      ae: 'deny deny | egress:application:pay-same-deny:0:deny',
      af: 'deny deny | egress:networkpolicy:pay-egress-np:-:deny',
      ag: 'deny deny | ingress:application:pay-from-world:0:deny',
      // deny-cross-namespace governs pod-to-pod traffic only: a node (not the pod's own) is let in
      ah: 'allow allow | ingress:default:cluster:-:allow',
    });
  });

  it('keeps upstream NetworkPolicy semantics and matches ports, named ports, FQDNs and IPv6 as SPEC §1–2 say', async () => {
    // No NyxClusterConfig: defaultMode allow. payments: `np-and` (Ingress only; namespaceSelector AND
    // podSelector in one peer; namespaceSelector alone; ipBlocks with except matching node and world
    // addresses, protocol-only port), `np-egress-only` (policyTypes [Egress], no egress rules: deny all
    // egress; its ingress rules ignored). shop: `web` isolates egress (port without protocol = TCP,
    // namespaceSelector {} = every namespace, toFqdn pattern/name, `to` + IPv6 toIpBlock alternatives).
    const out = await verdicts(`${C}/edges`, `${C}/edges/flows.jsonl`);
    const got = Object.fromEntries(out.map((o) => [o.id as string, summary(o as never)]));
    expect(got).toEqual({
      'and-ok': 'allow allow | egress:default:-:-:allow ingress:networkpolicy:np-and:0:allow',
      'and-wrong-pod': 'deny deny | egress:application:web:1:allow ingress:networkpolicy:np-and:-:deny',
      'ns-only': 'allow allow | egress:default:-:-:allow ingress:networkpolicy:np-and:1:allow',
      'ipblock-node': 'allow allow | ingress:networkpolicy:np-and:2:allow',
      'ipblock-except': 'deny deny | ingress:networkpolicy:np-and:-:deny',
      'ipblock-tcp': 'deny deny | ingress:networkpolicy:np-and:-:deny',
      'egress-only': 'deny deny | egress:networkpolicy:np-egress-only:-:deny ingress:default:-:-:allow',
      'dns-udp': 'deny deny | egress:isolation:web:-:deny',
      'dns-tcp': 'allow allow | egress:application:web:0:allow',
      'ns-all': 'deny deny | egress:application:web:1:allow ingress:networkpolicy:np-and:-:deny',
      'ns-all-world': 'deny deny | egress:isolation:web:-:deny',
      pat: 'allow allow | egress:application:web:2:allow',
      'pat-bare': 'deny deny | egress:isolation:web:-:deny',
      'pat-dot': 'deny deny | egress:isolation:web:-:deny',
      exact: 'allow allow | egress:application:web:2:allow',
      'exact-sub': 'deny deny | egress:isolation:web:-:deny',
      'fqdn-pod': 'deny deny | egress:isolation:web:-:deny ingress:default:-:-:allow',
      'fqdn-nosni': 'deny deny | egress:isolation:web:-:deny',
      'v6-world': 'allow allow | egress:application:web:3:allow',
      'v6-other': 'deny deny | egress:isolation:web:-:deny',
      'v6-pod': 'allow allow | egress:application:web:3:allow ingress:default:-:-:allow',
      'v6-long': 'allow allow | egress:application:web:3:allow ingress:default:-:-:allow',
      'ipblock-world': 'allow allow | ingress:networkpolicy:np-and:2:allow',
    });
  });

  it('applies a namespaced object without metadata.namespace to `default` outside namespaces/<ns>/', async () => {
    const out = await verdicts(`${C}/flat`, `${C}/flat/flows.jsonl`);
    expect(out.map((o) => summary(o as never))).toEqual([
      'deny deny | egress:isolation:d-isolate:-:deny',
      'allow allow | egress:default:-:-:allow',
    ]);
    expect((out[0]!.reasons as Reason[])[0]!.object).toBe('NyxNetworkPolicy/default/d-isolate');
  });

  it('refuses a <ns>/<pod> the inventory lacks: exit 2 naming each flow line, nothing on stdout', async () => {
    const r = await nyxctl(
      'verdicts',
      '--policies',
      `${C}/flat`,
      '--inventory',
      INVENTORY,
      '--flows',
      `${C}/flat/flows-unknown.jsonl`,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${C}/flat/flows-unknown.jsonl:3: src: pod "default/nope-0" is not in the inventory`,
      `${C}/flat/flows-unknown.jsonl:4: dst: pod "shop/gone-1" is not in the inventory`,
    ]);
  });
});

describe('SPEC §5 and §7 through nyxctl impact --format json', () => {
  it('reports changed distinct flows, records newly denied, new lint and the coverage', async () => {
    const r = await nyxctl(
      'impact',
      '--base',
      `${C}/impact/base`,
      '--head',
      `${C}/impact/head`,
      '--inventory',
      INVENTORY,
      '--flows',
      `${C}/impact/flows.jsonl`,
      '--format',
      'json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['summary', 'changes', 'lint', 'coverage']));
    // web→8.8.8.8 UDP 53 (two records, 5 + 7), web→8.8.4.4 (one record, count 1) and the two pods of
    // the `front` Deployment to evil.example (2 + 3, one distinct flow by workload) lose their allow.
    expect(report.summary).toEqual({
      newlyDenied: 3,
      newlyAllowed: 1,
      newWouldDeny: 1,
      resolvedWouldDeny: 1,
      newlyDeniedRecords: 18,
    });
    const changes = report.changes.map(
      (c: Record<string, unknown> & { before: never; after: never }) =>
        `${c.src}>${c.dst} ${c.protocol}/${c.port} x${c.count} ${summary(c.before).split(' |')[0]} -> ${summary(c.after).split(' |')[0]}`,
    );
    expect(changes).toEqual([
      'shop/web-0>8.8.8.8 UDP/53 x12 allow allow -> deny deny',
      'shop/front>52.1.1.1 TCP/443 x5 allow allow -> deny deny',
      'shop/web-0>8.8.4.4 UDP/53 x1 allow allow -> deny deny',
      'shop/web-0>other/x-0 TCP/9000 x3 deny deny -> allow allow',
      'shop/web-0>shop/api-0 TCP/8080 x40 allow allow -> allow deny',
      'payments/pay-0>52.1.1.1 TCP/80 x2 allow deny -> allow allow',
    ]);
    const first = report.changes[0];
    expect(first).toMatchObject({ firstSeen: '2026-11-20T09:00:00Z', lastSeen: '2026-11-20T11:00:00Z' });
    for (const c of report.changes) {
      for (const side of [c.before, c.after]) {
        expect(Object.keys(side)).toEqual(expect.arrayContaining(['verdict', 'asIfEnforced', 'reasons']));
      }
    }
    // The would-deny is attributed to the audit object that decides it.
    expect(report.changes[1]).toMatchObject({
      serverName: 'evil.example',
      firstSeen: '2026-11-20T09:05:00Z',
      lastSeen: '2026-11-20T10:06:00Z',
    });
    const wouldDeny = report.changes[4].after.asIfEnforcedReasons as Reason[];
    expect(wouldDeny.find((x) => x.point === 'ingress')).toMatchObject({
      band: 'isolation',
      object: 'NyxNetworkPolicy/shop/api-audit',
      decision: 'deny',
    });
    // Lint findings of the head that the base did not have (ingress rules ignored by policyTypes).
    expect(report.lint.some((f: { rule: string }) => f.rule === 'ignored-direction')).toBe(true);
    // The unresolved pod is counted, not an error; the window is described.
    expect(report.coverage).toMatchObject({
      records: 11,
      distinctFlows: 10,
      unresolved: 1,
      from: '2026-11-20T07:00:00Z',
      to: '2026-11-20T12:00:00Z',
      namespaces: ['other', 'payments', 'shop'],
    });
  });
});
