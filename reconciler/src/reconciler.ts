// The reconciler: a named pipeline fetch → build → diff → apply → prune → hand off → status (each
// step's failure has a reason code and keeps the last good revision running), plus the watches that
// revert drift and publish the inventory. Syncs run one at a time; a request during a sync runs one
// more sync after it.

import { type KubeConfig, type KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { type Diagnostic, formatDiagnostic } from '@nyx/core';
import type { Logger } from 'pino';
import { type CommitStatusTarget, postCommitStatus } from './commit-status.js';
import { actorsOf, checkDrift, type DriftFinding, foreignFields, missingFields } from './drift.js';
import type { FetchedRevision } from './git-source.js';
import type { AgentHandoff } from './handoff.js';
import { debounce, inventoryList } from './inventory.js';
import { type KubeApi, KubeError, NAMESPACES, NODES, PODS, resourcePath } from './kube.js';
import {
  type DesiredObject,
  isManaged,
  isNyxKind,
  type KubeObject,
  kubeObjectId,
  MANAGED_KINDS,
  type ManagedKind,
  managedKind,
  manifestAt,
} from './manifests.js';
import type { ReconcilerMetrics } from './metrics.js';
import { type BuildResult, buildRevision, planSync } from './plan.js';
import { involvedObjectOf, type PauseState, type Recorder } from './recorder.js';
import { RevertLimiter } from './revert-limiter.js';

export type Phase = 'Starting' | 'Synced' | 'InvalidRevision' | 'FetchFailed' | 'ApplyFailed' | 'PruneFailed';

export interface ReconcilerStatus {
  /** The last good revision: validated and applied. */
  revision?: string;
  bundleHash?: string;
  /** The branch tip seen last (may be invalid). */
  attemptedRevision?: string;
  phase: Phase;
  /** Reason code of the last failure (`FetchFailed`, `InvalidRevision`, …). */
  reason?: string;
  message?: string;
  /** `file:line: message` of an invalid tip. */
  errors: string[];
  /** Objects held until their namespace exists. */
  held: string[];
  lastSyncAt?: string;
  paused?: PauseState;
  /** Objects left drifted because another writer fights over them. */
  inBackoff: string[];
  rollout?: ReturnType<AgentHandoff['rollout']>;
}

export interface ReconcilerDeps {
  kube: KubeApi;
  kubeConfig: KubeConfig;
  source: { fetch(known?: string): Promise<FetchedRevision> };
  handoff?: AgentHandoff;
  recorder: Recorder;
  metrics: ReconcilerMetrics;
  log: Logger;
  maxRevertsPerMinute?: number;
  inventoryDebounceMs?: number;
  /** Where to report each revision as a commit status (repositories on GitHub). */
  commitStatus?: CommitStatusTarget | undefined;
}

interface DriftEvent {
  type: 'add' | 'update' | 'delete';
  object: KubeObject;
  seenAt: number;
}

const APPLY_CONCURRENCY = 8;
const MAX_ERRORS_IN_EVENT = 10;

async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : '(none)');

export class Reconciler {
  readonly status: ReconcilerStatus = { phase: 'Starting', errors: [], held: [], inBackoff: [] };
  private desired = new Map<string, DesiredObject>();
  private lastGood: Extract<BuildResult, { ok: true }> | undefined;
  private lastBuild: BuildResult | undefined;
  private namespaces = new Set<string>();
  private running: Promise<void> | undefined;
  private again = false;
  private readonly limiter: RevertLimiter;
  private readonly driftPending = new Map<string, DriftEvent>();
  private readonly driftBusy = new Set<string>();
  private readonly backoffTimers = new Map<string, NodeJS.Timeout>();
  private readonly informers: Array<{ stop(): Promise<void> }> = [];
  private readonly caches = new Map<string, { list(): ReadonlyArray<KubernetesObject> }>();
  private pausedState: PauseState | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly publishInventorySoon: ReturnType<typeof debounce>;
  private readonly writeStatusSoon: ReturnType<typeof debounce>;
  /** Resolves when every drift handler that was running has finished (tests, shutdown). */
  private driftWork = new Set<Promise<void>>();

