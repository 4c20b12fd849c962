// The node agent (SPEC sections 6-7, 8.6-8.7): read the bundle and inventory the reconciler hands
// off through Redis, compile them with the engine into this node's `nyxctl compile --agent` script,
// load it in one `nft -f` transaction, persist it as the last good state, acknowledge. A restarted
// agent loads its last good state from disk before it talks to anything, so a node keeps enforcing
// while the reconciler, Redis or the network is away.
//
// Pipeline of one reconcile: read (bundle, inventory) → build (loadPolicySet, parseInventory,
// compileEvaluator, compileRuleset: pure) → capture flows (a replace empties the kernel's sets) →
// apply (nft -f) → persist → acknowledge. A failed step keeps the previous ruleset in force and is
// reported in the acknowledgement (`status: failed`, `error`).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentExtras,
  addressOwners,
  annotateFlowRecord,
  type CompiledRuleset,
  compileEvaluator,
  compileRuleset,
  type Evaluator,
  type FlowRecord,
  type FqdnElement,
  formatDiagnostic,
  type Inventory,
  loadPolicySet,
  type PolicySet,
  parseInventory,
  type RulesetUpdate,
  rulesetUpdate,
} from '@nyx/core';
import {
  acknowledge,
  BUNDLE_CHANNEL,
  type Bundle,
  INVENTORY_CHANNEL,
  parseBundle,
  readBundle,
  readInventoryVersioned,
  subscribeChannels,
  type WouldDenyRecord,
  writeFlows,
  writeWouldDeny,
} from '@nyx/io';
import type { Redis } from 'ioredis';
import type { AgentConfig } from './config.js';
import { DnsProxy, type LearnedAddress } from './dns-proxy.js';
import { type AgentMetrics, createAgentMetrics, rulesetSize } from './metrics.js';
import { type CapturedFlow, loadScript, readCapturedFlows, readWouldDenyFindings } from './nft.js';

/** The state the agent enforces: a bundle and an inventory (with its version). */
export interface AgentState {
  bundle: Bundle;
  inventory: { text: string; version: string };
}

export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the last attempt did, for the acknowledgement and health. */
export interface AgentStatus {
  revision?: string;
  hash?: string;
  inventoryVersion?: string;
  appliedAt?: string;
  status: 'starting' | 'applied' | 'failed';
  error?: string;
  /** Flow records dropped because the in-memory buffer was full while Redis was away. */
  droppedFlows: number;
  /** Would-deny records dropped for the same reason. */
  droppedFindings: number;
}

const STATE_FILE = 'last-good.json';

/** How an apply went: an element update or a table replace (or nothing to load), and its phases. */
export interface AppliedUpdate {
  update: RulesetUpdate['kind'];
  /** Parsing and compiling (and diffing against the table in force). */
  buildMs: number;
  /** `nft -f`. */
  loadMs: number;
  /** Writing the last good state (after the kernel has it, before the acknowledgement). */
  persistMs: number;
}

/** A bundle's loaded policy set, kept while the bundle stays the same (pod churn). */
export interface LoadedBundle {
  hash: string;
  policySet: PolicySet;
}

/**
 * Builds the script of `state` for `node` (pure but for parsing); throws with file:line errors.
 * `loaded`: the policy set of a bundle with the same hash, used instead of loading it again.
 */
export function buildRuleset(
  state: AgentState,
  node: string,
  extras: AgentExtras = { flowCapture: true, wouldDeny: true },
  loaded?: LoadedBundle,
): { evaluator: Evaluator; ruleset: CompiledRuleset; inventory: Inventory; bundle: LoadedBundle } {
  let bundle = loaded?.hash === state.bundle.hash ? loaded : undefined;
  if (!bundle) {
    const result = loadPolicySet(state.bundle.files.map((f) => ({ path: f.path, content: f.text })));
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
    bundle = { hash: state.bundle.hash, policySet: result.policySet };
  }
  const parsed = parseInventory(JSON.parse(state.inventory.text), 'inventory');
  if (!parsed.ok) throw new Error(parsed.errors.map(formatDiagnostic).join('\n'));
  if (!parsed.inventory.nodes.has(node)) {
    throw new Error(`node "${node}" is not in the inventory ${state.inventory.version}`);
  }
  const evaluator = compileEvaluator(bundle.policySet, parsed.inventory);
  const ruleset = compileRuleset({ evaluator, node, agent: extras });
  return { evaluator, ruleset, inventory: parsed.inventory, bundle };
}

