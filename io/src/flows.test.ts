import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Diagnostic, FlowRecord } from '@nyx/core';
import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';
import { detectFlowFormat, readFlowFile, readFlowWindow, readFlowWindowInWorker } from './flows.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/flows/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'nyx-flows-'));

async function collect(path: string, options = {}): Promise<Array<{ record: FlowRecord; line: number }>> {
  const out: Array<{ record: FlowRecord; line: number }> = [];
  for await (const r of readFlowFile(path, options)) out.push(r);
  return out;
}

describe('readFlowFile', () => {
  it('streams the nyx format with line numbers, skipping comments and blank lines', async () => {
    const rows = await collect(join(fixtures, 'nyx-flows.jsonl'));
    expect(rows.map((r) => r.line)).toEqual([2, 3, 5, 6]);
    expect(rows[2]!.record).toEqual({
      src: 'payments/payments-api-6b8d5c9f7-lq8mz',
      dst: 'kube-system/coredns-76f75df574-8xk2p',
      protocol: 'UDP',
      port: 53,
      count: 4022,
    });
    expect(rows[3]!.record).toMatchObject({ agent: 'worker-3' });
  });

  it('detects and converts a Hubble export, noting what it skipped', async () => {
    const notes: Diagnostic[] = [];
    const rows = await collect(join(fixtures, 'hubble-observe.jsonl'), {
      onSkip: (d: Diagnostic) => notes.push(d),
    });
    expect(rows.map((r) => [r.line, r.record.src, r.record.dst, r.record.port, r.record.serverName])).toEqual(
      [
        [1, 'shop/frontend-7d9f8b6c4-x2kqp', 'shop/cart-5f7c9d8b7-9wz4d', 8080, undefined],
        [
          5,
          'payments/payments-api-6b8d5c9f7-lq8mz',
          'kube-system/coredns-76f75df574-8xk2p',
          53,
          'api.stripe.com',
        ],
        [7, 'payments/payments-api-6b8d5c9f7-lq8mz', '54.187.174.169', 443, 'api.stripe.com'],
        [8, '203.0.113.9', 'ingress-nginx/ingress-nginx-controller-5c8d66c76d-r7vxn', 443, undefined],
        [9, 'shop/frontend-7d9f8b6c4-x2kqp', 'db/postgres-0', 5432, undefined],
        [10, 'shop/frontend-7d9f8b6c4-x2kqp', 'db/postgres-0', 5432, undefined],
        [12, '10.0.1.11', 'shop/cart-5f7c9d8b7-9wz4d', 8080, undefined],
        [15, 'monitoring/prometheus-k8s-0', '10.0.1.12', 10250, undefined],
      ],
    );
    expect(notes.map((n) => `${n.line}: ${n.message}`)).toEqual([
      '2: skipped: ingress observation of a connection already seen at its source pod',
      '3: skipped: reply packet',
      '4: skipped: TCP packet after the connection opened',
      '6: skipped: reply packet',
      '11: skipped: not TCP, UDP or SCTP',
      '13: skipped: L7 event of an already counted connection',
      '14: skipped: not a flow (lost_events)',
    ]);
  });

  it('detects and converts a Calico flow log, keeping one report per connection', async () => {
    const notes: Diagnostic[] = [];
    const rows = await collect(join(fixtures, 'calico-flows.log'), {
      onSkip: (d: Diagnostic) => notes.push(d),
    });
    expect(rows.map((r) => [r.line, r.record.src, r.record.dst, r.record.port, r.record.count ?? 1])).toEqual(
      [
        [1, 'shop/frontend-7d9f8b6c4-x2kqp', 'shop/cart-5f7c9d8b7-9wz4d', 8080, 12],
        [3, 'payments/payments-api-6b8d5c9f7-lq8mz', '54.187.174.169', 443, 3],
        [5, '203.0.113.9', 'ingress-nginx/ingress-nginx-controller-5c8d66c76d-r7vxn', 443, 37],
        [6, 'shop/frontend-7d9f8b6c4-x2kqp', 'db/postgres-0', 5432, 2],
        [7, 'payments/payments-api-6b8d5c9f7-lq8mz', 'kube-system/coredns-76f75df574-8xk2p', 53, 22],
        [8, 'monitoring/prometheus-k8s-0', 'shop/cart-5f7c9d8b7-9wz4d', 9090, 1],
        [10, 'payments/payments-api-6b8d5c9f7-lq8mz', '54.187.174.169', 443, 5],
      ],
    );
    expect(rows[1]!.record).toMatchObject({
      serverName: 'api.stripe.com',
      firstSeen: '2026-11-20T09:10:00Z',
      lastSeen: '2026-11-20T09:15:00Z',
    });
    expect(notes.map((n) => n.line)).toEqual([2, 4, 9]);
    expect(notes[1]!.message).toBe('skipped: source "shop/frontend-7d9f8b6c4-*" is aggregated and has no IP');
  });

  it('reads gzip when the name ends in .gz, with an explicit format', async () => {
    const path = join(tmp, 'hubble.jsonl.gz');
    writeFileSync(path, gzipSync(readFileSync(join(fixtures, 'hubble-observe.jsonl'))));
    const rows = await collect(path, { format: 'hubble' });
    expect(rows).toHaveLength(8);
  });

  it('throws the first malformed line as file:line, or reports every one through onError', async () => {
    const path = join(tmp, 'bad.jsonl');
    writeFileSync(
      path,
      [
        '{"src":"shop/a","dst":"shop/b","protocol":"TCP","port":80}',
        '{"src":"shop/a","dst":"shop/b","protocol":"TCP","port":0}',
        'not json',
        '{"src":"shop/a","dst":"shop/b","protocol":"UDP","port":53}',
      ].join('\n'),
    );
    const thrown = await collect(path, { displayName: 'flows/bad.jsonl' }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).message).toBe(
      'flows/bad.jsonl:2: "port" 0 is not an integer from 1 to 65535',
    );
    const errors: Diagnostic[] = [];
    const rows = await collect(path, { onError: (d: Diagnostic) => errors.push(d) });
    expect(rows.map((r) => r.line)).toEqual([1, 4]);
    expect(errors.map((e) => e.line)).toEqual([2, 3]);
    await expect(readFlowWindow(path)).rejects.toMatchObject({ diagnostics: [{ line: 2 }, { line: 3 }] });
  });

  it('refuses a runaway line without holding it in memory', async () => {
    const path = join(tmp, 'runaway.jsonl');
    writeFileSync(
      path,
      `{"src":"shop/a","dst":"shop/b","protocol":"TCP","port":80}\n{"pad":"${'x'.repeat(1_000_000)}`,
    );
    await expect(collect(path)).rejects.toThrow(/runaway\.jsonl:2: line is longer than 65536 bytes/);
    const long = join(tmp, 'long.jsonl');
    writeFileSync(long, `{"pad":"${'x'.repeat(100_000)}"}\n`);
    await expect(collect(long)).rejects.toThrow(/long\.jsonl:1: line is longer than 65536 bytes/);
  });

  it('names a missing file and a corrupt gzip', async () => {
    await expect(collect(join(tmp, 'missing.jsonl'))).rejects.toThrow(
      /missing\.jsonl:1: cannot read flows: no such file/,
    );
    const bad = join(tmp, 'broken.jsonl.gz');
    writeFileSync(bad, 'this is not gzip');
    await expect(collect(bad)).rejects.toThrow(/broken\.jsonl\.gz:1: cannot read flows: not gzip/);
  });

  it('places a truncated .gz on the decompressed line it stops in', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ src: `shop/web-${i}`, dst: '10.0.0.1', protocol: 'TCP', port: 443 }),
    );
    const whole = gzipSync(lines.join('\n'));
    const path = join(tmp, 'truncated.jsonl.gz');
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
    const seen: number[] = [];
    const error = await (async () => {
      for await (const r of readFlowFile(path)) seen.push(r.line);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const d = (error as InputError).diagnostics[0]!;
    expect(d.message).toBe('cannot read flows: the gzip stream ends early here (a truncated file?)');
    expect(seen.length).toBeGreaterThan(0);
    expect(d.line).toBe(seen.length + 1);
  });
});

