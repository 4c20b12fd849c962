// The flow format of SPEC section 7 (JSON Lines, one connection or aggregate per line) and the
// streaming aggregation of a window of flows into distinct tuples.
import { isIp } from './cidr.js';
import type { FlowRecord } from './flow-model.js';
import type { Diagnostic, Protocol } from './model.js';

/** Lines longer than this (in UTF-8 bytes) are refused: no legitimate flow record comes close. */
export const MAX_FLOW_LINE_BYTES = 64 * 1024;

/**
 * What a line converter (this format's parser or an importer) makes of one line: a record, a line
 * skipped on purpose (with why: `blank line`, `comment`, `reply`, …), or an error at file:line.
 */
export type FlowLineResult =
  | { ok: true; record: FlowRecord; skipped?: undefined }
  | { ok: true; record?: undefined; skipped: string }
  | { ok: false; error: Diagnostic };

/** Reasons for lines that carry nothing at all; readers need not report these. */
export const SILENT_SKIPS: ReadonlySet<string> = new Set(['blank line', 'comment']);

export type ParseFlowLineResult = FlowLineResult;

const PROTOCOLS: Readonly<Record<string, Protocol>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };
const KNOWN_FIELDS = new Set([
  'src',
  'dst',
  'protocol',
  'port',
  'serverName',
  'count',
  'firstSeen',
  'lastSeen',
]);

// RFC 3339 date-time (section 5.6), checked by shape and field ranges only: no clock, no Date.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** True when `text` is an RFC 3339 date-time (`2026-11-23T10:00:00Z`, `…+01:00`, fractions allowed). */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return false;
  return true;
}

/** Milliseconds since the epoch of an RFC 3339 time, for ordering times written with different offsets. */
export function rfc3339Millis(text: string): number {
  return Date.parse(text.replace(' ', 'T'));
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Problem with a flow end (`<ns>/<pod>` or an IP address), or undefined when it is well formed. */
export function flowEndpointProblem(value: string): string | undefined {
  if (value.includes('/')) {
    const parts = value.split('/');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      return `"${value}" is neither "<namespace>/<pod>" nor an IP address`;
    return undefined;
  }
  return isIp(value) ? undefined : `"${value}" is neither "<namespace>/<pod>" nor an IP address`;
}

/**
 * The shared first step of every line converter: size limit, blank/comment skipping, JSON parsing
 * into an object, each failure a `file:line` diagnostic.
 */
export function parseJsonObjectLine(
  line: string,
  lineNo: number,
  file: string,
):
  | { ok: true; value: Record<string, unknown>; skipped?: undefined }
  | { ok: true; value?: undefined; skipped: string }
  | { ok: false; error: Diagnostic } {
  const fail = (message: string) => ({ ok: false as const, error: { file, line: lineNo, message } });
  if (line.length > MAX_FLOW_LINE_BYTES / 4 && utf8Length(line) > MAX_FLOW_LINE_BYTES)
    return fail(`line is longer than ${MAX_FLOW_LINE_BYTES} bytes; a flow record is one short JSON object`);
  const trimmed = line.trim();
  if (trimmed === '') return { ok: true, skipped: 'blank line' };
  if (trimmed.startsWith('#')) return { ok: true, skipped: 'comment' };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message}); expected one flow object per line`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(
      'expected a JSON object like {"src": "shop/web-1", "dst": "10.0.0.5", "protocol": "TCP", "port": 443}',
    );
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Parses one line of a flow file (SPEC section 7). Blank lines and `#` comments are skipped; errors
 * are `file:line` diagnostics naming what was expected. Fields the format does not define are kept
 * on the record and passed through.
 */
export function parseFlowLine(line: string, lineNo: number, file: string): ParseFlowLineResult {
  const fail = (message: string): ParseFlowLineResult => ({
    ok: false,
    error: { file, line: lineNo, message },
  });
  const parsed = parseJsonObjectLine(line, lineNo, file);
  if (!parsed.ok || parsed.skipped !== undefined) return parsed;
  const obj = parsed.value;

  for (const end of ['src', 'dst'] as const) {
    const v = obj[end];
    if (typeof v !== 'string' || v === '')
      return fail(`"${end}" is required: a "<namespace>/<pod>" or an IP address`);
    const problem = flowEndpointProblem(v);
    if (problem) return fail(`"${end}": ${problem}`);
  }
  const proto = typeof obj.protocol === 'string' ? PROTOCOLS[obj.protocol.toLowerCase()] : undefined;
  if (!proto)
    return fail(
      obj.protocol === undefined
        ? '"protocol" is required: TCP, UDP or SCTP'
        : `"protocol" ${JSON.stringify(obj.protocol)} is not TCP, UDP or SCTP`,
    );
  const port = obj.port;
  if (port === undefined) return fail('"port" is required: an integer from 1 to 65535');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    return fail(`"port" ${JSON.stringify(port)} is not an integer from 1 to 65535`);
  if (obj.serverName !== undefined && (typeof obj.serverName !== 'string' || obj.serverName === ''))
    return fail('"serverName" must be a non-empty string (the TLS SNI or DNS name)');
  if (
    obj.count !== undefined &&
    (typeof obj.count !== 'number' || !Number.isSafeInteger(obj.count) || obj.count < 1)
  )
    return fail(`"count" ${JSON.stringify(obj.count)} is not a positive integer`);
  for (const t of ['firstSeen', 'lastSeen'] as const) {
    const v = obj[t];
    if (v !== undefined && (typeof v !== 'string' || !isRfc3339(v)))
      return fail(`"${t}" ${JSON.stringify(v)} is not an RFC 3339 time like 2026-11-23T10:00:00Z`);
  }
  if (
    typeof obj.firstSeen === 'string' &&
    typeof obj.lastSeen === 'string' &&
    rfc3339Millis(obj.firstSeen) > rfc3339Millis(obj.lastSeen)
  )
    return fail(`"firstSeen" ${obj.firstSeen} is after "lastSeen" ${obj.lastSeen}`);

  const record: FlowRecord & Record<string, unknown> = {
    src: obj.src as string,
    dst: obj.dst as string,
    protocol: proto,
    port,
  };
  if (obj.serverName !== undefined) record.serverName = obj.serverName as string;
  if (obj.count !== undefined) record.count = obj.count as number;
  if (obj.firstSeen !== undefined) record.firstSeen = obj.firstSeen as string;
  if (obj.lastSeen !== undefined) record.lastSeen = obj.lastSeen as string;
  for (const [k, v] of Object.entries(obj)) if (!KNOWN_FIELDS.has(k)) record[k] = v;
  return { ok: true, record };
}

