// A fast path for the YAML loader: a file written in JSON style (what generators and
// `kubectl get -o json` produce; JSON is YAML). It gives exactly what the `yaml` package would (the
// value and the JSON pointer → line map) for the JSON it accepts, and gives up on anything else or
// anything where YAML and JSON could differ: duplicate keys, `__proto__`, numbers other than short
// integers, surrogate escapes, tabs, a lone CR, long keys, a line break between a key and its colon,
// nesting deeper than the limit. Like `yaml-simple.ts`, it never reports an error: every error is
// left to the full path, so diagnostics have one source.
import { escapePointer as escapeAny } from './selector.js';
import type { YamlDocument } from './yaml.js';

/** Thrown (and caught in `parseJsonStyleYaml`) when the input leaves the subset handled here. */
class NotJson {}
const NOT_JSON = new NotJson();

/** YAML caps implicit keys at 1024 characters; stay well below. */
const MAX_KEY_CHARS = 1000;
const INTEGER = /^-?(?:0|[1-9][0-9]{0,14})$/;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

function escapePointer(key: string): string {
  return key.includes('~') || key.includes('/') ? escapeAny(key) : key;
}

/**
 * The one document of a file whose first non-space character is `{` or `[`, or undefined when the
 * file is not JSON this path is sure of.
 */
export function parseJsonStyleYaml(content: string, maxDepth: number): YamlDocument[] | undefined {
  let start = 0;
  while (start < content.length && (content[start] === ' ' || content[start] === '\n')) start++;
  const first = content[start];
  if (first !== '{' && first !== '[') return undefined;
  if (content.includes('\t') || /\r(?!\n)/.test(content)) return undefined;
  try {
    return new JsonScanner(content, maxDepth).document(start);
  } catch (e) {
    if (e === NOT_JSON) return undefined;
    throw e;
  }
}

class JsonScanner {
  private pos = 0;
  private line = 1;
  readonly lines: Record<string, number> = {};

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(start: number): YamlDocument[] {
    this.skip();
    if (this.pos !== start) throw NOT_JSON;
    const line = this.line;
    const value = this.value('', 1);
    this.skip();
    if (this.pos !== this.text.length) throw NOT_JSON;
    return [{ value, line, lines: this.lines }];
  }

  /** Skips JSON whitespace (no tabs: refused up front), counting lines. */
  private skip(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 13) this.pos++;
      else if (c === 10) {
        this.pos++;
        this.line++;
      } else return;
    }
  }

  private value(pointer: string, depth: number): unknown {
    const c = this.text[this.pos];
    if (c === '{') return this.object(pointer, depth);
    if (c === '[') return this.array(pointer, depth);
    if (c === '"') return this.string();
    return this.scalar();
  }

  private object(pointer: string, depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw NOT_JSON;
    this.lines[pointer] ??= this.line;
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skip();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') throw NOT_JSON;
      const keyLine = this.line;
      const key = this.string();
      if (key === '__proto__' || key.length > MAX_KEY_CHARS || Object.hasOwn(out, key)) throw NOT_JSON;
      this.skip();
      if (this.line !== keyLine || this.text[this.pos] !== ':') throw NOT_JSON;
      this.pos++;
      this.skip();
      const child = `${pointer}/${escapePointer(key)}`;
      this.lines[child] = keyLine;
      out[key] = this.value(child, depth + 1);
      this.skip();
      const next = this.text[this.pos++];
      if (next === '}') return out;
      if (next !== ',') throw NOT_JSON;
      this.skip();
    }
  }

  private array(pointer: string, depth: number): unknown[] {
    if (depth > this.maxDepth) throw NOT_JSON;
    this.lines[pointer] ??= this.line;
    this.pos++;
    const out: unknown[] = [];
    this.skip();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      const child = `${pointer}/${out.length}`;
      this.lines[child] = this.line;
      out.push(this.value(child, depth + 1));
      this.skip();
      const next = this.text[this.pos++];
      if (next === ']') return out;
      if (next !== ',') throw NOT_JSON;
      this.skip();
    }
  }

  private string(): string {
    const t = this.text;
    const open = this.pos;
    let close = t.indexOf('"', open + 1);
    for (;;) {
      if (close === -1) throw NOT_JSON;
      let backslashes = 0;
      for (let i = close - 1; t.charCodeAt(i) === 92; i--) backslashes++;
      if (backslashes % 2 === 0) break;
      close = t.indexOf('"', close + 1);
    }
    const raw = t.slice(open + 1, close);
    if (raw.includes('\n')) throw NOT_JSON;
    this.pos = close + 1;
    if (!raw.includes('\\')) {
      // Control characters are not JSON; the full path judges them.
      for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) < 32) throw NOT_JSON;
      return raw;
    }
    if (SURROGATE_ESCAPE.test(raw)) throw NOT_JSON;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      throw NOT_JSON;
    }
  }

  private scalar(): unknown {
    const t = this.text;
    let end = this.pos;
    while (end < t.length && /[-+.0-9a-zA-Z]/.test(t[end]!)) end++;
    const token = t.slice(this.pos, end);
    this.pos = end;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token === 'null') return null;
    if (INTEGER.test(token) && token !== '-0') return Number(token);
    throw NOT_JSON;
  }
}