describe('no line of a flow file disappears without a word (issue 15)', () => {
  const nyxLine = '{"src":"shop/a","dst":"shop/b","protocol":"TCP","port":80}';

  it('refuses a file of another format than the one given, at its first line, once', async () => {
    const path = join(tmp, 'nyx-as-hubble.jsonl');
    writeFileSync(path, `# exported\n${nyxLine}\n${nyxLine}\n`);
    for (const read of [
      () => collect(path, { format: 'hubble' }),
      () => readFlowWindow(path, { format: 'hubble' }),
    ])
      await expect(read()).rejects.toMatchObject({
        diagnostics: [
          {
            line: 2,
            message:
              'line 2 is not a Hubble flow (it looks like the nyx format; drop --flow-format hubble to read it as such)',
          },
        ],
      });
    const calico = join(tmp, 'calico-as-nyx.log');
    writeFileSync(calico, readFileSync(join(fixtures, 'calico-flows.log')));
    await expect(readFlowWindow(calico, { format: 'nyx' })).rejects.toThrow(
      /calico-as-nyx\.log:1: line 1 is not a nyx flow \(it looks like the Calico format/,
    );
  });

  it('says pretty-printed JSON is not JSON Lines, once, with the jq -c fix', async () => {
    const path = join(tmp, 'pretty.json');
    writeFileSync(path, JSON.stringify({ flow: { IP: { source: '10.0.0.1' } } }, null, 2));
    const error = await readFlowWindow(path).catch((e: unknown) => e);
    expect((error as InputError).diagnostics).toHaveLength(1);
    expect((error as InputError).message).toMatch(
      /pretty\.json:1: this looks like pretty-printed JSON.*jq -c \./,
    );
  });

  it('reports the first 20 malformed lines and counts the rest', async () => {
    const path = join(tmp, 'garbage.jsonl');
    writeFileSync(path, Array.from({ length: 500 }, (_, i) => `garbage ${i}`).join('\n'));
    const error = (await readFlowWindow(path).catch((e: unknown) => e)) as InputError;
    expect(error.diagnostics).toHaveLength(21);
    expect(error.diagnostics[19]!.line).toBe(20);
    expect(error.diagnostics[20]!.message).toBe('…and 480 more malformed lines');
  });

  it('counts skipped lines by reason in the window, on the worker thread too', async () => {
    const hubble = join(fixtures, 'hubble-observe.jsonl');
    const expected = {
      'reply packet': 2,
      'ingress observation of a connection already seen at its source pod': 1,
      'TCP packet after the connection opened': 1,
      'not TCP, UDP or SCTP': 1,
      'L7 event of an already counted connection': 1,
      'not a flow (lost_events)': 1,
    };
    expect((await readFlowWindow(hubble)).coverage().skipped).toEqual(expected);
    expect((await readFlowWindowInWorker(hubble)).coverage().skipped).toEqual(expected);
  });

  it('imports a Calico connection once whichever side reports it, and a destination-only deny', async () => {
    const lines = readFileSync(join(fixtures, 'calico-flows.log'), 'utf8').trimEnd().split('\n');
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    const path = join(tmp, 'calico-sides.log');
    writeFileSync(
      path,
      [
        // The destination's report first, then the source's: one connection of 12.
        lines[1],
        lines[0],
        // Denied at the destination, and only the destination's Felix logged it.
        JSON.stringify({ ...first, dest_port: 5432, action: 'deny', reporter: 'dst', num_flows_started: 4 }),
      ].join('\n'),
    );
    const w = await readFlowWindow(path, { format: 'calico' });
    expect([...w.tuples()].map((t) => [t.dst, t.port, t.count])).toEqual([
      ['shop/cart-5f7c9d8b7-9wz4d', 8080, 12],
      ['shop/cart-5f7c9d8b7-9wz4d', 5432, 4],
    ]);
    expect(w.coverage().skipped).toEqual({ 'report of connections the other side already reported': 1 });
  });
});

describe('readFlowWindow', () => {
  it('aggregates a Calico export across intervals, widening first/last seen', async () => {
    const w = await readFlowWindow(join(fixtures, 'calico-flows.log'));
    const stripe = [...w.tuples()].find((t) => t.serverName === 'api.stripe.com');
    expect(stripe).toEqual({
      src: 'payments/payments-api-6b8d5c9f7-lq8mz',
      dst: '54.187.174.169',
      protocol: 'TCP',
      port: 443,
      serverName: 'api.stripe.com',
      srcWorkload: 'payments/payments-api',
      srcLabels: { app: 'payments-api' },
      count: 8,
      records: 2,
      firstSeen: '2026-11-20T09:10:00Z',
      lastSeen: '2026-11-20T09:25:00Z',
    });
    expect(w.coverage()).toMatchObject({
      records: 7,
      distinct: 6,
      from: '2026-11-20T09:10:00Z',
      to: '2026-11-20T09:25:00Z',
    });
  });

  it("counts a dropped connection's retransmitted SYNs in one Hubble tuple", async () => {
    const w = await readFlowWindow(join(fixtures, 'hubble-observe.jsonl'));
    const pg = [...w.tuples()].find((t) => t.dst === 'db/postgres-0');
    expect(pg).toMatchObject({
      count: 2,
      firstSeen: '2026-11-20T09:16:30.440018562Z',
      lastSeen: '2026-11-20T09:16:31.441203710Z',
    });
    expect(w.distinct).toBe(7);
  });

  it('aggregates a streamed file into distinct tuples', async () => {
    const path = join(tmp, 'many.jsonl.gz');
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++)
      lines.push(
        JSON.stringify({ src: `shop/web-${i % 10}`, dst: '10.0.0.1', protocol: 'TCP', port: 443, count: 2 }),
      );
    writeFileSync(path, gzipSync(lines.join('\n')));
    const w = await readFlowWindow(path);
    expect(w.distinct).toBe(10);
    expect(w.records).toBe(20_000);
    expect(w.connections).toBe(40_000);
  });
});

