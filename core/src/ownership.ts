// Ownership (issue 4, SPEC section 6): who must approve a change to the policy repository.
//
// Sources, both read from the BASE revision only (a pull request can never make its author an owner):
// - Prow-style `OWNERS` files (YAML: `approvers`, `reviewers`, optional `labels`), resolved from the
//   changed file's folder upward: `namespaces/<ns>/OWNERS`, then `namespaces/OWNERS`, then the root `OWNERS`.
// - A GitHub `CODEOWNERS` file (`.github/CODEOWNERS`, else `CODEOWNERS`, else `docs/CODEOWNERS`: the
//   order GitHub itself uses).
//
// Precedence (our choice, documented in the template README): OWNERS files decide. CODEOWNERS is
// consulted for a path only when no OWNERS file covers it (neither its folder chain nor the root).
// Rationale: OWNERS is this tool's per-level contract; CODEOWNERS is enforced by GitHub itself when
// branch protection asks for it, so a repository that only has CODEOWNERS still gets reviews mapped,
// and one that has both is never held to two different owner lists by the bot.
// A path nobody owns yields a group with no approvers, which can never be satisfied (fail closed).

import { diffObjects, samePolicyContent } from './diff.js';
import type { Diagnostic, PolicyFile, PolicyKind, PolicyObject, PolicySet } from './model.js';
import { objectId } from './model.js';
import { BAND_LIMITS, priorityOf } from './policy-facts.js';
import { parseYamlDocuments } from './yaml.js';

/** One parsed `OWNERS` file. Handles are kept as written, without a leading `@`. */
export interface OwnersFile {
  path: string;
  approvers: string[];
  reviewers: string[];
  labels: string[];
}

/** One `CODEOWNERS` line: a gitignore-style pattern and its owners (GitHub handles without `@`). */
export interface CodeOwnersRule {
  pattern: string;
  owners: string[];
  file: string;
  line: number;
}

/** The ownership of one revision (always the base revision of a change). */
export interface Ownership {
  /** `OWNERS` files keyed by their folder (`''` for the root, `cluster`, `namespaces/shop`). */
  owners: ReadonlyMap<string, OwnersFile>;
  /** The CODEOWNERS file in effect, if any. */
  codeownersFile?: string;
  codeowners: readonly CodeOwnersRule[];
}

export interface ChangedObject {
  /** `objectId` of the object. */
  id: string;
  kind: PolicyKind;
  /** The file that holds it in the head (in the base for a removed object). */
  file: string;
  change: 'added' | 'removed' | 'modified';
  /** Priorities it had in base and/or head (NyxNetworkPolicy defaults to 500; none for other kinds). */
  priorities: number[];
}

export interface ApprovalGroup {
  /** Stable id: the OWNERS/CODEOWNERS source whose approvers are needed (e.g. `cluster/OWNERS`). */
  id: string;
  /** Why it is needed, e.g. `cluster/ changed`. Several reasons are joined with `; `. */
  reason: string;
  /** Users or `org/team` handles (no `@`); one approval from any of them satisfies the group. */
  approvers: string[];
  /** The changed paths that brought this group in. */
  paths: string[];
}

export interface ReviewInput {
  user: string;
  /** GitHub review state: `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`. */
  state: string;
  commitId: string;
}

/** Why a group stands as it does: the facts its explanation is written from. */
export type ApprovalGroupFacts =
  | { state: 'unowned' }
  | { state: 'approved'; user: string; via: string }
  | { state: 'pending'; selfApproved?: string; staleOwners: string[] };

export type ApprovalGroupStatus = ApprovalGroup & {
  satisfied: boolean;
  approvedBy?: string;
  facts: ApprovalGroupFacts;
  /** Plain text; `describeApprovalGroup` writes it for another medium (Markdown). */
  explanation: string;
};

/**
 * How an explanation writes text a pull request controls (paths, object names) and handles. The
 * handles are approvers from the BASE branch's OWNERS/CODEOWNERS and reviewers' GitHub logins, so a
 * Markdown writer may mention them; everything else it must escape.
 */
export interface ExplanationFormat {
  text(s: string): string;
  handle(h: string): string;
}

const PLAIN: ExplanationFormat = { text: (s) => s, handle: displayHandle };

