// The reconciler → agents hand-off over Redis (SPEC §8.6). Redis is the agents' fan-out, as Calico's
// Typha fans the API server out to many nodes: agents never talk to the API server. This file defines
// the shape beside the flow store's; keep it stable and extend it only by adding keys or optional
// JSON fields.
//
// Shape (version 1):
//
//   nyx:bundle:v1                STRING, the last validated bundle (last-value key), JSON
//                                `{"version":1,"revision":"<commit sha>","hash":"sha256:<hex>",
//                                  "createdAt":"<RFC 3339>","files":[{"path":"…","text":"…"}]}`:
//                                the policy files of that revision, as the core's loader reads them,
//                                so every agent loads and compiles exactly what the reconciler
//                                validated. `hash` is `bundleHash(files)` (content address).
//   nyx:bundle:v1:notify         PUB/SUB channel; message `{"revision":"…","hash":"…"}` after each
//                                publication (subscribers re-read the key: the message is a nudge).
//   nyx:inventory:v1             the inventory (flow-store.ts), plus
//   nyx:inventory:v1:version     STRING, `sha256:<hex>` of the inventory JSON text, and
//   nyx:inventory:v1:notify      PUB/SUB channel; message: that version.
//   nyx:agents:v1                HASH, field: node name, value: the agent's acknowledgement JSON
//                                `{"node","revision","hash","inventoryVersion","appliedAt","status":
//                                "applied"|"failed","error"?}`
//   nyx:agents:v1:notify         PUB/SUB channel; message: the acknowledgement JSON.
import { createHash } from 'node:crypto';
import { INVENTORY_KEY, INVENTORY_UPDATED_KEY } from './flow-store.js';

export const BUNDLE_KEY = 'nyx:bundle:v1';
export const BUNDLE_CHANNEL = 'nyx:bundle:v1:notify';
export const INVENTORY_VERSION_KEY = 'nyx:inventory:v1:version';
export const INVENTORY_CHANNEL = 'nyx:inventory:v1:notify';
export const AGENTS_KEY = 'nyx:agents:v1';
export const AGENTS_CHANNEL = 'nyx:agents:v1:notify';

/** One policy file of a bundle: its path inside the policy tree and its text. */
export interface BundleFile {
  path: string;
  text: string;
}

/** The validated state of one revision, as the reconciler publishes it. */
export interface Bundle {
  version: 1;
  revision: string;
  hash: string;
  createdAt: string;
  files: BundleFile[];
}

/** What an agent reports after each attempt to enforce a bundle and inventory. */
export interface AgentAck {
  node: string;
  revision: string;
  hash: string;
  inventoryVersion: string;
  appliedAt: string;
  status: 'applied' | 'failed';
  error?: string;
}

/** The slice of an ioredis client the hand-off needs (an ioredis `Redis` satisfies it). */
export interface HandoffRedis {
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<Array<string | null>>;
  mset(...args: string[]): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  hset(key: string, field: string, value: string): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
}

/** The slice of an ioredis client a subscriber needs (an ioredis `Redis` satisfies it). */
export interface SubscriberRedis {
  readonly status: string;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  off(event: 'ready' | 'end', listener: () => void): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
}

/**
 * SUBSCRIBE to `channels`, kept across reconnects. Every subscriber of the hand-off goes through
 * this. ioredis 5 loses a subscription issued between its `connect` and `ready` (redis/ioredis#2037:
 * the reply puts the connection in subscriber mode, the ready check's INFO is then refused, and the
 * reconnect that follows does not subscribe again, yet the promise resolved). Issued before the
 * socket connects it is queued until `ready`, and after `ready` it is sent: only that window waits.
 */
export async function subscribeChannels(redis: SubscriberRedis, ...channels: string[]): Promise<void> {
  while (redis.status === 'connect') {
    // `end`: the client gave up reconnecting; SUBSCRIBE then fails with ioredis's own error.
    await new Promise<void>((resolve) => {
      const settle = () => {
        redis.off('ready', settle);
        redis.off('end', settle);
        resolve();
      };
      redis.once('ready', settle);
      redis.once('end', settle);
    });
  }
  await redis.subscribe(...channels);
}

