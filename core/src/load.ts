// Loading a policy tree: pick the manifests, parse them, route each document by apiVersion/kind,
// validate its shape against the JSON Schema of its kind (ajv) and then the semantic rules of SPEC
// section 1. Every problem of every file is collected (never stop at the first), each as
// `file:line: message` naming what was expected.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Cidr, cidrCovers, parseCidr } from './cidr.js';
import {
  type AdminPeer,
  type AdminRule,
  ANP_API_VERSION,
  type Diagnostic,
  type IgnoredObject,
  type IpBlock,
  type LabelSelector,
  type LoadResult,
  NETWORKING_API_VERSION,
  NYX_API_VERSION,
  type NyxClusterConfig,
  type PolicyFile,
  type PolicyObject,
  type PolicySet,
  type UpstreamAdminPolicy,
} from './model.js';
import { comparePaths, namespaceFolder, policyManifestPaths, repoPathProblem } from './paths.js';
import { BAND_LIMITS } from './policy-facts.js';
import {
  type JsonSchema,
  PATTERN_DESCRIPTIONS,
  policySchemas,
  UPSTREAM_KINDS,
  type UpstreamKind,
  upstreamManifestSchema,
} from './schemas/index.js';
import { escapePointer, selectorProblems } from './selector.js';
import { lineForPointer, parseYamlDocuments, type YamlDocument, type YamlLimits } from './yaml.js';

export interface LoadOptions {
  /** Limits applied to each file by the YAML loader (size, aliases, depth, documents). */
  yamlLimits?: YamlLimits;
  /**
   * How a message names another file (the first definition of a duplicate): the caller's display
   * form of a tree path, so that both files of a message are reachable the same way. Default: as is.
   */
  displayPath?: (path: string) => string;
}

type ManagedKind = keyof typeof policySchemas | UpstreamKind;
const NYX_KINDS = new Set<string>(['NyxClusterConfig', 'NyxClusterNetworkPolicy', 'NyxNetworkPolicy']);
const CLUSTER_SCOPED = new Set<string>([
  'NyxClusterConfig',
  'NyxClusterNetworkPolicy',
  ...Object.keys(UPSTREAM_KINDS),
]);
const NYX_GROUP_PREFIX = `${NYX_API_VERSION.split('/')[0]}/`;
const UPSTREAM_GROUP_PREFIX = `${ANP_API_VERSION.split('/')[0]}/`;

// Compiled once per process, on first use: validation of thousands of objects reuses the same
// functions, and a command that loads no policy (`nyxctl --help`) does not pay for compiling them.
let ajv: Ajv | undefined;
const validators = new Map<ManagedKind, ValidateFunction>();
function validatorFor(kind: ManagedKind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    ajv ??= new Ajv({ allErrors: true, allowUnionTypes: true, strict: true, verbose: true });
    validate = ajv.compile(
      kind in UPSTREAM_KINDS
        ? upstreamManifestSchema(kind as UpstreamKind)
        : policySchemas[kind as keyof typeof policySchemas],
    );
    validators.set(kind, validate);
  }
  return validate;
}

/**
 * Loads every policy manifest among `files` (picked with `policyManifestPaths`, so callers may hand in
 * the whole tree) into a `PolicySet`, or returns every error found. Documents of other kinds
 * (Deployment, Service, …) are skipped with a note.
 */
export function loadPolicySet(files: readonly PolicyFile[], options: LoadOptions = {}): LoadResult {
  const errors: Diagnostic[] = [];
  const notes: Diagnostic[] = [];
  const objects: PolicyObject[] = [];
  const ignored: IgnoredObject[] = [];

  const contentByPath = new Map<string, string>();
  for (const f of files) if (!contentByPath.has(f.path)) contentByPath.set(f.path, f.content);

  // Every path handed in is checked, not only manifests: a `../x.yaml` must be refused, not skipped.
  const badPaths = new Set<string>();
  for (const path of contentByPath.keys()) {
    const pathProblem = repoPathProblem(path);
    if (pathProblem) {
      badPaths.add(path);
      errors.push({ file: path, line: 1, message: `refused path: ${pathProblem}` });
    }
  }
  for (const path of policyManifestPaths([...contentByPath.keys()])) {
    if (badPaths.has(path)) continue;
    const parsed = parseYamlDocuments(path, contentByPath.get(path)!, options.yamlLimits);
    if (!parsed.ok) {
      errors.push(...parsed.errors);
      continue;
    }
    parsed.documents.flatMap(expandList).forEach((doc, index) => {
      const routed = routeDocument(path, doc, index);
      if (routed.type === 'error') errors.push(routed.error);
      else if (routed.type === 'ignored') {
        ignored.push(routed.ignored);
        const { source, apiVersion, kind, name } = routed.ignored;
        notes.push({
          ...source,
          message: `ignored ${short(apiVersion)} ${short(kind)}${name !== undefined ? ` ${q(name)}` : ''}: not a policy kind`,
        });
      } else {
        const result = validateDocument(path, doc, routed.kind);
        errors.push(...result.errors);
        if (result.object) objects.push(result.object);
      }
    });
  }

  errors.push(...crossObjectProblems(objects, options.displayPath ?? ((path) => path)));
  const config = objects.find((o): o is NyxClusterConfig => o.kind === 'NyxClusterConfig');
  if (errors.length > 0) return { ok: false, errors: sortDiagnostics(errors), notes: sortDiagnostics(notes) };
  const policySet: PolicySet = { objects, ignored, ...(config ? { config } : {}) };
  return { ok: true, policySet, notes: sortDiagnostics(notes) };
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  // Messages quote user text; control characters are escaped so one diagnostic stays one line.
  for (const d of list) d.message = escapeControl(d.message);
  // Array.prototype.sort is stable: problems on one line keep the order they were found in.
  return list.sort((a, b) => comparePaths(a.file, b.file) || a.line - b.line);
}