/** The explanation of one group (`explanation` is this with plain text). */
export function describeApprovalGroup(
  g: ApprovalGroup & { facts: ApprovalGroupFacts },
  format: ExplanationFormat = PLAIN,
): string {
  const reason = format.text(g.reason);
  const f = g.facts;
  if (f.state === 'unowned')
    return `${reason}: no owner covers ${format.text(g.paths.join(', '))}; add an OWNERS file (approvers) on the base branch first`;
  if (f.state === 'approved') {
    const member =
      normalizeHandle(f.via) === normalizeHandle(f.user) ? '' : ` (member of ${format.handle(f.via)})`;
    return `${reason}: approved by ${format.handle(f.user)}${member}`;
  }
  const needs = g.approvers.map(format.handle).join(', ');
  const notes: string[] = [];
  if (f.selfApproved)
    notes.push(`the author's own approval (${format.handle(f.selfApproved)}) does not count`);
  if (f.staleOwners.length > 0)
    notes.push(`approval by ${f.staleOwners.map(format.handle).join(', ')} is on an older commit`);
  const oneOf = g.approvers.length === 1 ? needs : `one of ${needs}`;
  return `${reason}: needs ${oneOf}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/** The one-line verdict over all groups (`ApprovalStatus.summary` is this with plain text). */
export function describeApproval(
  groups: ReadonlyArray<ApprovalGroupStatus>,
  format: ExplanationFormat = PLAIN,
): string {
  const missing = groups.filter((g) => !g.satisfied);
  const s = groups.length === 1 ? '' : 's';
  if (groups.length === 0) return 'No ownership approval required.';
  if (missing.length === 0) return `Ownership: all ${groups.length} required approval${s} given.`;
  return `Ownership: ${missing.length} of ${groups.length} required approval${s} missing: ${missing.map((g) => describeApprovalGroup(g, format)).join('; ')}`;
}

export interface ApprovalStatus {
  satisfied: boolean;
  groups: ApprovalGroupStatus[];
  summary: string;
}

const OWNERS_KEYS = new Set(['approvers', 'reviewers', 'labels', 'emeritus_approvers', 'options']);
// GitHub user (1-39 chars, alphanumeric and single hyphens) or org/team slug.
const HANDLE = /^@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]+)?$/;

/** Lower-case, no leading `@`: how handles are compared. */
export function normalizeHandle(handle: string): string {
  return handle.trim().replace(/^@/, '').toLowerCase();
}

/** `@user` or `@org/team`, as GitHub shows (and notifies) a handle. */
export function displayHandle(handle: string): string {
  return `@${handle.replace(/^@/, '')}`;
}

/**
 * Parses a Prow-style OWNERS file. `approvers` must be a non-empty list of GitHub users or
 * `org/team` handles; `reviewers` and `labels` are optional lists. Prow's `emeritus_approvers` and
 * `options` are accepted and ignored; any other key is an error (a typo such as `approver` would
 * otherwise silently leave a folder without owners).
 */
export function parseOwners(
  path: string,
  content: string,
): { ok: true; owners: OwnersFile } | { ok: false; errors: Diagnostic[] } {
  const parsed = parseYamlDocuments(path, content);
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const docs = parsed.documents.filter((d) => d.value !== null && d.value !== undefined);
  if (docs.length !== 1) {
    const line = docs[1]?.line ?? 1;
    return {
      ok: false,
      errors: [
        {
          file: path,
          line,
          message: 'expected one YAML mapping with approvers (and optional reviewers, labels)',
        },
      ],
    };
  }
  const doc = docs[0]!;
  const value = doc.value;
  if (typeof value !== 'object' || Array.isArray(value) || value === null) {
    return {
      ok: false,
      errors: [
        {
          file: path,
          line: doc.line,
          message: 'expected a mapping with approvers (and optional reviewers, labels)',
        },
      ],
    };
  }
  const errors: Diagnostic[] = [];
  const lineOf = (pointer: string) => doc.lines[pointer] ?? doc.line;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!OWNERS_KEYS.has(key)) {
      errors.push({
        file: path,
        line: lineOf(`/${key}`),
        message: `unknown key "${key}"; OWNERS takes approvers, reviewers and labels`,
      });
    }
  }
  const list = (key: string, handles: boolean): string[] => {
    const v = record[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      errors.push({ file: path, line: lineOf(`/${key}`), message: `${key}: expected a list` });
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const line = lineOf(`/${key}/${i}`);
      if (typeof item !== 'string' || item.trim() === '') {
        errors.push({ file: path, line, message: `${key}[${i}]: expected a string` });
      } else if (handles && !HANDLE.test(item.trim())) {
        errors.push({
          file: path,
          line,
          message: `${key}[${i}]: "${item}" is not a GitHub user or org/team handle`,
        });
      } else {
        out.push(handles ? item.trim().replace(/^@/, '') : item.trim());
      }
    });
    return out;
  };
  const approvers = list('approvers', true);
  const reviewers = list('reviewers', true);
  const labels = list('labels', false);
  if (approvers.length === 0 && !errors.some((e) => e.message.startsWith('approvers'))) {
    errors.push({
      file: path,
      line: record.approvers === undefined ? doc.line : lineOf('/approvers'),
      message: 'approvers: expected a non-empty list of GitHub users or org/team handles',
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, owners: { path, approvers, reviewers, labels } };
}

/** Parses a GitHub CODEOWNERS file (`pattern owner...` lines). E-mail owners are skipped: they name no GitHub handle. */
export function parseCodeOwners(
  path: string,
  content: string,
): { ok: true; rules: CodeOwnersRule[] } | { ok: false; errors: Diagnostic[] } {
  const rules: CodeOwnersRule[] = [];
  const errors: Diagnostic[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    const text = raw.replace(/(^|\s)#.*$/, '').trim();
    if (text === '') return;
    const [pattern, ...owners] = text.split(/\s+/);
    const handles: string[] = [];
    for (const o of owners) {
      if (o.includes('@') && !o.startsWith('@')) continue; // e-mail address
      if (!HANDLE.test(o)) {
        errors.push({ file: path, line: i + 1, message: `"${o}" is not a GitHub user or org/team handle` });
        continue;
      }
      handles.push(o.replace(/^@/, ''));
    }
    rules.push({ pattern: pattern!, owners: handles, file: path, line: i + 1 });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/** Where GitHub looks for CODEOWNERS, in its order: the first one found is used. */
export const CODEOWNERS_LOCATIONS: readonly string[] = [
  '.github/CODEOWNERS',
  'CODEOWNERS',
  'docs/CODEOWNERS',
];

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Collects the OWNERS files and the CODEOWNERS file of one revision. Hand it the BASE revision's
 * files (other files are ignored), never the head's.
 */
export function loadOwnership(
  files: readonly PolicyFile[],
): { ok: true; ownership: Ownership } | { ok: false; errors: Diagnostic[] } {
  const owners = new Map<string, OwnersFile>();
  const errors: Diagnostic[] = [];
  for (const f of files) {
    if (!isOwnersFile(f.path)) continue;
    const r = parseOwners(f.path, f.content);
    if (r.ok) owners.set(dirname(f.path), r.owners);
    else errors.push(...r.errors);
  }
  let codeowners: CodeOwnersRule[] = [];
  let codeownersFile: string | undefined;
  for (const location of CODEOWNERS_LOCATIONS) {
    const f = files.find((x) => x.path === location);
    if (!f) continue;
    const r = parseCodeOwners(f.path, f.content);
    if (r.ok) codeowners = r.rules;
    else errors.push(...r.errors);
    codeownersFile = f.path;
    break;
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, ownership: { owners, codeowners, ...(codeownersFile ? { codeownersFile } : {}) } };
}

/** gitignore-style CODEOWNERS pattern → predicate over repository paths. */
export function codeOwnersPatternMatches(pattern: string, path: string): boolean {
  let p = pattern;
  const anchored = p.startsWith('/') || p.slice(0, -1).includes('/');
  p = p.replace(/^\//, '');
  const dirOnly = p.endsWith('/');
  p = p.replace(/\/$/, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern matches the path itself or anything below it (a folder pattern owns its contents),
  // except `dir/*`, which GitHub documents as matching the folder's direct files only.
  const tail = dirOnly ? '/.*' : p.endsWith('/*') ? '' : '(?:/.*)?';
  const full = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${re}${tail}$`);
  return full.test(path);
}

/** The nearest OWNERS file from `dir` upward to the root, if any. */
function nearestOwners(ownership: Ownership, dir: string): OwnersFile | undefined {
  let d = dir;
  for (;;) {
    const o = ownership.owners.get(d);
    if (o) return o;
    if (d === '') return undefined;
    d = dirname(d);
  }
}

/** An `OWNERS` file, at the root or in any folder. */
export function isOwnersFile(path: string): boolean {
  return basename(path) === 'OWNERS';
}

function isOwnershipFile(path: string): boolean {
  return isOwnersFile(path) || CODEOWNERS_LOCATIONS.includes(path);
}

interface Requirement {
  source: string;
  approvers: string[];
  reason: string;
  path: string;
}

/** Who must approve `path` at `level` (the folder to resolve from), and why. */
function requirementFor(ownership: Ownership, path: string, level: string, reason: string): Requirement {
  const owners = nearestOwners(ownership, level);
  if (owners) return { source: owners.path, approvers: owners.approvers, reason, path };
  let rule: CodeOwnersRule | undefined;
  for (const r of ownership.codeowners) if (codeOwnersPatternMatches(r.pattern, path)) rule = r;
  if (rule && rule.owners.length > 0) {
    return { source: `${rule.file}:${rule.line}`, approvers: rule.owners, reason, path };
  }
  return { source: `unowned:${level || '/'}`, approvers: [], reason, path };
}

function levelReason(path: string): { level: string; reason: string } {
  const parts = path.split('/');
  if (parts[0] === 'cluster') return { level: 'cluster', reason: 'cluster/ changed' };
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    return { level: `namespaces/${parts[1]}`, reason: `namespaces/${parts[1]}/ changed` };
  }
  return {
    level: dirname(path),
    reason: `${dirname(path) ? `${dirname(path)}/` : 'repository root'} changed`,
  };
}

