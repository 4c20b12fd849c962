// A fast path for the YAML loader: the plain block style that policy files are written in (block
// mappings and sequences, one-line scalars, one-line flow collections of scalars, comments, `---`).
// It gives exactly what the `yaml` package would (the value and the JSON pointer → line map), and
// whenever a file holds anything else, or anything it is not sure of, it gives up and the caller
// runs the full `yaml` path. It never reports an error itself: every error, every limit and every
// unusual construct (anchors, aliases, tags, block scalars, multi-line scalars, escapes, merge keys,
// duplicate keys, tabs, CRLF, …) is left to the full path, so diagnostics have one source.
//
// Plain scalars are resolved with the `yaml` package's own core schema tags (the ones its composer
// uses), so `true`, `0x1f`, `1e3`, `~` and `.inf` mean here what they mean there.
import { Document, isScalar, type ScalarTag } from 'yaml';
import { escapePointer as escapeAny } from './selector.js';
import type { YamlDocument } from './yaml.js';
import { COMPOSE_OPTIONS } from './yaml-package.js';

const SCHEMA_DOCUMENT = new Document(null, COMPOSE_OPTIONS);
const SCALAR_TAGS = SCHEMA_DOCUMENT.schema.tags.filter(
  (tag): tag is ScalarTag => 'test' in tag && tag.test instanceof RegExp,
);
const VALUE_TAGS = SCALAR_TAGS.filter((tag) => tag.default === true);
const KEY_TAGS = SCALAR_TAGS.filter((tag) => tag.default === true || tag.default === 'key');

/** Most keys need no escaping; skip the two replacements for those. */
function escapePointer(key: string): string {
  return key.includes('~') || key.includes('/') ? escapeAny(key) : key;
}

/** Thrown (and caught in `parseSimpleYaml`) when the input leaves the subset this parser handles. */
class NotSimple {}
const NOT_SIMPLE = new NotSimple();

/** Deeper documents go the full way whatever the caller's limit. */
const MAX_SIMPLE_DEPTH = 200;

/** The longest implicit key the `yaml` package accepts is 1024 characters; stay well clear of it. */
const MAX_KEY_CHARS = 1000;

/**
 * The documents of `content`, or `undefined` when the content is outside the simple subset (the
 * caller then parses it with the `yaml` package). Empty documents are skipped, as the full path does.
 * `maxDepth` and `maxDocuments` are the caller's limits: input anywhere near them is left to the
 * full path, which reports them.
 */
export function parseSimpleYaml(
  content: string,
  maxDepth: number,
  maxDocuments: number,
): YamlDocument[] | undefined {
  if (!hasOnlySimpleCharacters(content)) return undefined;
  try {
    return new SimpleParser(content, maxDepth, maxDocuments).documents();
  } catch (e) {
    if (e === NOT_SIMPLE) return undefined;
    throw e;
  }
}

/** Printable characters and `\n` only: no tabs, no `\r`, no BOM, no surrogates, no line separators. */
function hasOnlySimpleCharacters(content: string): boolean {
  for (let i = 0; i < content.length; i++) {
    const c = content.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) continue;
    if (c === 10) continue;
    if (c < 0xa0 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfeff || c === 0x2028 || c === 0x2029) {
      return false;
    }
    if (c > 0xfffd) return false;
  }
  return true;
}

const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const COMMA = 44;

/** Characters a plain key may hold (Kubernetes keys: `app.kubernetes.io/name`, `matchLabels`, …). */
function isPlainKeyChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 46 || // .
    c === 47 || // /
    c === DASH
  );
}

