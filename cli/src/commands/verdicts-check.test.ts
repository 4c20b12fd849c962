// Pass 1 of `nyxctl verdicts` two ways: the worker's (tuples numbered, resolved afterwards by the
// command's thread, problems found from the lines) and the one-thread way (each tuple resolved as
// it is read) must tell the same problems in the same order, count the same, and remember the same
// printable lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Diagnostic, type FlowRecord, type FlowTupleIdentity, resolveFlow } from '@nyx/core';
import { readInventoryFile } from '@nyx/io';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFlows, type FlowCheckStep, LineTuples, TupleTable } from './verdicts-check.js';

const inventory = await readInventoryFile('cli/test/fixtures/inventory.json');
const resolve = (identity: FlowTupleIdentity) => resolveFlow(inventory, identity as FlowRecord);

const line = fc.oneof(
  fc.constantFrom(
    '{"src":"shop/web-0","dst":"shop/api-0","protocol":"TCP","port":8080}',
    '{"src":"shop/web-0","dst":"shop/api-0","protocol":"TCP","port":8080,"count":3}',
    '{"src":"shop/web-0","dst":"shop/api-0","protocol":"tcp","port":8080}',
    '{"src":"shop/web-0","dst":"shop/ghost-1","protocol":"TCP","port":8080}',
    '{"src":"shop/web-0","dst":"shop/ghost-1","protocol":"TCP","port":8080,"count":2}',
    '{"src":"10.9.9.9","dst":"shop/api-0","protocol":"TCP","port":443}',
    '{"src":"shop/web-0"',
    '{"src":"shop/web-0","dst":"shop/api-0","protocol":"TCP","port":0}',
    '',
    '# a comment',
  ),
  fc
    .integer({ min: 0, max: 30 })
    .map((i) => `{"src":"shop/web-0","dst":"shop/gone-${i}","protocol":"TCP","port":80}`),
);

async function bothWays(lines: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-check-'));
  const flows = join(dir, 'flows.jsonl');
  writeFileSync(flows, `${lines.join('\n')}\n`);
  // One thread: resolved while read.
  const told: Diagnostic[] = [];
  const oneTable = new TupleTable(resolve);
  const one = await checkFlows({ flows }, oneTable, (s: FlowCheckStep) => told.push(...s.problems));
  // The worker's way: numbered, then learned and resolved, then problems from the lines.
  const malformed: Diagnostic[] = [];
  const learner = new TupleTable(resolve);
  const split = await checkFlows({ flows }, new TupleTable(), (s: FlowCheckStep) => {
    malformed.push(...s.problems);
    for (const t of s.tuples) learner.learn(t);
  });
  learner.adoptIndex(split.index);
  const lines2 = LineTuples.fromState(split.lines);
  const found = lines2.problems(flows, learner, malformed, split.problems);
  return {
    one,
    told,
    split,
    found,
    lines: lines.length,
    lineTuples: [LineTuples.fromState(one.lines), lines2],
  };
}

describe('pass 1 of nyxctl verdicts, on one thread or split across two', () => {
  it('tells the same problems in line order, counts them alike, and remembers the same printable lines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 60 }), async (lines) => {
        const r = await bothWays(lines);
        expect(r.found.told).toEqual(r.told);
        expect(r.found.count).toBe(r.one.problems);
        const [oneLines, splitLines] = r.lineTuples;
        for (let n = 1; n <= r.lines; n++) {
          // A line of a tuple that resolves prints alike; lines of the others never reach pass 2.
          const printable = oneLines!.printable(n);
          if (printable !== undefined && printable >= 0) expect(splitLines!.printable(n)).toBe(printable);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('caps what it tells at 20 and counts the rest, gone pods and malformed lines together', async () => {
    const lines = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? '{"src":"shop/web-0"'
        : `{"src":"shop/web-0","dst":"shop/gone-${i}","protocol":"TCP","port":80}`,
    );
    const r = await bothWays(lines);
    expect(r.found.told).toHaveLength(20);
    expect(r.found.told.map((d) => d.line)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(r.found.count).toBe(30);
    expect(r.found.told).toEqual(r.told);
  });
});