  constructor(private readonly deps: ReconcilerDeps) {
    const max = deps.maxRevertsPerMinute ?? 5;
    this.limiter = new RevertLimiter({
      maxRevertsPerMinute: max,
      baseBackoffMs: 30_000,
      maxBackoffMs: 600_000,
    });
    this.publishInventorySoon = debounce(() => void this.publishInventory(), deps.inventoryDebounceMs ?? 100);
    this.writeStatusSoon = debounce(() => void this.writeStatus(), 1000);
    deps.handoff?.onRollout((state) => {
      this.status.rollout = state;
      if (!this.stopped) this.writeStatusSoon();
    });
  }

  // ---- the pipeline ----------------------------------------------------------------------------

  /** Runs a sync (or joins the one running and runs one more after it); resolves when done. */
  requestSync(trigger: string): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running.then(() => this.running ?? Promise.resolve());
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.sync(trigger);
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async sync(trigger: string): Promise<void> {
    const { metrics, log, recorder } = this.deps;
    const end = metrics.syncDuration.startTimer();
    try {
      // fetch
      let fetched: FetchedRevision;
      try {
        fetched = await this.deps.source.fetch(this.lastBuild?.revision);
      } catch (e) {
        await this.fail('fetch_failed', 'FetchFailed', `fetching the policy repository failed: ${String(e)}`);
        return;
      }
      const revision = fetched.revision;
      if (fetched.rewrittenFrom) {
        metrics.historyRewritten.inc();
        const message = `the branch was rewritten: ${short(revision)} does not descend from ${short(fetched.rewrittenFrom)} (force push); the new tip is validated like any revision`;
        log.warn({ event: 'history-rewritten', revision, previous: fetched.rewrittenFrom }, message);
        void recorder.event(recorder.statusObject(), 'Warning', 'HistoryRewritten', message);
      }
      // build
      let build = fetched.unchanged && this.lastBuild?.revision === revision ? this.lastBuild : undefined;
      if (!build) {
        build = buildRevision({ revision, files: fetched.files, treeErrors: fetched.treeErrors });
        this.lastBuild = build;
        if (!build.ok) {
          this.reportInvalid(revision, build.errors);
          this.reportCommitStatus(
            revision,
            'failure',
            `invalid, not applied: ${formatDiagnostic(build.errors[0]!)}`,
          );
        }
      }
      this.status.attemptedRevision = revision;
      if (!build.ok) {
        metrics.syncs.inc({ result: 'invalid' });
        this.status.phase = 'InvalidRevision';
        this.status.reason = 'InvalidRevision';
        this.status.errors = build.errors.map(formatDiagnostic);
        this.status.message = `revision ${short(revision)} is invalid (${build.errors.length} errors); still enforcing ${short(this.lastGood?.revision)}`;
        metrics.invalidRevision.set(1);
        metrics.revisionErrors.set(build.errors.length);
        // The last good revision keeps being enforced (held objects, drift missed while away);
        // after a restart it is the bundle this reconciler last handed to the agents.
        if (!this.lastGood) await this.recoverLastGood();
        if (this.lastGood) await this.converge(this.lastGood, trigger, false);
        await this.writeStatus();
        return;
      }
      metrics.invalidRevision.set(0);
      metrics.revisionErrors.set(0);
      const ok = await this.converge(build, trigger, true);
      if (ok) {
        metrics.syncs.inc({ result: 'synced' });
        this.status.errors = [];
      }
      await this.writeStatus();
    } finally {
      end();
    }
  }

  private async recoverLastGood(): Promise<void> {
    const bundle = await this.deps.handoff?.readPublished();
    if (!bundle) return;
    const build = buildRevision({
      revision: bundle.revision,
      files: bundle.files.map((f) => ({ path: f.path, content: f.text })),
    });
    if (!build.ok) return;
    this.lastGood = { ...build, bundle };
    this.deps.log.info(
      { event: 'recovered', revision: bundle.revision },
      `the tip is invalid; enforcing the last good revision ${short(bundle.revision)} from the published bundle`,
    );
  }

