import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowWindow, isRfc3339, parseFlowLine } from './flows.js';

const F = 'flows.jsonl';

function errorOf(line: string, lineNo = 7): string {
  const r = parseFlowLine(line, lineNo, F);
  if (r.ok) throw new Error(`expected an error for ${line}`);
  return `${r.error.file}:${r.error.line}: ${r.error.message}`;
}

describe('parseFlowLine', () => {
  it('parses a full record, normalising the protocol and keeping unknown fields', () => {
    const r = parseFlowLine(
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"tcp","port":443,"serverName":"api.stripe.com","count":12,"firstSeen":"2026-11-20T10:00:00Z","lastSeen":"2026-11-21T10:00:00.5+01:00","cluster":"eu-1"}',
      1,
      F,
    );
    expect(r).toEqual({
      ok: true,
      record: {
        src: 'shop/web-1',
        dst: '10.0.0.5',
        protocol: 'TCP',
        port: 443,
        serverName: 'api.stripe.com',
        count: 12,
        firstSeen: '2026-11-20T10:00:00Z',
        lastSeen: '2026-11-21T10:00:00.5+01:00',
        cluster: 'eu-1',
      },
    });
  });

  it('accepts the minimal record and IPv6 ends', () => {
    const r = parseFlowLine(
      '{"src":"fd00::1","dst":"kube-system/coredns-1","protocol":"UDP","port":53}',
      2,
      F,
    );
    expect(r.ok && r.record).toEqual({
      src: 'fd00::1',
      dst: 'kube-system/coredns-1',
      protocol: 'UDP',
      port: 53,
    });
  });

  it('skips blank lines and comments', () => {
    expect(parseFlowLine('   ', 1, F)).toEqual({ ok: true, skipped: 'blank line' });
    expect(parseFlowLine('# exported 2026-11-23', 1, F)).toEqual({ ok: true, skipped: 'comment' });
  });

  it('reports errors at file:line naming what was expected', () => {
    expect(errorOf('{"src":"shop/web-1"')).toMatch(
      /^flows\.jsonl:7: not valid JSON .*expected one flow object per line$/,
    );
    expect(errorOf('[1,2]')).toMatch(/^flows\.jsonl:7: expected a JSON object/);
    expect(errorOf('{"dst":"1.2.3.4","protocol":"TCP","port":1}')).toBe(
      'flows.jsonl:7: "src" is required: a "<namespace>/<pod>" or an IP address',
    );
    expect(errorOf('{"src":"web","dst":"1.2.3.4","protocol":"TCP","port":1}')).toBe(
      'flows.jsonl:7: "src": "web" is neither "<namespace>/<pod>" nor an IP address',
    );
    expect(errorOf('{"src":"a/b/c","dst":"1.2.3.4","protocol":"TCP","port":1}')).toContain('"src": "a/b/c"');
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"ICMP","port":1}')).toBe(
      'flows.jsonl:7: "protocol" "ICMP" is not TCP, UDP or SCTP',
    );
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","port":1}')).toBe(
      'flows.jsonl:7: "protocol" is required: TCP, UDP or SCTP',
    );
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":65536}')).toBe(
      'flows.jsonl:7: "port" 65536 is not an integer from 1 to 65535',
    );
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":"443"}')).toContain(
      '"port" "443" is not an integer',
    );
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"count":0}')).toBe(
      'flows.jsonl:7: "count" 0 is not a positive integer',
    );
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"count":1.5}')).toContain(
      '"count" 1.5',
    );
    expect(
      errorOf(
        '{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"firstSeen":"2026-02-30T00:00:00Z"}',
      ),
    ).toBe(
      'flows.jsonl:7: "firstSeen" "2026-02-30T00:00:00Z" is not an RFC 3339 time like 2026-11-23T10:00:00Z',
    );
    expect(
      errorOf(
        '{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"firstSeen":"2026-11-23T10:00:00Z","lastSeen":"2026-11-23T09:00:00Z"}',
      ),
    ).toContain('"firstSeen" 2026-11-23T10:00:00Z is after "lastSeen"');
    expect(errorOf('{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"serverName":""}')).toContain(
      '"serverName" must be a non-empty string',
    );
  });

  it('refuses a line over 64 KiB', () => {
    const line = `{"src":"1.2.3.4","dst":"1.2.3.4","protocol":"TCP","port":80,"pad":"${'x'.repeat(70_000)}"}`;
    expect(errorOf(line, 3)).toMatch(/^flows\.jsonl:3: line is longer than 65536 bytes/);
  });
});

