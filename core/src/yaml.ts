// The one YAML loader. Every policy file, OWNERS file and `.github/nyx.yml` is parsed here.
//
// We use the `yaml` package (not js-yaml) because it keeps a source range on every node: with its
// `LineCounter` we can give a line for every value, which js-yaml cannot (it only reports positions
// of errors). Each document comes back as plain JSON-like data plus a map from JSON pointer
// (`/spec/egress/0/toIpBlock/cidr`) to line, so validation can name `file:line` for any field.
//
// Hostile input is refused before it can hurt: files over a size limit, too many documents, nesting
// deeper than a limit (checked on the parser's concrete syntax tree with an explicit stack, before
// any recursive step runs, so a 10,000-deep `[[[[…` cannot overflow the call stack), and alias
// expansion bombs ("billion laughs", refused by the `yaml` package's `maxAliasCount` check).
import {
  Composer,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type ParsedNode,
  Parser,
  type Node as YamlNode,
} from 'yaml';
import type { Diagnostic } from './model.js';
import { escapePointer } from './selector.js';
import { COMPOSE_OPTIONS, parseSimpleYaml } from './yaml-simple.js';

/** Limits for one file. Every field is optional; missing fields take `DEFAULT_YAML_LIMITS`. */
export interface YamlLimits {
  /** Largest accepted file, in UTF-8 bytes. */
  maxBytes?: number;
  /** Passed to the `yaml` package: how much alias expansion is tolerated before refusing. */
  maxAliasCount?: number;
  /** Deepest accepted nesting of collections. */
  maxDepth?: number;
  /** Most documents in one file (`---` separated). */
  maxDocuments?: number;
}

export const DEFAULT_YAML_LIMITS: Readonly<Required<YamlLimits>> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxAliasCount: 100,
  maxDepth: 100,
  maxDocuments: 1000,
});

/** One parsed YAML document. */
export interface YamlDocument {
  /** Plain data (mappings are objects, sequences arrays); `null` for an empty document. */
  value: unknown;
  /** Line (1-based) where the document's content starts. */
  line: number;
  /** JSON pointer → line. A mapping entry maps to the line of its key, a sequence item to its own line. */
  lines: Record<string, number>;
}

export type YamlParseResult = { ok: true; documents: YamlDocument[] } | { ok: false; errors: Diagnostic[] };

/** UTF-8 length of a string, without `node:buffer` (core stays pure). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * Parses every document of a YAML file. Documents that are empty (a trailing `---`) are skipped.
 * Errors are `Diagnostic`s naming `path` and a line; nothing here throws on bad input.
 */
export function parseYamlDocuments(path: string, content: string, limits?: YamlLimits): YamlParseResult {
  const lim = { ...DEFAULT_YAML_LIMITS, ...limits };
  // Oversized input is refused first (before it could be hashed into a memo key). Bytes are at least
  // the UTF-16 length, so count exactly only when the file could be near the limit.
  if (content.length * 3 > lim.maxBytes) {
    const bytes = utf8ByteLength(content);
    if (bytes > lim.maxBytes) {
      return {
        ok: false,
        errors: [
          {
            file: path,
            line: 1,
            message: `file is ${bytes} bytes; the limit is ${lim.maxBytes} bytes (${formatBytes(lim.maxBytes)})`,
          },
        ],
      };
    }
  }
  // Loads repeat: the bot loads base and head (mostly the same files), the reconciler reloads on every
  // poll. Results are memoised per path, content and limits, and every caller gets its own deep copy,
  // so no caller can alter another's data.
  if (content.length > MEMO_MAX_FILE_CHARS) return parseUncached(path, content, lim).result;
  const key = `${lim.maxBytes},${lim.maxAliasCount},${lim.maxDepth},${lim.maxDocuments}\u0000${path}\u0000${content}`;
  const cached = memo.get(key);
  if (cached) return copyOf(cached);
  const parsed = parseUncached(path, content, lim);
  remember(key, parsed);
  return copyOf(parsed);
}

interface Parsed {
  result: YamlParseResult;
  /** Whether the fast path read it: then the data is plain (no shared nodes, no `__proto__` keys). */
  simple: boolean;
}

function parseUncached(path: string, content: string, lim: Required<YamlLimits>): Parsed {
  // Policy files are plain block YAML: a fast path reads those, and gives up on anything else.
  const simple = parseSimpleYaml(content, lim.maxDepth, lim.maxDocuments);
  if (simple) return { result: { ok: true, documents: simple }, simple: true };
  return { result: parseWithYamlPackage(path, content, lim), simple: false };
}

/**
 * A deep copy. The fast path's plain data is copied directly (several times cheaper than parsing it
 * again); the full path's may share nodes (aliases), which structuredClone keeps as they are.
 */
function copyOf({ result, simple }: Parsed): YamlParseResult {
  if (!simple || !result.ok) return structuredClone(result);
  return {
    ok: true,
    documents: result.documents.map((d) => ({
      value: copyPlain(d.value),
      line: d.line,
      lines: { ...d.lines },
    })),
  };
}

/** Copies objects, arrays and primitives; depth is bounded by the loader's nesting limit. */
function copyPlain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyPlain);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyPlain((value as Record<string, unknown>)[key]);
  return out;
}

const MEMO_MAX_CHARS = 16 * 1024 * 1024;
const MEMO_MAX_FILE_CHARS = 1024 * 1024;
const MEMO_MAX_ENTRIES = 20_000;
const memo = new Map<string, Parsed>();
let memoChars = 0;