function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** User text in a message, cut to a readable length. */
function short(value: unknown): string {
  const text = String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** User text in a message: quoted, escaped, and cut to a readable length. */
function q(value: unknown): string {
  return JSON.stringify(short(value));
}

/**
 * A `v1 List` (what `kubectl get … -o yaml` prints) is read as its items, each with the lines of its
 * own fields, so an exported tree loads like one written by hand.
 */
function expandList(doc: YamlDocument): YamlDocument[] {
  const v = doc.value;
  if (!isPlainObject(v) || v.apiVersion !== 'v1' || v.kind !== 'List' || !Array.isArray(v.items))
    return [doc];
  const lines: Array<Record<string, number>> = v.items.map(() => ({}));
  for (const [pointer, line] of Object.entries(doc.lines)) {
    const m = /^\/items\/(\d+)(\/.*)?$/.exec(pointer);
    if (m) lines[Number(m[1])]![m[2] ?? ''] = line;
  }
  return v.items.map((item, i) => ({ value: item, line: lines[i]![''] ?? doc.line, lines: lines[i]! }));
}

// ---- routing -----------------------------------------------------------------------------------

type Routed =
  | { type: 'managed'; kind: ManagedKind }
  | { type: 'ignored'; ignored: IgnoredObject }
  | { type: 'error'; error: Diagnostic };

function routeDocument(file: string, doc: YamlDocument, index: number): Routed {
  const value = doc.value;
  const at = (pointer: string, message: string): Routed => ({
    type: 'error',
    error: { file, line: lineForPointer(doc.lines, pointer, doc.line), message },
  });
  if (!isPlainObject(value)) {
    return at(
      '',
      `document ${index + 1} is ${describeValue(value)}; expected a Kubernetes manifest (a mapping with apiVersion, kind and metadata)`,
    );
  }
  const { apiVersion, kind } = value;
  if (kind === undefined)
    return at('', 'missing field "kind"; expected a Kubernetes manifest with apiVersion and kind');
  if (typeof kind !== 'string' || kind === '') return at('/kind', `kind must be a non-empty string`);
  if (apiVersion === undefined) return at('', `missing field "apiVersion" on ${short(kind)}`);
  if (typeof apiVersion !== 'string' || apiVersion === '')
    return at('/apiVersion', 'apiVersion must be a non-empty string');

  if (NYX_KINDS.has(kind)) {
    if (apiVersion !== NYX_API_VERSION) {
      return at('/apiVersion', `${kind} must use apiVersion ${NYX_API_VERSION}, not ${short(apiVersion)}`);
    }
    return { type: 'managed', kind: kind as ManagedKind };
  }
  if (apiVersion.startsWith(NYX_GROUP_PREFIX)) {
    return at(
      '/kind',
      `unknown kind ${q(kind)} in ${short(apiVersion)}; expected one of ${[...NYX_KINDS].join(', ')}${suggest(kind, [...NYX_KINDS])}`,
    );
  }
  if (kind === 'NetworkPolicy' && apiVersion === NETWORKING_API_VERSION)
    return { type: 'managed', kind: 'NetworkPolicy' };
  if (apiVersion.startsWith(UPSTREAM_GROUP_PREFIX)) {
    const served = UPSTREAM_KINDS[kind as UpstreamKind];
    if (served === apiVersion) return { type: 'managed', kind: kind as UpstreamKind };
    if (served !== undefined) {
      return at('/apiVersion', `${kind} must use apiVersion ${served}, not ${short(apiVersion)}`);
    }
    const known = Object.keys(UPSTREAM_KINDS);
    return at(
      '/kind',
      `unknown kind ${q(kind)} in ${short(apiVersion)}; expected one of ${known.join(', ')}${suggest(kind, known)}`,
    );
  }
  const metadata = value.metadata;
  const name = isPlainObject(metadata) && typeof metadata.name === 'string' ? metadata.name : undefined;
  return {
    type: 'ignored',
    ignored: { source: { file, line: doc.line }, apiVersion, kind, ...(name !== undefined ? { name } : {}) },
  };
}

// ---- schema validation -------------------------------------------------------------------------

function validateDocument(
  file: string,
  doc: YamlDocument,
  kind: ManagedKind,
): { errors: Diagnostic[]; object?: PolicyObject } {
  const validate = validatorFor(kind);
  const candidate = withoutServerWritten(kind, doc.value);
  const shapeOk = validate(candidate);
  const value = candidate as { apiVersion: string; metadata: PolicyObject['metadata']; spec?: unknown };
  const folder = namespaceFolder(file);
  if (!shapeOk) {
    const schemaErrors = validate.errors ?? [];
    const errors = schemaErrors.flatMap((e) => schemaError(file, doc, kind, e));
    // Still run the semantic rules on the parts that have the right shape, so that one pass reports
    // everything. Problems at or under a field the schema already refused are dropped, and a rule
    // that trips over a wrongly typed value simply ends the best-effort pass.
    if (isPlainObject(value.metadata) && (value.spec === undefined || isPlainObject(value.spec))) {
      const refused = schemaErrors.map(schemaErrorPointer);
      const problems: Problem[] = [];
      try {
        semanticProblems(buildObject(file, doc, kind, value, folder), folder, problems);
      } catch {
        // best effort only: the schema errors above already explain what is wrong
      }
      for (const p of problems) {
        if (!refused.some((r) => p.pointer === r || p.pointer.startsWith(`${r}/`) || r === '')) {
          errors.push(p.diagnostic);
        }
      }
    }
    return { errors };
  }
  const object = buildObject(file, doc, kind, value, folder);
  const problems: Problem[] = [];
  semanticProblems(object, folder, problems);
  return { errors: problems.map((p) => p.diagnostic), object };
}

/**
 * The document without what the API server writes and a manifest in Git need not carry (SPEC section
 * 1): a top-level `status` (`kubectl get -o yaml` and `--dry-run -o yaml` print `status: {}`), and
 * fields written `null` where the API server reads null as absent: every mapping field of `metadata`,
 * and of an upstream NetworkPolicy's `spec` (Go pointers, slices and maps: `matchLabels:` with no
 * value is an empty selector, `ports:` with none is every port). Null list items stay and are refused,
 * as the API server refuses them. A new value: parses are shared between trees and never mutated.
 */
function withoutServerWritten(kind: ManagedKind, value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const { status: _status, ...rest } = value;
  if (isPlainObject(rest.metadata)) rest.metadata = withoutNullFields(rest.metadata);
  if (kind === 'NetworkPolicy' && isPlainObject(rest.spec)) rest.spec = withoutNullFields(rest.spec);
  return rest;
}

function withoutNullFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === null ? item : withoutNullFields(item)));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = withoutNullFields(field);
  return out;
}

