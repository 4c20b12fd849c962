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

// RFC 3339 date-time (section 5.6), checked by shape and field ranges only: no clock, no Date.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when `text` is an RFC 3339 date-time (`2026-11-23T10:00:00Z`, `…+01:00`, fractions allowed). */
export function isRfc3339(text: string): boolean {
  // Flow files carry two times per line: the common UTC shape is checked by character codes, which
  // costs a fraction of the regular expression; anything else takes the general path.
  const utc = utcShapeFields(text);
  if (utc !== undefined) return utc;
  const m = RFC3339.exec(text);
  if (!m) return false;
  return (
    dateTimeInRange(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) &&
    (m[9] === undefined || (Number(m[10]) <= 23 && Number(m[11]) <= 59))
  );
}

function dateTimeInRange(
  year: number,
  month: number,
  day: number,
  h: number,
  min: number,
  sec: number,
): boolean {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return days !== undefined && day >= 1 && day <= days && h <= 23 && min <= 59 && sec <= 60;
}

/** `d` at `i` as a digit value, or -1. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function twoDigits(text: string, i: number): number {
  const a = digitAt(text, i);
  const b = digitAt(text, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * Checks `YYYY-MM-DDTHH:MM:SS[.fraction]Z` without a regular expression: true or false when the text
 * has that shape, undefined when it does not (other offsets, lowercase separators: the general path).
 */
function utcShapeFields(text: string): boolean | undefined {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 90 /* Z */) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */ || n === 21) return undefined;
    for (let i = 20; i < n - 1; i++) if (digitAt(text, i) < 0) return undefined;
  }
  const y1 = twoDigits(text, 0);
  const y2 = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const h = twoDigits(text, 11);
  const min = twoDigits(text, 14);
  const sec = twoDigits(text, 17);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0 || h < 0 || min < 0 || sec < 0) return undefined;
  return dateTimeInRange(y1 * 100 + y2, month, day, h, min, sec);
}

/**
 * Orders two RFC 3339 times: negative when `a` is earlier. Times in UTC (`Z`) with the same length
 * compare as text (the common case, and no date parsing); others through their epoch milliseconds.
 */
export function compareRfc3339(a: string, b: string): number {
  if (a.length === b.length && a.charCodeAt(a.length - 1) === 90 && b.charCodeAt(b.length - 1) === 90)
    return a < b ? -1 : a > b ? 1 : 0;
  return rfc3339Millis(a) - rfc3339Millis(b);
}

/** The earlier of two optional RFC 3339 times (undefined only when both are). */
export function earlierTime(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareRfc3339(b, a) < 0 ? b : a;
}

