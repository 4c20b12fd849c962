// The hand-off step (SPEC §8.6): publishes the validated bundle and the inventory to Redis with the
// shape of `@nyx/io`'s handoff.ts, follows the agents' acknowledgements and derives the rollout
// state. Redis being down never blocks the pipeline: publications fail fast, the latest ones are
// kept and republished as soon as the connection is back.
import {
  AGENTS_CHANNEL,
  type AgentAck,
  type Bundle,
  publishBundle,
  publishInventoryVersioned,
  readAcks,
  readBundle,
  subscribeChannels,
} from '@nyx/io';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReconcilerMetrics } from './metrics.js';

/**
 * PUB/SUB channel between replicas: a push webhook that reached a follower is relayed to the leader
 * (the message is the pushed commit or empty; only a nudge to fetch).
 */
export const PUSH_NUDGE_CHANNEL = 'nyx:reconciler:v1:push';

export interface RolloutState {
  revision: string;
  hash: string;
  /** Nodes whose agent acknowledged this revision as applied. */
  applied: string[];
  /** Nodes known (inventory or earlier acknowledgements) that have not acknowledged it yet. */
  pending: string[];
  /** Nodes whose agent failed to apply it, with the agent's error. */
  failed: Array<{ node: string; error: string }>;
}

/** The rollout of `bundle` over `nodes` given the agents' last acknowledgements. Pure. */
export function rolloutState(
  bundle: Pick<Bundle, 'revision' | 'hash'>,
  nodes: Iterable<string>,
  acks: ReadonlyMap<string, AgentAck>,
): RolloutState {
  const all = new Set(nodes);
  for (const n of acks.keys()) all.add(n);
  const state: RolloutState = {
    revision: bundle.revision,
    hash: bundle.hash,
    applied: [],
    pending: [],
    failed: [],
  };
  for (const node of [...all].sort()) {
    const ack = acks.get(node);
    if (!ack || ack.hash !== bundle.hash) state.pending.push(node);
    else if (ack.status === 'applied') state.applied.push(node);
    else state.failed.push({ node, error: ack.error ?? 'failed' });
  }
  return state;
}

export class AgentHandoff {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private pendingBundle: Bundle | undefined;
  private pendingInventory: unknown;
  private published: Bundle | undefined;
  private readonly acks = new Map<string, AgentAck>();
  private nodes: string[] = [];
  private listeners = new Set<(state: RolloutState) => void>();
  private nudgeListeners = new Set<() => void>();
  inventoryVersion: string | undefined;

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly metrics: ReconcilerMetrics,
  ) {
    const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false };
    this.redis = new Redis(url, options);
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    this.redis.on('error', (e: Error) => log.debug({ err: e.message }, 'redis'));
    this.subscriber.on('error', (e: Error) => log.debug({ err: e.message }, 'redis subscriber'));
    this.redis.on('ready', () => void this.onReady());
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel === PUSH_NUDGE_CHANNEL) for (const l of this.nudgeListeners) l();
      else this.onAck(text);
    });
    subscribeChannels(this.subscriber, AGENTS_CHANNEL, PUSH_NUDGE_CHANNEL).catch((e: Error) =>
      log.warn({ err: e.message }, 'subscribe'),
    );
  }

  private async onReady(): Promise<void> {
    try {
      for (const [node, ack] of await readAcks(this.redis)) this.acks.set(node, ack);
    } catch (e) {
      this.log.warn({ err: String(e) }, 'could not read the agents acknowledgements');
    }
    if (this.pendingBundle) await this.publishBundle(this.pendingBundle);
    if (this.pendingInventory !== undefined) await this.publishInventory(this.pendingInventory);
    this.emit();
  }

  private onAck(text: string): void {
    try {
      const ack = JSON.parse(text) as AgentAck;
      if (typeof ack.node !== 'string') return;
      this.acks.set(ack.node, ack);
      this.emit();
    } catch {
      // not an acknowledgement
    }
  }

  /** Publishes a bundle; when Redis is away it is kept and published on reconnection. */
  async publishBundle(bundle: Bundle): Promise<boolean> {
    this.pendingBundle = bundle;
    try {
      await publishBundle(this.redis, bundle);
      this.pendingBundle = undefined;
      this.published = bundle;
      this.metrics.handoffPublished.inc();
      this.log.info({ revision: bundle.revision, hash: bundle.hash }, 'bundle published to the agents');
      this.emit();
      return true;
    } catch (e) {
      this.metrics.handoffErrors.inc();
      this.log.warn(
        { err: String(e), revision: bundle.revision },
        'redis unavailable; the bundle is published on reconnection',
      );
      return false;
    }
  }

  async publishInventory(inventory: unknown): Promise<boolean> {
    this.pendingInventory = inventory;
    try {
      this.inventoryVersion = await publishInventoryVersioned(this.redis, inventory);
      this.pendingInventory = undefined;
      this.metrics.inventoryPublished.inc();
      return true;
    } catch (e) {
      this.metrics.handoffErrors.inc();
      this.log.warn({ err: String(e) }, 'redis unavailable; the inventory is published on reconnection');
      return false;
    }
  }

  /** Relays a push webhook to the leader (called by a follower). */
  async relayPush(after: string | undefined): Promise<void> {
    await this.redis
      .publish(PUSH_NUDGE_CHANNEL, after ?? '')
      .catch((e: Error) =>
        this.log.warn({ err: e.message }, 'could not relay the push to the leader; it polls anyway'),
      );
  }

  onPushNudge(listener: () => void): void {
    this.nudgeListeners.add(listener);
  }

  /** The nodes the rollout expects (from the inventory). */
  setNodes(nodes: string[]): void {
    this.nodes = nodes;
    this.emit();
  }

  /**
   * The bundle in Redis: after a restart, the last revision this reconciler validated and applied
   * (undefined when Redis is away or holds none or one that does not verify).
   */
  async readPublished(): Promise<Bundle | undefined> {
    try {
      return await readBundle(this.redis);
    } catch (e) {
      this.log.warn({ err: String(e) }, 'could not read the published bundle');
      return undefined;
    }
  }

  /** The bundle published last (or awaiting publication). */
  currentBundle(): Bundle | undefined {
    return this.pendingBundle ?? this.published;
  }

  rollout(): RolloutState | undefined {
    const b = this.currentBundle();
    return b ? rolloutState(b, this.nodes, this.acks) : undefined;
  }

  onRollout(listener: (state: RolloutState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    const state = this.rollout();
    if (!state) return;
    this.metrics.rolloutNodes.set({ state: 'applied' }, state.applied.length);
    this.metrics.rolloutNodes.set({ state: 'pending' }, state.pending.length);
    this.metrics.rolloutNodes.set({ state: 'failed' }, state.failed.length);
    for (const l of this.listeners) l(state);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}
