// The full path of the YAML loader (`yaml.ts`): the `yaml` package's parser and composer, for every
// file the fast path (`yaml-simple.ts`) does not take, and the source of every YAML error.
//
// Hostile input is refused before it can hurt: too many documents, nesting deeper than a limit
// (checked on the parser's concrete syntax tree with an explicit stack, before any recursive step
// runs, so a 10,000-deep `[[[[…` cannot overflow the call stack), and alias expansion bombs ("billion
// laughs", refused by the `yaml` package's `maxAliasCount` check). The size limit is checked before.
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
import type { YamlDocument, YamlLimits, YamlParseResult } from './yaml.js';

/**
 * Options of the composer. `merge: true`: `<<` merge keys work as in kubectl (YAML 1.1 style);
 * everything else is the YAML 1.2 core schema. The fast path resolves scalars with the same schema.
 */
export const COMPOSE_OPTIONS = Object.freeze({ uniqueKeys: true, prettyErrors: false, merge: true });

/** Parses with the `yaml` package, with every limit (but the size) and error. */
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
      const why = e instanceof Error ? firstLine(e.message) : String(e);
      const badMerge = /merge sources/i.test(why) ? badMergeKeyStart(doc.contents) : undefined;
      if (badMerge !== undefined)
        return fail(
          lineOf(badMerge),
          '`<<` is a YAML merge key (as kubectl reads it): its value must be a mapping or an alias of one; write "<<" in quotes for a key named <<',
        );
      const line = lineOf(doc.contents.range[0]);
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
 * Where the first `<<` merge key whose value is not a mapping (nor an alias, nor a list of them)
 * starts, for an error on its own line rather than the document's.
 */
function badMergeKeyStart(node: unknown): number | undefined {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = pair.key;
        if (isScalar(key) && key.source === '<<' && key.type === 'PLAIN') {
          const v = pair.value;
          const sources = isSeq(v) ? v.items : [v];
          if (!sources.every((x) => isMap(x) || isAlias(x))) return key.range?.[0];
        }
        stack.push(pair.value);
      }
    } else if (isSeq(n)) stack.push(...n.items);
  }
  return undefined;
}
