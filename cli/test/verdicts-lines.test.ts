// `nyxctl verdicts` prints each line as `JSON.stringify({ ...record, ...verdictFields })`, whichever
// way it got there: lines in nyx's canonical shape whose tuple was seen before are printed from their
// own bytes; every other line is parsed. A file mixing both, with the shapes that must not take the
// fast path (whitespace, unsorted labels, a lowercase protocol, extra fields, a verdict-named field,
// escapes, CRLF), gives the same answer as the parsed path for every line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nyxctl } from './run-nyxctl.js';

const T = 'policy-repo-template';
const VERDICT_FIELDS = ['verdict', 'asIfEnforced', 'reasons', 'asIfEnforcedReasons', 'resolution'];

describe('nyxctl verdicts, line by line', () => {
  it('prints every line as its record plus the verdict fields, canonical or not, repeated or not', async () => {
    const canonical = readFileSync(join(T, 'examples/flows.jsonl'), 'utf8').trim().split('\n').slice(0, 6);
    const first = JSON.parse(canonical[0]!) as Record<string, unknown>;
    const variants = [
      // the same tuple in other shapes: each must be printed as its own record's JSON
      JSON.stringify(first, null, 1).replace(/\n/g, ''),
      JSON.stringify({ ...first, protocol: 'tcp' }),
      JSON.stringify({ ...first, note: 'extra field' }),
      JSON.stringify({ verdict: 'mine', ...first }),
      JSON.stringify({ ...first, count: undefined }),
      JSON.stringify({ ...first, serverName: 'caf\u00e9.example', lastSeen: undefined }),
      JSON.stringify({ ...first, srcLabels: { b: '2', a: '1' } }),
      JSON.stringify({ ...first, srcLabels: { a: '1', b: '2' } }),
      `${JSON.stringify({ ...first, srcLabels: { a: '1', b: '2' } }).slice(0, -1)},"srcWorkload":"cloudmart-storefront/storefront-api"}`,
    ];
    // Canonical lines first (their tuples become known), then the variants, then all again.
    const lines = [...canonical, ...variants, ...canonical, ...variants, ...canonical];
    const dir = mkdtempSync(join(tmpdir(), 'nyx-verdict-lines-'));
    const flows = join(dir, 'flows.jsonl');
    writeFileSync(flows, `${lines.join('\n')}\r\n`);

    const r = await nyxctl(
      'verdicts',
      '--policies',
      T,
      '--inventory',
      join(T, 'examples/inventory.json'),
      '--flows',
      flows,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(lines.length);
    const byTuple = new Map<string, string>();
    for (const [i, printed] of out.entries()) {
      const record = JSON.parse(lines[i]!) as Record<string, unknown>;
      if (record.protocol === 'tcp') record.protocol = 'TCP';
      const fields = JSON.parse(printed) as Record<string, unknown>;
      const verdict = Object.fromEntries(
        VERDICT_FIELDS.filter((f) => f in fields).map((f) => [f, fields[f]]),
      );
      // byte for byte the record's own JSON with the verdict fields after it
      expect(printed).toBe(JSON.stringify({ ...record, ...verdict }));
      // and one answer per tuple, whichever path printed it
      const tuple = JSON.stringify([record.src, record.dst, record.protocol, record.port, record.serverName]);
      const answer = JSON.stringify(verdict);
      if (!record.srcLabels && !record.srcWorkload) {
        expect(byTuple.get(tuple) ?? answer).toBe(answer);
        byTuple.set(tuple, answer);
      }
    }
    expect(byTuple.size).toBeGreaterThanOrEqual(6);
  });
});
