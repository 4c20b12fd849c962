// The flow format of SPEC section 7 (JSON Lines, one connection or aggregate per line) and the
// streaming aggregation of a window of flows into distinct tuples.
import { ByteKeyIndex, type ByteKeyIndexState } from './byte-key-index.js';
import { isIp } from './cidr.js';
import type { FlowIdentity, FlowRecord } from './flow-model.js';
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

/** The digit at `i` as a value, or -1. */
function digitAt(bytes: Uint8Array, i: number): number {
  const c = bytes[i]! - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function twoDigits(bytes: Uint8Array, i: number): number {
  const a = digitAt(bytes, i);
  const b = digitAt(bytes, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

const timeScratch = new Uint8Array(64);
const utf8Encoder = new TextEncoder();

function utcShapeFields(text: string): boolean | undefined {
  if (text.length > timeScratch.length) return undefined;
  const { read, written } = utf8Encoder.encodeInto(text, timeScratch);
  // Not ASCII: not the UTC shape (the general path decides).
  if (read !== text.length || written !== text.length) return undefined;
  return utcShapeBytes(timeScratch, 0, written);
}

/**
 * Checks `YYYY-MM-DDTHH:MM:SS[.fraction]Z` in `bytes[start, end)` without a regular expression:
 * true or false when the text has that shape, undefined when it does not (other offsets, lowercase
 * separators: the general path). Works on bytes so that the flow reader's fast path can check a
 * time before (or without) making a string of it.
 */
function utcShapeBytes(bytes: Uint8Array, start: number, end: number): boolean | undefined {
  // No helper closure here: this runs twice per flow line.
  const n = end - start;
  if (n < 20 || bytes[end - 1] !== 90 /* Z */) return undefined;
  if (bytes[start + 4] !== 45 || bytes[start + 7] !== 45 || bytes[start + 10] !== 84) return undefined;
  if (bytes[start + 13] !== 58 || bytes[start + 16] !== 58) return undefined;
  if (n > 20) {
    if (bytes[start + 19] !== 46 /* . */ || n === 21) return undefined;
    for (let i = start + 20; i < end - 1; i++) if (digitAt(bytes, i) < 0) return undefined;
  }
  const y1 = twoDigits(bytes, start);
  const y2 = twoDigits(bytes, start + 2);
  const month = twoDigits(bytes, start + 5);
  const day = twoDigits(bytes, start + 8);
  const h = twoDigits(bytes, start + 11);
  const min = twoDigits(bytes, start + 14);
  const sec = twoDigits(bytes, start + 17);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0 || h < 0 || min < 0 || sec < 0) return undefined;
  return dateTimeInRange(y1 * 100 + y2, month, day, h, min, sec);
}

/**
 * Orders the UTC (`Z`) times `a[aStart, aEnd)` and `b[bStart, bEnd)` when they have the same length,
 * which then order as text; NaN when that shortcut does not apply.
 */
function compareUtcRanges(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const n = aEnd - aStart;
  if (bEnd - bStart !== n || a[aEnd - 1] !== 90 || b[bEnd - 1] !== 90) return Number.NaN;
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return 0;
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
  for (const end of ['src', 'dst'] as const) {
    const problem = identityProblem(obj, end);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * What is wrong with a record's identity fields (`srcWorkload`, `dstWorkload`, `srcLabels`,
 * `dstLabels`; SPEC section 7), if anything; `src`/`dst` must already be well formed.
 */
export function flowIdentityProblem(obj: Record<string, unknown>): string | undefined {
  return identityProblem(obj, 'src') ?? identityProblem(obj, 'dst');
}

/** What is wrong with the identity fields of one end (`srcWorkload`, `srcLabels`), if anything. */
function identityProblem(obj: Record<string, unknown>, end: 'src' | 'dst'): string | undefined {
  // Runs for the first line of every tuple: fixed property names, no string built unless wrong.
  const workload = end === 'src' ? obj.srcWorkload : obj.dstWorkload;
  const labels = end === 'src' ? obj.srcLabels : obj.dstLabels;
  if (workload === undefined && labels === undefined) return undefined;
  const ref = obj[end] as string;
  const slash = ref.indexOf('/');
  if (slash < 0)
    return `"${end}Workload"/"${end}Labels" describe a pod: "${end}" must then be "<namespace>/<pod>", not an address`;
  if (workload !== undefined) {
    // "<namespace>/<workload>": the ref's namespace and slash, then a name without a slash.
    if (
      typeof workload !== 'string' ||
      workload.length === slash + 1 ||
      workload.charCodeAt(slash) !== 47 ||
      !ref.startsWith(workload.slice(0, slash)) ||
      workload.indexOf('/', slash + 1) >= 0
    )
      return `"${end}Workload" ${JSON.stringify(workload)} is not "${ref.slice(0, slash)}/<workload>" (the workload of ${ref}, in its namespace)`;
  }
  if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
      return `"${end}Labels" must be an object of label strings, like {"app": "web"}`;
    const keys = Object.keys(labels);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === '' || typeof (labels as Record<string, unknown>)[k] !== 'string')
        return `"${end}Labels" ${JSON.stringify(k)}: labels are non-empty keys with string values`;
    }
  }
  return undefined;
}

/**
 * One distinct (src, dst, protocol, port, serverName, and the ends' recorded identity) of a
 * window, with what was aggregated into it.
 */
export interface FlowTuple extends FlowIdentity {
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
  /**
   * Lines of the flow file that did not become a record, by why (`reply packet`, `destination
   * report of a connection its source also reports`, …); blank lines and comments are not counted.
   */
  skipped: Record<string, number>;
}