describe('isRfc3339', () => {
  it('checks shape and ranges', () => {
    expect(isRfc3339('2024-02-29T23:59:60Z')).toBe(true);
    expect(isRfc3339('2026-11-23t10:00:00.123456789-07:30')).toBe(true);
    expect(isRfc3339('2025-02-29T00:00:00Z')).toBe(false);
    expect(isRfc3339('2026-11-23T24:00:00Z')).toBe(false);
    expect(isRfc3339('2026-11-23T10:00:00')).toBe(false);
    expect(isRfc3339('2026-11-23')).toBe(false);
    expect(isRfc3339('2026-11-23T10:00:00+25:00')).toBe(false);
  });
});

describe('FlowWindow', () => {
  it('aggregates records into distinct tuples, summing counts and widening first/last seen', () => {
    const w = new FlowWindow();
    w.add({ src: 'a/x', dst: 'b/y', protocol: 'TCP', port: 80, count: 3, firstSeen: '2026-11-20T10:00:00Z' });
    w.add({
      src: 'a/x',
      dst: 'b/y',
      protocol: 'TCP',
      port: 80,
      firstSeen: '2026-11-20T09:30:00+00:00',
      lastSeen: '2026-11-20T12:00:00Z',
    });
    // 12:30+02:00 is 10:30Z: earlier than 12:00Z although it sorts later as text.
    w.add({ src: 'a/x', dst: 'b/y', protocol: 'TCP', port: 80, lastSeen: '2026-11-20T12:30:00+02:00' });
    w.add({ src: 'a/x', dst: 'b/y', protocol: 'TCP', port: 80, serverName: 'y.example' });
    w.add({ src: 'a/x', dst: 'b/y', protocol: 'UDP', port: 80 });
    const tuples = [...w.tuples()];
    expect(tuples).toEqual([
      {
        src: 'a/x',
        dst: 'b/y',
        protocol: 'TCP',
        port: 80,
        count: 5,
        records: 3,
        firstSeen: '2026-11-20T09:30:00+00:00',
        lastSeen: '2026-11-20T12:00:00Z',
      },
      { src: 'a/x', dst: 'b/y', protocol: 'TCP', port: 80, serverName: 'y.example', count: 1, records: 1 },
      { src: 'a/x', dst: 'b/y', protocol: 'UDP', port: 80, count: 1, records: 1 },
    ]);
    expect(w.coverage()).toEqual({
      records: 5,
      connections: 7,
      distinct: 3,
      skipped: {},
      from: '2026-11-20T09:30:00+00:00',
      to: '2026-11-20T12:00:00Z',
    });
  });

  it('streams 50,000 parsed lines into as many tuples as there are distinct flows', () => {
    const w = new FlowWindow();
    for (let i = 0; i < 50_000; i++) {
      const line = JSON.stringify({
        src: `ns${i % 10}/pod-${i % 50}`,
        dst: `10.0.${i % 7}.${i % 3}`,
        protocol: 'TCP',
        port: 8000 + (i % 4),
        firstSeen: `2026-11-20T10:${String(i % 60).padStart(2, '0')}:00Z`,
      });
      const r = parseFlowLine(line, i + 1, F);
      if (!r.ok || !r.record) throw new Error('unexpected');
      w.add(r.record);
    }
    // (i mod 50, i mod 7, i mod 3, i mod 4) -> i mod lcm(50,7,3,4) = 2100 distinct combinations.
    expect(w.distinct).toBe(2100);
    expect(w.records).toBe(50_000);
    let sum = 0;
    for (const t of w.tuples()) sum += t.count;
    expect(sum).toBe(50_000);
    expect(w.coverage().from).toBe('2026-11-20T10:00:00Z');
    expect(w.coverage().to).toBe('2026-11-20T10:59:00Z');
  });
});

