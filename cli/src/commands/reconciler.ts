// `nyxctl status` and `nyxctl pause|resume`: the reconciler's state and its break-glass pause, through
// the Kubernetes API (the kubeconfig's identity, so every pause is in the API server's audit log).
import {
  KubeApi,
  KubeError,
  PAUSE_CONFIGMAP,
  type PauseState,
  parsePause,
  type ReconcilerStatus,
  STATUS_CONFIGMAP,
} from '@nyx/reconciler';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../errors.js';
import type { CommandIo } from '../output.js';

export interface ReconcilerTarget {
  kubeconfig?: string;
  namespace: string;
}

/** The longest pause accepted: a pause is for an incident, Git stays the way out of it. */
export const MAX_PAUSE_MS = 24 * 3600_000;

/** `30m`, `1h30m`, `90s` → milliseconds; undefined when malformed. */
export function parsePauseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  return ms > 0 ? ms : undefined;
}

async function connect(target: ReconcilerTarget): Promise<{ kube: KubeApi; user: string }> {
  let kube: KubeApi;
  try {
    kube = await KubeApi.connect(target.kubeconfig);
  } catch (e) {
    const which = target.kubeconfig
      ? `--kubeconfig ${target.kubeconfig}`
      : 'the kubeconfig (KUBECONFIG, ~/.kube/config)';
    throw new UsageError(`${which}: cannot use it: ${(e as Error).message}`);
  }
  kube.userAgent = 'nyxctl';
  return { kube, user: kube.kubeConfig.getCurrentUser()?.name ?? '' };
}

const configMapPath = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${name}`;

export async function runStatus(
  options: ReconcilerTarget & { format: 'text' | 'json' },
  io: CommandIo,
): Promise<number> {
  const { kube } = await connect(options);
  let cm: { data?: Record<string, string> } | undefined;
  try {
    cm = await kube.request('GET', configMapPath(options.namespace, STATUS_CONFIGMAP));
  } catch (e) {
    if (e instanceof KubeError && e.status === 404) {
      throw new UsageError(
        `no reconciler status in namespace ${options.namespace} (ConfigMap ${STATUS_CONFIGMAP} not found); is nyx-reconciler running there? (--namespace)`,
      );
    }
    throw e;
  }
  const status = JSON.parse(cm?.data?.['status.json'] ?? '{}') as ReconcilerStatus;
  if (options.format === 'json') {
    await io.out.write(`${JSON.stringify(status, null, 2)}\n`);
  } else {
    await io.out.write(formatStatus(status));
  }
  return status.phase === 'Synced' ? EXIT_OK : EXIT_FINDINGS;
}

/** The text form of `nyxctl status`. */
export function formatStatus(s: ReconcilerStatus): string {
  const lines = [
    `phase:     ${s.phase}${s.reason && s.reason !== s.phase ? ` (${s.reason})` : ''}`,
    `revision:  ${s.revision ?? '(none applied yet)'}`,
  ];
  if (s.attemptedRevision && s.attemptedRevision !== s.revision) {
    lines.push(`tip:       ${s.attemptedRevision} (not applied)`);
  }
  if (s.message) lines.push(`message:   ${s.message}`);
  for (const e of s.errors ?? []) lines.push(`  ${e}`);
  if (s.lastSyncAt) lines.push(`synced at: ${s.lastSyncAt}`);
  lines.push(`held:      ${s.held?.length ? s.held.join(', ') : 'none'}`);
  lines.push(
    `paused:    ${s.paused ? `until ${s.paused.until} by ${s.paused.by || 'unknown'}: ${s.paused.reason}` : 'no'}`,
  );
  if (s.inBackoff?.length) lines.push(`backoff:   ${s.inBackoff.join(', ')} (fought over by another writer)`);
  const r = s.rollout;
  if (r) {
    const total = r.applied.length + r.pending.length + r.failed.length;
    lines.push(
      `rollout:   ${r.revision.slice(0, 12)} on ${r.applied.length}/${total} nodes; pending ${r.pending.length}, failed ${r.failed.length}`,
    );
    if (r.pending.length) lines.push(`  pending: ${r.pending.join(', ')}`);
    for (const f of r.failed) lines.push(`  failed:  ${f.node}: ${f.error}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runPause(
  options: ReconcilerTarget & { for: string; reason?: string; by?: string },
  io: CommandIo,
  now: Date = new Date(),
): Promise<number> {
  const ms = parsePauseDuration(options.for);
  if (ms === undefined)
    throw new UsageError(`--for ${JSON.stringify(options.for)}: expected a duration like 30m, 1h or 1h30m`);
  if (ms > MAX_PAUSE_MS)
    throw new UsageError(
      `--for ${options.for}: a pause lasts at most 24h; pause again if the incident lasts`,
    );
  const reason = options.reason?.trim() ?? '';
  if (reason === '') throw new UsageError('--reason is required: say why (an incident id), it is recorded');
  const { kube, user } = await connect(options);
  const pause: PauseState = {
    until: new Date(now.getTime() + ms).toISOString(),
    reason,
    by: options.by || process.env.USER || user || 'unknown',
  };
  await kube.request('PATCH', configMapPath(options.namespace, PAUSE_CONFIGMAP), {
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: PAUSE_CONFIGMAP, namespace: options.namespace },
      data: { ...pause, requestedAt: now.toISOString() },
    },
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'nyxctl', force: 'true' },
  });
  const parsed = parsePause(pause as unknown as Record<string, string>)!;
  await io.out.write(
    `paused until ${parsed.until}: drift is recorded, not reverted; Git state is restored when it expires (nyxctl resume ends it now)\n`,
  );
  return EXIT_OK;
}

export async function runResume(options: ReconcilerTarget, io: CommandIo): Promise<number> {
  const { kube } = await connect(options);
  try {
    await kube.request('DELETE', configMapPath(options.namespace, PAUSE_CONFIGMAP));
    await io.out.write('resumed: the reconciler restores the state of Git\n');
  } catch (e) {
    if (!(e instanceof KubeError && e.status === 404)) throw e;
    await io.out.write('not paused\n');
  }
  return EXIT_OK;
}
