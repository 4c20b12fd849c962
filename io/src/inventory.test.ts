import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInventoryFile } from './inventory.js';

const FIXTURES = new URL('../../test/fixtures/inventories/', import.meta.url).pathname;

describe('readInventoryFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nyx-inventory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads kubectl JSON', async () => {
    const inventory = await readInventoryFile(join(FIXTURES, 'small.json'));
    expect(inventory.pods.size).toBe(7);
    expect(inventory.nodes.get('node-b')?.addresses).toEqual(['192.168.10.2']);
  });

  it('puts shape errors on their line', async () => {
    const path = join(FIXTURES, 'bad-port.json');
    await expect(readInventoryFile(path)).rejects.toThrow(
      `${path}:44: Pod x/p: containerPort must be an integer 1–65535, got 70000`,
    );
  });

  it('puts JSON syntax errors on their line', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{\n  "kind": "List",\n  "items": [\n    {,}\n  ]\n}\n');
    await expect(readInventoryFile(path)).rejects.toThrow(new RegExp(`^${path}:4: invalid JSON`));
  });

  it('refuses a file over the size limit before reading it', async () => {
    const path = join(FIXTURES, 'small.json');
    await expect(readInventoryFile(path, { maxBytes: 100 })).rejects.toThrow(/over the 100-byte limit/);
  });

  it('reads the same List written by kubectl -o yaml, with YAML errors on their line', async () => {
    const inventory = await readInventoryFile(join(FIXTURES, 'kubectl.yaml'));
    expect([...inventory.pods.keys()]).toEqual([
      'checkout/cart-7d9f8b6c4-x2kqp',
      'checkout/cart-7d9f8b6c4-a9zzq',
    ]);
    expect(inventory.pods.get('checkout/cart-7d9f8b6c4-x2kqp')).toMatchObject({
      workload: 'checkout/cart',
      namespaceLabels: { team: 'checkout' },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    });
    const bad = join(dir, 'bad-port.yaml');
    await writeFile(
      bad,
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: x}\n  spec:\n    containers:\n    - name: c\n      ports:\n      - containerPort: 70000\n  status: {podIP: 10.0.0.1}\n',
    );
    await expect(readInventoryFile(bad)).rejects.toThrow(
      `${bad}:11: Pod x/p: containerPort must be an integer 1–65535, got 70000`,
    );
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'apiVersion: v1\nitems:\n  - a: [\n');
    await expect(readInventoryFile(broken)).rejects.toThrow(
      /broken\.yaml:\d+: not JSON, and not valid YAML either/,
    );
  });

  it('names a missing file', async () => {
    const path = join(dir, 'missing.json');
    await expect(readInventoryFile(path)).rejects.toThrow(`${path}:1: cannot read inventory`);
  });
});
