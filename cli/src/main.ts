// nyxctl entry point: wires the real process streams into the program and holds the one try/catch.
// Configuration read here and only here: NYX_DEBUG (print stack traces of unexpected errors) and
// REDIS_URL (the flow store of `nyxctl flows export`).
import { CommanderError } from 'commander';
import { streamSink } from './output.js';
import { buildProgram, type ProgramResult } from './program.js';

const debug = process.env.NYX_DEBUG === '1';
const redisUrl = process.env.REDIS_URL;
const io = {
  out: streamSink(process.stdout),
  err: streamSink(process.stderr),
  progress: process.stderr.isTTY === true,
  now: () => performance.now(),
};

// `nyxctl verdicts ... | head` closes stdout early: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const result: ProgramResult = { exitCode: 0 };
try {
  await buildProgram(io, result, redisUrl ? { redisUrl } : {}).parseAsync(process.argv);
  process.exitCode = result.exitCode;
} catch (error) {
  if (error instanceof CommanderError && error.exitCode === 0) {
    // Help and version, already printed by Commander: success, with no engine loaded.
    process.exitCode = 0;
  } else {
    // Loaded only now: errors.js loads the engine, which `--help` and `--version` never need.
    const { EXIT_FINDINGS, EXIT_INVALID, InputError, UsageError } = await import('./errors.js');
    if (error instanceof CommanderError) {
      // Commander has already printed its message.
      process.exitCode = EXIT_INVALID;
    } else if (error instanceof InputError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = EXIT_INVALID;
    } else if (error instanceof UsageError) {
      process.stderr.write(`nyxctl: ${error.message}\n`);
      process.exitCode = EXIT_INVALID;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(debug && error instanceof Error ? `${error.stack}\n` : `nyxctl: ${message}\n`);
      process.exitCode = EXIT_FINDINGS;
    }
  }
}
