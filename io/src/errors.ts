// Errors of the file adapters: input that cannot be used, carried as `file:line` diagnostics so that
// callers print or annotate them without parsing messages back.
import { type Diagnostic, formatDiagnostic } from '@nyx/core/flows';

export class InputFileError extends Error {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputFileError';
    this.diagnostics = diagnostics;
  }
}
