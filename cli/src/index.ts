// The commands as functions, for the benchmark and for anything that wants nyxctl without a process.

export { explainText, runExplain } from './commands/explain.js';
export { runImpact } from './commands/impact.js';
export { lintLine, runLint } from './commands/lint.js';
export { runValidate } from './commands/validate.js';
export { runVerdicts } from './commands/verdicts.js';
export { EXIT_FINDINGS, EXIT_INVALID, EXIT_OK, InputError, UsageError } from './errors.js';
export { readWindow } from './flows.js';
export { type CommandIo, countingSink, memorySink, type Sink, streamSink } from './output.js';
export { buildProgram } from './program.js';