/** The total of a `skipped` count by reason. */
export function skippedLineCount(skipped: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const count of Object.values(skipped)) n += count;
  return n;
}

/**
 * `skipped 6 lines: 2 × reply packet, 4 × TCP packet after the connection opened` (most frequent
 * reason first), or undefined when nothing was skipped: what a reader prints so that no line of a
 * flow file disappears without a word.
 */
export function describeSkippedLines(skipped: Readonly<Record<string, number>>): string | undefined {
  const total = skippedLineCount(skipped);
  if (total === 0) return undefined;
  const reasons = Object.entries(skipped)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, n]) => `${n} × ${reason}`);
  return `skipped ${total} line${total === 1 ? '' : 's'}: ${reasons.join(', ')}`;
}

/**
 * The identity of a record's tuple as the JSON text a canonical line starts with (see
 * `scanCanonicalFlowTail`): `{"src":"shop/web-1","dst":"10.0.0.5","protocol":"TCP","port":443` plus
 * `,"serverName":"…"` when there is one. JSON text is unambiguous, and for a canonical line it is
 * byte for byte the line's own prefix, so the fast path can look tuples up without building a record.
 */
export function flowTupleKey(record: FlowTupleIdentity): string {
  let key = `{"src":${JSON.stringify(record.src)},"dst":${JSON.stringify(record.dst)},"protocol":"${record.protocol}","port":${record.port}`;
  if (record.serverName !== undefined) key += `,"serverName":${JSON.stringify(record.serverName)}`;
  if (record.srcWorkload !== undefined) key += `,"srcWorkload":${JSON.stringify(record.srcWorkload)}`;
  if (record.dstWorkload !== undefined) key += `,"dstWorkload":${JSON.stringify(record.dstWorkload)}`;
  if (record.srcLabels !== undefined) key += `,"srcLabels":${sortedLabelsJson(record.srcLabels)}`;
  if (record.dstLabels !== undefined) key += `,"dstLabels":${sortedLabelsJson(record.dstLabels)}`;
  return key;
}

