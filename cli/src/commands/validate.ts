// `nyxctl validate DIR`: exit 0 with one summary line, or exit 2 with every error (SPEC section 7).
import { formatDiagnostic } from '@nyx/core';
import { EXIT_OK, InputError } from '../errors.js';
import { loadTree } from '../inputs.js';
import type { CommandIo } from '../output.js';

export interface ValidateOptions {
  dir: string;
  /** Also print the loader's notes (ignored kinds, ...) on stderr. */
  verbose?: boolean;
}

export async function runValidate(options: ValidateOptions, io: CommandIo): Promise<number> {
  const tree = await loadTree(options.dir);
  if (!tree.ok) throw new InputError(tree.errors);
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
