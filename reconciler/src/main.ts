// Entry point of `npx nyx-reconciler`: read the configuration once, print it (secrets masked),
// refuse to start when something required is missing or malformed, then start.
import { hostname } from 'node:os';
import { startReconciler } from './app.js';
import { describeConfig, readConfig } from './config.js';

const loaded = readConfig(process.env, hostname());
if (!loaded.ok) {
  process.stderr.write(
    `nyx-reconciler: refusing to start:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`,
  );
  process.exit(2);
}
process.stdout.write(
  `nyx-reconciler configuration:\n${Object.entries(describeConfig(loaded.config))
    .map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n')}\n`,
);
try {
  const running = await startReconciler(loaded.config, {
    listenAddress: process.env.NYX_LISTEN_ADDRESS || '0.0.0.0',
  });
  // A plain line once the server accepts connections: what supervisors and tests wait for.
  process.stdout.write(`nyx-reconciler: listening on ${running.url}\n`);
  const stop = (): void => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`nyx-reconciler: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
