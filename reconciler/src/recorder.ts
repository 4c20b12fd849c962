// Kubernetes Events and the status ConfigMap: how the reconciler reports to `kubectl`. Writes here
// never block the pipeline: a failure is logged and the pipeline goes on.
import type { Logger } from 'pino';
import { CONFIGMAPS, EVENTS, type KubeApi, KubeError } from './kube.js';
import type { KubeObject } from './manifests.js';

/** The ConfigMap that holds the reconciler's status (and the target of revision-level Events). */
export const STATUS_CONFIGMAP = 'nyx-reconciler-status';
/** The ConfigMap `nyxctl pause` writes (break-glass). */
export const PAUSE_CONFIGMAP = 'nyx-reconciler-pause';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export function involvedObjectOf(o: KubeObject): InvolvedObject {
  const io: InvolvedObject = {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    name: o.metadata?.name ?? '',
  };
  if (o.metadata?.namespace) io.namespace = o.metadata.namespace;
  if (o.metadata?.uid) io.uid = o.metadata.uid;
  return io;
}

export class Recorder {
  constructor(
    private readonly kube: KubeApi,
    private readonly namespace: string,
    private readonly identity: string,
    private readonly log: Logger,
  ) {}

  /** The reconciler's own status object, for revision-level Events. */
  statusObject(): InvolvedObject {
    return { apiVersion: 'v1', kind: 'ConfigMap', name: STATUS_CONFIGMAP, namespace: this.namespace };
  }

  /** Emits a core/v1 Event (cluster-scoped objects' Events go to the reconciler's namespace). */
  event(
    involved: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const namespace = involved.namespace ?? this.namespace;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'nyx-reconciler.', namespace },
      involvedObject: involved,
      type,
      reason,
      // The API server limits an Event message to 1 KiB.
      message: message.length > 1000 ? `${message.slice(0, 997)}...` : message,
      source: { component: 'nyx-reconciler' },
      reportingComponent: 'nyx-reconciler',
      reportingInstance: this.identity,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    return this.kube.create(EVENTS, body).then(
      () => undefined,
      (e: unknown) => this.log.warn({ err: String(e), reason }, 'could not record an Event'),
    );
  }

  /** Replaces the status ConfigMap's data (creates it when missing). */
  async writeStatus(data: Record<string, string>): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: STATUS_CONFIGMAP,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'nyx-reconciler' },
      },
      data,
    };
    try {
      await this.kube.request(
        'PATCH',
        `/api/v1/namespaces/${this.namespace}/configmaps/${STATUS_CONFIGMAP}`,
        {
          body,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: 'nyx-reconciler', force: 'true' },
        },
      );
    } catch (e) {
      this.log.warn({ err: String(e) }, 'could not write the status ConfigMap');
    }
  }

  /** The pause in effect, if the pause ConfigMap exists and has not expired. */
  async readPause(): Promise<PauseState | undefined> {
    try {
      const cm = await this.kube.get<{ data?: Record<string, string> }>(
        CONFIGMAPS,
        this.namespace,
        PAUSE_CONFIGMAP,
      );
      return cm ? parsePause(cm.data ?? {}) : undefined;
    } catch (e) {
      if (e instanceof KubeError) this.log.warn({ err: e.message }, 'could not read the pause ConfigMap');
      return undefined;
    }
  }
}

export interface PauseState {
  until: string;
  reason: string;
  by: string;
}

/** The pause described by the pause ConfigMap's data, or undefined when it is malformed. */
export function parsePause(data: Record<string, string>): PauseState | undefined {
  const until = data.until;
  if (!until || Number.isNaN(Date.parse(until))) return undefined;
  return { until, reason: data.reason ?? '', by: data.by ?? '' };
}