/** One distinct (src, dst, protocol, port, serverName) of a window, with what was aggregated into it. */
export interface FlowTuple {
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  serverName?: string;
  /** Sum of the records' `count` (connections). */
  count: number;
  /** How many records were aggregated into this tuple. */
  records: number;
  firstSeen?: string;
  lastSeen?: string;
}

/** What a window covered: the "how much was looked at" half of an impact statement. */
export interface FlowWindowCoverage {
  /** Records added. */
  records: number;
  /** Sum of `count` over the records (connections). */
  connections: number;
  /** Distinct tuples. */
  distinct: number;
  /** Earliest `firstSeen` (or `lastSeen`) of any record; undefined when no record had a time. */
  from?: string;
  /** Latest `lastSeen` (or `firstSeen`). */
  to?: string;
}

interface TupleState extends FlowTuple {
  firstMs?: number;
  lastMs?: number;
}

/**
 * Streaming aggregation of flow records into distinct tuples keyed by src, dst, protocol, port and
 * serverName. Records are not kept: memory grows with the number of distinct tuples only.
 */
export class FlowWindow {
  readonly #tuples = new Map<string, TupleState>();
  #records = 0;
  #connections = 0;
  #from?: { text: string; ms: number };
  #to?: { text: string; ms: number };

  add(record: FlowRecord): void {
    const count = record.count ?? 1;
    this.#records += 1;
    this.#connections += count;
    const key = `${record.src}\u0000${record.dst}\u0000${record.protocol}\u0000${record.port}\u0000${record.serverName ?? ''}`;
    let t = this.#tuples.get(key);
    if (!t) {
      t = {
        src: record.src,
        dst: record.dst,
        protocol: record.protocol,
        port: record.port,
        count: 0,
        records: 0,
      };
      if (record.serverName !== undefined) t.serverName = record.serverName;
      this.#tuples.set(key, t);
    }
    t.count += count;
    t.records += 1;
    const first = record.firstSeen ?? record.lastSeen;
    const last = record.lastSeen ?? record.firstSeen;
    if (first !== undefined) {
      const ms = rfc3339Millis(first);
      if (t.firstMs === undefined || ms < t.firstMs) {
        t.firstMs = ms;
        t.firstSeen = first;
      }
      if (!this.#from || ms < this.#from.ms) this.#from = { text: first, ms };
    }
    if (last !== undefined) {
      const ms = rfc3339Millis(last);
      if (t.lastMs === undefined || ms > t.lastMs) {
        t.lastMs = ms;
        t.lastSeen = last;
      }
      if (!this.#to || ms > this.#to.ms) this.#to = { text: last, ms };
    }
  }

  /** The distinct tuples, in first-seen-by-the-window order. */
  *tuples(): IterableIterator<FlowTuple> {
    for (const t of this.#tuples.values()) {
      const out: FlowTuple = {
        src: t.src,
        dst: t.dst,
        protocol: t.protocol,
        port: t.port,
        count: t.count,
        records: t.records,
      };
      if (t.serverName !== undefined) out.serverName = t.serverName;
      if (t.firstSeen !== undefined) out.firstSeen = t.firstSeen;
      if (t.lastSeen !== undefined) out.lastSeen = t.lastSeen;
      yield out;
    }
  }

  get records(): number {
    return this.#records;
  }

  get connections(): number {
    return this.#connections;
  }

  get distinct(): number {
    return this.#tuples.size;
  }

  coverage(): FlowWindowCoverage {
    const c: FlowWindowCoverage = {
      records: this.#records,
      connections: this.#connections,
      distinct: this.distinct,
    };
    if (this.#from) c.from = this.#from.text;
    if (this.#to) c.to = this.#to.text;
    return c;
  }
}