// SPEC 9: the upstream admin policy kinds are cluster-wide policy too.
const CLUSTER_KINDS = new Set<PolicyKind>([
  'NyxClusterConfig',
  'NyxClusterNetworkPolicy',
  'AdminNetworkPolicy',
  'BaselineAdminNetworkPolicy',
  'ClusterNetworkPolicy',
]);

/**
 * The approval groups a change needs, from the BASE revision's ownership:
 * - a file under `cluster/` needs the nearest OWNERS from `cluster/` (the platform team);
 * - a file under `namespaces/<ns>/` needs one approver of that namespace (nearest OWNERS upward);
 * - an `OWNERS`/`CODEOWNERS` file needs the approvers of its parent level (the root OWNERS for
 *   the root's own files);
 * - an object in the 0–99 band wherever it lives, and (our choice) any cluster-scoped object
 *   (`NyxClusterConfig`, `NyxClusterNetworkPolicy`) wherever it lives, needs the platform owners
 *   (`cluster/OWNERS`, else the root OWNERS).
 * Requirements naming the same OWNERS source merge into one group.
 */
export function requiredApprovals(input: {
  ownership: Ownership;
  changedFiles: readonly string[];
  changedObjects: readonly ChangedObject[];
}): ApprovalGroup[] {
  const { ownership } = input;
  const reqs: Requirement[] = [];
  for (const path of input.changedFiles) {
    if (isOwnershipFile(path)) {
      const dir = dirname(path);
      const parent = path === 'OWNERS' || CODEOWNERS_LOCATIONS.includes(path) ? '' : dirname(dir);
      reqs.push(requirementFor(ownership, path, parent, `${path} changed (ownership file)`));
      continue;
    }
    const { level, reason } = levelReason(path);
    reqs.push(requirementFor(ownership, path, level, reason));
  }
  for (const o of input.changedObjects) {
    const platformBand = o.priorities.some((p) => p <= BAND_LIMITS.platform.max);
    if (!platformBand && !CLUSTER_KINDS.has(o.kind)) continue;
    if (o.file.startsWith('cluster/')) continue; // already needs the cluster owners as a file under cluster/
    const reason = platformBand ? `${o.id} is in the platform band (0–99)` : `${o.id} is cluster-scoped`;
    reqs.push(requirementFor(ownership, o.file, 'cluster', reason));
  }
  const groups = new Map<string, ApprovalGroup & { reasons: string[] }>();
  for (const r of reqs) {
    let g = groups.get(r.source);
    if (!g) {
      g = { id: r.source, reason: '', approvers: [...r.approvers], paths: [], reasons: [] };
      groups.set(r.source, g);
    }
    if (!g.reasons.includes(r.reason)) g.reasons.push(r.reason);
    if (!g.paths.includes(r.path)) g.paths.push(r.path);
  }
  return [...groups.values()].map(({ reasons, ...g }) => ({ ...g, reason: reasons.join('; ') }));
}