function buildObject(
  file: string,
  doc: YamlDocument,
  kind: ManagedKind,
  value: { apiVersion: string; metadata: PolicyObject['metadata']; spec?: unknown },
  folder: string | undefined,
): PolicyObject {
  const base = {
    apiVersion: value.apiVersion,
    kind,
    metadata: value.metadata,
    spec: value.spec ?? {},
    source: { file, line: doc.line },
    lines: doc.lines,
  };
  const namespace =
    typeof value.metadata.namespace === 'string' ? value.metadata.namespace : (folder ?? 'default');
  if (kind === 'NetworkPolicy') {
    const spec = base.spec as { podSelector?: LabelSelector };
    return {
      ...base,
      kind,
      spec: { ...spec, podSelector: spec.podSelector ?? {} },
      namespace,
    } as PolicyObject;
  }
  if (kind === 'NyxNetworkPolicy') return { ...base, namespace } as PolicyObject;
  return base as PolicyObject;
}

/** The field a schema error is about (the unknown or missing field itself, else the value). */
function schemaErrorPointer(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties')
    return `${e.instancePath}/${escapePointer(String(params.additionalProperty))}`;
  if (e.keyword === 'required') return `${e.instancePath}/${escapePointer(String(params.missingProperty))}`;
  return e.instancePath;
}