/** The later of two optional RFC 3339 times (undefined only when both are). */
export function laterTime(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareRfc3339(b, a) > 0 ? b : a;
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

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Problem with a flow end (`<ns>/<pod>` or an IP address), or undefined when it is well formed. */
export function flowEndpointProblem(value: string): string | undefined {
  const slash = value.indexOf('/');
  if (slash >= 0) {
    if (slash === 0 || slash === value.length - 1 || value.indexOf('/', slash + 1) >= 0)
      return `"${value}" is neither "<namespace>/<pod>" nor an IP address`;
    return undefined;
  }
  return IPV4.test(value) || isIp(value)
    ? undefined
    : `"${value}" is neither "<namespace>/<pod>" nor an IP address`;
}

function lineError(file: string, line: number, message: string): { ok: false; error: Diagnostic } {
  return { ok: false, error: { file, line, message } };
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
  const fail = lineError;
  if (line.length > MAX_FLOW_LINE_BYTES / 4 && utf8Length(line) > MAX_FLOW_LINE_BYTES)
    return fail(
      file,
      lineNo,
      `line is longer than ${MAX_FLOW_LINE_BYTES} bytes; a flow record is one short JSON object`,
    );
  const first = line.charCodeAt(0);
  const trimmed = first === 123 && line.charCodeAt(line.length - 1) === 125 ? line : line.trim();
  if (trimmed === '') return { ok: true, skipped: 'blank line' };
  if (trimmed.startsWith('#')) return { ok: true, skipped: 'comment' };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (e) {
    return fail(file, lineNo, `not valid JSON (${(e as Error).message}); expected one flow object per line`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(
      file,
      lineNo,
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
  const parsed = parseJsonObjectLine(line, lineNo, file);
  if (!parsed.ok || parsed.skipped !== undefined) return parsed;
  const message = flowRecordProblem(parsed.value);
  if (message !== undefined) return { ok: false, error: { file, line: lineNo, message } };
  // The parsed object becomes the record (fields the format does not define pass through as they
  // are): no copy per line, which matters at a million lines.
  const record = parsed.value as unknown as FlowRecord;
  const protocol = record.protocol;
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP')
    record.protocol = PROTOCOLS[(protocol as string).toLowerCase()]!;
  return { ok: true, record };
}

/** What is wrong with a parsed flow object, naming what was expected; undefined when nothing. */
function flowRecordProblem(obj: Record<string, unknown>): string | undefined {
  for (const end of ['src', 'dst'] as const) {
    const v = obj[end];
    if (typeof v !== 'string' || v === '')
      return `"${end}" is required: a "<namespace>/<pod>" or an IP address`;
    const problem = flowEndpointProblem(v);
    if (problem) return `"${end}": ${problem}`;
  }
  const proto = typeof obj.protocol === 'string' ? PROTOCOLS[obj.protocol.toLowerCase()] : undefined;
  if (!proto)
    return obj.protocol === undefined
      ? '"protocol" is required: TCP, UDP or SCTP'
      : `"protocol" ${JSON.stringify(obj.protocol)} is not TCP, UDP or SCTP`;
  const port = obj.port;
  if (port === undefined) return '"port" is required: an integer from 1 to 65535';
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    return `"port" ${JSON.stringify(port)} is not an integer from 1 to 65535`;
  if (obj.serverName !== undefined && (typeof obj.serverName !== 'string' || obj.serverName === ''))
    return '"serverName" must be a non-empty string (the TLS SNI or DNS name)';
  if (
    obj.count !== undefined &&
    (typeof obj.count !== 'number' || !Number.isSafeInteger(obj.count) || obj.count < 1)
  )
    return `"count" ${JSON.stringify(obj.count)} is not a positive integer`;
  for (const t of ['firstSeen', 'lastSeen'] as const) {
    const v = obj[t];
    if (v !== undefined && (typeof v !== 'string' || !isRfc3339(v)))
      return `"${t}" ${JSON.stringify(v)} is not an RFC 3339 time like 2026-11-23T10:00:00Z`;
  }
  if (
    typeof obj.firstSeen === 'string' &&
    typeof obj.lastSeen === 'string' &&
    compareRfc3339(obj.firstSeen, obj.lastSeen) > 0
  )
    return `"firstSeen" ${obj.firstSeen} is after "lastSeen" ${obj.lastSeen}`;

  return undefined;
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

/**
 * Streaming aggregation of flow records into distinct tuples keyed by src, dst, protocol, port and
 * serverName. Records are not kept: memory grows with the number of distinct tuples only.
 */
export class FlowWindow {
  readonly #tuples = new Map<string, FlowTuple>();
  #records = 0;
  #connections = 0;

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
    t.firstSeen = earlierTime(t.firstSeen, record.firstSeen ?? record.lastSeen);
    t.lastSeen = laterTime(t.lastSeen, record.lastSeen ?? record.firstSeen);
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
    // The window's range is the widest of its tuples' (each already the widest of its records'):
    // derived once here rather than compared on every record.
    let from: string | undefined;
    let to: string | undefined;
    for (const t of this.#tuples.values()) {
      from = earlierTime(from, t.firstSeen);
      to = laterTime(to, t.lastSeen);
    }
    if (from !== undefined) c.from = from;
    if (to !== undefined) c.to = to;
    return c;
  }
}
