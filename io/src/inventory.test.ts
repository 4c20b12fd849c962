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

  it('names a missing file', async () => {
    const path = join(dir, 'missing.json');
    await expect(readInventoryFile(path)).rejects.toThrow(`${path}:1: cannot read inventory`);
  });
});