function remember(key: string, parsed: Parsed): void {
  memo.set(key, parsed);
  memoChars += key.length;
  // Oldest first (Map keeps insertion order).
  for (const [k] of memo) {
    if (memoChars <= MEMO_MAX_CHARS && memo.size <= MEMO_MAX_ENTRIES) break;
    memo.delete(k);
    memoChars -= k.length;
  }
}

/** The full path: the `yaml` package's parser and composer, with every limit and error. */
export function parseWithYamlPackage(
  path: string,
  content: string,
  lim: Required<YamlLimits>,
): YamlParseResult {
  const fail = (line: number, message: string): YamlParseResult => ({
    ok: false,
    errors: [{ file: path, line, message }],
  });

  const lineCounter = new LineCounter();
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  const parser = new Parser(lineCounter.addNewLine);
  const tokens = [];
  let documentCount = 0;
  for (const token of parser.parse(content)) {
    if (token.type === 'document' && ++documentCount > lim.maxDocuments) {
      return fail(lineOf(token.offset), `more than ${lim.maxDocuments} YAML documents in one file`);
    }
    tokens.push(token);
  }
  for (const token of tokens) {
    const deep = firstTooDeep(token, lim.maxDepth);
    if (deep !== undefined) {
      return fail(lineOf(deep), `nesting deeper than ${lim.maxDepth} levels; refusing to load this document`);
    }
  }

  // `merge: true`: `<<` merge keys work as in kubectl (YAML 1.1 style); everything else is the YAML 1.2 core schema.
  const composer = new Composer(COMPOSE_OPTIONS);
  const docs = [...composer.compose(tokens)];
  const errors: Diagnostic[] = [];
  for (const doc of docs) {
    for (const err of doc.errors) {
      const [start, end] = err.pos;
      let message: string;
      if (err.code === 'DUPLICATE_KEY') {
        // The error's range starts at the repeated key; show the key up to its ':'.
        const eol = content.indexOf('\n', start);
        const key = content
          .slice(start, Math.max(end, eol < 0 ? content.length : eol))
          .split(/:(?:\s|$)/)[0]!
          .trim();
        message = `duplicate key${key ? ` "${key.length > 60 ? `${key.slice(0, 60)}…` : key}"` : ''}: each key may appear only once in a mapping`;
      } else {
        message = `YAML syntax error: ${firstLine(err.message)}`;
      }
      errors.push({ file: path, line: lineOf(start), message });
    }
  }
  if (errors.length > 0) return { ok: false, errors: dedupe(errors) };

  const documents: YamlDocument[] = [];
  for (const doc of docs) {
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: lim.maxAliasCount });
    } catch (e) {
      // The `yaml` package throws a ReferenceError for alias bombs (and unresolvable aliases).
      const line = lineOf(doc.contents.range[0]);
      const why = e instanceof Error ? firstLine(e.message) : String(e);
      return fail(
        line,
        /excessive alias/i.test(why)
          ? `too many alias expansions (limit ${lim.maxAliasCount}); refusing a possible alias bomb`
          : `cannot resolve YAML aliases: ${why}`,
      );
    }
    if (value === null || value === undefined) continue;
    const lines: Record<string, number> = {};
    const line = lineOf(doc.contents.range[0]);
    collectLines(doc.contents, '', line, lines, lineOf);
    documents.push({ value, line, lines });
  }
  return { ok: true, documents };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function dedupe(errors: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.line}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type CstToken = ReturnType<Parser['parse']> extends Generator<infer T> ? T : never;

/** Offset of the first collection nested deeper than `maxDepth`, walking the CST with an explicit stack. */
function firstTooDeep(root: CstToken, maxDepth: number): number | undefined {
  const stack: Array<[CstToken, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case 'document':
        if (token.value) stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        const d = depth + 1;
        if (d > maxDepth) return token.offset;
        for (const item of token.items) {
          if (item.key) stack.push([item.key, d]);
          if (item.value) stack.push([item.value, d]);
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Records the line of every node under `node`. Depth is already bounded by `firstTooDeep`. */
function collectLines(
  node: ParsedNode | YamlNode | null,
  pointer: string,
  line: number,
  lines: Record<string, number>,
  lineOf: (offset: number) => number,
): void {
  lines[pointer] = line;
  if (!node || isScalar(node) || isAlias(node)) {
    // Aliases: the pointer gets the alias's line; fields inside fall back to it (their anchor may be
    // anywhere, and walking into aliases again would re-open the expansion the limit guards against).
    return;
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key;
      // A `<<` merge key: the merged fields have no line of their own and fall back to the mapping's.
      if (isScalar(key) && typeof key.value === 'symbol') continue;
      const keyText = isScalar(key) ? String(key.value) : key === null ? '' : String(key);
      const keyNode = key as YamlNode | null;
      const valueNode = pair.value as YamlNode | null;
      const at = keyNode?.range
        ? lineOf(keyNode.range[0])
        : valueNode?.range
          ? lineOf(valueNode.range[0])
          : line;
      collectLines(valueNode, `${pointer}/${escapePointer(keyText)}`, at, lines, lineOf);
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const itemNode = item as YamlNode | null;
      const at = itemNode?.range ? lineOf(itemNode.range[0]) : line;
      collectLines(itemNode, `${pointer}/${i}`, at, lines, lineOf);
    });
  }
}

/**
 * Line of `pointer` in `lines`, else of its nearest ancestor that has one, else `fallback`.
 * Used to place errors about missing fields (which have no line of their own).
 */
export function lineForPointer(
  lines: Readonly<Record<string, number>>,
  pointer: string,
  fallback = 1,
): number {
  let p = pointer;
  for (;;) {
    const line = lines[p];
    if (line !== undefined) return line;
    if (p === '') return fallback;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
