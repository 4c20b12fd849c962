// Where the flow window and the inventory come from (configuration, see config.ts): the Redis flow
// store the agents feed, a file or URL of SPEC §7 flows, or Hubble/Calico exports. Loaded windows
// are reused for `cacheSeconds` (files also until their mtime changes) so that a burst of jobs does
// not re-read a 100,000-tuple window each time.
import { readFile, stat } from 'node:fs/promises';
import { FlowWindow, formatDiagnostic, type Inventory, parseFlowLine, parseInventory } from '@nyx/core';
import {
  type FlowStoreRedis,
  readFlowWindow,
  readFlowWindowFromRedis,
  readPublishedInventory,
} from '@nyx/io';
import type { FlowSourceConfig, InventorySourceConfig } from './config.js';

/** An inventory with nothing in it: every pod reference is then unresolved (and counted as such). */
export function emptyInventory(): Inventory {
  return { namespaces: new Map(), pods: new Map(), nodes: new Map() };
}

export interface FlowInputs {
  /** The window for a given length in hours (only the Redis store honours the length). */
  window(hours: number): Promise<FlowWindow>;
  inventory(): Promise<{ inventory: Inventory; note?: string }>;
}

interface Cached<T> {
  key: string;
  at: number;
  value: T;
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
  let windowCache: Cached<Promise<FlowWindow>> | undefined;
  let inventoryCache: Cached<Promise<{ inventory: Inventory; note?: string }>> | undefined;
  const fresh = <T>(c: Cached<T> | undefined, key: string): c is Cached<T> =>
    c !== undefined && c.key === key && now() - c.at < options.cacheSeconds * 1000;

  const loadWindow = async (hours: number): Promise<FlowWindow> => {
    const f = options.flows;
    if (f.kind === 'none') return new FlowWindow();
    if (f.kind === 'redis') return (await readFlowWindowFromRedis(options.redis, { hours })).window;
    if (f.kind === 'file') return readFlowWindow(f.path, { format: f.format });
    const response = await fetch(f.url);
    if (!response.ok) throw new Error(`NYX_FLOWS ${f.url}: HTTP ${response.status}`);
    const window = new FlowWindow();
    const lines = (await response.text()).split('\n');
    lines.forEach((line, i) => {
      const r = parseFlowLine(line, i + 1, f.url);
      if (r.ok && r.record) window.add(r.record);
    });
    return window;
  };

  return {
    async window(hours) {
      const f = options.flows;
      const key =
        f.kind === 'file'
          ? `${f.path}@${(await stat(f.path)).mtimeMs}`
          : `${f.kind}:${f.kind === 'redis' ? hours : ''}`;
      if (!fresh(windowCache, key)) {
        const value = loadWindow(hours);
        windowCache = { key, at: now(), value };
        value.catch(() => {
          if (windowCache?.value === value) windowCache = undefined;
        });
      }
      return windowCache.value;
    },
    async inventory() {
      const src = options.inventory;
      const key = src.kind === 'file' ? `${src.path}@${(await stat(src.path)).mtimeMs}` : src.kind;
      if (!fresh(inventoryCache, key)) {
        const value = (async (): Promise<{ inventory: Inventory; note?: string }> => {
          if (src.kind === 'none') return { inventory: emptyInventory(), note: 'no inventory configured' };
          let json: unknown;
          let file: string;
          if (src.kind === 'file') {
            file = src.path;
            json = JSON.parse(await readFile(src.path, 'utf8'));
          } else {
            file = 'redis:nyx:inventory:v1';
            const published = await readPublishedInventory(options.redis);
            if (!published)
              return { inventory: emptyInventory(), note: 'no inventory published in Redis yet' };
            json = published.json;
          }
          const r = parseInventory(json, file);
          if (!r.ok) throw new Error(`inventory ${file}: ${r.errors.map(formatDiagnostic).join('; ')}`);
          return { inventory: r.inventory };
        })();
        inventoryCache = { key, at: now(), value };
        value.catch(() => {
          if (inventoryCache?.value === value) inventoryCache = undefined;
        });
      }
      return inventoryCache.value;
    },
  };
}