describe('line splitting', () => {
  it('reads lines across 1 MiB chunk boundaries, CRLF endings and a last line without newline', async () => {
    const path = join(tmp, 'chunks.jsonl');
    const lines: string[] = [];
    // ~3 MiB: lines of varying length so that chunk ends fall inside lines; one line of 100 kB
    // (past the parser's limit, below the reader's) spans a boundary and is reported on its line.
    for (let i = 0; i < 20_000; i++) {
      const pad = 'p'.repeat(i % 300);
      lines.push(
        JSON.stringify({ src: `shop/web-${i % 50}`, dst: '10.0.0.1', protocol: 'TCP', port: 443, pad }),
      );
    }
    lines[6000] = JSON.stringify({
      src: 'shop/big',
      dst: '10.0.0.1',
      protocol: 'TCP',
      port: 1,
      pad: 'x'.repeat(100_000),
    });
    writeFileSync(path, `${lines.slice(0, 10_000).join('\r\n')}\r\n${lines.slice(10_000).join('\n')}`);
    const errors: Diagnostic[] = [];
    const rows = await collect(path, { onError: (d: Diagnostic) => errors.push(d) });
    expect(rows).toHaveLength(19_999);
    expect(rows.at(-1)!.line).toBe(20_000);
    expect(errors.map((e) => e.line)).toEqual([6001]);
    for (const { record, line } of rows) expect(record.port).toBe(JSON.parse(lines[line - 1]!).port);
    await expect(readFlowWindow(path)).rejects.toMatchObject({ diagnostics: [{ line: 6001 }] });
    lines[6000] = lines[6001]!;
    writeFileSync(path, `${lines.join('\r\n')}`);
    const w = await readFlowWindow(path);
    expect(w.records).toBe(20_000);
    expect(w.distinct).toBe(50);
  });
});

