// The one YAML loader. Every policy file, OWNERS file and `.github/nyx.yml` is parsed here, through
// `parseYamlDocuments`.
//
// Each document comes back as plain JSON-like data plus a map from JSON pointer
// (`/spec/egress/0/toIpBlock/cidr`) to line, so validation can name `file:line` for any field. Files
// in the plain block style policies are written in, or in JSON style, take a fast path
// (`yaml-simple.ts`, `yaml-json.ts`) that gives
// exactly the same data and lines; everything else, and every error, goes through the `yaml` package
// (`yaml-package.ts`), which keeps a source range on every node (js-yaml only reports positions of
// errors).
//
// Hostile input is refused before it can hurt: files over a size limit (here, before either path),
// too many documents, nesting deeper than a limit, and alias expansion bombs (see yaml-package.ts).
import type { Diagnostic } from './model.js';
import { parseJsonStyleYaml } from './yaml-json.js';
import { parseWithYamlPackage } from './yaml-package.js';
import { parseSimpleYaml } from './yaml-simple.js';

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
  // Policy files are plain block YAML or JSON: a fast path reads each, and gives up on anything else.
  const json = parseJsonStyleYaml(content, lim.maxDepth);
  if (json) return { result: { ok: true, documents: json }, simple: true };
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