function sortedLabelsJson(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    text += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(labels[k])}`;
  }
  return `${text}}`;
}

/**
 * `flowTupleKey` as UTF-8 in a buffer reused from record to record (no array per record): what a
 * `ByteKeyIndex` of tuples is looked up and filled with.
 */
export class TupleKeyBytes {
  bytes = new Uint8Array(256);

  /** Encodes the key of `record` at the start of `bytes` and returns its length. */
  encode(record: FlowTupleIdentity): number {
    const key = flowTupleKey(record);
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (3 * key.length > this.bytes.length) this.bytes = new Uint8Array(3 * key.length);
    return utf8Encoder.encodeInto(key, this.bytes).written;
  }
}

/**
 * A flow record as one line of the flow format in its canonical shape (SPEC section 7's field
 * order, identity fields after `serverName`, labels sorted, no whitespace): what nyx's own writers
 * emit, and what the reader's fast path takes without parsing.
 */
export function formatFlowLine(record: FlowRecord): string {
  let line = flowTupleKey(record);
  if (record.count !== undefined) line += `,"count":${record.count}`;
  if (record.firstSeen !== undefined) line += `,"firstSeen":${JSON.stringify(record.firstSeen)}`;
  if (record.lastSeen !== undefined) line += `,"lastSeen":${JSON.stringify(record.lastSeen)}`;
  return `${line}}`;
}

/** Where `scanCanonicalFlowTail` found the fields of a line: byte offsets, -1 when absent. */
export interface CanonicalFlowLine {
  /** End of the tuple key (after `port`, or after the last of `serverName` and the identity fields present). */
  keyEnd: number;
  /** `count`, 1 when absent. */
  count: number;
  firstSeenStart: number;
  firstSeenEnd: number;
  lastSeenStart: number;
  lastSeenEnd: number;
}

/** A `CanonicalFlowLine` to scan into (reused line after line: no object per line). */
export function emptyCanonicalFlowLine(): CanonicalFlowLine {
  return { keyEnd: 0, count: 1, firstSeenStart: -1, firstSeenEnd: -1, lastSeenStart: -1, lastSeenEnd: -1 };
}

const utf8 = new TextDecoder();
const bytesOf = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const COUNT = bytesOf(',"count":');
const FIRST_SEEN = bytesOf(',"firstSeen":"');
const LAST_SEEN = bytesOf(',"lastSeen":"');

/** The offset after `literal` when `bytes` has it at `at`, else -1. */
function after(bytes: Uint8Array, at: number, end: number, literal: Uint8Array): number {
  if (at < 0 || at + literal.length > end) return -1;
  for (let i = 0; i < literal.length; i++) if (bytes[at + i] !== literal[i]) return -1;
  return at + literal.length;
}

/** The offset after a run of 1 to `max` digits without a leading zero at `at`, else -1. */
function digitsEnd(bytes: Uint8Array, at: number, end: number, max: number): number {
  let i = at;
  while (i < end && i - at <= max && bytes[i]! >= 48 && bytes[i]! <= 57) i++;
  const n = i - at;
  return n === 0 || n > max || (bytes[at] === 48 && n > 1) ? -1 : i;
}

function digitsValue(bytes: Uint8Array, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + bytes[i]! - 48;
  return v;
}

/**
 * The start of a time field `literal` + `"<time>"` that ends just before `at` (the offset of its
 * closing quote is `at - 1`), with the time's bounds in `out`; -1 when the bytes before `at` are not
 * that field. The time's bytes are not checked here: the caller accepts them only in the UTC shape
 * (`utcShapeBytes`), which admits digits and `-T:.Z` alone (no quote, so the quote found is the
 * nearest), and the string then means exactly its bytes in JSON.
 */
function timeFieldBefore(
  bytes: Uint8Array,
  start: number,
  at: number,
  literal: Uint8Array,
  out: { from: number; to: number },
): number {
  const close = at - 1;
  if (close <= start || bytes[close] !== 34) return -1;
  // A UTC time in milliseconds (24 bytes, as `Date.prototype.toISOString` writes it) or in whole
  // seconds (20) is looked for first, else the opening quote is scanned for. Either finds a quote
  // whose field the caller checks; a time with a quote inside (found by the first way) fails the
  // UTC shape, which admits no quote.
  let open = close - 25;
  if (open <= start || bytes[open] !== 34) {
    open = close - 21;
    if (open <= start || bytes[open] !== 34) {
      open = close - 1;
      while (open > start && bytes[open] !== 34) open--;
      if (bytes[open] !== 34) return -1;
    }
  }
  const fieldStart = open + 1 - literal.length;
  if (fieldStart <= start || after(bytes, fieldStart, at, literal) !== open + 1) return -1;
  out.from = open + 1;
  out.to = close;
  return fieldStart;
}

const timeBounds = { from: 0, to: 0 };

/**
 * The fast path's scan of a line whose tuple the caller may already know: where the tuple key ends,
 * found from the line's end, and the values after it (`count`, `firstSeen`, `lastSeen`, in the
 * canonical shape: integers without sign, fraction or leading zero, times as plain strings, and
 * checked as `parseFlowLine` checks them: UTC times by their bytes, first not after last).
 * The key's own bytes are not looked at: a caller that finds `bytes[start, keyEnd)` among the
 * canonical keys of tuples already accepted (by the full parser, or by `FlowWindow.addCanonicalLine`
 * reading a first line's key, which checks its fields the same way) has thereby checked them, and the line is then
 * that key followed by a canonical tail, which is a line in the canonical shape. Any other line may
 * get a `keyEnd` here, but its key is then no known key. Returns false when the tail is not in the
 * canonical shape.
 */
export function scanCanonicalFlowTail(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: CanonicalFlowLine,
): boolean {
  if (end - start > MAX_FLOW_LINE_BYTES || end - start < 2 || bytes[end - 1] !== 125) return false;
  let i = end - 1;
  out.firstSeenStart = -1;
  out.firstSeenEnd = -1;
  out.lastSeenStart = -1;
  out.lastSeenEnd = -1;
  out.count = 1;
  // `,"lastSeen":"…"`, else a lone `,"firstSeen":"…"`, then `,"firstSeen":"…"` before a lastSeen.
  let field = timeFieldBefore(bytes, start, i, LAST_SEEN, timeBounds);
  if (field >= 0) {
    out.lastSeenStart = timeBounds.from;
    out.lastSeenEnd = timeBounds.to;
    i = field;
  }
  field = timeFieldBefore(bytes, start, i, FIRST_SEEN, timeBounds);
  if (field >= 0) {
    out.firstSeenStart = timeBounds.from;
    out.firstSeenEnd = timeBounds.to;
    i = field;
  }
  // `,"count":<digits>` before the times.
  let digits = i;
  while (digits > start && i - digits < 16 && bytes[digits - 1]! >= 48 && bytes[digits - 1]! <= 57) digits--;
  if (digits < i) {
    const fieldStart = digits - COUNT.length;
    if (fieldStart > start && after(bytes, fieldStart, i, COUNT) === digits) {
      if (digitsEnd(bytes, digits, i, 15) !== i) return false;
      out.count = digitsValue(bytes, digits, i);
      if (out.count === 0) return false; // the parser reports it
      i = fieldStart;
    }
  }
  out.keyEnd = i;
  const { firstSeenStart: fs, firstSeenEnd: fe, lastSeenStart: ls, lastSeenEnd: le } = out;
  if (fs >= 0 && utcShapeBytes(bytes, fs, fe) !== true) return false;
  if (ls >= 0 && utcShapeBytes(bytes, ls, le) !== true) return false;
  return !(fs >= 0 && ls >= 0 && !(compareUtcRanges(bytes, fs, fe, bytes, ls, le) <= 0));
}

const KEY_SRC = bytesOf('{"src":"');
const KEY_DST = bytesOf('","dst":"');
const KEY_PROTOCOL = bytesOf('","protocol":"');
const KEY_PORT = bytesOf('","port":');
const KEY_SERVER_NAME = bytesOf(',"serverName":"');
const KEY_SRC_WORKLOAD = bytesOf(',"srcWorkload":"');
const KEY_DST_WORKLOAD = bytesOf(',"dstWorkload":"');
const KEY_SRC_LABELS = bytesOf(',"srcLabels":{');
const KEY_DST_LABELS = bytesOf(',"dstLabels":{');
const PROTOCOL_BYTES: ReadonlyArray<readonly [Uint8Array, Protocol]> = [
  [bytesOf('TCP'), 'TCP'],
  [bytesOf('UDP'), 'UDP'],
  [bytesOf('SCTP'), 'SCTP'],
];

/** The closing quote of a plain string's bytes from `at` (printable ASCII, no quote or backslash), else -1. */
function plainEnd(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const c = bytes[i]!;
    if (c === 34) return i;
    if (c < 0x20 || c > 0x7e || c === 92) return -1;
  }
  return -1;
}

/** Where a read of key bytes is. */
const keyCursor = { at: 0 };

// A plain `Uint8Array` over the last buffer decoded from: the reader's chunks are Node Buffers,
// whose `subarray` makes a Buffer object through its species constructor, several times the cost.
let decodedFrom: Uint8Array | undefined;
let decodeView: Uint8Array = new Uint8Array(0);

/** The text of `bytes[from, to)` (UTF-8; the callers' bytes are ASCII). */
function textOf(bytes: Uint8Array, from: number, to: number): string {
  if (bytes !== decodedFrom) {
    decodedFrom = bytes;
    decodeView = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return utf8.decode(decodeView.subarray(from, to));
}

/**
 * A plain string after `literal` (which ends with its opening quote), the cursor moved past it
 * (past its closing quote when `closing`, else onto it: the next literal starts with it).
 */
function plainAfter(
  bytes: Uint8Array,
  end: number,
  literal: Uint8Array,
  closing: boolean,
  reading: KeyReading,
): string | undefined {
  const from = after(bytes, keyCursor.at, end, literal);
  if (from < 0) return undefined;
  const close = plainEnd(bytes, from, end);
  if (close < 0) return undefined;
  keyCursor.at = closing ? close + 1 : close;
  return reading.strings.get(bytes, from, close);
}

/** Labels `"k":"v",…}` after `literal` (ending in the brace): plain strings, keys strictly ascending. */
function labelsAfter(
  bytes: Uint8Array,
  end: number,
  literal: Uint8Array,
  reading: KeyReading,
): Readonly<Record<string, string>> | undefined {
  const open = after(bytes, keyCursor.at, end, literal);
  if (open < 0) return undefined;
  const close = labelsEnd(bytes, open, end);
  if (close < 0) return undefined;
  const labels = reading.labels.get(bytes, open, close);
  if (labels === NOT_LABELS) return undefined;
  keyCursor.at = close;
  return labels;
}

/** Values made once per distinct byte string, and found again by those bytes. */
class ByteInterner<T> {
  readonly #index = new ByteKeyIndex();
  readonly #values: T[] = [];

  constructor(private readonly make: (bytes: Uint8Array, from: number, to: number) => T) {}

  get(bytes: Uint8Array, from: number, to: number): T {
    let id = this.#index.find(bytes, from, to);
    if (id < 0) {
      id = this.#index.insert(bytes, from, to);
      this.#values[id] = this.make(bytes, from, to);
    }
    return this.#values[id]!;
  }
}

/**
 * What the first lines of a window's tuples read from their key bytes, kept by those bytes: strings
 * (pod, workload and server names recur across tuples) and label sets (a window has few), each
 * decoded once and shared by the tuples that name it. The same bytes read the same, so a lookup in
 * a small table that stays in cache replaces a decode per field (a native call and a new string).
 */
class KeyReading {
  readonly strings = new ByteInterner(textOf);
  /** A text that is not labels in the strict shape is kept too (as `NOT_LABELS`): refused again. */
  readonly labels = new ByteInterner(
    (bytes, from, to): Readonly<Record<string, string>> => labelsIn(bytes, from, to) ?? NOT_LABELS,
  );
}

/** What `labelsAfter` keeps for a text that is not labels in the strict shape. */
const NOT_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The labels of `labelsEnd`'s span from `at`, when keys strictly ascend and none is `__proto__`. */
function labelsIn(bytes: Uint8Array, at: number, end: number): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let previous: string | undefined;
  while (bytes[at] !== 125) {
    // `labelsEnd` checked the shape: `"k":"v"` entries of plain strings, separated by commas.
    const keyEnd = plainEnd(bytes, at + 1, end);
    const valueEnd = plainEnd(bytes, keyEnd + 3, end);
    const key = textOf(bytes, at + 1, keyEnd);
    // In the order `sortedLabelsJson` writes (a repeated key is one label to JSON.parse), and never
    // `__proto__`, which would set the prototype here rather than a label.
    if ((previous !== undefined && !(previous < key)) || key === '__proto__') return undefined;
    labels[key] = textOf(bytes, keyEnd + 3, valueEnd);
    previous = key;
    at = bytes[valueEnd + 1] === 44 ? valueEnd + 2 : valueEnd + 1;
  }
  return labels;
}

/** The end (after the closing brace) of labels `"k":"v",…}` of plain strings from `at`, else -1. */
function labelsEnd(bytes: Uint8Array, at: number, end: number): number {
  if (bytes[at] === 125) return at + 1;
  for (;;) {
    if (bytes[at] !== 34) return -1;
    const keyEnd = plainEnd(bytes, at + 1, end);
    if (keyEnd < 0 || bytes[keyEnd + 1] !== 58 || bytes[keyEnd + 2] !== 34) return -1;
    const valueEnd = plainEnd(bytes, keyEnd + 3, end);
    if (valueEnd < 0) return -1;
    at = valueEnd + 1;
    if (bytes[at] === 125) return at + 1;
    if (bytes[at] !== 44) return -1;
    at += 1;
  }
}

/** The field a key continues with after `at` (`,"<name>`): its name's third and sixth characters. */
function nextField(bytes: Uint8Array, at: number, end: number, third: number, sixth: number): boolean {
  return at + 6 < end && bytes[at + 2] === third && bytes[at + 5] === sixth;
}