/** Indicator characters that may not start a plain scalar here (`-` is checked separately). */
const NOT_PLAIN_START = new Set([...'?:,[]{}#&*!|>\'"%@`'].map((ch) => ch.charCodeAt(0)));
/** Characters this parser does not accept inside a plain scalar in block context. */
const NOT_IN_BLOCK_PLAIN = new Set([...'[]{}#'].map((ch) => ch.charCodeAt(0)));
/** Characters this parser does not accept inside a plain scalar in a flow collection. */
const NOT_IN_FLOW_PLAIN = new Set([...'[]{},:#\'"'].map((ch) => ch.charCodeAt(0)));

class SimpleParser {
  /** Per content line (blank and comment-only lines left out): offsets, indentation and 1-based number. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly indents: number[] = [];
  private readonly numbers: number[] = [];
  /** Index of the first content line of each document, and one past the last line. */
  private readonly documentStarts: number[] = [0];
  private index = 0;
  private end = 0;
  private lines: Record<string, number> = {};

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    maxDocuments: number,
  ) {
    let lineNumber = 0;
    for (let start = 0; start <= text.length; ) {
      let eol = text.indexOf('\n', start);
      if (eol < 0) eol = text.length;
      lineNumber++;
      let p = start;
      while (p < eol && text.charCodeAt(p) === SPACE) p++;
      let lineEnd = eol;
      while (lineEnd > p && text.charCodeAt(lineEnd - 1) === SPACE) lineEnd--;
      if (p < lineEnd && text.charCodeAt(p) !== HASH) {
        if (p === start && this.isDocumentMarkerLine(start, lineEnd)) {
          this.documentStarts.push(this.starts.length);
        } else {
          this.starts.push(start);
          this.ends.push(lineEnd);
          this.indents.push(p - start);
          this.numbers.push(lineNumber);
        }
      }
      start = eol + 1;
    }
    this.documentStarts.push(this.starts.length);
    // Every `---` may open a document; the full path counts (and limits) them.
    if (this.documentStarts.length - 1 > maxDocuments) throw NOT_SIMPLE;
  }

  /** `---` alone (or with a comment) opens a document; `...`, `--- value` and directives are not simple. */
  private isDocumentMarkerLine(start: number, lineEnd: number): boolean {
    const t = this.text;
    const first = t.charCodeAt(start);
    if (first === 37 /* % */) throw NOT_SIMPLE;
    const three = t.startsWith('---', start) ? 1 : t.startsWith('...', start) ? 2 : 0;
    if (three === 0) return false;
    if (start + 3 === lineEnd) {
      if (three === 2) throw NOT_SIMPLE;
      return true;
    }
    const after = t.charCodeAt(start + 3);
    if (after !== SPACE) return false; // `---x` is a plain scalar (and then not a key: not simple)
    throw NOT_SIMPLE;
  }

  documents(): YamlDocument[] {
    const out: YamlDocument[] = [];
    for (let d = 0; d + 1 < this.documentStarts.length; d++) {
      this.index = this.documentStarts[d]!;
      this.end = this.documentStarts[d + 1]!;
      if (this.index === this.end) continue;
      // Only a block mapping at the top (a manifest); anything else goes the full way.
      const indent = this.indents[this.index]!;
      if (this.isSequenceLine(this.index)) throw NOT_SIMPLE;
      this.lines = {};
      const line = this.numbers[this.index]!;
      const value = this.blockMap(indent, '', line, 1);
      if (this.index !== this.end) throw NOT_SIMPLE;
      out.push({ value, line, lines: this.lines });
    }
    return out;
  }

  private isSequenceLine(i: number): boolean {
    const p = this.starts[i]! + this.indents[i]!;
    if (this.text.charCodeAt(p) !== DASH) return false;
    return p + 1 === this.ends[i] || this.text.charCodeAt(p + 1) === SPACE;
  }

  private checkDepth(depth: number): void {
    // The full path counts nesting on its syntax tree; leave anything near the limit to it (and
    // anything deeper than any manifest, whatever the limit, so recursion here stays shallow).
    if (depth + 2 > this.maxDepth || depth > MAX_SIMPLE_DEPTH) throw NOT_SIMPLE;
  }

  /**
   * A block mapping whose keys sit at column `indent`, starting at the current line. When
   * `startsInItem`, the current line is a sequence item `- key: …` whose key sits at that column.
   */
  private blockMap(
    indent: number,
    pointer: string,
    line: number,
    depth: number,
    startsInItem = false,
  ): Record<string, unknown> {
    this.checkDepth(depth);
    this.lines[pointer] = line;
    const map: Record<string, unknown> = {};
    const t = this.text;
    let inItem = startsInItem;
    while (this.index < this.end) {
      const i = this.index;
      if (!inItem) {
        const lineIndent = this.indents[i]!;
        if (lineIndent < indent) break;
        if (lineIndent > indent) throw NOT_SIMPLE;
        if (this.isSequenceLine(i)) throw NOT_SIMPLE; // `- x` among keys
      }
      inItem = false;
      const keyLine = this.numbers[i]!;
      const from = this.starts[i]! + indent;
      const lineEnd = this.ends[i]!;
      const [key, afterKey] = this.key(from, lineEnd);
      if (key === '__proto__' || Object.hasOwn(map, key)) throw NOT_SIMPLE;
      const childPointer = `${pointer}/${escapePointer(key)}`;
      let p = afterKey;
      while (p < lineEnd && t.charCodeAt(p) === SPACE) p++;
      if (p < lineEnd && t.charCodeAt(p) !== HASH) {
        this.lines[childPointer] = keyLine;
        map[key] = this.inlineValue(p, lineEnd, childPointer, keyLine, depth);
        this.index++;
        continue;
      }
      // Nothing after `key:`: a nested block on the following lines, or null.
      this.index++;
      map[key] = this.nestedBlock(indent, true, childPointer, keyLine, depth);
    }
    return map;
  }

  /**
   * The value after a `key:` (or a `-`) with nothing else on its line, where the parent sits at column
   * `parentIndent`. A block sequence may sit at the key's own column (`key:\n- a`).
   */
  private nestedBlock(
    parentIndent: number,
    parentIsMap: boolean,
    pointer: string,
    line: number,
    depth: number,
  ): unknown {
    const i = this.index;
    if (i >= this.end) return this.nullValue(parentIsMap, pointer, line);
    const indent = this.indents[i]!;
    const isSeq = this.isSequenceLine(i);
    if (indent > parentIndent || (parentIsMap && indent === parentIndent && isSeq)) {
      // A nested node's own line is that of its first token; a key maps to the key's line.
      const nodeLine = this.numbers[i]!;
      const at = parentIsMap ? line : nodeLine;
      if (isSeq) return this.blockSeq(indent, pointer, at, depth + 1);
      return this.blockMap(indent, pointer, at, depth + 1);
    }
    return this.nullValue(parentIsMap, pointer, line);
  }

  private nullValue(parentIsMap: boolean, pointer: string, line: number): null {
    // An empty sequence item: its position in the full path is not worth reproducing.
    if (!parentIsMap) throw NOT_SIMPLE;
    this.lines[pointer] = line;
    return null;
  }

  /** A block sequence whose `-` sit at column `indent`, starting at the current line. */
  private blockSeq(indent: number, pointer: string, line: number, depth: number): unknown[] {
    this.checkDepth(depth);
    this.lines[pointer] = line;
    const seq: unknown[] = [];
    const t = this.text;
    while (this.index < this.end) {
      const i = this.index;
      const lineIndent = this.indents[i]!;
      if (lineIndent < indent) break;
      if (lineIndent > indent) throw NOT_SIMPLE;
      if (!this.isSequenceLine(i)) break; // a key of the mapping this sequence is the value of
      const itemPointer = `${pointer}/${seq.length}`;
      const itemLine = this.numbers[i]!;
      const lineEnd = this.ends[i]!;
      let p = this.starts[i]! + indent + 1;
      while (p < lineEnd && t.charCodeAt(p) === SPACE) p++;
      if (p >= lineEnd || t.charCodeAt(p) === HASH) {
        this.index++;
        seq.push(this.nestedBlock(indent, false, itemPointer, itemLine, depth));
        continue;
      }
      const c = t.charCodeAt(p);
      if (c === DASH && (p + 1 === lineEnd || t.charCodeAt(p + 1) === SPACE)) throw NOT_SIMPLE; // `- - x`
      if (this.startsCompactMap(p, lineEnd)) {
        // `- key: value`: a mapping whose keys sit at this column, on this line and the next ones.
        seq.push(this.blockMap(p - this.starts[i]!, itemPointer, itemLine, depth + 1, true));
        continue;
      }
      this.lines[itemPointer] = itemLine;
      seq.push(this.inlineValue(p, lineEnd, itemPointer, itemLine, depth));
      this.index++;
    }
    return seq;
  }

  /** Whether the text at `p` is `key:` followed by a space or the end of the line. */
  private startsCompactMap(p: number, lineEnd: number): boolean {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === OPEN_BRACKET || c === OPEN_BRACE) return false; // a flow collection item
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const close = t.indexOf(String.fromCharCode(c), p + 1);
      if (close < 0 || close >= lineEnd) return false;
      const after = t.charCodeAt(close + 1);
      return after === COLON; // `key` then decides (an escaped or doubled quote is not simple)
    }
    let q = p;
    while (q < lineEnd && isPlainKeyChar(t.charCodeAt(q))) q++;
    if (q === p || q >= lineEnd || t.charCodeAt(q) !== COLON) {
      // A plain scalar item holding `: ` is a mapping in YAML: not simple.
      if (t.slice(p, lineEnd).includes(': ') || t.charCodeAt(lineEnd - 1) === COLON) throw NOT_SIMPLE;
      return false;
    }
    return q + 1 === lineEnd || t.charCodeAt(q + 1) === SPACE;
  }

  /** A key at `from` followed by `:` and a space or the end of the line: the key and the offset after `:`. */
  private key(from: number, lineEnd: number): [string, number] {
    const t = this.text;
    const c = t.charCodeAt(from);
    let key: string;
    let colon: number;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const [value, after] = this.quoted(from, lineEnd);
      key = value;
      colon = after;
    } else {
      let q = from;
      while (q < lineEnd && isPlainKeyChar(t.charCodeAt(q))) q++;
      if (q === from || c === DASH || c === 46 /* . */ || c === 47 /* / */) throw NOT_SIMPLE;
      key = t.slice(from, q);
      if (resolvePlain(key, KEY_TAGS) !== key) throw NOT_SIMPLE; // `1:`, `true:`, `<<:` …
      colon = q;
    }
    if (colon - from > MAX_KEY_CHARS) throw NOT_SIMPLE;
    if (t.charCodeAt(colon) !== COLON) throw NOT_SIMPLE;
    if (colon + 1 < lineEnd && t.charCodeAt(colon + 1) !== SPACE) throw NOT_SIMPLE;
    return [key, colon + 1];
  }

  /** A quoted scalar on one line, without escapes: its value and the offset after the closing quote. */
  private quoted(from: number, lineEnd: number): [string, number] {
    const t = this.text;
    const quote = t.charCodeAt(from);
    if (quote === DOUBLE_QUOTE) {
      const close = t.indexOf('"', from + 1);
      if (close < 0 || close >= lineEnd) throw NOT_SIMPLE;
      const value = t.slice(from + 1, close);
      if (value.includes('\\')) throw NOT_SIMPLE;
      return [value, close + 1];
    }
    let value = '';
    let p = from + 1;
    for (;;) {
      const close = t.indexOf("'", p);
      if (close < 0 || close >= lineEnd) throw NOT_SIMPLE;
      value += t.slice(p, close);
      if (t.charCodeAt(close + 1) === SINGLE_QUOTE && close + 1 < lineEnd) {
        value += "'";
        p = close + 2;
        continue;
      }
      return [value, close + 1];
    }
  }

  /** A value that starts at `p` and ends on its line: a scalar, or a flow collection of scalars. */
  private inlineValue(p: number, lineEnd: number, pointer: string, line: number, depth: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(p);
    let value: unknown;
    let after: number;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      [value, after] = this.quoted(p, lineEnd);
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      this.checkDepth(depth + 1);
      [value, after] =
        c === OPEN_BRACKET
          ? this.flowSeq(p, lineEnd, pointer, line)
          : this.flowMap(p, lineEnd, pointer, line);
    } else {
      return this.blockPlain(p, lineEnd);
    }
    // After a quoted scalar or a flow collection: spaces, then the end of the line or ` #comment`.
    if (after < lineEnd) {
      if (t.charCodeAt(after) !== SPACE) throw NOT_SIMPLE;
      let q = after;
      while (q < lineEnd && t.charCodeAt(q) === SPACE) q++;
      if (q < lineEnd && t.charCodeAt(q) !== HASH) throw NOT_SIMPLE;
    }
    return value;
  }

  /** A plain scalar in block context, to the end of its line or a ` #` comment. */
  private blockPlain(p: number, lineEnd: number): unknown {
    const t = this.text;
    checkPlainStart(t, p, lineEnd);
    let end = p;
    for (let q = p; q < lineEnd; q++) {
      const c = t.charCodeAt(q);
      if (c === SPACE) {
        if (t.charCodeAt(q + 1) === HASH) break;
        continue;
      }
      if (NOT_IN_BLOCK_PLAIN.has(c)) throw NOT_SIMPLE;
      if (c === COLON && (q + 1 === lineEnd || t.charCodeAt(q + 1) === SPACE)) throw NOT_SIMPLE;
      end = q + 1;
    }
    return resolvePlain(t.slice(p, end), VALUE_TAGS);
  }

  /** `[a, "b", 3]` on one line; items are scalars. Returns the list and the offset after `]`. */
  private flowSeq(p: number, lineEnd: number, pointer: string, line: number): [unknown[], number] {
    const t = this.text;
    const seq: unknown[] = [];
    let q = skipSpaces(t, p + 1, lineEnd);
    if (t.charCodeAt(q) === CLOSE_BRACKET) return [seq, q + 1];
    for (;;) {
      const [item, after] = this.flowScalar(q, lineEnd, VALUE_TAGS);
      this.lines[`${pointer}/${seq.length}`] = line;
      seq.push(item);
      q = skipSpaces(t, after, lineEnd);
      const c = t.charCodeAt(q);
      if (q >= lineEnd) throw NOT_SIMPLE;
      if (c === CLOSE_BRACKET) return [seq, q + 1];
      if (c !== COMMA) throw NOT_SIMPLE;
      q = skipSpaces(t, q + 1, lineEnd);
    }
  }

  /** `{a: 1, "b": x}` on one line; keys and values are scalars. Returns the mapping and the offset after `}`. */
  private flowMap(
    p: number,
    lineEnd: number,
    pointer: string,
    line: number,
  ): [Record<string, unknown>, number] {
    const t = this.text;
    const map: Record<string, unknown> = {};
    let q = skipSpaces(t, p + 1, lineEnd);
    if (t.charCodeAt(q) === CLOSE_BRACE) return [map, q + 1];
    for (;;) {
      const [key, afterKey] = this.flowScalar(q, lineEnd, KEY_TAGS);
      if (typeof key !== 'string' || key === '__proto__' || Object.hasOwn(map, key)) throw NOT_SIMPLE;
      if (key.length > MAX_KEY_CHARS) throw NOT_SIMPLE;
      if (t.charCodeAt(afterKey) !== COLON || t.charCodeAt(afterKey + 1) !== SPACE) throw NOT_SIMPLE;
      const [value, after] = this.flowScalar(skipSpaces(t, afterKey + 1, lineEnd), lineEnd, VALUE_TAGS);
      this.lines[`${pointer}/${escapePointer(key)}`] = line;
      map[key] = value;
      q = skipSpaces(t, after, lineEnd);
      const c = t.charCodeAt(q);
      if (q >= lineEnd) throw NOT_SIMPLE;
      if (c === CLOSE_BRACE) return [map, q + 1];
      if (c !== COMMA) throw NOT_SIMPLE;
      q = skipSpaces(t, q + 1, lineEnd);
    }
  }

  /** A scalar inside a flow collection: quoted, or plain up to `,`, `]`, `}` or `:`. */
  private flowScalar(p: number, lineEnd: number, tags: readonly ScalarTag[]): [unknown, number] {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) return this.quoted(p, lineEnd);
    checkPlainStart(t, p, lineEnd);
    let end = p;
    let q = p;
    for (; q < lineEnd; q++) {
      const ch = t.charCodeAt(q);
      if (ch === COMMA || ch === CLOSE_BRACKET || ch === CLOSE_BRACE || ch === COLON) break;
      if (NOT_IN_FLOW_PLAIN.has(ch) || ch === OPEN_BRACKET || ch === OPEN_BRACE) throw NOT_SIMPLE;
      if (ch !== SPACE) end = q + 1;
    }
    if (q < lineEnd && t.charCodeAt(q) === COLON && tags === VALUE_TAGS) throw NOT_SIMPLE; // `[a: b]`
    return [resolvePlain(t.slice(p, end), tags), end];
  }
}

