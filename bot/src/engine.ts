// The slice of the engine's impact/lint/render API the bot uses, typed as the cross-part contract
// (core/README.md, SPEC §7 JSON shape) describes it. `computeImpact`, `renderImpactMarkdown` and
// `lintPolicySet` are looked up on the engine module at call time, so the bot builds and its
// infrastructure runs while those modules are being written; once they land, a missing export
// fails the job with a clear message instead of a type error elsewhere.

import type { FlowWindow, Inventory, LintFinding, PolicyFile, PolicySet, Reason } from '@nyx/core';
import * as core from '@nyx/core';

export interface ImpactSide {
  verdict: 'allow' | 'deny';
  asIfEnforced: 'allow' | 'deny';
  reasons: Reason[];
}

export interface ImpactChange {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  serverName?: string;
  count: number;
  firstSeen?: string;
  lastSeen?: string;
  before: ImpactSide;
  after: ImpactSide;
}

/** The report of SPEC §5 (the `nyxctl impact --format json` shape of SPEC §7). */
export interface ImpactReportLike {
  summary: {
    newlyDenied: number;
    newlyAllowed: number;
    newWouldDeny: number;
    resolvedWouldDeny: number;
    newlyDeniedRecords: number;
  };
  changes: ImpactChange[];
  lint: LintFinding[];
  coverage: {
    records: number;
    distinctFlows: number;
    unresolved: number;
    from?: string;
    to?: string;
    namespaces: number;
  };
}

export interface RenderOptions {
  maxLength?: number;
  fullReportUrl?: string;
  sections?: Array<{ title: string; body: string }>;
}

interface ImpactEngine {
  computeImpact(input: {
    base: PolicySet;
    head: PolicySet;
    inventory: Inventory;
    window: FlowWindow;
  }): ImpactReportLike;
  renderImpactMarkdown(report: ImpactReportLike, options?: RenderOptions): string;
  lintPolicySet(input: {
    policySet: PolicySet;
    files?: readonly PolicyFile[];
    inventory?: Inventory;
  }): LintFinding[];
}

function engineFunction<K extends keyof ImpactEngine>(name: K): ImpactEngine[K] {
  const fn = (core as unknown as Partial<ImpactEngine>)[name];
  if (typeof fn !== 'function')
    throw new Error(`@nyx/core does not export ${name} yet (engine module still being written)`);
  return fn as ImpactEngine[K];
}

export const computeImpact: ImpactEngine['computeImpact'] = (input) => engineFunction('computeImpact')(input);
export const renderImpactMarkdown: ImpactEngine['renderImpactMarkdown'] = (report, options) =>
  engineFunction('renderImpactMarkdown')(report, options);
export const lintPolicySet: ImpactEngine['lintPolicySet'] = (input) => engineFunction('lintPolicySet')(input);

/** An inventory with nothing in it: every pod reference is then unresolved (and counted as such). */
export function emptyInventory(): Inventory {
  return { namespaces: new Map(), pods: new Map(), nodes: new Map() };
}
