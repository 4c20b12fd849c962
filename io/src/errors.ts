// The one error of io and cli for input that cannot be used (a policy tree, an inventory or a flow
// file): every problem as a `file:line` diagnostic, so that callers print or annotate them without
// parsing messages back. `nyxctl` turns it into exit 2 (cli/src/main.ts).
import { type Diagnostic, formatDiagnostic } from '@nyx/core/flows';

export class InputError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
    this.diagnostics = diagnostics;
  }
}

/** A problem with a whole file or folder (a tree the reader refuses): placed on line 1. */
export function wholeFileError(path: string, message: string): InputError {
  return new InputError([{ file: path, line: 1, message }]);
}
