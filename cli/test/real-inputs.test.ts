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