function schemaError(file: string, doc: YamlDocument, kind: ManagedKind, e: ErrorObject): Diagnostic[] {
  const at = (pointer: string, message: string): Diagnostic[] => [
    { file, line: lineForPointer(doc.lines, pointer, doc.line), message },
  ];
  const field = fieldName(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const prop = String(params.additionalProperty);
      // Tolerated server-populated metadata fields (empty schemas) are not worth suggesting.
      const properties = ((e.parentSchema as JsonSchema)?.properties ?? {}) as Record<string, JsonSchema>;
      const allowed = Object.keys(properties).filter((k) => Object.keys(properties[k]!).length > 0);
      const where = field ? ` in ${field}` : ` in ${kind}`;
      return at(
        `${e.instancePath}/${escapePointer(prop)}`,
        `unknown field ${q(prop)}${where}${suggest(prop, allowed)}; expected one of ${allowed.join(', ')}`,
      );
    }
    case 'required': {
      const prop = String(params.missingProperty);
      const full = field ? `${field}.${prop}` : prop;
      if (kind === 'NyxClusterNetworkPolicy' && full === 'spec.priority') {
        return at(
          e.instancePath,
          `missing spec.priority: cluster policies must set a priority (tier platform: ${range('platform')}, tier baseline: ${range('baseline')})`,
        );
      }
      return at(e.instancePath, `missing required field ${full}`);
    }
    case 'type': {
      const types = String(params.type).split(',');
      const expected = types
        .map((t) => (t === 'object' ? 'mapping' : t === 'array' ? 'list' : t))
        .map((t) => `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`);
      return at(
        e.instancePath,
        `${field || 'the document'} must be ${expected.join(' or ')}, not ${describeValue(e.data)}`,
      );
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      return at(
        e.instancePath,
        `${field} must be one of ${allowed.join(', ')}, not ${q(e.data)}${suggest(String(e.data), allowed)}`,
      );
    }
    case 'pattern': {
      const description =
        PATTERN_DESCRIPTIONS[String(params.pattern)] ?? `of the form ${String(params.pattern)}`;
      return at(e.instancePath, `${field} ${q(e.data)} must be ${description}`);
    }
    case 'maxLength':
      return at(e.instancePath, `${field} must be at most ${String(params.limit)} characters`);
    case 'minProperties':
    case 'maxProperties': {
      // Upstream's "exactly one of" (subject, peer, port, destinationPort) and "at least one of".
      const fields = Object.keys(((e.parentSchema as JsonSchema)?.properties ?? {}) as object);
      const one = (e.parentSchema as JsonSchema)?.maxProperties === 1 ? 'exactly one' : 'at least one';
      return at(e.instancePath, `${field} must set ${one} of ${fields.join(', ')}`);
    }
    case 'minItems':
      return at(
        e.instancePath,
        `${field} must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      );
    case 'maxItems':
      return at(e.instancePath, `${field} must list at most ${String(params.limit)} items`);
    case 'uniqueItems':
      return at(
        e.instancePath,
        `${field} lists the same value twice (items ${String(params.j)} and ${String(params.i)})`,
      );
    case 'maximum':
      if (kind in UPSTREAM_KINDS) {
        return at(e.instancePath, `${field} must be at most ${String(params.limit)}, not ${String(e.data)}`);
      }
      if (/\/priority$/.test(e.instancePath)) {
        return at(
          e.instancePath,
          `priority ${String(e.data)} is above ${BAND_LIMITS.baseline.max}, the highest priority (platform ${range('platform')}, namespace ${range('namespace')}, baseline ${range('baseline')})`,
        );
      }
      return at(e.instancePath, `${field} must be at most ${String(params.limit)}, not ${String(e.data)}`);
    case 'minimum':
      return at(e.instancePath, `${field} must be at least ${String(params.limit)}, not ${String(e.data)}`);
    default:
      return at(e.instancePath, `${field || 'the document'} ${e.message ?? 'is invalid'}`);
  }
}

/** `/spec/egress/0/ports/1/port` → `spec.egress[0].ports[1].port`. */
export function fieldName(pointer: string): string {
  if (pointer === '') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'empty (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ` (did you mean "spec"?)` when a close candidate exists. */
function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance && d < Math.max(2, c.length / 2)) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && best !== word ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A transposition counts as one edit ("sepc" → "spec").
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prevPrev[j - 2]! + 1);
      cur.push(d);
    }
    prevPrev = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

// ---- semantic rules (SPEC section 1) ----------------------------------------------------------

/** IANA_SVC_NAME: 1–15 of [a-z0-9-], at least one letter, no leading/trailing/double hyphen. */
const IANA_SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;
const IPV4_CIDR =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
const DNS_NAME =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?\.?$/;
const FQDN_PATTERN =
  /^(\*|[A-Za-z0-9_]([-A-Za-z0-9_*]{0,61}[A-Za-z0-9*])?)(\.(\*|[A-Za-z0-9_]([-A-Za-z0-9_*]{0,61}[A-Za-z0-9*])?))*\.?$/;

interface Problem {
  pointer: string;
  diagnostic: Diagnostic;
}

interface Ctx {
  problems: Problem[];
  object: PolicyObject;
}

function report(ctx: Ctx, pointer: string, message: string): void {
  ctx.problems.push({
    pointer,
    diagnostic: {
      file: ctx.object.source.file,
      line: lineForPointer(ctx.object.lines, pointer, ctx.object.source.line),
      message,
    },
  });
}

/** Appends the problems of one object to `problems` (as it finds them, so a throw keeps earlier ones). */
function semanticProblems(object: PolicyObject, folder: string | undefined, problems: Problem[]): void {
  const ctx: Ctx = { problems, object };
  const ns = object.metadata.namespace;
  if (CLUSTER_SCOPED.has(object.kind)) {
    if (ns !== undefined) {
      report(
        ctx,
        '/metadata/namespace',
        `${object.kind} is cluster-scoped; remove metadata.namespace (${q(ns)})`,
      );
    }
    // Decision (not spelled out by the SPEC): cluster-scoped objects live under cluster/, because
    // ownership gives namespaces/<ns>/ to that namespace's owners, who must not change cluster-wide policy.
    if (folder !== undefined) {
      report(
        ctx,
        '/kind',
        `${object.kind} is cluster-scoped and belongs under cluster/, not namespaces/${folder}/ (namespace owners must not change cluster-wide policy)`,
      );
    }
  } else if (folder !== undefined && ns !== undefined && ns !== folder) {
    report(
      ctx,
      '/metadata/namespace',
      `metadata.namespace ${q(ns)} differs from the folder namespaces/${folder}/ this file lives in; move the file or fix the namespace`,
    );
  }

  switch (object.kind) {
    case 'NyxClusterConfig':
      if (object.metadata.name !== 'cluster') {
        report(
          ctx,
          '/metadata/name',
          `NyxClusterConfig must be named "cluster" (it is a singleton), not ${q(object.metadata.name)}`,
        );
      }
      break;
    case 'NyxClusterNetworkPolicy': {
      const { tier, priority } = object.spec;
      if (tier === 'platform' && priority > BAND_LIMITS.platform.max) {
        report(
          ctx,
          '/spec/priority',
          `tier platform needs a priority in ${range('platform')}, not ${priority}${bandOf(priority)}`,
        );
      }
      if (tier === 'baseline' && priority < BAND_LIMITS.baseline.min) {
        report(
          ctx,
          '/spec/priority',
          `tier baseline needs a priority in ${range('baseline')}, not ${priority}${bandOf(priority)}`,
        );
      }
      checkSelector(ctx, object.spec.namespaceSelector, '/spec/namespaceSelector');
      checkSelector(ctx, object.spec.podSelector, '/spec/podSelector');
      checkNyxRules(ctx, object.spec.ingress, object.spec.egress);
      break;
    }
    case 'NyxNetworkPolicy': {
      const { priority } = object.spec;
      if (priority !== undefined && priority < BAND_LIMITS.namespace.min) {
        report(
          ctx,
          '/spec/priority',
          `priority ${priority} is in the platform band (${range('platform')}); namespace policies use ${range('namespace')}`,
        );
      } else if (priority !== undefined && priority >= BAND_LIMITS.baseline.min) {
        report(
          ctx,
          '/spec/priority',
          `priority ${priority} is in the baseline band (${range('baseline')}); namespace policies use ${range('namespace')}`,
        );
      }
      checkSelector(ctx, object.spec.podSelector, '/spec/podSelector');
      checkNyxRules(ctx, object.spec.ingress, object.spec.egress);
      break;
    }
    case 'NetworkPolicy':
      checkSelector(ctx, object.spec.podSelector, '/spec/podSelector');
      object.spec.ingress?.forEach((rule, i) => {
        const base = `/spec/ingress/${i}`;
        checkPorts(ctx, rule.ports, `${base}/ports`);
        rule.from?.forEach((peer, j) => {
          checkUpstreamPeer(ctx, peer, `${base}/from/${j}`);
        });
      });
      object.spec.egress?.forEach((rule, i) => {
        const base = `/spec/egress/${i}`;
        checkPorts(ctx, rule.ports, `${base}/ports`);
        rule.to?.forEach((peer, j) => {
          checkUpstreamPeer(ctx, peer, `${base}/to/${j}`);
        });
      });
      break;
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy':
      checkUpstreamAdminPolicy(ctx, object);
      break;
  }
}

/**
 * The CEL rules of the upstream CRDs (`x-kubernetes-validations`), restated, and the selectors' syntax.
 * One deliberate difference: a v1alpha1 `networks` entry must parse as a CIDR, where the v0.1.5 CRD's
 * rule only checks it has `:` or `.`: that CRD says implementations must validate it with
 * net.ParseCIDR, and one that is not a CIDR cannot be evaluated.
 */
function checkUpstreamAdminPolicy(ctx: Ctx, object: UpstreamAdminPolicy): void {
  const v1alpha2 = object.kind === 'ClusterNetworkPolicy';
  if (object.kind === 'BaselineAdminNetworkPolicy' && object.metadata.name !== 'default') {
    report(
      ctx,
      '/metadata/name',
      `BaselineAdminNetworkPolicy must be named "default" (only one baseline admin network policy with metadata.name="default" can be created), not ${q(object.metadata.name)}`,
    );
  }
  const { subject } = object.spec;
  checkSelector(ctx, subject.namespaces, '/spec/subject/namespaces');
  checkSelector(ctx, subject.pods?.namespaceSelector, '/spec/subject/pods/namespaceSelector');
  checkSelector(ctx, subject.pods?.podSelector, '/spec/subject/pods/podSelector');
  for (const direction of ['ingress', 'egress'] as const) {
    object.spec[direction]?.forEach((rule: AdminRule, i) => {
      const base = `/spec/${direction}/${i}`;
      const peerField = direction === 'egress' ? 'to' : 'from';
      const peers = rule[peerField] ?? [];
      peers.forEach((peer: AdminPeer, j) => {
        const p = `${base}/${peerField}/${j}`;
        checkSelector(ctx, peer.namespaces, `${p}/namespaces`);
        checkSelector(ctx, peer.pods?.namespaceSelector, `${p}/pods/namespaceSelector`);
        checkSelector(ctx, peer.pods?.podSelector, `${p}/pods/podSelector`);
        checkSelector(ctx, peer.nodes, `${p}/nodes`);
        peer.networks?.forEach((text, k) => {
          if (!strictCidr(text)) {
            report(
              ctx,
              `${p}/networks/${k}`,
              v1alpha2
                ? `Invalid CIDR format provided: ${q(text)} (expected address/prefix, e.g. 10.0.0.0/8 or fd00::/8)`
                : `networks entry ${q(text)} is not a valid CIDR (expected address/prefix, e.g. 10.0.0.0/8 or fd00::/8; an IPv4 address embedded in IPv6 is not supported)`,
            );
          }
        });
      });
      const namedPortAt = v1alpha2
        ? rule.protocols?.findIndex((x) => x.destinationNamedPort !== undefined)
        : rule.ports?.findIndex((x) => x.namedPort !== undefined);
      const addressPeer = peers.some(
        (peer) => peer.networks !== undefined || peer.nodes !== undefined || peer.domainNames !== undefined,
      );
      if (addressPeer && namedPortAt !== undefined && namedPortAt >= 0) {
        report(
          ctx,
          `${base}/${v1alpha2 ? 'protocols' : 'ports'}/${namedPortAt}`,
          v1alpha2
            ? 'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames'
            : 'networks/nodes peer cannot be set with namedPorts since there are no namedPorts for networks/nodes',
        );
      }
      rule.protocols?.forEach((protocol, k) => {
        for (const name of ['tcp', 'udp', 'sctp'] as const) {
          const range = protocol[name]?.destinationPort?.range;
          if (range && !(range.start < range.end)) {
            report(
              ctx,
              `${base}/protocols/${k}/${name}/destinationPort/range`,
              `Start port must be less than End port (start ${range.start}, end ${range.end})`,
            );
          }
        }
      });
    });
  }
}

function bandOf(priority: number): string {
  if (priority <= BAND_LIMITS.platform.max) return ' (the platform band)';
  if (priority <= BAND_LIMITS.namespace.max) return ` (the namespace band, ${range('namespace')})`;
  return ' (the baseline band)';
}

/** A band's priority range as messages print it: `100–899`. */
function range(band: keyof typeof BAND_LIMITS): string {
  return `${BAND_LIMITS[band].min}–${BAND_LIMITS[band].max}`;
}

function checkSelector(ctx: Ctx, selector: LabelSelector | undefined, pointer: string): void {
  if (!selector) return;
  for (const p of selectorProblems(selector)) {
    report(ctx, pointer + p.path, `invalid label selector ${fieldName(pointer)}: ${p.message}`);
  }
}

type NyxRules = NonNullable<import('./model.js').NyxNetworkPolicySpec['egress']>;
type NyxIngressRules = NonNullable<import('./model.js').NyxNetworkPolicySpec['ingress']>;

function checkNyxRules(ctx: Ctx, ingress: NyxIngressRules | undefined, egress: NyxRules | undefined): void {
  ingress?.forEach((rule, i) => {
    const base = `/spec/ingress/${i}`;
    checkPorts(ctx, rule.ports, `${base}/ports`);
    checkNyxPeers(ctx, rule.from, `${base}/from`, 'from');
    if (rule.fromIpBlock) checkIpBlock(ctx, rule.fromIpBlock, `${base}/fromIpBlock`);
  });
  egress?.forEach((rule, i) => {
    const base = `/spec/egress/${i}`;
    checkPorts(ctx, rule.ports, `${base}/ports`);
    checkNyxPeers(ctx, rule.to, `${base}/to`, 'to');
    if (rule.toIpBlock) checkIpBlock(ctx, rule.toIpBlock, `${base}/toIpBlock`);
    if (rule.toFqdn) {
      if (rule.toFqdn.length === 0) {
        report(
          ctx,
          `${base}/toFqdn`,
          'empty peer list "toFqdn: []" matches nothing; list names or remove the field',
        );
      }
      rule.toFqdn.forEach((m, j) => {
        const p = `${base}/toFqdn/${j}`;
        const hasName = m.matchName !== undefined;
        const hasPattern = m.matchPattern !== undefined;
        if (hasName === hasPattern) {
          report(ctx, p, 'toFqdn entry needs exactly one of matchName or matchPattern');
        } else if (hasName && !DNS_NAME.test(m.matchName!)) {
          report(
            ctx,
            `${p}/matchName`,
            `matchName ${q(m.matchName)} is not a DNS name (e.g. api.example.com)`,
          );
        } else if (hasPattern && !FQDN_PATTERN.test(m.matchPattern!)) {
          report(
            ctx,
            `${p}/matchPattern`,
            `matchPattern ${q(m.matchPattern)} is not a DNS name pattern (labels of letters, digits, "-" and "*", e.g. *.example.com)`,
          );
        }
      });
      const ports = rule.ports ?? [];
      const only443 =
        ports.length === 1 &&
        (ports[0]!.protocol ?? 'TCP') === 'TCP' &&
        ports[0]!.port === 443 &&
        (ports[0]!.endPort === undefined || ports[0]!.endPort === 443);
      if (!only443) {
        const found = ports.length === 0 ? 'no ports (every port)' : ports.map(describePort).join(', ');
        report(
          ctx,
          `${base}/toFqdn`,
          `toFqdn applies to HTTPS only: the rule's ports must be exactly TCP 443, found ${found}`,
        );
      }
    }
  });
}

