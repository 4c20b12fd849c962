// Child processes of the test API server: tied to their parent's life (a parent that dies, even by
// SIGKILL, takes them along), logs in a file, and the last log lines at hand for error messages.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';

/**
 * `setpriv --pdeathsig` (util-linux) makes the kernel signal the child when the process that spawned
 * it dies, so no etcd or kube-apiserver outlives a killed test or CLI. The child is spawned from the
 * main thread (vitest's integration project uses the `forks` pool, not worker threads: the signal
 * follows the spawning thread).
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

export interface LoggedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly logPath: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
}

/**
 * Spawns `binary` with its output appended to `logPath`; `parentDeathSignal` is what it gets if this
 * process dies without stopping it.
 */
export async function spawnLogged(options: {
  name: string;
  binary: string;
  args: string[];
  logPath: string;
  parentDeathSignal: 'SIGTERM' | 'SIGKILL';
}): Promise<LoggedProcess> {
  const { name, binary, args, logPath } = options;
  const log = await open(logPath, 'a');
  const command = SETPRIV ? SETPRIV : binary;
  const commandArgs = SETPRIV ? ['--pdeathsig', options.parentDeathSignal, '--', binary, ...args] : args;
  const child = spawn(command, commandArgs, { stdio: ['ignore', log.fd, log.fd] });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
    child.once('error', (error) => resolve(`spawn error: ${error.message}`));
  });
  // The child holds its own copy of the descriptor.
  await new Promise<void>((resolve) => {
    child.once('spawn', resolve);
    child.once('error', () => resolve());
  });
  await log.close();
  return { child, name, logPath, exited };
}

/** Stops a process with SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(proc: LoggedProcess, graceMs = 15_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** The last `count` lines of a log file, indented, for error messages. */
export async function lastLogLines(logPath: string, count = 15): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-count);
  return lines.map((line) => `  | ${line}`).join('\n');
}