/**
 * The tuple identity whose `flowTupleKey` is exactly `bytes[start, end)`, read from the bytes when
 * the key is in the strict shape that function writes, with plain strings only (printable ASCII
 * without quote or backslash: a JSON string that is its bytes): its fields in its order, a port
 * without leading zero, labels in key order. Undefined for anything else, which the parser reads.
 * Nothing is checked beyond the shape (`addCanonicalLine` checks the fields as the parser does).
 */
function canonicalKeyIdentity(
  bytes: Uint8Array,
  start: number,
  end: number,
  reading: KeyReading,
): FlowTupleIdentity | undefined {
  keyCursor.at = start;
  const src = plainAfter(bytes, end, KEY_SRC, false, reading);
  if (src === undefined) return undefined;
  const dst = plainAfter(bytes, end, KEY_DST, false, reading);
  if (dst === undefined) return undefined;
  const protocolAt = after(bytes, keyCursor.at, end, KEY_PROTOCOL);
  if (protocolAt < 0) return undefined;
  let protocol: Protocol | undefined;
  let portAt = -1;
  for (const [text, name] of PROTOCOL_BYTES) {
    if (after(bytes, protocolAt, end, text) >= 0) {
      protocol = name;
      portAt = after(bytes, protocolAt + text.length, end, KEY_PORT);
      break;
    }
  }
  if (protocol === undefined || portAt < 0) return undefined;
  const portEnd = digitsEnd(bytes, portAt, end, 5);
  if (portEnd < 0) return undefined;
  const identity: FlowTupleIdentity = { src, dst, protocol, port: digitsValue(bytes, portAt, portEnd) };
  keyCursor.at = portEnd;
  // Optional fields, in `flowTupleKey`'s order; told apart by two characters of their names.
  if (nextField(bytes, keyCursor.at, end, 115 /* s */, 118 /* v */)) {
    const serverName = plainAfter(bytes, end, KEY_SERVER_NAME, true, reading);
    if (serverName === undefined) return undefined;
    identity.serverName = serverName;
  }
  if (nextField(bytes, keyCursor.at, end, 115 /* s */, 87 /* W */)) {
    const workload = plainAfter(bytes, end, KEY_SRC_WORKLOAD, true, reading);
    if (workload === undefined) return undefined;
    identity.srcWorkload = workload;
  }
  if (nextField(bytes, keyCursor.at, end, 100 /* d */, 87 /* W */)) {
    const workload = plainAfter(bytes, end, KEY_DST_WORKLOAD, true, reading);
    if (workload === undefined) return undefined;
    identity.dstWorkload = workload;
  }
  if (nextField(bytes, keyCursor.at, end, 115 /* s */, 76 /* L */)) {
    const labels = labelsAfter(bytes, end, KEY_SRC_LABELS, reading);
    if (labels === undefined) return undefined;
    identity.srcLabels = labels;
  }
  if (nextField(bytes, keyCursor.at, end, 100 /* d */, 76 /* L */)) {
    const labels = labelsAfter(bytes, end, KEY_DST_LABELS, reading);
    if (labels === undefined) return undefined;
    identity.dstLabels = labels;
  }
  return keyCursor.at === end ? identity : undefined;
}

