// Entry point of `npx nyx-bot`: read the configuration once, print it (secrets masked), refuse to
// start when something required is missing, then start the server and the worker.
import { startBot } from './bot.js';
import { describeConfig, loadConfig } from './config.js';

const SHUTDOWN_GRACE_MS = 10_000;

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  process.stderr.write(`nyx-bot: refusing to start:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
  process.exit(2);
}
process.stdout.write(
  `nyx-bot configuration:\n${describeConfig(loaded.config)
    .map((l) => `  ${l}`)
    .join('\n')}\n`,
);
try {
  const bot = await startBot(loaded.config);
  // A plain line once the server accepts connections: what supervisors and tests wait for.
  process.stdout.write(`nyx-bot: listening, webhooks at ${bot.webhookUrl}\n`);
  const stop = (): void => {
    // Within Kubernetes' default 30 s grace period even when Redis or GitHub do not answer: a job
    // cut short is picked up again by another worker once its lock lapses (BullMQ's stalled check).
    setTimeout(() => {
      process.stderr.write(`nyx-bot: not stopped within ${SHUTDOWN_GRACE_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    bot.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`nyx-bot: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