  private reportInvalid(revision: string, errors: Diagnostic[]): void {
    const { log, recorder } = this.deps;
    const lines = errors.map(formatDiagnostic);
    for (const line of lines) log.error({ event: 'invalid-revision', revision }, line);
    const shown = lines.slice(0, MAX_ERRORS_IN_EVENT).join('\n');
    const more =
      lines.length > MAX_ERRORS_IN_EVENT ? `\n… and ${lines.length - MAX_ERRORS_IN_EVENT} more` : '';
    void recorder.event(
      recorder.statusObject(),
      'Warning',
      'InvalidRevision',
      `revision ${short(revision)} is invalid and was not applied; still enforcing ${short(this.lastGood?.revision)}:\n${shown}${more}`,
    );
  }

  private reportCommitStatus(revision: string, state: 'success' | 'failure', description: string): void {
    const target = this.deps.commitStatus;
    if (!target) return;
    postCommitStatus(target, revision, { state, description }).catch((e: unknown) =>
      this.deps.log.warn({ err: String(e), revision }, 'could not post the commit status'),
    );
  }

  private async fail(result: string, reason: Phase, message: string): Promise<void> {
    const { metrics, log, recorder } = this.deps;
    metrics.syncs.inc({ result });
    this.status.phase = reason;
    this.status.reason = reason;
    this.status.message = message;
    log.error({ event: 'sync-failed', reason }, message);
    void recorder.event(recorder.statusObject(), 'Warning', reason, message);
    await this.writeStatus();
  }

