// Issue 15: nyxctl as a new user meets it, with inputs nobody on the project wrote (public recipes,
// real Hubble and Calico exports, objects exported from a cluster).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nyxctl } from './run-nyxctl.js';

const F = 'cli/test/fixtures';
const INVENTORY = `${F}/inventory.json`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'nyx-real-'));
}

function writeTree(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('empty or wrong policy folders (SPEC 8.1)', () => {
  it('validate refuses a folder with no policy object and no cluster/, unless --allow-empty', async () => {
    const empty = tempDir();
    const r = await nyxctl('validate', empty);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${empty} has no policy object and no cluster/ folder`);
    expect(r.stderr).toContain('--allow-empty');
    // A folder of application manifests only is just as wrong.
    const apps = writeTree({
      'deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
    });
    expect((await nyxctl('validate', apps)).code).toBe(2);

    const allowed = await nyxctl('validate', empty, '--allow-empty');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe('ok: 0 objects in 0 files (0 ignored)\n');
    // A tree with only a cluster/ folder is a tree (a new repository).
    const fresh = writeTree({ 'cluster/OWNERS': 'approvers: [platform]\n' });
    expect((await nyxctl('validate', fresh)).code).toBe(0);
  });

  it('verdicts reads an empty tree as "no policies" and says so on stderr', async () => {
    const empty = tempDir();
    const flows = join(empty, '..', `${empty.split('/').pop()}-flows.jsonl`);
    writeFileSync(flows, '{"src":"shop/web-0","dst":"8.8.8.8","protocol":"TCP","port":443}\n');
    const r = await nyxctl('verdicts', '--policies', empty, '--inventory', INVENTORY, '--flows', flows);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`policy tree ${empty} has no policy object and no cluster/ folder`);
    expect(JSON.parse(r.stdout).verdict).toBe('allow');
  });
});

describe('diagnostics name every file as reachable from the current directory', () => {
  it('names both files of a duplicate object under the tree argument', async () => {
    const doc =
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: same\nspec: {}\n';
    const dir = writeTree({ 'namespaces/shop/a.yaml': doc, 'namespaces/shop/b.yaml': doc });
    const r = await nyxctl('validate', dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${dir}/namespaces/shop/a.yaml:1: duplicate NyxNetworkPolicy shop/same: also defined at ${dir}/namespaces/shop/b.yaml:1`,
      `${dir}/namespaces/shop/b.yaml:1: duplicate NyxNetworkPolicy shop/same: also defined at ${dir}/namespaces/shop/a.yaml:1`,
    ]);
  });
});

describe('flow lines are never dropped without a word', () => {
  const policies = ['--policies', `${F}/base`, '--inventory', INVENTORY];
  const NYX = `${F}/flows.jsonl`;
  const HUBBLE = 'test/fixtures/flows/hubble-observe.jsonl';

  it('refuses nyx lines read as Hubble (exit 2, line 1), instead of printing nothing', async () => {
    const r = await nyxctl('verdicts', ...policies, '--flows', NYX, '--flow-format', 'hubble');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${NYX}:1: line 1 is not a Hubble flow (it looks like the nyx format; drop --flow-format hubble to read it as such)\n`,
    );
  });

  it('counts the lines an importer skipped, by reason, on stderr and in the impact JSON', async () => {
    const dir = tempDir();
    const flows = join(dir, 'hubble.jsonl');
    // The fixture's lines whose pods the test inventory has, plus a reply and a mid-connection packet.
    const flow = (extra: Record<string, unknown>) =>
      JSON.stringify({
        flow: {
          time: '2026-11-20T09:14:03Z',
          verdict: 'FORWARDED',
          IP: { source: '10.0.1.10', destination: '198.51.100.7' },
          l4: { TCP: { destination_port: 443, flags: { SYN: true } } },
          source: { namespace: 'shop', pod_name: 'web-0' },
          destination: {},
          Type: 'L3_L4',
          traffic_direction: 'EGRESS',
          ...extra,
        },
      });
    writeFileSync(
      flows,
      [
        flow({}),
        flow({ is_reply: true }),
        flow({ l4: { TCP: { destination_port: 443, flags: { ACK: true } } } }),
        flow({ is_reply: true }),
      ].join('\n'),
    );
    const v = await nyxctl('verdicts', ...policies, '--flows', flows);
    expect(v.code).toBe(0);
    expect(v.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(v.stderr).toBe(
      `nyxctl: note: ${flows}: skipped 3 lines: 2 × reply packet, 1 × TCP packet after the connection opened\n`,
    );
    const i = await nyxctl(
      'impact',
      '--base',
      `${F}/base`,
      '--head',
      `${F}/head`,
      '--inventory',
      INVENTORY,
      '--flows',
      flows,
      '--format',
      'json',
    );
    expect(i.code).toBe(0);
    expect(i.stderr).toContain('skipped 3 lines: 2 × reply packet');
    expect(JSON.parse(i.stdout).coverage).toMatchObject({
      records: 1,
      skippedLines: 3,
      skipped: { 'reply packet': 2, 'TCP packet after the connection opened': 1 },
    });
    // The fixture of real Hubble output: every line it did not turn into a flow is accounted for.
    const real = await nyxctl(
      'impact',
      '--base',
      `${F}/base`,
      '--head',
      `${F}/head`,
      '--inventory',
      INVENTORY,
      '--flows',
      HUBBLE,
    );
    expect(real.stdout).toContain('skipped 7 lines of the flow file: 2 × reply packet');
  });

  it('caps the errors of a file that is not flows, and hints at jq -c for pretty-printed JSON', async () => {
    const dir = tempDir();
    const pretty = join(dir, 'pretty.json');
    writeFileSync(pretty, JSON.stringify([{ flow: { IP: { source: '10.0.1.10' } } }], null, 2));
    const p = await nyxctl('verdicts', ...policies, '--flows', pretty);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^\S+pretty\.json:1: this looks like pretty-printed JSON .*`jq -c \.`/);
    expect(p.stderr.trimEnd().split('\n')).toHaveLength(1);

    const garbage = join(dir, 'garbage.jsonl');
    writeFileSync(garbage, Array.from({ length: 300 }, (_, i) => `line ${i} is not json`).join('\n'));
    const g = await nyxctl('verdicts', ...policies, '--flows', garbage);
    expect(g.code).toBe(2);
    const lines = g.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe(`${garbage}: …and 280 more problems in this flow file`);
  });

  it('a bad or truncated .gz is invalid input (exit 2) on a real line', async () => {
    const dir = tempDir();
    const notGzip = join(dir, 'flows.jsonl.gz');
    writeFileSync(notGzip, '{"src":"shop/web-0"}\n');
    const r = await nyxctl('verdicts', ...policies, '--flows', notGzip);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${notGzip}:1: cannot read flows: not gzip (the name ends in .gz, but the content is not gzip-compressed)\n`,
    );
    const i = await nyxctl(
      'impact',
      '--base',
      `${F}/base`,
      '--head',
      `${F}/head`,
      '--inventory',
      INVENTORY,
      '--flows',
      notGzip,
    );
    expect(i.code).toBe(2);
    expect(i.stderr).toContain(`${notGzip}:1: cannot read flows: not gzip`);
  });
});