function sha256(parts: Iterable<string>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}

/** The content address of a set of files: independent of their order. */
export function bundleHash(files: readonly BundleFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256(sorted.flatMap((f) => [f.path, '\0', f.text, '\0']));
}

/** Builds a bundle of `files` for `revision`, sorted by path, with its hash. */
export function makeBundle(revision: string, files: readonly BundleFile[], now = new Date()): Bundle {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { version: 1, revision, hash: bundleHash(sorted), createdAt: now.toISOString(), files: sorted };
}

/**
 * Parses a bundle read from Redis; throws when it is not a version-1 bundle or its files do not
 * match its hash (an agent never enforces a bundle it cannot verify).
 */
export function parseBundle(text: string): Bundle {
  const b = JSON.parse(text) as Partial<Bundle>;
  if (b.version !== 1) throw new Error(`bundle: unsupported version ${String(b.version)} (expected 1)`);
  if (typeof b.revision !== 'string' || typeof b.hash !== 'string' || !Array.isArray(b.files)) {
    throw new Error('bundle: revision, hash and files are required');
  }
  for (const f of b.files) {
    if (typeof f?.path !== 'string' || typeof f?.text !== 'string') {
      throw new Error('bundle: every file needs a path and a text');
    }
  }
  const actual = bundleHash(b.files);
  if (actual !== b.hash) throw new Error(`bundle: hash ${b.hash} does not match its files (${actual})`);
  return b as Bundle;
}

/** Replaces the last-value bundle and notifies subscribers (the reconciler calls this). */
export async function publishBundle(redis: HandoffRedis, bundle: Bundle): Promise<void> {
  await redis.mset(BUNDLE_KEY, JSON.stringify(bundle));
  await redis.publish(BUNDLE_CHANNEL, JSON.stringify({ revision: bundle.revision, hash: bundle.hash }));
}

/** The last published bundle, verified, or undefined when none was published yet. */
export async function readBundle(redis: HandoffRedis): Promise<Bundle | undefined> {
  const text = await redis.get(BUNDLE_KEY);
  return text === null ? undefined : parseBundle(text);
}

/** The version of an inventory JSON text: its content address. */
export function inventoryVersion(text: string): string {
  return sha256([text]);
}

/**
 * Replaces the published inventory with its version and notifies subscribers (the reconciler
 * calls this). Returns the version.
 */
export async function publishInventoryVersioned(
  redis: HandoffRedis,
  inventory: unknown,
  now: Date = new Date(),
): Promise<string> {
  const text = JSON.stringify(inventory);
  const version = inventoryVersion(text);
  await redis.mset(
    INVENTORY_KEY,
    text,
    INVENTORY_UPDATED_KEY,
    now.toISOString(),
    INVENTORY_VERSION_KEY,
    version,
  );
  await redis.publish(INVENTORY_CHANNEL, version);
  return version;
}

/** The published inventory text and its version, or undefined when none was published yet. */
export async function readInventoryVersioned(
  redis: HandoffRedis,
): Promise<{ text: string; version: string } | undefined> {
  const [text, version] = await redis.mget(INVENTORY_KEY, INVENTORY_VERSION_KEY);
  if (text === null || text === undefined) return undefined;
  return { text, version: version ?? inventoryVersion(text) };
}

/** Records an agent's acknowledgement and notifies the reconciler (agents call this). */
export async function acknowledge(redis: HandoffRedis, ack: AgentAck): Promise<void> {
  const text = JSON.stringify(ack);
  await redis.hset(AGENTS_KEY, ack.node, text);
  await redis.publish(AGENTS_CHANNEL, text);
}

/** Every agent's last acknowledgement, by node name (malformed entries are left out). */
export async function readAcks(redis: HandoffRedis): Promise<Map<string, AgentAck>> {
  const all = await redis.hgetall(AGENTS_KEY);
  const acks = new Map<string, AgentAck>();
  for (const [node, text] of Object.entries(all)) {
    try {
      acks.set(node, JSON.parse(text) as AgentAck);
    } catch {
      // a value another writer garbled: not an acknowledgement
    }
  }
  return acks;
}
