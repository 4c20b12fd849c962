// Read, plan purely, then apply: given the files of the base and head revisions, the flow window
// and the inventory, decide everything the bot will say (validation, impact, lint, who must
// approve). No I/O here; the worker fetches the inputs and applies the plan, the demo and the tests
// call it directly.
import {
  type ApprovalGroup,
  type ApprovalStatus,
  approvalStatus,
  changedObjects,
  computeImpact,
  type Diagnostic,
  type FlowWindow,
  formatDiagnostic,
  type ImpactReport,
  type Inventory,
  loadPolicySet,
  ownersForChange,
  type PolicyFile,
} from '@nyx/core';
import { BoundedMap } from './bounded-map.js';
import { ObjectNumbers } from './object-numbers.js';

export type Analysis =
  | {
      kind: 'invalid';
      /** Which revision failed to load (head errors are the author's to fix). */
      revision: 'head' | 'base';
      errors: Diagnostic[];
      groups: ApprovalGroup[];
      ownershipErrors: Diagnostic[];
    }
  | {
      kind: 'ok';
      /** The impact; its `lint` holds the head's findings that the base did not have. */
      report: ImpactReport;
      /** `Kind/namespace/name` of the objects the change adds, modifies or removes. */
      changedObjectIds: string[];
      groups: ApprovalGroup[];
      ownershipErrors: Diagnostic[];
    };

export interface AnalyzeInput {
  baseFiles: readonly PolicyFile[];
  headFiles: readonly PolicyFile[];
  /** Paths (relative to the policy root) that differ between base and head. */
  changedFiles: readonly string[];
  inventory: Inventory;
  window: FlowWindow;
}

/** Validation, impact, new lint and required approvals of one change. */
export function analyzeChange(input: AnalyzeInput): Analysis {
  const base = loadPolicySet(input.baseFiles);
  // The head takes the base's load of the files the change left alone (same objects).
  const head = loadPolicySet(
    input.headFiles,
    base.ok ? { sameAs: { files: input.baseFiles, result: base } } : {},
  );
  // Ownership is read from the BASE revision only: a change can never make its author an owner.
  // When a revision does not load, only the changed files decide who must approve.
  const changed = head.ok && base.ok ? changedObjects(base.policySet, head.policySet) : [];
  const owners = ownersForChange({
    baseFiles: input.baseFiles,
    changedFiles: input.changedFiles,
    changedObjects: changed,
  });
  const groups = owners.ok ? owners.groups : [];
  const ownershipErrors = owners.ok ? [] : owners.errors;

  if (!head.ok) return { kind: 'invalid', revision: 'head', errors: head.errors, groups, ownershipErrors };
  if (!base.ok) return { kind: 'invalid', revision: 'base', errors: base.errors, groups, ownershipErrors };

  const report = computeImpact({
    base: base.policySet,
    head: head.policySet,
    inventory: input.inventory,
    window: input.window,
    baseFiles: input.baseFiles,
    headFiles: input.headFiles,
  });
  return {
    kind: 'ok',
    report,
    changedObjectIds: changed.map((c) => c.id),
    groups,
    ownershipErrors,
  };
}

/** The approval verdict; ownership errors in the base make it fail closed. */
export function ownershipVerdict(input: {
  analysis: Analysis;
  reviews: ReadonlyArray<{ user: string; state: string; commitId: string }>;
  author: string;
  headSha: string;
  teamMembers: ReadonlyMap<string, ReadonlySet<string>>;
}): ApprovalStatus {
  const status = approvalStatus({
    groups: input.analysis.groups,
    reviews: input.reviews,
    author: input.author,
    headSha: input.headSha,
    teamMembers: input.teamMembers,
  });
  if (input.analysis.ownershipErrors.length === 0) return status;
  const list = input.analysis.ownershipErrors.map(formatDiagnostic).join('; ');
  return {
    ...status,
    satisfied: false,
    summary: `Ownership files on the base branch do not load (${list}); fix them there first.`,
  };
}

/**
 * Analyses by what they depend on: repository, base and head commits, policy root, and the flow
 * window and inventory the sources handed out (each replaced when its cache expires, which gives
 * it a new number here). A review changes only who approved, so its job reuses the analysis of the
 * head it reviews instead of reading and evaluating everything again. Holds numbers for the window
 * and inventory, never the objects, so an expired window is not kept alive.
 */
export class AnalysisCache {
  readonly #entries: BoundedMap<string, Analysis>;
  readonly #numbers = new ObjectNumbers();
  constructor(maxEntries = 200) {
    this.#entries = new BoundedMap(maxEntries);
  }

  key(parts: {
    repo: string;
    baseSha: string;
    headSha: string;
    root: string;
    window: FlowWindow;
    inventory: Inventory;
  }): string {
    return [
      parts.repo,
      parts.baseSha,
      parts.headSha,
      parts.root,
      this.#numbers.of(parts.window),
      this.#numbers.of(parts.inventory),
    ].join('\u0000');
  }

  get(key: string): Analysis | undefined {
    return this.#entries.get(key);
  }

  set(key: string, analysis: Analysis): void {
    this.#entries.set(key, analysis);
  }
}
