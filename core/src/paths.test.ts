import { describe, expect, it } from 'vitest';
import { namespaceFolder, policyManifestPaths, repoPathProblem } from './paths.js';

describe('repoPathProblem', () => {
  it('accepts ordinary relative paths', () => {
    for (const p of ['a.yaml', 'namespaces/shop/allow.yaml', '.github/nyx.yml', 'a..b/c.yaml']) {
      expect(repoPathProblem(p)).toBeUndefined();
    }
  });
  it('refuses absolute paths, .., NUL, backslashes and empty segments', () => {
    expect(repoPathProblem('/etc/passwd')).toMatch(/absolute/);
    expect(repoPathProblem('C:/x.yaml')).toMatch(/absolute/);
    expect(repoPathProblem('a/../../x.yaml')).toMatch(/leaves the tree/);
    expect(repoPathProblem('..')).toMatch(/leaves the tree/);
    expect(repoPathProblem('a\u0000.yaml')).toMatch(/NUL/);
    expect(repoPathProblem('a\\b.yaml')).toMatch(/backslash/);
    expect(repoPathProblem('a//b.yaml')).toMatch(/empty segment/);
    expect(repoPathProblem('a/')).toMatch(/empty segment/);
    expect(repoPathProblem('./a.yaml')).toMatch(/"\." segment/);
    expect(repoPathProblem('')).toMatch(/empty/);
  });
});

describe('policyManifestPaths', () => {
  it('in the template layout, only YAML at the root and under cluster/ and namespaces/', () => {
    expect(
      policyManifestPaths([
        'namespaces/shop/OWNERS',
        'fragments/allow-dns.yaml',
        'default-deny.yaml',
        'namespaces/shop/b.yml',
        'cluster/config.yaml',
        '.github/nyx.yml',
        'examples/change-head/x.yaml',
        'README.md',
        'namespaces/shop/a.yaml',
      ]),
    ).toEqual([
      'cluster/config.yaml',
      'default-deny.yaml',
      'namespaces/shop/a.yaml',
      'namespaces/shop/b.yml',
    ]);
  });
  it('otherwise every YAML file outside dot-folders and node_modules', () => {
    expect(
      policyManifestPaths([
        'z.yaml',
        'apps/web/np.YML',
        '.github/workflows/ci.yml',
        'node_modules/x/a.yaml',
        'a/.hidden/b.yaml',
        'notes.txt',
      ]),
    ).toEqual(['apps/web/np.YML', 'z.yaml']);
  });
});

describe('namespaceFolder', () => {
  it('reads namespaces/<ns>/ only', () => {
    expect(namespaceFolder('namespaces/shop/a.yaml')).toBe('shop');
    expect(namespaceFolder('namespaces/shop/sub/a.yaml')).toBe('shop');
    expect(namespaceFolder('namespaces/a.yaml')).toBeUndefined();
    expect(namespaceFolder('apps/namespaces/shop/a.yaml')).toBeUndefined();
  });
});