function skipSpaces(t: string, p: number, lineEnd: number): number {
  while (p < lineEnd && t.charCodeAt(p) === SPACE) p++;
  return p;
}

/** A plain scalar may not start with an indicator; `-` only when a non-space follows (`-1`). */
function checkPlainStart(t: string, p: number, lineEnd: number): void {
  if (p >= lineEnd) throw NOT_SIMPLE;
  const c = t.charCodeAt(p);
  if (c === SPACE || NOT_PLAIN_START.has(c)) throw NOT_SIMPLE;
  if (c === DASH && (p + 1 >= lineEnd || t.charCodeAt(p + 1) === SPACE)) throw NOT_SIMPLE;
}

// Plain scalars repeat (`Allow`, `TCP`, `app`, `443`): the values (primitives) of short ones are kept,
// at most 10,000 of at most 100 characters each.
const MAX_CACHED_SCALARS = 10_000;
const MAX_CACHED_SCALAR_CHARS = 100;
const resolvedValues = new Map<string, unknown>();
const resolvedKeys = new Map<string, unknown>();

/** A plain scalar's value: the first core schema tag whose pattern matches, else the string itself. */
function resolvePlain(text: string, tags: readonly ScalarTag[]): unknown {
  if (text.length > MAX_CACHED_SCALAR_CHARS) return resolveUncached(text, tags);
  const cache = tags === KEY_TAGS ? resolvedKeys : resolvedValues;
  const known = cache.get(text);
  if (known !== undefined || cache.has(text)) return known;
  const value = resolveUncached(text, tags);
  if (cache.size >= MAX_CACHED_SCALARS) cache.clear();
  cache.set(text, value);
  return value;
}

function resolveUncached(text: string, tags: readonly ScalarTag[]): unknown {
  for (const tag of tags) {
    if (!tag.test!.test(text)) continue;
    if (tag.default !== true) throw NOT_SIMPLE; // a merge key `<<`
    let failed = false;
    const resolved = tag.resolve(
      text,
      () => {
        failed = true;
      },
      SCHEMA_DOCUMENT.options,
    );
    if (failed) throw NOT_SIMPLE;
    return isScalar(resolved) ? resolved.value : resolved;
  }
  return text;
}
