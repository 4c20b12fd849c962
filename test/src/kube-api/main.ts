// `nyx-test-apiserver --port 0 --kubeconfig-out FILE [--state-dir DIR]`: starts the test etcd and
// kube-apiserver, prints `listening on https://127.0.0.1:PORT` once /readyz is ok, and stops both on
// SIGTERM, SIGINT or when its parent process goes away. Driven from outside the repository too:
// the flags and the `listening on` line are a contract.
import { parseArgs } from 'node:util';
import { startTestApiServer, type TestApiServer } from './server.js';

const USAGE = 'usage: nyx-test-apiserver --port 0 --kubeconfig-out FILE [--state-dir DIR]';

function parse(argv: string[]): { port: number; kubeconfigOut: string; stateDir: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      'kubeconfig-out': { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port ?? '') || port > 65535)
    throw new UsageError(`--port must be 0..65535, got "${values.port}"`);
  if (!values['kubeconfig-out']) throw new UsageError('--kubeconfig-out FILE is required');
  return { port, kubeconfigOut: values['kubeconfig-out'], stateDir: values['state-dir'] };
}

class UsageError extends Error {}

let server: TestApiServer | undefined;
let stopping = false;

async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`nyx-test-apiserver: ${reason}: stopping kube-apiserver and etcd`);
  await server?.stop();
  process.exit(code);
}

try {
  const args = parse(process.argv.slice(2));
  // Signals that arrive while starting stop what has started so far.
  // `on`, not `once`: a second signal (npx passes its own on) must not kill this process mid-stop.
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGHUP', () => void shutdown('SIGHUP', 0));
  // A parent that dies (even by SIGKILL) re-parents this process: stop then.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown(`parent process ${parent} exited`, 0);
  }, 500).unref();
  server = await startTestApiServer({
    port: args.port,
    kubeconfigPath: args.kubeconfigOut,
    ...(args.stateDir ? { stateDir: args.stateDir } : {}),
  });
  if (stopping) await server.stop();
  else {
    console.error(
      `nyx-test-apiserver: kube-apiserver ${server.versions.kubernetes}, etcd ${server.versions.etcd}, ready in ${server.readySeconds.toFixed(1)} s; state in ${server.stateDir}; kubeconfig ${server.kubeconfigPath} (contexts admin, reconciler, alice)`,
    );
    console.log(`listening on ${server.url}`);
    // Keeps the process alive until a signal arrives.
    setInterval(() => {}, 1 << 30);
  }
} catch (error) {
  console.error(`nyx-test-apiserver: ${(error as Error).message}`);
  if (
    error instanceof UsageError ||
    (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
  ) {
    console.error(USAGE);
    process.exit(2);
  }
  process.exit(1);
}