/** `to.set(from.subarray(start, end), at)` without the view object (this runs for most lines). */
function copyBytes(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): void {
  for (let i = start; i < end; i++) to[at++] = from[i]!;
}

/** Per-tuple aggregate kept beside its key (see `ByteKeyIndex`): count, records, first/last seen. */
const COUNT_AT = 0; // float64 index within the payload
const RECORDS_AT = 1;
const FIRST = 16; // byte offset of the first-seen time: a length byte, then up to 31 bytes
const LAST = 48;
const TIME_BYTES = 31;
const PAYLOAD_BYTES = 80;
/** Length byte of a time kept as text (not a short UTC time) in `#textTimes`. */
const AS_TEXT = 255;

type TimeSlot = typeof FIRST | typeof LAST;

/**
 * Streaming aggregation of flow records into distinct tuples keyed by src, dst, protocol, port and
 * serverName. Records are not kept: memory grows with the number of distinct tuples only.
 * The aggregates (count, records, first/last seen as UTC time bytes) live next to each tuple's key
 * in one `ByteKeyIndex` record, so that the reader's fast path touches one place per line and makes
 * no string; times that are not short UTC times are kept as text on the side.
 */
export class FlowWindow {
  #index = new ByteKeyIndex(PAYLOAD_BYTES);
  /**
   * src, dst, protocol, port, serverName of each tuple, by id: kept when a tuple is added, read
   * back from its key (which is that JSON text) when the window came from `fromState`.
   */
  readonly #identities: Array<FlowTupleIdentity | undefined> = [];
  #textTimes = new Map<number, { [FIRST]?: string; [LAST]?: string }>();
  #arena: Uint8Array = new Uint8Array(0);
  #numbers: Float64Array = new Float64Array(0);
  readonly #keyBytes = new TupleKeyBytes();
  #records = 0;
  #connections = 0;
  #skipped = new Map<string, number>();

  add(record: FlowRecord): void {
    const id = this.#idFor(record);
    this.#count(id, record.count ?? 1, 1);
    this.#widen(id, record.firstSeen ?? record.lastSeen, record.lastSeen ?? record.firstSeen);
  }

  /** Counts one line of the flow file that an importer skipped on purpose, by `reason`. */
  skip(reason: string): void {
    this.#skipped.set(reason, (this.#skipped.get(reason) ?? 0) + 1);
  }

