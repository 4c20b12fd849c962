// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: the holder
// renews every `retry`; another replica takes the Lease over once it has seen no renewal for the
// lease duration (measured on its own clock, so clock skew between nodes does not matter). A leader
// that cannot renew within `renewDeadline` (< duration) stops leading before anyone can take over, so
// two replicas never apply at once.
import type { Logger } from 'pino';
import { type KubeApi, KubeError, LEASES } from './kube.js';

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  kube: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;

  constructor(private readonly o: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get durationMs(): number {
    return this.o.leaseDurationSeconds * 1000;
  }

  private get retryMs(): number {
    return Math.max(200, Math.min(2000, this.durationMs / 5));
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'became the leader');
          this.o.onStartedLeading();
        }
      } else if (this.leading) this.lose('another replica holds the Lease');
    } catch (e) {
      this.o.log.warn({ err: String(e) }, 'leader election: Lease update failed');
      if (this.leading && Date.now() - this.lastRenew > (this.durationMs * 2) / 3) {
        this.lose('could not renew the Lease in time');
      }
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.o.log.warn({ lease: this.o.name, identity: this.o.identity }, `stopped leading: ${why}`);
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, namespace, name, identity } = this.o;
    const now = Date.now();
    const current = await kube.get<Lease>(LEASES, namespace, name);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: this.o.leaseDurationSeconds,
      renewTime: microTime(now),
    };
    if (!current) {
      try {
        await kube.create(LEASES, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (e instanceof KubeError && e.status === 409) return false;
        throw e;
      }
    }
    const record = JSON.stringify(current.spec ?? {});
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now };
    const holder = current.spec?.holderIdentity ?? '';
    const duration = (current.spec?.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    if (holder !== identity && holder !== '' && now < this.observed.at + duration) return false;
    const next: Lease = {
      ...current,
      spec: {
        ...current.spec,
        ...spec,
        ...(holder === identity
          ? {}
          : { acquireTime: microTime(now), leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await kube.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`, {
        body: next,
      });
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.status === 409) return false;
      throw e;
    }
  }

  /** Stops electing; a leader releases the Lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const { kube, namespace, name } = this.o;
    try {
      const current = await kube.get<Lease>(LEASES, namespace, name);
      if (current?.spec?.holderIdentity === this.o.identity) {
        await kube.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`, {
          body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
      }
    } catch (e) {
      this.o.log.warn({ err: String(e) }, 'could not release the Lease');
    }
  }
}