function describePort(p: { protocol?: string; port?: number | string; endPort?: number }): string {
  const proto = p.protocol ?? 'TCP';
  if (p.port === undefined) return `${proto} (every port)`;
  return p.endPort !== undefined ? `${proto} ${p.port}-${p.endPort}` : `${proto} ${p.port}`;
}

function checkNyxPeers(
  ctx: Ctx,
  peers: Array<{ namespaceSelector?: LabelSelector; podSelector?: LabelSelector }> | undefined,
  pointer: string,
  field: 'to' | 'from',
): void {
  if (!peers) return;
  if (peers.length === 0) {
    report(
      ctx,
      pointer,
      `empty peer list "${field}: []" matches nothing; remove the field to match every peer, or list peers`,
    );
  }
  peers.forEach((peer, j) => {
    const p = `${pointer}/${j}`;
    if (peer.namespaceSelector === undefined && peer.podSelector === undefined) {
      report(
        ctx,
        p,
        `${field} entry has neither namespaceSelector nor podSelector; use podSelector: {} to mean every pod`,
      );
    }
    checkSelector(ctx, peer.namespaceSelector, `${p}/namespaceSelector`);
    checkSelector(ctx, peer.podSelector, `${p}/podSelector`);
  });
}

function checkUpstreamPeer(
  ctx: Ctx,
  peer: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: IpBlock },
  pointer: string,
): void {
  const hasSelector = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (!hasSelector && peer.ipBlock === undefined) {
    report(ctx, pointer, 'peer entry must set podSelector, namespaceSelector or ipBlock');
  }
  if (hasSelector && peer.ipBlock !== undefined) {
    report(ctx, pointer, 'peer entry may set ipBlock or selectors, not both');
  }
  checkSelector(ctx, peer.namespaceSelector, `${pointer}/namespaceSelector`);
  checkSelector(ctx, peer.podSelector, `${pointer}/podSelector`);
  if (peer.ipBlock) checkIpBlock(ctx, peer.ipBlock, `${pointer}/ipBlock`);
}