  /** diff → apply → prune → hand off for a valid build. Returns false when a step failed. */
  private async converge(
    build: Extract<BuildResult, { ok: true }>,
    trigger: string,
    isTip: boolean,
  ): Promise<boolean> {
    const { kube, log, metrics, recorder } = this.deps;
    const revision = build.revision;
    // diff
    const previous = new Set(this.desired.keys());
    this.desired = new Map(build.desired.map((d) => [d.id, d]));
    metrics.managedObjects.set(build.desired.length);
    let live: KubeObject[];
    try {
      live = await this.listLive();
      if (this.namespaces.size === 0 || !this.caches.has('namespaces')) {
        const list = await kube.list(NAMESPACES);
        this.namespaces = new Set(list.items.map((n) => n.metadata?.name ?? ''));
      }
    } catch (e) {
      await this.fail('apply_failed', 'ApplyFailed', `listing the cluster failed: ${String(e)}`);
      return false;
    }
    const plan = planSync({ desired: build.desired, live, namespaces: this.namespaces });
    if (this.isPaused()) {
      // A pause stops reverts only: changes from Git still apply; drifted, deleted and hand-made
      // objects are left as they are until the pause ends.
      const liveIds = new Set(live.map(kubeObjectId));
      const drifted = new Set(plan.drifted);
      const kept = plan.apply.filter((d) => !drifted.has(d.id) && (liveIds.has(d.id) || !previous.has(d.id)));
      if (kept.length !== plan.apply.length || plan.unmanaged.length > 0) {
        log.warn(
          { event: 'paused', left: plan.apply.length - kept.length + plan.unmanaged.length },
          'paused: drifted objects are left as they are',
        );
      }
      plan.apply = kept;
      plan.unmanaged = [];
    }
    // apply: a dry run of every object first, so a revision the API server refuses is not half applied
    try {
      await eachLimit(plan.apply, APPLY_CONCURRENCY, async (d) => {
        await kube.apply(d.kind, manifestAt(d, revision), { dryRun: true });
      });
    } catch (e) {
      await this.fail(
        'apply_failed',
        'ApplyFailed',
        `the API server refused revision ${short(revision)}; nothing was applied: ${String(e)}`,
      );
      return false;
    }
    try {
      for (const order of [0, 1, 2, 3]) {
        await eachLimit(
          plan.apply.filter((d) => d.kind.order === order),
          APPLY_CONCURRENCY,
          async (d) => {
            await this.applyObject(d, revision);
            metrics.applied.inc({ kind: d.kind.kind });
          },
        );
      }
    } catch (e) {
      await this.fail(
        'apply_failed',
        'ApplyFailed',
        `applying revision ${short(revision)} failed: ${String(e)}`,
      );
      return false;
    }
    // prune
    try {
      for (const o of plan.prune) {
        const kind = managedKind(o.kind ?? '')!;
        await kube.remove(kind, o.metadata?.namespace, o.metadata?.name ?? '', o.metadata?.uid);
        metrics.pruned.inc({ kind: kind.kind });
        log.info({ event: 'pruned', object: kubeObjectId(o), revision }, 'pruned: Git no longer has it');
      }
      for (const o of plan.unmanaged) {
        await this.handleDrift(kubeObjectId(o), { type: 'add', object: o, seenAt: Date.now() });
      }
    } catch (e) {
      await this.fail('prune_failed', 'PruneFailed', `pruning failed: ${String(e)}`);
      return false;
    }
    // held objects
    const held = plan.held.map((d) => d.id);
    const newlyHeld = held.filter((id) => !this.status.held.includes(id));
    this.status.held = held;
    metrics.held.set(held.length);
    if (newlyHeld.length > 0) {
      const message = `held until their namespace exists (the reconciler never creates namespaces): ${newlyHeld.join(', ')}`;
      log.warn({ event: 'held', objects: newlyHeld, revision }, message);
      void recorder.event(recorder.statusObject(), 'Warning', 'NamespaceMissing', message);
    }
    // hand off
    if (this.deps.handoff && this.deps.handoff.currentBundle()?.hash !== build.bundle.hash) {
      await this.deps.handoff.publishBundle(build.bundle);
    }
    // status
    const changed = this.lastGood?.revision !== revision;
    this.lastGood = build;
    if (isTip) {
      this.status.phase = 'Synced';
      this.status.reason = undefined;
      this.status.message = `revision ${short(revision)} applied`;
    }
    this.status.revision = revision;
    this.status.bundleHash = build.bundle.hash;
    this.status.lastSyncAt = new Date().toISOString();
    const counts = `${plan.apply.length} applied, ${plan.prune.length} pruned, ${plan.unmanaged.length} unmanaged deleted, ${held.length} held`;
    if (changed || plan.apply.length + plan.prune.length > 0) {
      log.info(
        { event: 'synced', revision, trigger, applied: plan.apply.length, pruned: plan.prune.length },
        `revision ${short(revision)}: ${counts}`,
      );
    }
    if (changed) {
      void recorder.event(
        recorder.statusObject(),
        'Normal',
        'Synced',
        `revision ${short(revision)}: ${counts}`,
      );
      this.reportCommitStatus(revision, 'success', `applied to the cluster: ${counts}`);
    }
    return true;
  }