describe('FlowWindow properties', () => {
  it('keeps totals and one tuple per distinct key whatever the order of records', () => {
    const record = fc.record({
      src: fc.constantFrom('a/x', 'a/y', '10.0.0.1'),
      dst: fc.constantFrom('b/z', '1.2.3.4'),
      protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
      port: fc.integer({ min: 1, max: 3 }),
      count: fc.integer({ min: 1, max: 100 }),
      lastSeen: fc.integer({ min: 0, max: 59 }).map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00Z`),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 200 }), (records) => {
        const w = new FlowWindow();
        for (const r of records) w.add(r);
        const tuples = [...w.tuples()];
        const keys = new Set(records.map((r) => `${r.src} ${r.dst} ${r.protocol} ${r.port}`));
        expect(tuples).toHaveLength(keys.size);
        expect(tuples.reduce((a, t) => a + t.count, 0)).toBe(records.reduce((a, r) => a + r.count, 0));
        expect(tuples.reduce((a, t) => a + t.records, 0)).toBe(records.length);
        for (const t of tuples) {
          const mine = records.filter(
            (r) => r.src === t.src && r.dst === t.dst && r.protocol === t.protocol && r.port === t.port,
          );
          expect(t.lastSeen).toBe(
            mine
              .map((r) => r.lastSeen)
              .sort()
              .at(-1),
          );
          expect(t.firstSeen).toBe(mine.map((r) => r.lastSeen).sort()[0]);
        }
      }),
    );
  });
});

/** Reads lines the way the flow reader does: the canonical fast path when it takes the line, else parse and add. */
function readLines(
  lines: string[],
  fast: boolean,
): { window: FlowWindow; accepted: boolean[]; errors: number[] } {
  const window = new FlowWindow();
  const accepted: boolean[] = [];
  const errors: number[] = [];
  const encoder = new TextEncoder();
  lines.forEach((line, i) => {
    // Each line inside a larger buffer, as the reader hands them over.
    const bytes = encoder.encode(`xx${line}\nyy`);
    const taken = fast && window.addCanonicalLine(bytes, 2, bytes.length - 3);
    accepted.push(taken);
    if (taken) return;
    const r = parseFlowLine(line, i + 1, F);
    if (!r.ok) errors.push(i + 1);
    else if (r.record) window.add(r.record);
  });
  return { window, accepted, errors };
}

describe('FlowWindow.addCanonicalLine (the flow reader fast path)', () => {
  const line = (fields: string): string =>
    `{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":443${fields}}`;

  it('takes a canonical line, the first of its tuple included, and aggregates it as parsing would', () => {
    const lines = [
      line(',"count":2,"firstSeen":"2026-11-20T10:00:00Z","lastSeen":"2026-11-20T10:05:00Z"'),
      line(',"count":3,"firstSeen":"2026-11-20T09:00:00Z","lastSeen":"2026-11-20T09:01:00Z"'),
      line(',"lastSeen":"2026-11-20T11:00:00.250Z"'),
      line(''),
      line(',"serverName":"api.stripe.com","count":7'),
      line(',"serverName":"api.stripe.com","firstSeen":"2026-11-21T00:00:00Z"'),
    ];
    const fast = readLines(lines, true);
    expect(fast.accepted).toEqual([true, true, true, true, true, true]);
    expect([...fast.window.tuples()]).toEqual([
      {
        src: 'shop/web-1',
        dst: '10.0.0.5',
        protocol: 'TCP',
        port: 443,
        count: 7,
        records: 4,
        firstSeen: '2026-11-20T09:00:00Z',
        lastSeen: '2026-11-20T11:00:00.250Z',
      },
      {
        src: 'shop/web-1',
        dst: '10.0.0.5',
        protocol: 'TCP',
        port: 443,
        serverName: 'api.stripe.com',
        count: 8,
        records: 2,
        firstSeen: '2026-11-21T00:00:00Z',
        lastSeen: '2026-11-21T00:00:00Z',
      },
    ]);
    const slow = readLines(lines, false);
    expect([...fast.window.tuples()]).toEqual([...slow.window.tuples()]);
    expect(fast.window.coverage()).toEqual(slow.window.coverage());
  });

  it('leaves every line it cannot vouch for to the parser, which reports the errors', () => {
    const known = line(',"count":1');
    const refused = [
      line(',"count":0'), // count out of range
      line(',"count":01'), // not JSON
      line(',"count":1.5'),
      line(',"count":12345678901234567'), // beyond safe integers
      line(',"firstSeen":"2026-11-20T10:00:00Z","lastSeen":"2026-11-20T09:00:00Z"'), // first after last
      line(',"firstSeen":"2026-02-30T10:00:00Z"'), // no such day
      line(',"firstSeen":"2026-11-20T10:00:00+01:00"'), // valid, but not UTC: parsed in full
      line(',"count":1,"count":2'), // duplicate field: JSON.parse keeps the last
      line(',"node":"n1"'), // extra field: parsed in full, passed through
      `${line(',"count":1')} `, // trailing space
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"tcp","port":443}', // other key text
      '{"dst":"10.0.0.5","src":"shop/web-1","protocol":"TCP","port":443}', // other order
      '{"src":"shop\\/web-1","dst":"10.0.0.5","protocol":"TCP","port":443}', // escape
    ];
    const fast = readLines([known, ...refused], true);
    expect(fast.accepted).toEqual([true, ...refused.map(() => false)]);
    const slow = readLines([known, ...refused], false);
    expect(fast.errors).toEqual(slow.errors);
    expect(fast.errors).toEqual([2, 3, 4, 5, 6, 7]);
    expect([...fast.window.tuples()]).toEqual([...slow.window.tuples()]);
  });

  it('keeps a time of 255 characters (the length byte that marks text) as text', () => {
    const long = (s: number) => `2026-11-20T10:00:0${s}.${'1'.repeat(234)}Z`;
    expect(long(0)).toHaveLength(255);
    const other = '{"src":"shop/web-2","dst":"10.0.0.5","protocol":"TCP","port":443}';
    const lines = [
      line(`,"lastSeen":"${long(1)}"`),
      other,
      line(`,"lastSeen":"${long(5)}"`),
      line(`,"lastSeen":"${long(3)}"`),
      other,
    ];
    const fast = readLines(lines, true);
    expect(fast.accepted).toEqual([true, true, true, true, true]);
    const slow = readLines(lines, false);
    expect([...fast.window.tuples()]).toEqual([...slow.window.tuples()]);
    expect([...fast.window.tuples()].map((t) => [t.firstSeen, t.lastSeen, t.records])).toEqual([
      [long(1), long(5), 3],
      [undefined, undefined, 2],
    ]);
  });

  it('gives exactly what parsing every line gives, on any mix of lines', () => {
    const name = fc.constantFrom(
      'shop/web-1',
      'shop/web-2',
      'db/pg-0',
      '10.0.0.5',
      'fd00::1',
      'caf\u00e9/x',
      'a"b/c',
    );
    const time = fc.oneof(
      fc.integer({ min: 0, max: 59 }).map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00Z`),
      fc.integer({ min: 0, max: 59 }).map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00.5Z`),
      // As `Date.prototype.toISOString` writes it (24 bytes): the first length the tail scan tries.
      fc.integer({ min: 0, max: 59 }).map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00.250Z`),
      fc.integer({ min: 0, max: 59 }).map((m) => `2026-11-20T11:${String(m).padStart(2, '0')}:00+01:00`),
      fc.constant('2026-13-01T00:00:00Z'),
      // A quote where the tail scan looks for the opening quote of a 24- or 20-byte time.
      fc.constantFrom('"026-11-20T10:00:00.250Z', '2026-11-20T10:00:0"Z', '2026-11-20T10:00:00.25"Z'),
      // Longer than the 31 bytes a time gets beside its tuple: kept as text.
      fc
        .integer({ min: 0, max: 59 })
        .map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00.123456789012345Z`),
      // 255 characters: as long as the byte that marks a time kept as text.
      fc
        .integer({ min: 0, max: 59 })
        .map((m) => `2026-11-20T10:${String(m).padStart(2, '0')}:00.${'1'.repeat(234)}Z`),
    );
    const record = fc.record(
      {
        src: name,
        dst: name,
        protocol: fc.constantFrom('TCP', 'UDP', 'udp'),
        port: fc.constantFrom(53, 443, 0),
        serverName: fc.constantFrom('api.stripe.com', 'x\u00e9.example'),
        count: fc.constantFrom(1, 7, 0),
        firstSeen: time,
        lastSeen: time,
      },
      { requiredKeys: ['src', 'dst', 'protocol', 'port'] },
    );
    const text = fc.tuple(record, fc.constantFrom('canonical', 'spaced', 'reversed')).map(([r, shape]) => {
      if (shape === 'spaced') return JSON.stringify(r, null, 1).replace(/\n/g, '');
      if (shape === 'reversed') return JSON.stringify(Object.fromEntries(Object.entries(r).reverse()));
      return JSON.stringify(r);
    });
    fc.assert(
      fc.property(fc.array(text, { maxLength: 60 }), (lines) => {
        const fast = readLines(lines, true);
        const slow = readLines(lines, false);
        expect(fast.errors).toEqual(slow.errors);
        expect([...fast.window.tuples()]).toEqual([...slow.window.tuples()]);
        expect(fast.window.coverage()).toEqual(slow.window.coverage());
      }),
      { numRuns: 300 },
    );
  });
});

describe('FlowWindow.addCanonicalLine on the first line of a tuple (its key read from its bytes)', () => {
  it('gives exactly what parsing every line gives, identity fields and hostile shapes included', () => {
    const ref = fc.constantFrom(
      'shop/web-1',
      'shop/web-2',
      'db/pg-0',
      '10.0.0.5',
      'fd00::1',
      '',
      'x',
      'a/b/c',
    );
    const text = fc.constantFrom('shop/web', 'db/pg', 'shop/', '', 'a"b', 'a\\b', 'caf\u00e9', 'ns\u007f');
    const labels = fc.dictionary(
      fc.constantFrom('app', 'tier', '1', '10', '__proto__', 'constructor', 'z', '', 'a"'),
      fc.constantFrom('web', 'db', '', '1', 'v\u00e9'),
      { maxKeys: 3 },
    );
    const record = fc.record(
      {
        src: ref,
        dst: ref,
        protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp'),
        port: fc.constantFrom(53, 443, 0, 65535, 65536),
        serverName: fc.constantFrom('api.stripe.com', ''),
        srcWorkload: text,
        dstWorkload: text,
        srcLabels: labels,
        dstLabels: labels,
        count: fc.constantFrom(1, 7),
        firstSeen: fc.constant('2026-11-20T10:00:00Z'),
        lastSeen: fc.constantFrom('2026-11-20T10:05:00Z', '2026-11-20T09:00:00Z'),
      },
      { requiredKeys: ['src', 'dst', 'protocol', 'port'] },
    );
    // In the canonical field order (what `formatFlowLine` writes, labels as generated: sorted or
    // not), or with a label key repeated, or with the port written with a leading zero.
    const line = fc.tuple(record, fc.constantFrom('ordered', 'repeated', 'zero')).map(([r, shape]) => {
      const text = JSON.stringify(r);
      if (shape === 'repeated') return text.replace('"srcLabels":{', '"srcLabels":{"app":"x",');
      if (shape === 'zero') return text.replace(`"port":${r.port}`, `"port":0${r.port}`);
      return text;
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const fast = readLines(lines, true);
        const slow = readLines(lines, false);
        expect(fast.errors).toEqual(slow.errors);
        expect([...fast.window.tuples()]).toEqual([...slow.window.tuples()]);
        expect(fast.window.coverage()).toEqual(slow.window.coverage());
        // The window handed over as data reads the identities back from the keys alike.
        expect([...FlowWindow.fromState(fast.window.state()).tuples()]).toEqual([...slow.window.tuples()]);
      }),
      { numRuns: 500 },
    );
  });

  it('reads a first line in the canonical shape from its bytes, and leaves any other to the parser', () => {
    const first = (key: string) => readLines([`${key},"count":1}`], true).accepted[0];
    expect(first('{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":443')).toBe(true);
    expect(
      first(
        '{"src":"shop/web-1","dst":"db/pg-0","protocol":"TCP","port":5432,"srcWorkload":"shop/web","dstLabels":{"app":"pg","tier":"db"}',
      ),
    ).toBe(true);
    for (const key of [
      '{"src":"shop/web-1","dst":"db/pg-0","protocol":"TCP","port":5432,"dstLabels":{"tier":"db","app":"pg"}', // unsorted
      '{"src":"shop/web-1","dst":"db/pg-0","protocol":"TCP","port":5432,"dstLabels":{"app":"pg","app":"x"}', // repeated
      '{"src":"shop/web-1","dst":"db/pg-0","protocol":"TCP","port":5432,"dstLabels":{"__proto__":"x"}',
      '{"src":"shop/w\\u0065b-1","dst":"10.0.0.5","protocol":"TCP","port":443', // an escape
      '{"src":"caf\u00e9/x","dst":"10.0.0.5","protocol":"TCP","port":443', // not ASCII
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":0', // out of range
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":443,"serverName":""',
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":443,"srcWorkload":"db/x"', // other namespace
      '{"src":"10.0.0.9","dst":"10.0.0.5","protocol":"TCP","port":443,"srcWorkload":"db/x"', // an address
      '{"src":"shop/web-1","dst":"10.0.0.5","protocol":"tcp","port":443',
    ])
      expect(first(key)).toBe(false);
  });
});

describe('FlowWindow.state / fromState', () => {
  it('hands a window over as data, which goes on aggregating as the original would', () => {
    const records = [
      {
        src: 'shop/web-1',
        dst: '10.0.0.5',
        protocol: 'TCP' as const,
        port: 443,
        count: 2,
        lastSeen: '2026-11-20T10:00:00Z',
      },
      {
        src: 'shop/web-1',
        dst: '10.0.0.5',
        protocol: 'TCP' as const,
        port: 443,
        serverName: 'x.example',
        firstSeen: '2026-11-20T11:00:00+01:00',
      },
      { src: 'caf\u00e9/x', dst: 'db/pg-0', protocol: 'UDP' as const, port: 53 },
    ];
    const original = new FlowWindow();
    const reference = new FlowWindow();
    for (const r of records) {
      original.add(r);
      reference.add(r);
    }
    // What postMessage does to the state (the buffers would be transferred instead of copied).
    const moved = FlowWindow.fromState(structuredClone(original.state()));
    expect([...moved.tuples()]).toEqual([...reference.tuples()]);
    expect(moved.coverage()).toEqual(reference.coverage());
    for (const r of [...records, { ...records[0]!, port: 80 }]) {
      moved.add(r);
      reference.add(r);
    }
    expect(moved.distinct).toBe(4);
    expect([...moved.tuples()]).toEqual([...reference.tuples()]);
    expect(moved.coverage()).toEqual(reference.coverage());
  });
});