export class Agent {
  /** What the kernel holds: the table of `ruleset.script` (and the sets the kernel fills itself). */
  private current:
    | {
        state: AgentState;
        inventory: Inventory;
        evaluator: Evaluator;
        ruleset: CompiledRuleset;
        bundle: LoadedBundle;
      }
    | undefined;
  /** Addresses learned from DNS answers, by address: the name and when its TTL runs out. */
  private learned = new Map<string, LearnedAddress>();
  private dnsProxy: DnsProxy | undefined;
  private readonly status: AgentStatus = { status: 'starting', droppedFlows: 0, droppedFindings: 0 };
  /** The last apply that failed (kept after later successes, for health). */
  private lastError: { revision?: string; error: string; at: string } | undefined;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  /** Counter values seen at the last read, by tuple: the next read records the difference. */
  private counters = new Map<string, number>();
  private buffer: FlowRecord[] = [];
  private findings: WouldDenyRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private redis: Redis | undefined;
  private subscriber: Redis | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: AgentLog,
    readonly metrics: AgentMetrics = createAgentMetrics({ defaultMetrics: false }),
  ) {}

  health(): Readonly<AgentStatus> {
    return this.status;
  }

  /**
   * Readiness for `/healthz`: ready once a ruleset is in force (the last good state from disk or a
   * bundle from the hand-off); the detail names what is in force, the last attempt, the last apply
   * error and whether Redis is connected (the agent keeps enforcing without it).
   */
  readiness(): { ready: boolean; detail: Record<string, unknown> } {
    const inForce = this.current?.state;
    const s = this.status;
    return {
      ready: inForce !== undefined,
      detail: {
        node: this.config.node,
        ...(inForce
          ? {
              applied: {
                revision: inForce.bundle.revision,
                hash: inForce.bundle.hash,
                inventoryVersion: inForce.inventory.version,
              },
            }
          : {}),
        lastAttempt: {
          status: s.status,
          ...(s.revision !== undefined ? { revision: s.revision } : {}),
          ...(s.appliedAt !== undefined ? { at: s.appliedAt } : {}),
          ...(s.error !== undefined ? { error: s.error } : {}),
        },
        ...(this.lastError ? { lastError: this.lastError } : {}),
        redis: this.redis?.status === 'ready' ? 'connected' : 'disconnected',
        buffered: { flows: this.buffer.length, wouldDeny: this.findings.length },
        dropped: { flows: s.droppedFlows, wouldDeny: s.droppedFindings },
      },
    };
  }

  /** Applies the last good state from `NYX_STATE_DIR`, if any; true when one is in force. */
  async applyLastGood(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(join(this.config.stateDir, STATE_FILE), 'utf8');
    } catch {
      this.log.info({ stateDir: this.config.stateDir }, 'no last good state on disk');
      return false;
    }
    try {
      const saved = JSON.parse(text) as AgentState;
      const state: AgentState = {
        bundle: parseBundle(JSON.stringify(saved.bundle)),
        inventory: saved.inventory,
      };
      await this.apply(state, { persist: false });
      this.log.info({ revision: state.bundle.revision }, 'applied the last good state from disk');
      return true;
    } catch (error) {
      this.log.error({ error: (error as Error).message }, 'the last good state on disk could not be applied');
      return false;
    }
  }

  /**
   * Compiles and loads `state`; on success it becomes the last good state. Throws on failure.
   * Pod churn (the same structure, other elements) is applied as element changes in one
   * transaction (`rulesetUpdate`); anything else, or an update nft refuses, as a table replace.
   */
  async apply(state: AgentState, options: { persist?: boolean } = {}): Promise<AppliedUpdate> {
    const t0 = performance.now();
    let built: ReturnType<typeof buildRuleset>;
    let applied: RulesetUpdate['kind'];
    let t1: number;
    try {
      built = buildRuleset(
        state,
        this.config.node,
        this.extras(),
        this.config.incremental ? this.current?.bundle : undefined,
      );
      // Incremental for pod churn only: a new bundle (a policy change) replaces the table, as the
      // sets the agent fills (toFqdn) are named by the policies' walk order.
      const update: RulesetUpdate = !this.config.incremental
        ? { kind: 'replace', script: built.ruleset.script, reason: 'NYX_INCREMENTAL=false' }
        : this.current?.state.bundle.hash !== state.bundle.hash
          ? { kind: 'replace', script: built.ruleset.script, reason: 'a new bundle' }
          : rulesetUpdate(this.current.ruleset.script, built.ruleset.script);
      applied = update.kind;
      t1 = performance.now();
      if (update.kind === 'elements') {
        try {
          await loadScript(this.config.nft, update.script);
        } catch (error) {
          // The kernel no longer holds what the agent applied (someone edited the table): start over.
          this.log.warn(
            { error: (error as Error).message },
            'incremental update refused: replacing the table',
          );
          applied = 'replace';
        }
      }
      if (applied === 'replace') {
        // A replace empties the capture sets: read what they counted first.
        await this.captureFlows().catch(() => {});
        await loadScript(this.config.nft, built.ruleset.script);
        this.counters = new Map();
      }
    } catch (error) {
      this.metrics.applies.inc({ result: 'failed' });
      this.lastError = {
        revision: state.bundle.revision,
        error: (error as Error).message,
        at: new Date().toISOString(),
      };
      throw error;
    }
    const { ruleset, inventory, evaluator, bundle } = built;
    this.metrics.applies.inc({ result: 'applied' });
    this.metrics.applyDuration.observe((performance.now() - t0) / 1000);
    const size = rulesetSize(ruleset.script);
    this.metrics.ruleset.set({ kind: 'rules' }, size.rules);
    this.metrics.ruleset.set({ kind: 'sets' }, size.sets);
    this.metrics.ruleset.set({ kind: 'set_elements' }, size.elements);
    this.metrics.ruleset.set({ kind: 'script_bytes' }, Buffer.byteLength(ruleset.script));
    this.metrics.localPods.set(ruleset.localPods.size);
    this.current = { state, inventory, evaluator, ruleset, bundle };
    const t2 = performance.now();
    Object.assign(this.status, {
      revision: state.bundle.revision,
      hash: state.bundle.hash,
      inventoryVersion: state.inventory.version,
      appliedAt: new Date().toISOString(),
      status: 'applied',
      error: undefined,
    });
    if (options.persist !== false) await this.persist(state);
    const ms = (a: number, b: number) => Math.round(b - a);
    return { update: applied, buildMs: ms(t0, t1), loadMs: ms(t1, t2), persistMs: ms(t2, performance.now()) };
  }

  /** Flow capture, DNS interception and the learned FQDN addresses (with their remaining TTL). */
  private extras(): AgentExtras {
    const now = Date.now();
    const byName = new Map<string, FqdnElement[]>();
    for (const [address, entry] of this.learned) {
      // Whole seconds left, rounded down: a replace never keeps an address past its record's TTL
      // (rounding up, or re-adding the last second, would; the kernel may already have let it go).
      const ttlSeconds = Math.floor((entry.expiresAt - now) / 1000);
      if (ttlSeconds < 1) {
        if (entry.expiresAt <= now) this.learned.delete(address);
        continue;
      }
      const list = byName.get(entry.name) ?? [];
      list.push({ address, ttlSeconds });
      byName.set(entry.name, list);
    }
    return {
      flowCapture: true,
      wouldDeny: true,
      ...(this.config.dnsProxyPort !== 0 ? { dnsProxyPort: this.config.dnsProxyPort } : {}),
      ...(this.config.podInterfaces ? { podInterfaces: this.config.podInterfaces } : {}),
      fqdnElementsFor: (matches: (name: string) => boolean) =>
        [...byName].filter(([name]) => matches(name)).flatMap(([, elements]) => elements),
    };
  }

  /** Starts the DNS proxy that fills the toFqdn sets (unless NYX_DNS_PROXY_PORT=0). */
  async startDnsProxy(): Promise<void> {
    if (this.config.dnsProxyPort === 0) return;
    this.dnsProxy = new DnsProxy({
      port: this.config.dnsProxyPort,
      upstream: this.config.dnsUpstream,
      nft: this.config.nft,
      current: () =>
        this.current && { evaluator: this.current.evaluator, fqdnSets: this.current.ruleset.fqdnSets },
      learned: (entry) => this.learned.set(entry.address, entry),
      counted: (result, transport) => this.metrics.dnsQueries.inc({ result, transport }),
      onError: (error) => this.log.warn({ error: error.message }, 'DNS proxy'),
    });
    await this.dnsProxy.listen();
  }

  private async persist(state: AgentState): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true });
    const path = join(this.config.stateDir, STATE_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(state));
    await rename(`${path}.tmp`, path);
  }

  /** Connects to Redis and follows the hand-off; returns at once (reconnects on its own). */
  connect(createRedis: (role: 'commands' | 'subscriber') => Redis): void {
    this.redis = createRedis('commands');
    this.subscriber = createRedis('subscriber');
    this.redis.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== BUNDLE_CHANNEL && channel !== INVENTORY_CHANNEL) return;
      this.log.info({ channel, message }, 'hand-off notification');
      void this.schedule();
    });
    // Read the hand-off whenever the command connection (re)connects, and every resync interval
    // in case a notification was missed while the subscriber reconnected (pub/sub is at most once).
    this.redis.on('ready', () => {
      this.log.info({ redis: 'ready' }, 'connected to Redis: following the hand-off');
      void this.schedule();
    });
    this.resync = setInterval(() => void this.schedule(), this.config.resyncSeconds * 1000);
    this.resync.unref();
    // Not awaited: with Redis away this resolves only once it is back (and ioredis resubscribes
    // after every reconnect).
    void subscribeChannels(this.subscriber, BUNDLE_CHANNEL, INVENTORY_CHANNEL)
      .then(() => this.schedule()) // what was published before the subscription took effect
      .catch(() => {});
    this.timer = setInterval(() => void this.flushFlows(), this.config.flowIntervalSeconds * 1000);
    this.timer.unref();
  }

  /** Runs one reconcile after the current one (notifications during a run coalesce into one). */
  schedule(): Promise<void> {
    if (this.pending) return this.running;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      await this.reconcile().catch((error) =>
        this.log.error({ error: (error as Error).message }, 'reconcile failed'),
      );
    });
    return this.running;
  }

  private async reconcile(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    const start = performance.now();
    const bundle = await readBundle(redis);
    const inventory = await readInventoryVersioned(redis);
    const readMs = Math.round(performance.now() - start);
    if (!bundle || !inventory) {
      this.log.info({ bundle: !!bundle, inventory: !!inventory }, 'waiting for the reconciler to publish');
      return;
    }
    const applied = this.current?.state;
    if (applied && applied.bundle.hash === bundle.hash && applied.inventory.version === inventory.version) {
      // Same content (a revert to what is in force, or a re-publication): nothing to load, but the
      // revision it is known by now is the one to acknowledge.
      if (this.status.status !== 'applied' || this.status.revision !== bundle.revision) {
        this.current = { ...this.current!, state: { bundle, inventory } };
        Object.assign(this.status, {
          revision: bundle.revision,
          hash: bundle.hash,
          appliedAt: new Date().toISOString(),
          status: 'applied',
          error: undefined,
        });
        await this.persist({ bundle, inventory });
      }
      await this.acknowledge();
      return;
    }
    try {
      const applied = await this.apply({ bundle, inventory });
      this.log.info(
        { revision: bundle.revision, inventoryVersion: inventory.version, readMs, ...applied },
        'applied',
      );
    } catch (error) {
      const message = (error as Error).message;
      Object.assign(this.status, {
        revision: bundle.revision,
        hash: bundle.hash,
        inventoryVersion: inventory.version,
        appliedAt: new Date().toISOString(),
        status: 'failed',
        error: message,
      });
      this.log.error(
        { revision: bundle.revision, error: message, inForce: this.current?.state.bundle.revision },
        'apply failed: the previous ruleset stays in force',
      );
    }
    await this.acknowledge();
  }

  private async acknowledge(): Promise<void> {
    if (!this.redis) return;
    const s = this.status;
    await acknowledge(this.redis, {
      node: this.config.node,
      revision: s.revision ?? '',
      hash: s.hash ?? '',
      inventoryVersion: s.inventoryVersion ?? '',
      appliedAt: s.appliedAt ?? new Date().toISOString(),
      status: s.status === 'failed' ? 'failed' : 'applied',
      ...(s.error ? { error: s.error } : {}),
    });
  }

  /**
   * Reads the kernel's capture sets and turns what grew since the last read into flow records,
   * ends resolved to `<ns>/<pod>` through the inventory, with the identity of each pod end
   * (`srcWorkload`/`srcLabels`, `dstWorkload`/`dstLabels`: SPEC section 7) written in by the same
   * `annotateFlowRecord` as `nyxctl flows annotate`, so the window outlives the pods' rollouts.
   */
  private async captureFlows(): Promise<void> {
    if (!this.current) return;
    const captured: CapturedFlow[] = await readCapturedFlows(this.config.nft);
    const owners = addressOwners(this.current.inventory);
    const now0 = Date.now();
    const serverName = (address: string): string | undefined => {
      const entry = this.learned.get(address);
      return entry && entry.expiresAt > now0 ? entry.name : undefined;
    };
    const name = (address: string): string => {
      const owner = owners.get(address);
      return owner?.kind === 'pod' ? `${owner.pod.namespace}/${owner.pod.name}` : address;
    };
    const now = new Date().toISOString();
    for (const c of captured) {
      const key = `${c.src} ${c.dst} ${c.protocol} ${c.port}`;
      const before = this.counters.get(key) ?? 0;
      this.counters.set(key, c.packets);
      const count = c.packets - before;
      if (count <= 0) continue;
      if (this.buffer.length >= this.config.flowBuffer) {
        this.status.droppedFlows += 1;
        this.metrics.flowRecordsDropped.inc();
        continue;
      }
      const record: FlowRecord = {
        src: name(c.src),
        dst: name(c.dst),
        protocol: c.protocol,
        port: c.port,
        ...(serverName(c.dst) ? { serverName: serverName(c.dst) } : {}),
        count,
        firstSeen: now,
        lastSeen: now,
      };
      this.metrics.flowRecords.inc();
      this.buffer.push(annotateFlowRecord(this.current.inventory, record).record);
    }
    await this.captureFindings(name, serverName, now);
  }

  /**
   * Reads the kernel's would-deny findings (`nyxctl compile --agent`: the as-if-enforced walk in
   * record-only chains) and turns what grew since the last read into would-deny records, each with
   * the engine's deciding reason of the script that recorded it.
   */
  private async captureFindings(
    name: (address: string) => string,
    serverName: (address: string) => string | undefined,
    now: string,
  ): Promise<void> {
    if (!this.current) return;
    const reasons = this.current.ruleset.wouldDenyReasons;
    for (const f of await readWouldDenyFindings(this.config.nft)) {
      const reason = reasons[f.reasonId];
      if (!reason?.point) continue;
      const key = `wd ${f.src} ${f.dst} ${f.protocol} ${f.port} ${f.reasonId}`;
      const before = this.counters.get(key) ?? 0;
      this.counters.set(key, f.packets);
      const count = f.packets - before;
      if (count <= 0) continue;
      this.metrics.wouldDenyConnections.inc(count);
      if (this.findings.length >= this.config.flowBuffer) {
        this.status.droppedFindings += 1;
        this.metrics.wouldDenyDropped.inc();
        continue;
      }
      const record: FlowRecord = {
        src: name(f.src),
        dst: name(f.dst),
        protocol: f.protocol,
        port: f.port,
        ...(serverName(f.dst) ? { serverName: serverName(f.dst) } : {}),
        count,
        firstSeen: now,
        lastSeen: now,
      };
      this.findings.push({
        ...annotateFlowRecord(this.current.inventory, record).record,
        wouldDeny: {
          point: reason.point,
          band: reason.band,
          ...(reason.object !== undefined ? { object: reason.object } : {}),
          ...(reason.rule !== undefined ? { rule: reason.rule } : {}),
          ...(reason.ruleName !== undefined ? { ruleName: reason.ruleName } : {}),
          text: reason.text,
          ...(reason.source !== undefined ? { source: reason.source } : {}),
        },
        node: this.config.node,
      });
    }
  }

  /** Captures and ships buffered records to the flow store; keeps them while Redis is away. */
  async flushFlows(): Promise<number> {
    await this.captureFlows().catch((error) =>
      this.log.warn({ error: (error as Error).message }, 'reading the flow-capture sets failed'),
    );
    await this.flushFindings();
    if (!this.redis || this.buffer.length === 0) return 0;
    const batch = this.buffer;
    this.buffer = [];
    try {
      await writeFlows(this.redis, batch, { ttlSeconds: this.config.flowRetentionDays * 86400 });
      return batch.length;
    } catch (error) {
      this.buffer = [...batch, ...this.buffer].slice(0, this.config.flowBuffer);
      this.log.warn(
        { error: (error as Error).message, buffered: this.buffer.length, dropped: this.status.droppedFlows },
        'flow store unavailable: buffering',
      );
      return 0;
    }
  }

  /** Ships buffered would-deny records beside the flows; keeps them while Redis is away. */
  private async flushFindings(): Promise<void> {
    if (!this.redis || this.findings.length === 0) return;
    const batch = this.findings;
    this.findings = [];
    try {
      await writeWouldDeny(this.redis, batch, { ttlSeconds: this.config.flowRetentionDays * 86400 });
    } catch (error) {
      this.findings = [...batch, ...this.findings].slice(0, this.config.flowBuffer);
      this.log.warn(
        {
          error: (error as Error).message,
          buffered: this.findings.length,
          dropped: this.status.droppedFindings,
        },
        'flow store unavailable: buffering would-deny findings',
      );
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.resync) clearInterval(this.resync);
    this.dnsProxy?.close();
    await this.running;
    this.subscriber?.disconnect();
    this.redis?.disconnect();
  }
}