  /** Server-side apply of one object; then anything others added to it is removed (PUT). */
  private async applyObject(d: DesiredObject, revision: string): Promise<KubeObject> {
    const { kube } = this.deps;
    const manifest = manifestAt(d, revision);
    for (let attempt = 0; ; attempt++) {
      const applied = await kube.apply(d.kind, manifest);
      if (foreignFields(applied).length === 0 && missingFields(applied, d.manifest).length === 0)
        return applied;
      // Fields only another manager owns survive a server-side apply: replace the object with Git's
      // content on its live metadata (finalizers, owner references and the like are kept).
      const meta = {
        ...applied.metadata,
        labels: manifest.metadata.labels,
        annotations: manifest.metadata.annotations,
      };
      delete meta.managedFields;
      try {
        return await kube.replace(d.kind, { ...applied, metadata: meta, spec: manifest.spec });
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 409) || attempt >= 3) throw e;
      }
    }
  }

  private async listLive(): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    for (const kind of MANAGED_KINDS) {
      const list = await this.deps.kube.list(kind);
      for (const item of list.items) out.push({ ...item, apiVersion: kind.apiVersion, kind: kind.kind });
    }
    return out;
  }

  // ---- drift -----------------------------------------------------------------------------------

  private onManagedEvent(kind: ManagedKind, type: DriftEvent['type'], object: KubeObject): void {
    if (this.stopped || !this.lastGood) return;
    const o = { ...object, apiVersion: kind.apiVersion, kind: kind.kind };
    const id = kubeObjectId(o);
    if (kind.kind === 'NetworkPolicy' && !this.desired.has(id) && !isManaged(o)) return;
    this.driftPending.set(id, { type, object: o, seenAt: Date.now() });
    this.pumpDrift(id);
  }

  private pumpDrift(id: string): void {
    if (this.driftBusy.has(id)) return;
    const ev = this.driftPending.get(id);
    if (!ev) return;
    this.driftPending.delete(id);
    this.driftBusy.add(id);
    const work = this.handleDrift(id, ev)
      .catch((e) => this.deps.log.error({ err: String(e), object: id }, 'drift handling failed'))
      .finally(() => {
        this.driftBusy.delete(id);
        this.driftWork.delete(work);
        this.pumpDrift(id);
      });
    this.driftWork.add(work);
  }

  /** Checks one object against Git and reverts what someone else changed. */
  private async handleDrift(id: string, ev: DriftEvent): Promise<void> {
    const { kube, log, metrics, recorder } = this.deps;
    const d = this.desired.get(id);
    const kind = managedKind(ev.object.kind ?? '')!;
    let finding: DriftFinding | { type: 'deleted' };
    if (ev.type === 'delete') {
      if (!d || (d.namespace !== undefined && !this.namespaces.has(d.namespace))) return;
      // A delete we did not make: is it really gone (not recreated meanwhile)?
      finding = { type: 'deleted' };
    } else {
      if (ev.object.metadata?.deletionTimestamp) return;
      if (!d && !isNyxKind(kind.kind) && !isManaged(ev.object)) return;
      finding = checkDrift(ev.object, d);
      if (finding.type === 'in-sync' || finding.type === 'outdated') return;
    }
    metrics.driftDetected.inc({ kind: kind.kind });
    const revision = this.lastGood?.revision ?? '';
    const what = describeFinding(finding);
    const actors =
      finding.type === 'changed'
        ? actorsOf(finding.fields)
        : finding.type === 'unmanaged'
          ? finding.actors
          : [];
    const actorText = actors.length > 0 ? actors.join(', ') : 'unknown (see the API server audit log)';
    const record = {
      event: 'drift',
      object: id,
      kind: kind.kind,
      change: finding.type,
      actors,
      fields: finding.type === 'changed' ? finding.fields : undefined,
      revision,
    };
    if (this.isPaused()) {
      log.warn(
        { ...record, reverted: false, paused: this.pausedState },
        `drift on ${id} not reverted: paused`,
      );
      void recorder.event(
        involvedObjectOf(ev.object),
        'Warning',
        'DriftNotReverted',
        `${what} by ${actorText}; not reverted: the reconciler is paused until ${this.pausedState?.until} (${this.pausedState?.reason})`,
      );
      return;
    }
    const decision = this.limiter.decide(id, Date.now());
    if (decision.action === 'hold') {
      this.scheduleRecheck(id, kind, ev.object, decision.until);
      if (decision.startedBackoff) {
        metrics.driftBackoff.inc({ kind: kind.kind });
        this.updateBackoffGauge();
        const message = `${id} was reverted ${decision.reverts} times within a minute and changed again by ${actorText}: another writer is fighting the reconciler; reverts stop until ${new Date(decision.until).toISOString()} (then resume with a longer backoff if it continues)`;
        log.error({ ...record, event: 'drift-backoff', alert: true, until: decision.until }, message);
        void recorder.event(involvedObjectOf(ev.object), 'Warning', 'DriftRevertBackoff', message);
      }
      return;
    }
    // revert
    let reverted: KubeObject | undefined;
    if (finding.type === 'unmanaged') {
      await kube.remove(
        kind,
        ev.object.metadata?.namespace,
        ev.object.metadata?.name ?? '',
        ev.object.metadata?.uid,
      );
    } else {
      reverted = await this.applyObject(d!, revision);
    }
    metrics.driftReverted.inc({ kind: kind.kind });
    metrics.driftRevertSeconds.observe((Date.now() - ev.seenAt) / 1000);
    const source = d ? ` (${d.source})` : '';
    const message =
      finding.type === 'unmanaged'
        ? `${what} by ${actorText}; deleted: Git does not declare it (revision ${short(revision)})`
        : `${what} by ${actorText}; reverted to revision ${short(revision)}${source}`;
    log.warn({ ...record, reverted: true }, message);
    void recorder.event(involvedObjectOf(reverted ?? ev.object), 'Warning', 'DriftReverted', message);
  }

  private scheduleRecheck(id: string, kind: ManagedKind, object: KubeObject, until: number): void {
    if (this.backoffTimers.has(id)) return;
    const timer = setTimeout(
      async () => {
        this.backoffTimers.delete(id);
        this.updateBackoffGauge();
        if (this.stopped) return;
        try {
          const live = await this.deps.kube.get<KubeObject>(
            kind,
            object.metadata?.namespace,
            object.metadata?.name ?? '',
          );
          if (live) this.onManagedEvent(kind, 'update', live);
          else this.onManagedEvent(kind, 'delete', object);
        } catch (e) {
          this.deps.log.warn({ err: String(e), object: id }, 'recheck after backoff failed');
        }
      },
      Math.max(0, until - Date.now()),
    );
    timer.unref?.();
    this.backoffTimers.set(id, timer);
  }

  private updateBackoffGauge(): void {
    this.status.inBackoff = [...this.backoffTimers.keys()].sort();
    this.deps.metrics.driftObjectsInBackoff.set(this.limiter.heldCount(Date.now()));
  }

  // ---- pause (break-glass) ---------------------------------------------------------------------

  isPaused(now = Date.now()): boolean {
    return this.pausedState !== undefined && Date.parse(this.pausedState.until) > now;
  }

  /** Applies the pause state read from the pause ConfigMap (undefined: no pause). */
  setPause(pause: PauseState | undefined): void {
    const { log, metrics, recorder } = this.deps;
    const before = this.pausedState;
    const active = pause && Date.parse(pause.until) > Date.now() ? pause : undefined;
    if (JSON.stringify(before) === JSON.stringify(active)) return;
    this.pausedState = active;
    this.status.paused = active;
    metrics.paused.set(active ? 1 : 0);
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    if (active) {
      metrics.pauses.inc();
      const message = `paused until ${active.until} by ${active.by || 'unknown'}: ${active.reason}; drift is recorded, not reverted`;
      log.warn({ event: 'paused', ...active }, message);
      void recorder.event(recorder.statusObject(), 'Warning', 'Paused', message);
      this.pauseTimer = setTimeout(
        () => this.setPause(undefined),
        Math.max(0, Date.parse(active.until) - Date.now()),
      );
      this.pauseTimer.unref?.();
    } else if (before) {
      const message = `pause ended (was until ${before.until}: ${before.reason}); restoring the state of Git`;
      log.warn({ event: 'resumed', ...before }, message);
      void recorder.event(recorder.statusObject(), 'Normal', 'Resumed', message);
      void this.requestSync('pause-ended');
    }
    void this.writeStatus();
  }

  // ---- watches ---------------------------------------------------------------------------------

  private startInformer(
    name: string,
    kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
    handlers: { onEvent?: (type: DriftEvent['type'], o: KubeObject) => void; onChange?: () => void },
  ): Promise<void> {
    const { kube, kubeConfig, log } = this.deps;
    const informer = makeInformer<KubernetesObject>(kubeConfig, resourcePath(kind), async () => {
      const list = await kube.list(kind);
      return {
        apiVersion: 'v1',
        kind: 'List',
        metadata: list.metadata ?? {},
        items: list.items as KubernetesObject[],
      };
    });
    const emit = (type: DriftEvent['type']) => (o: KubernetesObject) => {
      handlers.onEvent?.(type, o as KubeObject);
      handlers.onChange?.();
    };
    informer.on('add', emit('add'));
    informer.on('update', emit('update'));
    informer.on('delete', emit('delete'));
    // Retries back off from 200 ms to 2 s; an event received proves the watch is back.
    let delay = 200;
    let failures = 0;
    const healthy = (): void => {
      if (failures > 0) log.info({ watch: name, failures }, `watch of ${name} resumed`);
      delay = 200;
      failures = 0;
    };
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, healthy);
    informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      failures++;
      const level = failures === 1 ? 'warn' : 'debug';
      log[level](
        { err: String(err), watch: name, failures },
        `watch of ${name} interrupted; resuming in ${delay} ms`,
      );
      const t = setTimeout(() => {
        if (!this.stopped) informer.start().catch(() => {});
      }, delay);
      t.unref?.();
      delay = Math.min(delay * 2, 2_000);
    });
    this.informers.push(informer);
    this.caches.set(name, informer);
    return informer.start();
  }

  /** Starts the watches (drift, namespaces, inventory). Call after the first sync. */
  async startWatches(): Promise<void> {
    await this.startInformer('namespaces', NAMESPACES, {
      onEvent: (type, o) => {
        const name = o.metadata?.name ?? '';
        if (type === 'delete') this.namespaces.delete(name);
        else if (!this.namespaces.has(name)) {
          this.namespaces.add(name);
          if (this.status.held.some((id) => id.split('/')[1] === name))
            void this.requestSync(`namespace ${name} created`);
        }
      },
      onChange: () => this.publishInventorySoon(),
    });
    for (const kind of MANAGED_KINDS) {
      await this.startInformer(kind.plural, kind, {
        onEvent: (type, o) => this.onManagedEvent(kind, type, o),
      });
    }
    if (this.deps.handoff) {
      await this.startInformer('pods', PODS, { onChange: () => this.publishInventorySoon() });
      await this.startInformer('nodes', NODES, { onChange: () => this.publishInventorySoon() });
      this.publishInventorySoon();
    }
  }

  private async publishInventory(): Promise<void> {
    const handoff = this.deps.handoff;
    if (!handoff || this.stopped) return;
    const list = (name: string) => (this.caches.get(name)?.list() ?? []) as KubeObject[];
    const nodes = list('nodes');
    handoff.setNodes(nodes.map((n) => n.metadata?.name ?? ''));
    await handoff.publishInventory(
      inventoryList({ namespaces: list('namespaces'), pods: list('pods'), nodes }),
    );
  }

  private async writeStatus(): Promise<void> {
    if (this.deps.handoff) this.status.rollout = this.deps.handoff.rollout();
    const s = this.status;
    await this.deps.recorder.writeStatus({
      revision: s.revision ?? '',
      attemptedRevision: s.attemptedRevision ?? '',
      phase: s.phase,
      reason: s.reason ?? '',
      message: s.message ?? '',
      errors: s.errors.join('\n'),
      held: s.held.join('\n'),
      paused: s.paused ? JSON.stringify(s.paused) : '',
      'status.json': JSON.stringify(s),
    });
  }

  /** Waits until no drift is queued or being handled (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.driftWork.size > 0 || this.driftPending.size > 0 || this.running) {
      await Promise.all([...this.driftWork, this.running]);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.publishInventorySoon.cancel();
    this.writeStatusSoon.cancel();
    for (const t of this.backoffTimers.values()) clearTimeout(t);
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.idle().catch(() => {});
  }
}

function describeFinding(f: DriftFinding | { type: 'deleted' }): string {
  switch (f.type) {
    case 'deleted':
      return 'deleted';
    case 'unmanaged':
      return 'created outside Git';
    case 'changed':
      return `changed ${f.fields.map((x) => x.path).join(', ')}`;
    default:
      return f.type;
  }
}
