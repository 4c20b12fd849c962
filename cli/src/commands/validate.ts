// `nyxctl validate DIR`: exit 0 with one summary line, or exit 2 with every error (SPEC section 7).
import { formatDiagnostic } from '@nyx/core';
import { EXIT_OK, InputError, UsageError } from '../errors.js';
import { loadTree } from '../inputs.js';
import type { CommandIo } from '../output.js';

export interface ValidateOptions {
  dir: string;
  /** Also print the loader's notes (ignored kinds, ...) on stderr. */
  verbose?: boolean;
  /** Accept a tree with no policy object and no `cluster/` folder (SPEC section 8.1). */
  allowEmpty?: boolean;
}

export async function runValidate(options: ValidateOptions, io: CommandIo): Promise<number> {
  const tree = await loadTree(options.dir);
  if (!tree.ok) throw new InputError(tree.errors);
  if (tree.empty && !options.allowEmpty) {
    // An empty or wrong folder must not pass as a valid tree ("ok: 0 objects"): a CI job pointed at
    // the wrong path would be green forever.
    throw new UsageError(
      `${options.dir} has no policy object and no cluster/ folder (${plural(tree.manifestCount, 'YAML file')}, ${tree.policySet.ignored.length} of other kinds): is this the policy tree? Pass --allow-empty to accept an empty tree`,
    );
  }
  if (options.verbose) for (const note of tree.notes) await io.err.write(`${formatDiagnostic(note)}\n`);
  const { objects, ignored } = tree.policySet;
  await io.out.write(
    `ok: ${plural(objects.length, 'object')} in ${plural(tree.manifestCount, 'file')} (${ignored.length} ignored)\n`,
  );
  return EXIT_OK;
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
