// Reading what the commands are given: policy trees, the inventory, flow files. Each reader returns
// its problems as diagnostics (`file:line: message`) instead of throwing, so a command can report
// every problem of every input at once before exiting 2 (SPEC section 7).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Diagnostic,
  type Inventory,
  type LoadResult,
  loadPolicySet,
  type PolicyFile,
  type PolicySet,
  policyManifestPaths,
} from '@nyx/core';
import { InputError, readInventoryFile, readPolicyTree } from '@nyx/io';
import { UsageError } from './errors.js';

/** `path` as the user can open it from the current directory: the tree argument joined with the tree-relative path. */
export function displayPath(dir: string, file: string): string {
  return dir === '.' || dir === './' ? file : join(dir, file);
}

function underDir(dir: string, d: Diagnostic): Diagnostic {
  return { ...d, file: displayPath(dir, d.file) };
}

export type TreeResult =
  | {
      ok: true;
      files: PolicyFile[];
      policySet: PolicySet;
      /** The load itself, notes naming tree paths (for `loadTree`'s `sameAs`). */
      loaded: Extract<LoadResult, { ok: true }>;
      /** How many files were read as manifests (the rest are OWNERS, CODEOWNERS, `.github/nyx.yml`). */
      manifestCount: number;
      notes: Diagnostic[];
      /**
       * No policy object and no `cluster/` folder: an empty or wrong folder (SPEC section 8.1).
       * `validate` refuses it unless `--allow-empty`; the other commands read it as "no policies".
       */
      empty: boolean;
    }
  | { ok: false; errors: Diagnostic[] };

async function requireDirectory(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${what} ${dir} is not a directory`);
}

/**
 * Reads and validates one policy tree. Diagnostics name files as reachable from the current
 * directory (`DIR/namespaces/shop/allow.yaml:12`), which is the tree-relative path when DIR is `.`.
 * With `sameAs` (the load of another revision of the tree, e.g. the base of a change, read at the
 * same time), the files the two trees hold alike are loaded once (`LoadOptions.sameAs`).
 */
export async function loadTree(
  dir: string,
  what = 'policy tree',
  sameAs?: Promise<TreeResult>,
): Promise<TreeResult> {
  await requireDirectory(dir, what);
  let files: PolicyFile[];
  try {
    files = await readPolicyTree(dir);
  } catch (error) {
    // The tree reader refuses oversized files, symlinks and submodules: invalid input (exit 2).
    if (error instanceof InputError) {
      return { ok: false, errors: error.diagnostics.map((d) => underDir(dir, d)) };
    }
    throw new UsageError(`cannot read ${what} ${dir}: ${(error as Error).message}`);
  }
  const other = await sameAs?.catch(() => undefined);
  const result = loadPolicySet(files, {
    displayPath: (path) => displayPath(dir, path),
    ...(other?.ok ? { sameAs: { files: other.files, result: other.loaded } } : {}),
  });
  if (!result.ok) return { ok: false, errors: result.errors.map((d) => underDir(dir, d)) };
  const hasClusterFolder = (await stat(join(dir, 'cluster')).catch(() => undefined))?.isDirectory() === true;
  return {
    ok: true,
    files,
    policySet: result.policySet,
    loaded: result,
    manifestCount: policyManifestPaths(files.map((f) => f.path)).length,
    notes: result.notes.map((d) => underDir(dir, d)),
    empty: result.policySet.objects.length === 0 && !hasClusterFolder,
  };
}

/** What an empty tree means to a command that reads it as "no policies" (SPEC section 8.1). */
export function emptyTreeNote(dir: string, what = 'policy tree'): string {
  return `nyxctl: note: ${what} ${dir} has no policy object and no cluster/ folder: evaluating with no policies (every flow takes the default: allow)\n`;
}

export type InventoryResult = { ok: true; inventory: Inventory } | { ok: false; errors: Diagnostic[] };

/**
 * Reads `kubectl get namespaces,pods,nodes -A -o json` output and parses it (SPEC section 7)
 * through `readInventoryFile` of @nyx/io (size limit, errors on their line). Everything it refuses
 * is invalid input.
 */
export async function loadInventory(file: string): Promise<InventoryResult> {
  try {
    return { ok: true, inventory: await readInventoryFile(file) };
  } catch (error) {
    if (error instanceof InputError) return { ok: false, errors: [...error.diagnostics] };
    return { ok: false, errors: [{ file, line: 1, message: (error as Error).message }] };
  }
}
