import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatDiagnostic, loadPolicySet } from '@nyx/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPolicyTree } from './tree.js';

let dir: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nyx-tree-'));
  outside = mkdtempSync(join(tmpdir(), 'nyx-outside-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function write(path: string, content: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), content);
}

const POLICY = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: allow
spec:
  priority: 200
`;

describe('readPolicyTree', () => {
  it('returns manifests, OWNERS, CODEOWNERS and .github/nyx.yml with repo-relative / paths', async () => {
    write(
      'cluster/config.yaml',
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxClusterConfig\nmetadata: {name: cluster}\n',
    );
    write('namespaces/shop/allow.yaml', POLICY);
    write('namespaces/shop/OWNERS', 'approvers: [alice]\n');
    write('cluster/OWNERS', 'approvers: [platform]\n');
    write('CODEOWNERS', '* @org/platform\n');
    write('.github/CODEOWNERS', '* @org/platform\n');
    write('docs/CODEOWNERS', '* @org/platform\n');
    write('.github/nyx.yml', 'flows: x\n');
    write('.github/workflows/ci.yml', 'on: push\n');
    write('README.md', '# policies\n');
    write('examples/x.yaml', 'kind: whatever\n');
    write('.git/config', '[core]\n');
    const files = await readPolicyTree(dir);
    expect(files.map((f) => f.path)).toEqual([
      '.github/CODEOWNERS',
      '.github/nyx.yml',
      'CODEOWNERS',
      'cluster/OWNERS',
      'cluster/config.yaml',
      'docs/CODEOWNERS',
      'namespaces/shop/OWNERS',
      'namespaces/shop/allow.yaml',
    ]);
    expect(files.find((f) => f.path === 'namespaces/shop/allow.yaml')?.content).toBe(POLICY);
    const r = loadPolicySet(files);
    expect(r.ok).toBe(true);
  });

  it('reads any directory of YAML files outside the template layout', async () => {
    write('apps/web/np.yaml', POLICY);
    write('node_modules/pkg/x.yaml', 'junk: [\n');
    write('.hidden/x.yaml', 'junk: [\n');
    expect((await readPolicyTree(dir)).map((f) => f.path)).toEqual(['apps/web/np.yaml']);
  });

  it('refuses a 50 MB file by size before reading it', async () => {
    write('namespaces/shop/big.yaml', '');
    truncateSync(join(dir, 'namespaces/shop/big.yaml'), 50 * 1024 * 1024);
    await expect(readPolicyTree(dir)).rejects.toThrow(
      'namespaces/shop/big.yaml:1: file is 52428800 bytes; the limit is 1048576 bytes per file',
    );
  });

  it('the loader refuses the same 50 MB file handed in directly', () => {
    const r = loadPolicySet([{ path: 'big.yaml', content: `a: ${'x'.repeat(50 * 1024 * 1024)}\n` }]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map(formatDiagnostic)).toEqual([
        'big.yaml:1: file is 52428804 bytes; the limit is 1048576 bytes (1 MiB)',
      ]);
    }
  });

  it('enforces a total budget', async () => {
    for (let i = 0; i < 5; i++) write(`namespaces/shop/p${i}.yaml`, `# ${'x'.repeat(1000)}\n`);
    await expect(readPolicyTree(dir, { maxTotalBytes: 3000 })).rejects.toThrow(
      /^namespaces\/shop\/p2\.yaml:1: the policy files total more than 3000 bytes/,
    );
  });

  it('refuses symlinks that leave the tree', async () => {
    writeFileSync(join(outside, 'secret.yaml'), 'password: hunter2\n');
    write('namespaces/shop/allow.yaml', POLICY);
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'namespaces/shop/leak.yaml'));
    await expect(readPolicyTree(dir)).rejects.toThrow(
      /^namespaces\/shop\/leak\.yaml:1: symlinks are not allowed under the policy root/,
    );
  });

  it('refuses every symlink, even inside the tree or dangling: the bot reads the tree without following them', async () => {
    write('fragments/zz.yaml', POLICY);
    mkdirSync(join(dir, 'cluster'));
    symlinkSync('../fragments/zz.yaml', join(dir, 'cluster/zz.yaml'));
    await expect(readPolicyTree(dir)).rejects.toThrow(/^cluster\/zz\.yaml:1: symlinks are not allowed/);
    rmSync(join(dir, 'cluster/zz.yaml'));
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'README.md'));
    await expect(readPolicyTree(dir)).rejects.toThrow(/^README\.md:1: symlinks are not allowed/);
  });

  it('refuses directory symlinks', async () => {
    writeFileSync(join(outside, 'x.yaml'), POLICY);
    mkdirSync(join(dir, 'namespaces'));
    symlinkSync(outside, join(dir, 'namespaces/evil'));
    await expect(readPolicyTree(dir)).rejects.toThrow(/^namespaces\/evil:1: symlinks are not allowed/);
  });

  it('refuses submodules: a folder with its own .git, or a path in .gitmodules', async () => {
    write('namespaces/shop/allow.yaml', POLICY);
    write('namespaces/vendor/.git', 'gitdir: ../../.git/modules/vendor\n');
    write('namespaces/vendor/allow.yaml', POLICY);
    await expect(readPolicyTree(dir)).rejects.toThrow(/^namespaces\/vendor:1: submodules are not allowed/);
    rmSync(join(dir, 'namespaces/vendor'), { recursive: true });
    write('.gitmodules', '[submodule "x"]\n\tpath = cluster/x\n\turl = https://example.invalid/x\n');
    await expect(readPolicyTree(dir)).rejects.toThrow(/^cluster\/x:1: submodules are not allowed/);
  });

  it('names a missing directory', async () => {
    await expect(readPolicyTree(join(dir, 'nope'))).rejects.toThrow(
      /nope:1: cannot open the policy directory/,
    );
  });
});
