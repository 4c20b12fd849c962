// Wires the reconciler's parts from a parsed configuration: Kubernetes client, git source, Redis
// hand-off, HTTP endpoints, leader election, the poll timer and the pause check.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { type Logger, pino } from 'pino';
import { commitStatusTarget } from './commit-status.js';
import type { ReconcilerConfig } from './config.js';
import { GitSource } from './git-source.js';
import { AgentHandoff } from './handoff.js';
import { KubeApi } from './kube.js';
import { LeaderElector } from './lease.js';
import { createReconcilerMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { Recorder } from './recorder.js';
import { createReconcilerServer } from './server.js';

/** How often the leader reads the pause ConfigMap. */
const PAUSE_CHECK_MS = 1000;

export interface RunningReconciler {
  url: string;
  reconciler: Reconciler;
  isLeader(): boolean;
  close(): Promise<void>;
}

export async function startReconciler(
  config: ReconcilerConfig,
  options: { log?: Logger; listenAddress?: string; onLostLeadership?: () => void } = {},
): Promise<RunningReconciler> {
  const log = options.log ?? pino({ level: config.logLevel, base: { component: 'nyx-reconciler' } });
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const kube = await KubeApi.fromKubeConfig(kc);
  kube.userAgent = `nyx-reconciler/${config.identity}`;
  const metrics = createReconcilerMetrics();
  const recorder = new Recorder(kube, config.namespace, config.identity, log);
  const handoff = new AgentHandoff(config.redisUrl, log, metrics);
  const source = new GitSource({
    url: config.gitUrl,
    branch: config.gitBranch,
    gitdir: join(config.stateDir, 'repo.git'),
    ...(config.gitToken ? { token: config.gitToken } : {}),
  });
  const reconciler = new Reconciler({
    kube,
    kubeConfig: kc,
    source,
    handoff,
    recorder,
    metrics,
    log,
    maxRevertsPerMinute: config.maxRevertsPerMinute,
    commitStatus: commitStatusTarget({
      gitUrl: config.gitUrl,
      ...(config.gitToken ? { token: config.gitToken } : {}),
      ...(config.githubApiUrl ? { apiUrl: config.githubApiUrl } : {}),
    }),
    inventoryDebounceMs: config.inventoryDebounceMs,
  });

  let leading = false;
  let firstSyncDone = false;
  const timers: NodeJS.Timeout[] = [];
  const lead = async (): Promise<void> => {
    leading = true;
    metrics.leader.set(1);
    reconciler.setPause(await recorder.readPause());
    await reconciler.requestSync('start');
    firstSyncDone = true;
    await reconciler.startWatches();
    timers.push(setInterval(() => void reconciler.requestSync('poll'), config.pollIntervalSeconds * 1000));
    timers.push(setInterval(async () => reconciler.setPause(await recorder.readPause()), PAUSE_CHECK_MS));
    handoff.onPushNudge(() => void reconciler.requestSync('push (relayed)'));
  };

  const elector = config.leaderElection
    ? new LeaderElector({
        kube,
        namespace: config.namespace,
        name: 'nyx-reconciler',
        identity: config.identity,
        leaseDurationSeconds: config.leaseDurationSeconds,
        log,
        onStartedLeading: () => {
          lead().catch((e) => log.error({ err: String(e) }, 'starting to lead failed'));
        },
        onStoppedLeading: () => {
          // As client-go advises: a replica that lost the Lease stops at once (and is restarted as
          // a follower), so it cannot keep writing next to the new leader.
          metrics.leader.set(0);
          (options.onLostLeadership ?? (() => process.exit(1)))();
        },
      })
    : undefined;

  const server = createReconcilerServer({
    registry: metrics.registry,
    branch: config.gitBranch,
    ...(config.webhookSecret ? { webhookSecret: config.webhookSecret } : {}),
    // A follower is ready (it stands by); the leader once its first sync has run.
    ready: () => (leading ? firstSyncDone : true),
    status: () => ({ ...reconciler.status, leader: leading, identity: config.identity }),
    onPush: ({ after }) => {
      if (leading) void reconciler.requestSync(`push ${after ?? ''}`.trim());
      else void handoff.relayPush(after);
    },
  });
  await new Promise<void>((resolve) =>
    server.listen(config.port, options.listenAddress ?? '0.0.0.0', resolve),
  );
  const port = (server.address() as AddressInfo).port;

  if (elector) elector.start();
  else await lead();

  return {
    url: `http://127.0.0.1:${port}`,
    reconciler,
    isLeader: () => leading,
    close: async () => {
      for (const t of timers) clearInterval(t);
      await elector?.stop();
      await reconciler.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handoff.close();
    },
  };
}
