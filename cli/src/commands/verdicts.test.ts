import type { FlowRecord, FlowVerdict } from '@nyx/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verdictLine, verdictTail } from './verdicts.js';

// The line `nyxctl verdicts` prints was `JSON.stringify({ ...record, ...verdictFields })`; the fast
// path joins the record's JSON with the verdict fields serialised once per verdict. Byte for byte.
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const reason = fc.record(
  {
    point: fc.constantFrom('egress', 'ingress', 'flow'),
    decision: fc.constantFrom('allow', 'deny'),
    text,
    source: text,
    audit: fc.boolean(),
    isolatedBy: fc.array(text, { maxLength: 3 }),
  },
  { requiredKeys: ['point', 'decision', 'text'] },
);
const verdict = fc.record({
  verdict: fc.constantFrom('allow', 'deny'),
  asIfEnforced: fc.constantFrom('allow', 'deny'),
  reasons: fc.array(reason, { maxLength: 3 }),
  asIfEnforcedReasons: fc.array(reason, { maxLength: 3 }),
}) as unknown as fc.Arbitrary<FlowVerdict>;
const fallback = fc.record({
  by: fc.constantFrom<'workload' | 'labels' | 'pod-name'>('workload', 'labels', 'pod-name'),
  text,
});
const fallbacks = fc.option(fc.record({ src: fallback, dst: fallback }, { requiredKeys: [] }), {
  nil: undefined,
});
const labels = fc.dictionary(text, text, { maxKeys: 3 });
const record = fc.record(
  {
    src: text,
    dst: text,
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'),
    port: fc.integer({ min: 0, max: 65535 }),
    serverName: text,
    count: fc.integer({ min: 1, max: 1e9 }),
    firstSeen: text,
    lastSeen: text,
    srcWorkload: text,
    dstLabels: labels,
  },
  { requiredKeys: ['src', 'dst', 'protocol', 'port'] },
) as fc.Arbitrary<FlowRecord>;

const reference = (r: object, v: FlowVerdict, fb: object | undefined): string =>
  `${JSON.stringify({
    ...r,
    verdict: v.verdict,
    asIfEnforced: v.asIfEnforced,
    reasons: v.reasons,
    asIfEnforcedReasons: v.asIfEnforcedReasons,
    ...(fb ? { resolution: fb } : {}),
  })}\n`;

describe('verdictLine', () => {
  it('is JSON.stringify of the record spread with the verdict fields', () => {
    fc.assert(
      fc.property(record, verdict, fallbacks, (r, v, fb) => {
        expect(verdictLine(r, verdictTail(v, fb))).toBe(reference(r, v, fb));
      }),
    );
  });

  it('keeps the place of a record field named like a verdict field', () => {
    fc.assert(
      fc.property(
        record,
        fc.constantFrom('verdict', 'asIfEnforced', 'reasons', 'asIfEnforcedReasons', 'resolution'),
        text,
        verdict,
        fallbacks,
        (r, name, value, v, fb) => {
          const odd = { [name]: value, ...r } as FlowRecord;
          expect(verdictLine(odd, verdictTail(v, fb))).toBe(reference(odd, v, fb));
        },
      ),
    );
  });
});