  /**
   * The fast path for a line in the canonical shape (see `scanCanonicalFlowTail`): aggregated
   * straight from the bytes, without JSON.parse, a record object or a string when the window holds
   * its tuple. A tuple's first line is read from its bytes too when its key is in the strict shape
   * `flowTupleKey` writes with plain strings only (`canonicalKeyIdentity`) and its fields pass the
   * checks `parseFlowLine` makes; the window then holds exactly what parsing and `add` would give.
   * Returns false (and changes nothing) for any other line, which the caller then parses with
   * `parseFlowLine` and `add`s, so that every tuple's fields have been validated before a later
   * line can hit it.
   */
  addCanonicalLine(bytes: Uint8Array, start: number, end: number): boolean {
    const line = this.#scan;
    if (!scanCanonicalFlowTail(bytes, start, end, line)) return false;
    let id = this.#index.find(bytes, start, line.keyEnd);
    if (id < 0) {
      // A tuple's first line: its key read from its bytes when it is in the strict shape
      // `flowTupleKey` writes, with every field checked as `parseFlowLine` checks it; any other
      // line is left to the parser.
      const identity = canonicalKeyIdentity(bytes, start, line.keyEnd, this.#keyReading);
      // Checked as `parseFlowLine` checks a record (its count and times are the tail's, which
      // `scanCanonicalFlowTail` checked as it does).
      if (identity === undefined || flowRecordProblem(identity as unknown as Record<string, unknown>))
        return false;
      id = this.#index.insert(bytes, start, line.keyEnd);
      this.#identities[id] = identity;
    }
    const { firstSeenStart: fs, firstSeenEnd: fe, lastSeenStart: ls, lastSeenEnd: le } = line;
    this.#count(id, line.count, 1);
    // A record with one time has it as both first and last.
    if (fs >= 0 || ls >= 0) {
      this.#widenFromBytes(id, FIRST, bytes, fs >= 0 ? fs : ls, fs >= 0 ? fe : le);
      this.#widenFromBytes(id, LAST, bytes, ls >= 0 ? ls : fs, ls >= 0 ? le : fe);
    }
    return true;
  }

  readonly #scan = emptyCanonicalFlowLine();
  /** Strings and label sets read from canonical keys, shared by the tuples that name them. */
  readonly #keyReading = new KeyReading();

  #idFor(record: FlowTupleIdentity): number {
    const key = this.#keyBytes;
    const length = key.encode(record);
    let id = this.#index.find(key.bytes, 0, length);
    if (id < 0) {
      id = this.#index.insert(key.bytes, 0, length);
      this.#identities[id] = tupleIdentity(record);
    }
    return id;
  }

  /**
   * The whole window as typed arrays and plain data (see `ByteKeyIndex.state`), for a worker
   * thread to post with its buffers transferred; `FlowWindow.fromState` takes it over as is. The
   * window must not be used after its state has been transferred.
   */
  state(): FlowWindowState {
    return {
      index: this.#index.state(),
      textTimes: [...this.#textTimes].map(([id, t]) => [id, t[FIRST], t[LAST]]),
      records: this.#records,
      connections: this.#connections,
      skipped: [...this.#skipped],
    };
  }

  /**
   * `identities`: those of the first tuples, in id order, when the caller already has them (from
   * `identitiesFrom` on the other side); the others are read back from their keys when needed.
   */
  static fromState(state: FlowWindowState, identities: readonly FlowTupleIdentity[] = []): FlowWindow {
    const window = new FlowWindow();
    window.#identities.push(...identities.slice(0, state.index.size));
    window.#index = ByteKeyIndex.fromState(state.index);
    window.#textTimes = new Map(
      state.textTimes.map(([id, first, last]) => [
        id,
        {
          ...(first !== undefined ? { [FIRST]: first } : {}),
          ...(last !== undefined ? { [LAST]: last } : {}),
        },
      ]),
    );
    window.#records = state.records;
    window.#connections = state.connections;
    window.#skipped = new Map(state.skipped);
    return window;
  }

  #identity(id: number): FlowTupleIdentity {
    let identity = this.#identities[id];
    if (identity === undefined) {
      identity = JSON.parse(`${utf8.decode(this.#index.key(id))}}`) as FlowTupleIdentity;
      this.#identities[id] = identity;
    }
    return identity;
  }