describe('stale-rule claims rest on a window that resolved', () => {
  const lint = (flows: string) =>
    nyxctl('lint', `${F}/base`, '--inventory', INVENTORY, '--flows', flows, '--format', 'json');

  it('claims nothing when most of the window did not resolve, and says so', async () => {
    // A window from another cluster: no end resolves, not even by a fallback of SPEC section 7
    // (its namespace does not exist here, and no workload of that name runs).
    const flows = join(tempDir(), 'elsewhere.jsonl');
    const line = (i: number) =>
      `{"src":"elsewhere/client-${i}","dst":"elsewhere/server-0","protocol":"TCP","port":8080}\n`;
    writeFileSync(flows, Array.from({ length: 8 }, (_, i) => line(i)).join(''));
    const r = await lint(flows);
    const { findings } = JSON.parse(r.stdout) as { findings: Array<{ rule: string }> };
    expect(findings.filter((f) => f.rule === 'stale-rule')).toEqual([]);
    expect(r.stderr).toContain(
      'lint: note: stale-rule not checked: only 0 of 8 flow records resolved against the inventory',
    );
  });

  it('still claims stale rules over a window that resolved', async () => {
    const flows = join(tempDir(), 'dns.jsonl');
    writeFileSync(flows, '{"src":"shop/web-0","dst":"8.8.8.8","protocol":"UDP","port":53}\n');
    const r = await lint(flows);
    const { findings } = JSON.parse(r.stdout) as { findings: Array<{ rule: string }> };
    expect(findings.some((f) => f.rule === 'stale-rule')).toBe(true);
    expect(r.stderr).not.toContain('stale-rule not checked');
  });
});

describe('explain takes what the reports print, and blames every isolating policy', () => {
  const REAL = `${F}/real-world`;
  const YAML_INVENTORY = 'test/fixtures/inventories/kubectl.yaml';

  it('explains <ns>/<workload> as its first pod by name, naming both isolating policies', async () => {
    // Upstream recipes as exported (status: {}, an empty matchLabels) and an inventory from -o yaml.
    const r = await nyxctl(
      'explain',
      '--policies',
      REAL,
      '--inventory',
      YAML_INVENTORY,
      '--from',
      'checkout/cart',
      '--to',
      '8.8.8.8',
      '--port',
      '443',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '  (workload checkout/cart is explained as its pod checkout/cart-7d9f8b6c4-a9zzq (the first by name of its 2 pods))',
    );
    expect(r.stdout).toContain(
      `  egress  deny   networkpolicy isolated: no rule matched (isolated by NetworkPolicy/checkout/default-deny-all, NetworkPolicy/checkout/allow-dns-egress)  [${REAL}/namespaces/checkout/default-deny-all.yaml:2]`,
    );
    const json = await nyxctl(
      'explain',
      '--policies',
      REAL,
      '--inventory',
      YAML_INVENTORY,
      '--from',
      'checkout/cart',
      '--to',
      '8.8.8.8',
      '--port',
      '443',
      '--format',
      'json',
    );
    expect(JSON.parse(json.stdout).reasons[0].isolatedBy).toEqual([
      'NetworkPolicy/checkout/default-deny-all',
      'NetworkPolicy/checkout/allow-dns-egress',
    ]);
  });

  it('says when a name is neither a pod nor a workload', async () => {
    const r = await nyxctl(
      'explain',
      '--policies',
      REAL,
      '--inventory',
      YAML_INVENTORY,
      '--from',
      'checkout/ghost',
      '--to',
      '8.8.8.8',
      '--port',
      '443',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'nyxctl: checkout/ghost -> 8.8.8.8: src: pod "checkout/ghost" is neither a pod nor a workload of the inventory\n',
    );
  });
});