function checkPorts(
  ctx: Ctx,
  ports: Array<{ protocol?: string; port?: number | string; endPort?: number }> | undefined,
  pointer: string,
): void {
  ports?.forEach((p, i) => {
    const base = `${pointer}/${i}`;
    if (typeof p.port === 'number' && (p.port < 1 || p.port > 65535)) {
      report(ctx, `${base}/port`, `port ${p.port} is out of range 1–65535`);
    }
    if (typeof p.port === 'string' && !IANA_SVC_NAME.test(p.port)) {
      report(
        ctx,
        `${base}/port`,
        `named port ${q(p.port)} is not a valid port name (1–15 lowercase letters, digits and "-", at least one letter, no leading, trailing or double "-")`,
      );
    }
    if (p.endPort !== undefined) {
      if (p.endPort < 1 || p.endPort > 65535) {
        report(ctx, `${base}/endPort`, `endPort ${p.endPort} is out of range 1–65535`);
      } else if (typeof p.port !== 'number') {
        report(
          ctx,
          `${base}/endPort`,
          `endPort needs a numeric port to start the range${p.port === undefined ? '' : `, not the named port ${q(p.port)}`}`,
        );
      } else if (p.endPort < p.port) {
        report(
          ctx,
          `${base}/endPort`,
          `endPort ${p.endPort} is below port ${p.port}; the range must run from port up to endPort`,
        );
      }
    }
  });
}