  /** The arena and its float64 view, current after any insertion. */
  #sync(): void {
    if (this.#arena !== this.#index.arena) {
      this.#arena = this.#index.arena;
      this.#numbers = new Float64Array(this.#arena.buffer);
    }
  }

  #count(id: number, count: number, records: number): void {
    this.#sync();
    const at = this.#index.payloadOffset(id) / 8;
    this.#numbers[at + COUNT_AT]! += count;
    this.#numbers[at + RECORDS_AT]! += records;
    this.#records += records;
    this.#connections += count;
  }

  /** Widens the tuple's range with a UTC time given as bytes, comparing bytes while it can. */
  #widenFromBytes(id: number, slot: TimeSlot, bytes: Uint8Array, start: number, end: number): void {
    const arena = this.#arena;
    const at = this.#index.payloadOffset(id) + slot;
    const stored = arena[at]!;
    const n = end - start;
    if (stored === 0 && n <= TIME_BYTES) {
      arena[at] = n;
      copyBytes(bytes, start, end, arena, at + 1);
      return;
    }
    if (stored === n && n <= TIME_BYTES && bytes[end - 1] === 90 && arena[at + n] === 90) {
      // Bytes kept beside the key: UTC times of one length order as their bytes. Where the first
      // differing byte says the new time is wider, the bytes from there on are copied.
      const from = at + 1 - start;
      for (let i = start; i < end; i++) {
        const d = bytes[i]! - arena[from + i]!;
        if (d === 0) continue;
        if (slot === FIRST ? d < 0 : d > 0) copyBytes(bytes, i, end, arena, from + i);
        return;
      }
      return;
    }
    this.#widenSlot(id, slot, utf8.decode(bytes.subarray(start, end)));
  }

  #widen(id: number, first: string | undefined, last: string | undefined): void {
    this.#sync();
    if (first !== undefined) this.#widenSlot(id, FIRST, first);
    if (last !== undefined) this.#widenSlot(id, LAST, last);
  }

  #widenSlot(id: number, slot: TimeSlot, time: string): void {
    const current = this.#time(id, slot);
    const widest = slot === FIRST ? earlierTime(current, time) : laterTime(current, time);
    if (widest !== current) this.#setTime(id, slot, widest!);
  }

  #time(id: number, slot: TimeSlot): string | undefined {
    const at = this.#index.payloadOffset(id) + slot;
    const n = this.#arena[at]!;
    if (n === 0) return undefined;
    if (n === AS_TEXT) return this.#textTimes.get(id)?.[slot];
    return utf8.decode(this.#arena.subarray(at + 1, at + 1 + n));
  }

  #setTime(id: number, slot: TimeSlot, time: string): void {
    const at = this.#index.payloadOffset(id) + slot;
    const utc = time.length <= TIME_BYTES && utcShapeFields(time) === true;
    if (utc) {
      this.#arena[at] = time.length;
      utf8Encoder.encodeInto(time, this.#arena.subarray(at + 1, at + 1 + TIME_BYTES));
    } else {
      this.#arena[at] = AS_TEXT;
      const texts = this.#textTimes.get(id) ?? {};
      texts[slot] = time;
      this.#textTimes.set(id, texts);
    }
  }

  /** The distinct tuples, in first-seen-by-the-window order. */
  *tuples(): IterableIterator<FlowTuple> {
    for (let id = 0; id < this.#index.size; id++) {
      const identity = this.#identity(id);
      const out: FlowTuple = {
        src: identity.src,
        dst: identity.dst,
        protocol: identity.protocol,
        port: identity.port,
        count: this.countOf(id),
        records: this.recordsOf(id),
      };
      if (identity.serverName !== undefined) out.serverName = identity.serverName;
      if (identity.srcWorkload !== undefined) out.srcWorkload = identity.srcWorkload;
      if (identity.dstWorkload !== undefined) out.dstWorkload = identity.dstWorkload;
      if (identity.srcLabels !== undefined) out.srcLabels = identity.srcLabels;
      if (identity.dstLabels !== undefined) out.dstLabels = identity.dstLabels;
      const first = this.firstSeenOf(id);
      const last = this.lastSeenOf(id);
      if (first !== undefined) out.firstSeen = first;
      if (last !== undefined) out.lastSeen = last;
      yield out;
    }
  }

  /** Connections of tuple `id` (ids count from 0 in first-seen order): the sum of its records' `count`. */
  countOf(id: number): number {
    this.#sync();
    return this.#numbers[this.#index.payloadOffset(id) / 8 + COUNT_AT]!;
  }

  /** How many records were aggregated into tuple `id`. */
  recordsOf(id: number): number {
    this.#sync();
    return this.#numbers[this.#index.payloadOffset(id) / 8 + RECORDS_AT]!;
  }

  firstSeenOf(id: number): string | undefined {
    this.#sync();
    return this.#time(id, FIRST);
  }

  lastSeenOf(id: number): string | undefined {
    this.#sync();
    return this.#time(id, LAST);
  }

  /** What identifies tuple `id` (ids count from 0 in first-seen order). */
  identityOf(id: number): FlowTupleIdentity {
    return this.#identity(id);
  }

  /**
   * What identifies the tuples with ids `from` and up (ids count from 0 in first-seen order):
   * lets a reader hand out tuples as they are discovered, before their counts are final.
   */
  identitiesFrom(from: number): FlowTupleIdentity[] {
    const out: FlowTupleIdentity[] = [];
    for (let id = from; id < this.#index.size; id++) out.push(this.#identity(id));
    return out;
  }

  get records(): number {
    return this.#records;
  }

  /** Lines skipped on purpose, by reason (see `FlowWindowCoverage.skipped`). */
  skippedByReason(): Record<string, number> {
    return Object.fromEntries(this.#skipped);
  }

  get connections(): number {
    return this.#connections;
  }

  get distinct(): number {
    return this.#index.size;
  }

  coverage(): FlowWindowCoverage {
    this.#sync();
    const c: FlowWindowCoverage = {
      records: this.#records,
      connections: this.#connections,
      distinct: this.distinct,
      skipped: Object.fromEntries(this.#skipped),
    };
    // The window's range is the widest of its tuples' (each already the widest of its records'):
    // derived once here rather than compared on every record.
    const from = this.#widest(FIRST);
    const to = this.#widest(LAST);
    if (from !== undefined) c.from = from;
    if (to !== undefined) c.to = to;
    return c;
  }

  /**
   * The earliest first-seen (`FIRST`) or latest last-seen (`LAST`) time of any tuple, as
   * `earlierTime` / `laterTime` folded over the tuples would give it: times kept as bytes are
   * compared as bytes where that orders them, and only the winner becomes a string.
   */
  #widest(slot: TimeSlot): string | undefined {
    const arena = this.#arena;
    const sign = slot === FIRST ? -1 : 1;
    let best = -1;
    let bestAt = 0;
    for (let id = 0; id < this.#index.size; id++) {
      const at = this.#index.payloadOffset(id) + slot;
      const n = arena[at]!;
      if (n === 0) continue;
      if (best >= 0) {
        const bestN = arena[bestAt]!;
        let order =
          n !== AS_TEXT && bestN !== AS_TEXT
            ? compareUtcRanges(arena, at + 1, at + 1 + n, arena, bestAt + 1, bestAt + 1 + bestN)
            : Number.NaN;
        if (Number.isNaN(order)) order = compareRfc3339(this.#time(id, slot)!, this.#time(best, slot)!);
        if (!(order * sign > 0)) continue;
      }
      best = id;
      bestAt = at;
    }
    return best >= 0 ? this.#time(best, slot) : undefined;
  }
}

/** A `FlowWindow` as data (`FlowWindow.state`). */
export interface FlowWindowState {
  index: ByteKeyIndexState;
  /** Times kept as text: [tuple id, first seen, last seen]. */
  textTimes: Array<[number, string | undefined, string | undefined]>;
  records: number;
  connections: number;
  /** Skipped lines by reason. */
  skipped: Array<[string, number]>;
}

/**
 * Tuples' identities in a compact form for posting from a reader thread: each distinct string
 * (and each distinct label set, as its JSON) is sent once over the life of the encoder, and a
 * tuple is `IDENTITY_FIELDS` numbers into that table (-1: absent). Structured cloning would send
 * every identity as an object with strings of its own; decoded, repeated ends are one string object
 * and equal label sets one object, which the receiving thread's caches look up by identity.
 */
export interface EncodedTupleIdentities {
  /** Strings first seen in this batch, continuing the table of the batches before. */
  strings: string[];
  fields: Int32Array<ArrayBuffer>;
}

/** src, dst, protocol, port, serverName, srcWorkload, dstWorkload, srcLabels, dstLabels. */
const IDENTITY_FIELDS = 9;
const PROTOCOL_CODES: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** The sending side of `EncodedTupleIdentities`. */
export class TupleIdentityEncoder {
  readonly #ids = new Map<string, number>();
  #fresh: string[] = [];

  encode(identities: readonly FlowTupleIdentity[]): EncodedTupleIdentities {
    const fields = new Int32Array(identities.length * IDENTITY_FIELDS);
    let at = 0;
    for (const t of identities) {
      fields[at++] = this.#id(t.src);
      fields[at++] = this.#id(t.dst);
      fields[at++] = PROTOCOL_CODES.indexOf(t.protocol);
      fields[at++] = t.port;
      fields[at++] = t.serverName === undefined ? -1 : this.#id(t.serverName);
      fields[at++] = t.srcWorkload === undefined ? -1 : this.#id(t.srcWorkload);
      fields[at++] = t.dstWorkload === undefined ? -1 : this.#id(t.dstWorkload);
      fields[at++] = t.srcLabels === undefined ? -1 : this.#labelsId(t.srcLabels);
      fields[at++] = t.dstLabels === undefined ? -1 : this.#labelsId(t.dstLabels);
    }
    return { strings: this.#fresh.splice(0), fields };
  }

  /** Label sets by object first: a window's tuples share one object per set they were read with. */
  readonly #labelIds = new Map<Readonly<Record<string, string>>, number>();

  #labelsId(labels: Readonly<Record<string, string>>): number {
    let id = this.#labelIds.get(labels);
    if (id === undefined) {
      id = this.#id(JSON.stringify(labels));
      this.#labelIds.set(labels, id);
    }
    return id;
  }

  #id(text: string): number {
    let id = this.#ids.get(text);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(text, id);
      this.#fresh.push(text);
    }
    return id;
  }
}