/** Objects added, removed or modified (metadata or spec) between two revisions, matched by `objectId`. */
export function changedObjects(base: PolicySet, head: PolicySet): ChangedObject[] {
  const before = new Map(base.objects.map((o) => [objectId(o), o]));
  const after = new Map(head.objects.map((o) => [objectId(o), o]));
  const set = diffObjects(before, after, samePolicyContent);
  const modified = new Set(set.changed);
  const out: ChangedObject[] = [];
  const prios = (...os: Array<PolicyObject | undefined>) => [
    ...new Set(os.map((o) => (o ? priorityOf(o) : undefined)).filter((p): p is number => p !== undefined)),
  ];
  for (const [id, h] of after) {
    const b = before.get(id);
    if (!b) out.push({ id, kind: h.kind, file: h.source.file, change: 'added', priorities: prios(h) });
    else if (modified.has(id)) {
      out.push({ id, kind: h.kind, file: h.source.file, change: 'modified', priorities: prios(b, h) });
    }
  }
  for (const [id, b] of before) {
    if (!after.has(id))
      out.push({ id, kind: b.kind, file: b.source.file, change: 'removed', priorities: prios(b) });
  }
  return out;
}

/**
 * Whether the reviews satisfy every group. Only each reviewer's latest decisive review counts
 * (`APPROVED`, `CHANGES_REQUESTED` or `DISMISSED`; comments do not undo an approval), only when it
 * is an approval of `headSha`, and never the author's. A team handle (`org/team`) is satisfied by
 * any member listed in `teamMembers` (keys and members compared case-insensitively, no `@`).
 */