function checkIpBlock(ctx: Ctx, block: IpBlock, pointer: string): void {
  const cidr = strictCidr(block.cidr);
  if (!cidr) {
    report(
      ctx,
      `${pointer}/cidr`,
      `cidr ${q(block.cidr)} is not a valid CIDR (expected address/prefix, e.g. 10.0.0.0/8 or fd00::/8)`,
    );
  }
  block.except?.forEach((text, i) => {
    const p = `${pointer}/except/${i}`;
    const inner = strictCidr(text);
    if (!inner) {
      report(ctx, p, `except ${q(text)} is not a valid CIDR (expected address/prefix, e.g. 10.1.0.0/16)`);
    } else if (cidr && !(cidrCovers(cidr, inner) && inner.prefixLength > cidr.prefixLength)) {
      report(
        ctx,
        p,
        `except ${q(text)} is not inside cidr ${q(block.cidr)}; except ranges must be strictly inside the block`,
      );
    }
  });
}

/** IPv4 must be a dotted quad (ipaddr.js also accepts shorthands such as `10.1/8` that the API server refuses). */
function strictCidr(text: string): Cidr | undefined {
  if (text.includes(':')) return /\/\d{1,3}$/.test(text) ? parseCidr(text) : undefined;
  return IPV4_CIDR.test(text) ? parseCidr(text) : undefined;
}