/** The receiving side of `EncodedTupleIdentities`: batches decoded in the order they were encoded. */
export class TupleIdentityDecoder {
  readonly #strings: string[] = [];
  readonly #labels = new Map<number, Readonly<Record<string, string>>>();

  decode(batch: EncodedTupleIdentities): FlowTupleIdentity[] {
    for (const text of batch.strings) this.#strings.push(text);
    const { fields } = batch;
    const out: FlowTupleIdentity[] = [];
    for (let at = 0; at < fields.length; at += IDENTITY_FIELDS) {
      const identity: FlowTupleIdentity = {
        src: this.#strings[fields[at]!]!,
        dst: this.#strings[fields[at + 1]!]!,
        protocol: PROTOCOL_CODES[fields[at + 2]!]!,
        port: fields[at + 3]!,
      };
      const serverName = fields[at + 4]!;
      if (serverName >= 0) identity.serverName = this.#strings[serverName]!;
      const srcWorkload = fields[at + 5]!;
      if (srcWorkload >= 0) identity.srcWorkload = this.#strings[srcWorkload]!;
      const dstWorkload = fields[at + 6]!;
      if (dstWorkload >= 0) identity.dstWorkload = this.#strings[dstWorkload]!;
      const srcLabels = fields[at + 7]!;
      if (srcLabels >= 0) identity.srcLabels = this.#labelsOf(srcLabels);
      const dstLabels = fields[at + 8]!;
      if (dstLabels >= 0) identity.dstLabels = this.#labelsOf(dstLabels);
      out.push(identity);
    }
    return out;
  }

  #labelsOf(id: number): Readonly<Record<string, string>> {
    let labels = this.#labels.get(id);
    if (!labels) {
      labels = JSON.parse(this.#strings[id]!) as Record<string, string>;
      this.#labels.set(id, labels);
    }
    return labels;
  }
}

/** What identifies a record's tuple, copied out of the record (labels included). */
export function tupleIdentity(record: FlowTupleIdentity): FlowTupleIdentity {
  const identity: FlowTupleIdentity = {
    src: record.src,
    dst: record.dst,
    protocol: record.protocol,
    port: record.port,
  };
  if (record.serverName !== undefined) identity.serverName = record.serverName;
  if (record.srcWorkload !== undefined) identity.srcWorkload = record.srcWorkload;
  if (record.dstWorkload !== undefined) identity.dstWorkload = record.dstWorkload;
  if (record.srcLabels !== undefined) identity.srcLabels = { ...record.srcLabels };
  if (record.dstLabels !== undefined) identity.dstLabels = { ...record.dstLabels };
  return identity;
}

/** What identifies a tuple (its verdicts depend on nothing else): the ends, service and recorded identities. */
export type FlowTupleIdentity = Pick<
  FlowTuple,
  | 'src'
  | 'dst'
  | 'protocol'
  | 'port'
  | 'serverName'
  | 'srcWorkload'
  | 'dstWorkload'
  | 'srcLabels'
  | 'dstLabels'
>;