describe('readFlowWindowInWorker', () => {
  it('reads the same window on a worker thread, with progress', async () => {
    const path = join(tmp, 'worker.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 150_000; i++)
      lines.push(
        JSON.stringify({
          src: `shop/web-${i % 10}`,
          dst: `10.0.0.${i % 7}`,
          protocol: 'TCP',
          port: 443,
          count: 1 + (i % 3),
          lastSeen: `2026-11-20T10:${String(i % 60).padStart(2, '0')}:00Z`,
        }),
      );
    writeFileSync(path, lines.join('\n'));
    let progress = 0;
    const discovered: string[] = [];
    const inWorker = await readFlowWindowInWorker(path, {
      onProgress: (n) => (progress += n),
      onTuples: (tuples) => discovered.push(...tuples.map((t) => `${t.src} ${t.dst}`)),
    });
    const here = await readFlowWindow(path);
    expect([...inWorker.tuples()]).toEqual([...here.tuples()]);
    expect(inWorker.coverage()).toEqual(here.coverage());
    expect(inWorker.records).toBe(150_000);
    expect(progress).toBe(131_072); // two steps of 65,536
    // The 70 tuples all appear in the first step, each handed out once.
    expect(discovered).toEqual([...here.tuples()].map((t) => `${t.src} ${t.dst}`));
  });

  it('rejects with every malformed line as file:line, and stops when aborted', async () => {
    const path = join(tmp, 'worker-bad.jsonl');
    writeFileSync(path, '{"src":"shop/a","dst":"shop/b","protocol":"TCP","port":80}\nnot json\n{"port":0}\n');
    const thrown = await readFlowWindowInWorker(path, { displayName: 'flows.jsonl' }).catch(
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as InputError).diagnostics.map((d) => `${d.file}:${d.line}`)).toEqual([
      'flows.jsonl:2',
      'flows.jsonl:3',
    ]);
    await expect(readFlowWindowInWorker(join(tmp, 'absent.jsonl'))).rejects.toThrow(
      /cannot read flows: no such file/,
    );
    const controller = new AbortController();
    const reading = readFlowWindowInWorker(path, { signal: controller.signal });
    controller.abort(new Error('trees were invalid'));
    await expect(reading).rejects.toThrow('trees were invalid');
  });
});

describe('detectFlowFormat', () => {
  it('tells the three formats apart and ignores lines that say nothing', () => {
    expect(detectFlowFormat('{"src":"a/b","dst":"1.2.3.4","protocol":"TCP","port":1}')).toBe('nyx');
    expect(detectFlowFormat('{"flow":{"IP":{}}}')).toBe('hubble');
    expect(detectFlowFormat('{"source_namespace":"a","dest_port":1,"reporter":"src"}')).toBe('calico');
    expect(detectFlowFormat('# comment')).toBeUndefined();
    expect(detectFlowFormat('{')).toBeUndefined();
  });
});
