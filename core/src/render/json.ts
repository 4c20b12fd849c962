// The `nyxctl impact --format json` report (SPEC section 7): plain objects with a stable key order,
// so that two runs over the same input print byte-identical JSON.
import type { ImpactChange, ImpactChangeKind, ImpactReport, ImpactSide } from '../impact.js';
import type { LintFinding } from '../lint-model.js';
import type { Reason } from '../verdict-model.js';

export interface ImpactReasonJson {
  point?: Reason['point'];
  band: Reason['band'];
  object?: string;
  isolatedBy?: string[];
  rule?: number;
  decision: Reason['decision'];
  text: string;
  source?: string;
  audit?: boolean;
  /** Upstream admin policy (SPEC 9.4): the rule's name, the object's API version, tier and priority. */
  ruleName?: string;
  apiVersion?: string;
  tier?: Reason['tier'];
  priority?: number;
  /** The upstream `Pass` rules the flow went through before what decided it. */
  passedBy?: Reason['passedBy'];
}

export interface ImpactSideJson {
  verdict: ImpactSide['verdict'];
  asIfEnforced: ImpactSide['asIfEnforced'];
  reasons: ImpactReasonJson[];
  asIfEnforcedReasons: ImpactReasonJson[];
}

export interface ImpactChangeJson {
  kind: ImpactChangeKind;
  src: string;
  dst: string;
  protocol: ImpactChange['protocol'];
  port: number;
  serverName?: string;
  count: number;
  /** null when no record of the group carried a time. */
  firstSeen: string | null;
  lastSeen: string | null;
  flows: number;
  before: ImpactSideJson;
  after: ImpactSideJson;
  /** Connections resolved by a fallback (pods gone from the inventory), when any were. */
  resolvedBy?: { workload?: number; labels?: number; podName?: number };
  resolutionNotes?: string[];
}

export interface ResolutionCountsJson {
  records: number;
  connections: number;
}

export interface ImpactJson {
  summary: {
    newlyDenied: number;
    newlyAllowed: number;
    newWouldDeny: number;
    resolvedWouldDeny: number;
    newlyDeniedRecords: number;
  };
  changes: ImpactChangeJson[];
  /** The head's new findings, each rebuilt in `LintFinding`'s key order. */
  lint: LintFinding[];
  coverage: {
    records: number;
    connections: number;
    distinctFlows: number;
    unresolved: number;
    unresolvedExamples: string[];
    /** Lines of the flow file that did not become records, by why; `skippedLines` is their total. */
    skippedLines: number;
    skipped: Record<string, number>;
    from: string | null;
    to: string | null;
    namespaces: string[];
    /** Records and connections by how their ends resolved (SPEC section 7), and the share resolved. */
    resolution: {
      direct: ResolutionCountsJson;
      workload: ResolutionCountsJson;
      labels: ResolutionCountsJson;
      podName: ResolutionCountsJson;
      unresolved: ResolutionCountsJson;
      /** Share of the window's connections that resolved (0-1); 1 for an empty window. */
      resolvedConnectionsShare: number;
      /** True when under 90% of the connections resolved: the result is partial. */
      partial: boolean;
    };
  };
}

function reasonJson(r: Reason): ImpactReasonJson {
  // Rebuilt in a fixed order: point, band, object, rule, decision, text, source, audit, then the
  // upstream admin policy's fields (ruleName, apiVersion, tier, priority, passedBy).
  return {
    ...(r.point !== undefined ? { point: r.point } : {}),
    band: r.band,
    ...(r.object !== undefined ? { object: r.object } : {}),
    ...(r.isolatedBy !== undefined ? { isolatedBy: [...r.isolatedBy] } : {}),
    ...(r.rule !== undefined ? { rule: r.rule } : {}),
    decision: r.decision,
    text: r.text,
    ...(r.source !== undefined ? { source: r.source } : {}),
    ...(r.audit !== undefined ? { audit: r.audit } : {}),
    ...(r.ruleName !== undefined ? { ruleName: r.ruleName } : {}),
    ...(r.apiVersion !== undefined ? { apiVersion: r.apiVersion } : {}),
    ...(r.tier !== undefined ? { tier: r.tier } : {}),
    ...(r.priority !== undefined ? { priority: r.priority } : {}),
    ...(r.passedBy !== undefined ? { passedBy: r.passedBy.map((p) => ({ ...p })) } : {}),
  };
}

function sideJson(s: ImpactSide): ImpactSideJson {
  return {
    verdict: s.verdict,
    asIfEnforced: s.asIfEnforced,
    reasons: s.reasons.map(reasonJson),
    asIfEnforcedReasons: s.asIfEnforcedReasons.map(reasonJson),
  };
}

/** The impact report as the JSON of SPEC section 7 (`summary`, `changes[]`, `lint[]`, `coverage`). */
export function impactToJson(report: ImpactReport): ImpactJson {
  const { summary, coverage } = report;
  return {
    summary: {
      newlyDenied: summary.newlyDenied,
      newlyAllowed: summary.newlyAllowed,
      newWouldDeny: summary.newWouldDeny,
      resolvedWouldDeny: summary.resolvedWouldDeny,
      newlyDeniedRecords: summary.newlyDeniedRecords,
    },
    changes: report.changes.map((c) => ({
      kind: c.kind,
      src: c.src,
      dst: c.dst,
      protocol: c.protocol,
      port: c.port,
      ...(c.serverName !== undefined ? { serverName: c.serverName } : {}),
      count: c.count,
      firstSeen: c.firstSeen ?? null,
      lastSeen: c.lastSeen ?? null,
      flows: c.flows,
      before: sideJson(c.before),
      after: sideJson(c.after),
      ...(c.resolvedBy !== undefined ? { resolvedBy: { ...c.resolvedBy } } : {}),
      ...(c.resolutionNotes !== undefined ? { resolutionNotes: [...c.resolutionNotes] } : {}),
    })),
    lint: report.lint.map((f) => ({
      severity: f.severity,
      rule: f.rule,
      ...(f.object !== undefined ? { object: f.object } : {}),
      file: f.file,
      line: f.line,
      message: f.message,
      hint: f.hint,
    })),
    coverage: {
      records: coverage.records,
      connections: coverage.connections,
      distinctFlows: coverage.distinctFlows,
      unresolved: coverage.unresolved,
      unresolvedExamples: [...coverage.unresolvedExamples],
      skippedLines: coverage.skippedLines ?? 0,
      skipped: { ...coverage.skipped },
      from: coverage.from ?? null,
      to: coverage.to ?? null,
      namespaces: [...coverage.namespaces],
      resolution: resolutionJson(coverage),
    },
  };
}

function resolutionJson(coverage: ImpactReport['coverage']): ImpactJson['coverage']['resolution'] {
  const counts = (c: ResolutionCountsJson | undefined): ResolutionCountsJson => ({
    records: c?.records ?? 0,
    connections: c?.connections ?? 0,
  });
  const r = coverage.resolution;
  // A report built without the breakdown: every evaluated record resolved directly.
  const direct = r
    ? counts(r.direct)
    : { records: coverage.records - coverage.unresolved, connections: coverage.connections };
  const unresolved = r ? counts(r.unresolved) : { records: coverage.unresolved, connections: 0 };
  const share = coverage.connections === 0 ? 1 : 1 - unresolved.connections / coverage.connections;
  return {
    direct,
    workload: counts(r?.workload),
    labels: counts(r?.labels),
    podName: counts(r?.podName),
    unresolved,
    resolvedConnectionsShare: Math.round(share * 10_000) / 10_000,
    partial: share < 0.9,
  };
}