// ---- rules across objects ----------------------------------------------------------------------

function crossObjectProblems(
  objects: readonly PolicyObject[],
  displayPath: (path: string) => string,
): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const byId = new Map<string, PolicyObject[]>();
  let firstConfig: PolicyObject | undefined;
  for (const o of objects) {
    if (o.kind === 'NyxClusterConfig') {
      if (firstConfig) {
        problems.push({
          ...o.source,
          message: `a second NyxClusterConfig (${q(o.metadata.name)}); there is exactly one, named "cluster", already defined at ${displayPath(firstConfig.source.file)}:${firstConfig.source.line}`,
        });
      } else firstConfig = o;
      continue;
    }
    const id =
      'namespace' in o ? `${o.kind} ${o.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
    const list = byId.get(id);
    if (list) list.push(o);
    else byId.set(id, [o]);
  }
  // SPEC 9.3: upstream leaves the order of two policies of one tier at one priority undefined (and
  // implementations differ), so it is an error. Across API versions the order is defined (9.1).
  const byTierPriority = new Map<string, UpstreamAdminPolicy[]>();
  for (const o of objects) {
    if (o.kind !== 'ClusterNetworkPolicy' && o.kind !== 'AdminNetworkPolicy') continue;
    const key = `${o.kind === 'AdminNetworkPolicy' ? 'Admin' : o.spec.tier} ${o.apiVersion} ${o.spec.priority}`;
    const list = byTierPriority.get(key);
    if (list) list.push(o);
    else byTierPriority.set(key, [o]);
  }
  for (const list of byTierPriority.values()) {
    if (list.length < 2) continue;
    for (const o of list) {
      const others = list
        .filter((x) => x !== o)
        .map((x) => `${x.metadata.name} (${displayPath(x.source.file)}:${x.source.line})`);
      const tier = o.kind === 'AdminNetworkPolicy' ? 'Admin' : o.spec.tier;
      problems.push({
        file: o.source.file,
        line: lineForPointer(o.lines, '/spec/priority', o.source.line),
        message: `${o.kind} ${q(o.metadata.name)}: priority ${o.spec.priority} in tier ${tier} is also used by ${others.join(', ')}; the order of two policies at one priority is undefined upstream, give each its own priority`,
      });
    }
  }
  for (const [id, list] of byId) {
    if (list.length < 2) continue;
    for (const o of list) {
      const others = list.filter((x) => x !== o).map((x) => `${displayPath(x.source.file)}:${x.source.line}`);
      problems.push({ ...o.source, message: `duplicate ${id}: also defined at ${others.join(', ')}` });
    }
  }
  return problems;
}
