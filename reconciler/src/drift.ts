// Drift: what another actor changed on a managed object, read from the object's managedFields. Pure.
//
// Server-side apply records, per field manager, the fields it owns. A field the reconciler applied
// and someone else then changed (kubectl patch/edit/label, another controller) moves to that manager;
// a field someone added is owned by them alone. So drift is exactly "a field of spec, labels or
// annotations that another manager owns and the reconciler does not", and its actor is that
// manager (kubectl names itself `kubectl-patch`, `kubectl-label`, `kubectl-edit`, …). Fields two
// appliers set to the same value are owned by both: not drift, so two identical applies never fight.
import {
  CONTENT_HASH_ANNOTATION,
  FIELD_MANAGER,
  type KubeObject,
  type ManagedFieldsEntry,
} from './manifests.js';

/** One field another manager owns alone. */
export interface ForeignField {
  /** Readable path: `spec.priority`, `metadata.labels.team`, `spec.egress`. */
  path: string;
  manager: string;
  operation: string;
  time?: string;
}

const WATCHED_ROOTS = ['f:spec', 'f:metadata\0f:labels', 'f:metadata\0f:annotations'];

/** The field paths (`\0`-joined fieldsV1 keys) an entry owns; containers marked `.` included. */
export function ownedPaths(fieldsV1: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [key, child] of Object.entries(node)) {
      if (key === '.') continue;
      const path = prefix ? `${prefix}\0${key}` : key;
      const c = (child ?? {}) as Record<string, unknown>;
      const keys = Object.keys(c);
      if (keys.length === 0 || keys.includes('.')) out.push(path);
      walk(c, path);
    }
  };
  if (fieldsV1) walk(fieldsV1, '');
  return out;
}

/** `f:spec\0f:priority` → `spec.priority`; list keys stay readable (`spec.ports[{"port":80}]`). */
export function readablePath(path: string): string {
  return path
    .split('\0')
    .map((k, i) =>
      k.startsWith('f:')
        ? i === 0
          ? k.slice(2)
          : `.${k.slice(2)}`
        : k.startsWith('k:')
          ? `[${k.slice(2)}]`
          : `[=${k.slice(2)}]`,
    )
    .join('');
}

function isWatched(path: string): boolean {
  return WATCHED_ROOTS.some((r) => path === r || path.startsWith(`${r}\0`));
}

/** Fields of spec, labels and annotations that managers other than `manager` own alone. */
export function foreignFields(object: KubeObject, manager: string = FIELD_MANAGER): ForeignField[] {
  const entries: ManagedFieldsEntry[] = (object.metadata?.managedFields ?? []).filter((e) => !e.subresource);
  const ours = new Set<string>();
  for (const e of entries) if (e.manager === manager) for (const p of ownedPaths(e.fieldsV1)) ours.add(p);
  const out: ForeignField[] = [];
  for (const e of entries) {
    if (e.manager === manager) continue;
    const oursList = [...ours];
    // A container (`.`) someone else also marked is shared when we own anything inside it.
    const candidates = ownedPaths(e.fieldsV1)
      .filter(isWatched)
      .filter((p) => !ours.has(p) && !oursList.some((o) => o.startsWith(`${p}\0`)));
    for (const p of candidates) {
      // Report the outermost foreign path only.
      if (candidates.some((q) => q !== p && p.startsWith(`${q}\0`))) continue;
      const f: ForeignField = {
        path: readablePath(p),
        manager: e.manager ?? '(unknown manager)',
        operation: e.operation ?? '',
      };
      if (e.time) f.time = e.time instanceof Date ? e.time.toISOString() : String(e.time);
      out.push(f);
    }
  }
  return out;
}

/**
 * Fields of the manifest Git declares that the live object lacks or holds with another value.
 * Removing a field removes it from every manager's set, so removals are invisible to
 * `foreignFields`; this catches them. Arrays compare by length (the server defaults inside their
 * items, as for NetworkPolicy port protocols), scalars by value, maps key by key.
 */
export function missingFields(live: KubeObject, manifest: KubeObject): string[] {
  const out: string[] = [];
  const walk = (want: unknown, have: unknown, path: string): void => {
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
      if (have === null || typeof have !== 'object' || Array.isArray(have)) {
        out.push(path);
        return;
      }
      for (const [k, v] of Object.entries(want as Record<string, unknown>)) {
        walk(v, (have as Record<string, unknown>)[k], `${path}.${k}`);
      }
    } else if (Array.isArray(want)) {
      if (!Array.isArray(have) || have.length !== want.length) out.push(path);
    } else if (want !== have) out.push(path);
  };
  walk(manifest.spec ?? {}, live.spec ?? {}, 'spec');
  walk(manifest.metadata?.labels ?? {}, live.metadata?.labels ?? {}, 'metadata.labels');
  walk(manifest.metadata?.annotations ?? {}, live.metadata?.annotations ?? {}, 'metadata.annotations');
  return out;
}

/** The other manager that wrote last (the likely author of a removal), from managedFields. */
function lastOtherWriter(live: KubeObject): ManagedFieldsEntry | undefined {
  let best: ManagedFieldsEntry | undefined;
  for (const e of live.metadata?.managedFields ?? []) {
    if (e.manager === FIELD_MANAGER || e.subresource) continue;
    if (!best || String(e.time ?? '') > String(best.time ?? '')) best = e;
  }
  return best;
}

/** What the drift check concluded about one live object. */
export type DriftFinding =
  | { type: 'in-sync' }
  /** Carries an older revision of ours and nobody else's changes: the apply step's business. */
  | { type: 'outdated' }
  | { type: 'changed'; fields: ForeignField[] }
  /** A Nyx object Git does not declare (or a NetworkPolicy with our label): delete it. */
  | { type: 'unmanaged'; actors: string[] };

/**
 * Compares a live object with what Git declares for it (`desired`, undefined when Git has no such
 * object). An object carrying another content hash is outdated only (the apply step owns it).
 */
export function checkDrift(
  live: KubeObject,
  desired: { contentHash: string; manifest: KubeObject } | undefined,
): DriftFinding {
  if (desired === undefined) {
    const actors = [
      ...new Set((live.metadata?.managedFields ?? []).map((e) => e.manager ?? '(unknown manager)')),
    ];
    return { type: 'unmanaged', actors };
  }
  const fields = foreignFields(live);
  if (live.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] !== desired.contentHash && fields.length === 0) {
    return { type: 'outdated' };
  }
  const seen = new Set(fields.map((f) => f.path));
  const missing = missingFields(live, desired.manifest).filter(
    (p) => ![...seen].some((s) => p === s || p.startsWith(`${s}.`) || s.startsWith(`${p}.`)),
  );
  if (missing.length > 0) {
    const writer = lastOtherWriter(live);
    for (const path of missing) {
      const f: ForeignField = {
        path,
        manager: writer?.manager ?? '(unknown manager)',
        operation: writer?.operation
          ? `${writer.operation} (field removed or altered)`
          : 'field removed or altered',
      };
      if (writer?.time)
        f.time = writer.time instanceof Date ? writer.time.toISOString() : String(writer.time);
      fields.push(f);
    }
  }
  return fields.length > 0 ? { type: 'changed', fields } : { type: 'in-sync' };
}

/** The distinct managers behind a set of foreign fields, for events and logs. */
export function actorsOf(fields: readonly ForeignField[]): string[] {
  return [...new Set(fields.map((f) => f.manager))];
}
