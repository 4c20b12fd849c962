// Where the flow window and the inventory come from (configuration, see config.ts): the Redis flow
// store the agents feed, a file or URL of SPEC §7 flows, or Hubble/Calico exports. Loaded windows
// are reused for `cacheSeconds` (files also until their mtime changes) so that a burst of jobs does
// not re-read a 100,000-tuple window each time.
import { stat } from 'node:fs/promises';
import {
  FlowWindow,
  formatDiagnostic,
  type Inventory,
  parseFlowLine,
  parseInventory,
  SILENT_SKIPS,
} from '@nyx/core';
import {
  type FlowStoreRedis,
  readFlowWindowFromRedis,
  readFlowWindowInWorker,
  readInventoryFile,
  readPublishedInventory,
  readWouldDenyFromRedis,
  type WouldDenyRecord,
  wouldDenyField,
} from '@nyx/io';
import type { FlowSourceConfig, InventorySourceConfig } from './config.js';
import { redactUrl } from './config.js';

/** An inventory with nothing in it: every pod reference is then unresolved (and counted as such). */
export function emptyInventory(): Inventory {
  return { namespaces: new Map(), pods: new Map(), nodes: new Map() };
}

/** The would-deny findings the agents' kernels recorded in a window (only with `NYX_FLOWS=redis`). */
export interface ObservedWouldDeny {
  hours: number;
  /** One per flow and deciding reason, counts summed over the window's hours, most connections first. */
  records: WouldDenyRecord[];
}

/** At most this many distinct findings are kept for a comment (the rest are counted). */
const MAX_OBSERVED_FINDINGS = 5000;

export interface FlowInputs {
  /** The window for a given length in hours (only the Redis store honours the length). */
  window(hours: number): Promise<FlowWindow>;
  /** The agents' kernel findings of the last `hours` (undefined unless the flows come from Redis). */
  wouldDeny(hours: number): Promise<ObservedWouldDeny | undefined>;
  inventory(): Promise<InventoryInput>;
}

interface Cached<T> {
  key: string;
  at: number;
  value: Promise<T>;
}

type InventoryInput = { inventory: Inventory; note?: string };

/**
 * One cached load at a time: the value for `key` is reused while it is younger than `maxAgeMs`,
 * including while it is still loading; a load that fails is forgotten so that the next call retries.
 */
function reuseFor<T>(
  maxAgeMs: number,
  now: () => number,
): (key: string, load: () => Promise<T>) => Promise<T> {
  let cached: Cached<T> | undefined;
  return (key, load) => {
    if (cached === undefined || cached.key !== key || now() - cached.at >= maxAgeMs) {
      const entry: Cached<T> = { key, at: now(), value: load() };
      cached = entry;
      entry.value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

/**
 * The SPEC §7 flow lines served at `url`. Lines that do not parse cannot fail a pull request's check
 * (the data is not the pull request's): they are left out and counted among the window's skipped
 * lines, so that the comment says so. Credentials in the URL (`https://user:pass@host/…`) are sent
 * as HTTP Basic auth (fetch refuses them in the URL) and never appear in a message: errors name the
 * URL with its user, password and query values masked.
 */
async function fetchFlowWindow(url: string): Promise<FlowWindow> {
  const target = new URL(url);
  const headers: Record<string, string> = {};
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const shown = redactUrl(url);
  let response: Response;
  try {
    response = await fetch(target, { headers });
  } catch (error) {
    throw new Error(`NYX_FLOWS ${shown}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`NYX_FLOWS ${shown}: HTTP ${response.status}`);
  const window = new FlowWindow();
  const lines = (await response.text()).split('\n');
  lines.forEach((line, i) => {
    const r = parseFlowLine(line, i + 1, shown);
    if (!r.ok) window.skip('not a valid flow line');
    else if (r.record) window.add(r.record);
    else if (!SILENT_SKIPS.has(r.skipped)) window.skip(r.skipped);
  });
  return window;
}

async function loadWindow(
  flows: FlowSourceConfig,
  redis: FlowStoreRedis,
  hours: number,
): Promise<FlowWindow> {
  switch (flows.kind) {
    case 'none':
      return new FlowWindow();
    case 'redis':
      return (await readFlowWindowFromRedis(redis, { hours })).window;
    case 'file':
      // On a thread: a file of millions of records is parsed without holding up the event loop.
      return readFlowWindowInWorker(flows.path, { format: flows.format });
    case 'url':
      return fetchFlowWindow(flows.url);
  }
}

async function loadInventory(src: InventorySourceConfig, redis: FlowStoreRedis): Promise<InventoryInput> {
  if (src.kind === 'none') return { inventory: emptyInventory(), note: 'no inventory configured' };
  // A file goes through the one inventory reader (size limit, BOM, errors at file:line).
  if (src.kind === 'file') return { inventory: await readInventoryFile(src.path) };
  const file = 'redis:nyx:inventory:v1';
  const published = await readPublishedInventory(redis);
  if (!published) return { inventory: emptyInventory(), note: 'no inventory published in Redis yet' };
  const r = parseInventory(published.json, file);
  if (!r.ok) throw new Error(`inventory ${file}: ${r.errors.map(formatDiagnostic).join('; ')}`);
  return { inventory: r.inventory };
}

/** The findings of the last `hours`, one per flow and reason (hourly entries summed). */
async function loadWouldDeny(redis: FlowStoreRedis, hours: number): Promise<ObservedWouldDeny> {
  const byKey = new Map<string, WouldDenyRecord>();
  for await (const r of readWouldDenyFromRedis(redis, { hours })) {
    const key = wouldDenyField(r);
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...r });
      continue;
    }
    seen.count = (seen.count ?? 1) + (r.count ?? 1);
    if (r.firstSeen && (!seen.firstSeen || r.firstSeen < seen.firstSeen)) seen.firstSeen = r.firstSeen;
    if (r.lastSeen && (!seen.lastSeen || r.lastSeen > seen.lastSeen)) seen.lastSeen = r.lastSeen;
  }
  const records = [...byKey.values()]
    .sort((a, b) => (b.count ?? 1) - (a.count ?? 1))
    .slice(0, MAX_OBSERVED_FINDINGS);
  return { hours, records };
}

/** Flow window and inventory loaders over the configured sources. */
export function flowInputs(options: {
  flows: FlowSourceConfig;
  inventory: InventorySourceConfig;
  redis: FlowStoreRedis;
  cacheSeconds: number;
  now?: () => number;
}): FlowInputs {
  const now = options.now ?? Date.now;
  const reuseWindow = reuseFor<FlowWindow>(options.cacheSeconds * 1000, now);
  const reuseInventory = reuseFor<InventoryInput>(options.cacheSeconds * 1000, now);
  return {
    async window(hours) {
      const f = options.flows;
      const key =
        f.kind === 'file'
          ? `${f.path}@${(await stat(f.path)).mtimeMs}`
          : `${f.kind}:${f.kind === 'redis' ? hours : ''}`;
      return reuseWindow(key, () => loadWindow(f, options.redis, hours));
    },
    async wouldDeny(hours) {
      return options.flows.kind === 'redis' ? loadWouldDeny(options.redis, hours) : undefined;
    },
    async inventory() {
      const src = options.inventory;
      const key = src.kind === 'file' ? `${src.path}@${(await stat(src.path)).mtimeMs}` : src.kind;
      return reuseInventory(key, () => loadInventory(src, options.redis));
    },
  };
}
