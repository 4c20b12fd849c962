import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFlowWindow, readInventoryFile, readPolicyTree } from '@nyx/io';
import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';

// One error type carries diagnostics through io and cli: what the readers throw is what
// `main.ts` turns into exit 2, with no conversion on the way.
describe('InputError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-errors-'));

  it('is what the tree reader throws for a tree it refuses, on line 1 of the path', async () => {
    const missing = join(dir, 'no-such-tree');
    const error = await readPolicyTree(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).diagnostics).toEqual([
      { file: missing, line: 1, message: 'cannot open the policy directory (does it exist?)' },
    ]);
  });

  it('is what the inventory and flow readers throw, with file:line', async () => {
    const inventory = join(dir, 'inventory.json');
    writeFileSync(inventory, '{\n  "items": [\n');
    const inventoryError = await readInventoryFile(inventory).catch((e: unknown) => e);
    expect(inventoryError).toBeInstanceOf(InputError);
    expect((inventoryError as InputError).diagnostics[0]?.file).toBe(inventory);

    const flows = join(dir, 'flows.jsonl');
    writeFileSync(flows, '{"src":"a/b","dst":"10.0.0.1","protocol":"TCP","port":80}\nnot json\n');
    const flowError = await readFlowWindow(flows).catch((e: unknown) => e);
    expect(flowError).toBeInstanceOf(InputError);
    expect((flowError as InputError).message).toMatch(new RegExp(`^${flows.replaceAll('.', '\\.')}:2: `));
  });
});
