// Reading the inventory file (SPEC section 7: `kubectl get namespaces,pods,nodes -A -o json`, or the
// same with `-o yaml`: a file that does not start with `{` or `[` is read as YAML by the one loader).
// The size is checked with stat() before reading; errors are thrown as an `InputError` whose
// diagnostics name the file and line.
import { readFile, stat } from 'node:fs/promises';
import { type Inventory, lineForPointer, parseInventory, parseYamlDocuments } from '@nyx/core';
import { InputError } from './errors.js';

export interface InventoryLimits {
  /** Largest accepted inventory file, in bytes (default 512 MiB: about 50,000 pods of kubectl JSON). */
  maxBytes?: number;
  /** Up to this size, shape errors are placed on their exact line (a second, positional parse). */
  maxBytesForLineNumbers?: number;
}

export const DEFAULT_INVENTORY_LIMITS: Readonly<Required<InventoryLimits>> = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxBytesForLineNumbers: 32 * 1024 * 1024,
});

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Line of a JSON.parse error: Node 20 says `at position N`, newer Node `(line L column C)`. */
function syntaxErrorLine(text: string, message: string): number {
  const line = /line (\d+) column \d+/.exec(message);
  if (line) return Number(line[1]);
  const position = /at position (\d+)/.exec(message);
  if (position) return lineOfOffset(text, Number(position[1]));
  // Node 20's messages for some errors carry no position: JSON is YAML, so the one positional
  // loader finds the line (for files small enough to parse twice).
  if (text.length <= DEFAULT_INVENTORY_LIMITS.maxBytesForLineNumbers) {
    const positional = parseYamlDocuments('inventory', text, { maxBytes: text.length + 1, maxDepth: 200 });
    if (!positional.ok && positional.errors[0]) return positional.errors[0].line;
  }
  return lineOfOffset(text, text.length);
}

/**
 * Reads and parses an inventory file. Throws an `InputError` (one diagnostic per problem)
 * for a missing or oversized file, invalid JSON, or a List whose items do not have the expected shape.
 */
export async function readInventoryFile(path: string, limits?: InventoryLimits): Promise<Inventory> {
  const lim = { ...DEFAULT_INVENTORY_LIMITS, ...limits };
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (err) {
    throw new InputError([
      { file: path, line: 1, message: `cannot read inventory: ${(err as Error).message}` },
    ]);
  }
  if (size > lim.maxBytes) {
    throw new InputError([
      {
        file: path,
        line: 1,
        message: `inventory is ${size} bytes, over the ${lim.maxBytes}-byte limit; expected the JSON of \`kubectl get namespaces,pods,nodes -A -o json\``,
      },
    ]);
  }
  const raw = await readFile(path, 'utf8');
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw; // a BOM some Windows tools add
  const trimmed = text.trimStart();
  if (trimmed !== '' && trimmed[0] !== '{' && trimmed[0] !== '[') return readYamlInventory(path, text, lim);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw new InputError([
      { file: path, line: syntaxErrorLine(text, message), message: `invalid JSON: ${message}` },
    ]);
  }
  let result = parseInventory(json, path);
  if (!result.ok && size <= lim.maxBytesForLineNumbers) {
    // Errors are rare: only then pay for a positional parse to put each one on its line.
    const positional = parseYamlDocuments(path, text, {
      maxBytes: lim.maxBytesForLineNumbers,
      maxDepth: 200,
    });
    const lines = positional.ok ? positional.documents[0]?.lines : undefined;
    if (lines) result = parseInventory(json, path, { lineOf: (pointer) => lineForPointer(lines, pointer) });
  }
  if (!result.ok) throw new InputError(result.errors);
  return result.inventory;
}

/**
 * The same inventory written by `kubectl get namespaces,pods,nodes -A -o yaml`, read by the one
 * YAML loader (so errors have their lines). YAML costs far more to parse than JSON: above
 * `maxBytesForLineNumbers` it is refused with the advice to use `-o json`.
 */
function readYamlInventory(path: string, text: string, lim: Required<InventoryLimits>): Inventory {
  const useJson = 'expected the output of `kubectl get namespaces,pods,nodes -A -o json` (or `-o yaml`)';
  if (text.length > lim.maxBytesForLineNumbers) {
    throw new InputError([
      {
        file: path,
        line: 1,
        message: `a YAML inventory of over ${lim.maxBytesForLineNumbers} bytes; write it with \`kubectl get namespaces,pods,nodes -A -o json\` instead`,
      },
    ]);
  }
  const parsed = parseYamlDocuments(path, text, { maxBytes: lim.maxBytesForLineNumbers, maxDepth: 200 });
  if (!parsed.ok) {
    throw new InputError(
      parsed.errors.map((d) => ({
        ...d,
        message: `not JSON, and not valid YAML either: ${d.message}; ${useJson}`,
      })),
    );
  }
  const [document, second] = parsed.documents;
  if (!document || second) {
    throw new InputError([
      {
        file: path,
        line: second?.line ?? 1,
        message: `${document ? 'more than one YAML document' : 'an empty inventory'}; ${useJson}`,
      },
    ]);
  }
  const result = parseInventory(document.value, path, {
    lineOf: (pointer) => lineForPointer(document.lines, pointer),
  });
  if (!result.ok) throw new InputError(result.errors);
  return result.inventory;
}