export function approvalStatus(input: {
  groups: readonly ApprovalGroup[];
  reviews: readonly ReviewInput[];
  author: string;
  headSha: string;
  teamMembers: ReadonlyMap<string, ReadonlySet<string>>;
}): ApprovalStatus {
  const author = normalizeHandle(input.author);
  const latest = new Map<string, ReviewInput>();
  for (const r of input.reviews) {
    const state = r.state.toUpperCase();
    if (state !== 'APPROVED' && state !== 'CHANGES_REQUESTED' && state !== 'DISMISSED') continue;
    latest.set(normalizeHandle(r.user), r);
  }
  const approvals: string[] = [];
  const stale: string[] = [];
  for (const [user, r] of latest) {
    if (r.state.toUpperCase() !== 'APPROVED') continue;
    if (r.commitId !== input.headSha) stale.push(user);
    else approvals.push(user);
  }
  const teams = new Map<string, Set<string>>();
  for (const [team, members] of input.teamMembers) {
    const set = teams.get(normalizeHandle(team)) ?? new Set<string>();
    for (const m of members) set.add(normalizeHandle(m));
    teams.set(normalizeHandle(team), set);
  }
  const qualifies = (user: string, approvers: readonly string[]): string | undefined => {
    for (const a of approvers) {
      const h = normalizeHandle(a);
      if (h.includes('/') ? teams.get(h)?.has(user) : h === user) return a;
    }
    return undefined;
  };
  const groups: ApprovalGroupStatus[] = input.groups.map((g) => {
    const status = (satisfied: boolean, facts: ApprovalGroupFacts, approvedBy?: string) => ({
      ...g,
      satisfied,
      ...(approvedBy ? { approvedBy } : {}),
      facts,
      explanation: describeApprovalGroup({ ...g, facts }),
    });
    if (g.approvers.length === 0) return status(false, { state: 'unowned' });
    for (const user of approvals) {
      if (user === author) continue;
      const via = qualifies(user, g.approvers);
      if (via) return status(true, { state: 'approved', user, via }, user);
    }
    const selfApproved = approvals.includes(author) && qualifies(author, g.approvers) ? author : undefined;
    const staleOwners = stale.filter((u) => u !== author && qualifies(u, g.approvers));
    return status(false, { state: 'pending', ...(selfApproved ? { selfApproved } : {}), staleOwners });
  });
  const missing = groups.filter((g) => !g.satisfied);
  const summary = describeApproval(groups);
  return { satisfied: missing.length === 0, groups, summary };
}

/** The `org/team` handles the groups name (normalized, sorted): what the bot must resolve to members. */
export function teamHandles(groups: readonly ApprovalGroup[]): string[] {
  const teams = new Set<string>();
  for (const g of groups) for (const a of g.approvers) if (a.includes('/')) teams.add(normalizeHandle(a));
  return [...teams].sort();
}

/** Convenience for the bot: ownership of the base files plus the groups a change needs. */
export function ownersForChange(input: {
  baseFiles: readonly PolicyFile[];
  changedFiles: readonly string[];
  changedObjects: readonly ChangedObject[];
}): { ok: true; groups: ApprovalGroup[]; ownership: Ownership } | { ok: false; errors: Diagnostic[] } {
  const loaded = loadOwnership(input.baseFiles);
  if (!loaded.ok) return loaded;
  return {
    ok: true,
    ownership: loaded.ownership,
    groups: requiredApprovals({
      ownership: loaded.ownership,
      changedFiles: input.changedFiles,
      changedObjects: input.changedObjects,
    }),
  };
}
