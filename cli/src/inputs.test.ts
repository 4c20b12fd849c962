import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { displayPath, loadInventory, loadTree } from './inputs.js';

describe('input helpers', () => {
  it('shows tree paths as reachable from the current directory', () => {
    expect(displayPath('.', 'namespaces/shop/a.yaml')).toBe('namespaces/shop/a.yaml');
    expect(displayPath('policy-repo-template', 'cluster/x.yaml')).toBe('policy-repo-template/cluster/x.yaml');
    expect(displayPath('trees/base/', 'cluster/x.yaml')).toBe('trees/base/cluster/x.yaml');
  });

  it('takes the inventory reader’s file:line diagnostics as they are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nyx-inputs-'));
    const file = join(dir, 'inventory.json');
    writeFileSync(file, '{\n  "apiVersion": "v1",\n  "items": [,]\n}\n');
    const r = await loadInventory(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file, line: 3 });
    expect(r.errors[0]!.message).toMatch(/^invalid JSON/);
  });

  it('places a refused tree file on its path under the tree, line 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nyx-inputs-'));
    writeFileSync(join(dir, 'big.yaml'), 'x'.repeat(2 * 1024 * 1024));
    const r = await loadTree(dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      { file: join(dir, 'big.yaml'), line: 1, message: expect.stringMatching(/limit/) },
    ]);
  });
});
