// What the bot says: the sticky comment (ONE composition, used by the worker and `npm run demo`)
// and the two check runs. Pure functions of the analysis. Everything a pull request controls (paths,
// keys, values, object names, OWNERS entries) goes through the core renderer's `escapeMarkdown`
// wherever Markdown is written (comment, check summary and text, `/nyx explain` replies); only
// handles of the base branch's owners and reviewers' logins are written as @-mentions.
import {
  type ApprovalStatus,
  type Diagnostic,
  describeApproval,
  describeApprovalGroup,
  displayHandle,
  type ExplanationFormat,
  escapeMarkdown,
  type LintFinding,
  renderImpactMarkdown,
} from '@nyx/core';
import type { Analysis } from './analyze.js';
import { type CheckAnnotation, type CheckRunInput, COMMENT_MARKER } from './github.js';
import type { Conclusion } from './repo-config.js';
import type { ObservedWouldDeny } from './sources.js';

/** GitHub refuses comment bodies over 65,536 characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export const POLICY_CHECK = 'nyx/policy';
export const OWNERSHIP_CHECK = 'nyx/ownership';

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

// A GitHub user or `org/team` slug: nothing Markdown or HTML could read as anything but text.
const PLAIN_HANDLE = /^@?[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\/[A-Za-z0-9._-]+)?$/;

/** Ownership explanations in Markdown: PR-controlled text escaped, owners' handles mentioned. */
export const MARKDOWN_EXPLANATION: ExplanationFormat = {
  text: escapeMarkdown,
  handle: (h) => (PLAIN_HANDLE.test(h) ? displayHandle(h) : escapeMarkdown(displayHandle(h))),
};

/** The ownership block of the comment: who has approved, and who still must. */
export function ownershipSection(approval: ApprovalStatus): { title: string; body: string } {
  const missing = approval.groups.filter((g) => !g.satisfied);
  const needed = [...new Set(missing.flatMap((g) => g.approvers))];
  const title = approval.satisfied
    ? 'Ownership: approved'
    : needed.length > 0
      ? `Needs approval from ${needed.map(MARKDOWN_EXPLANATION.handle).join(', ')}`
      : 'Ownership: approval missing';
  const lines = approval.groups.map(
    (g) => `- ${g.satisfied ? '✅' : '⏳'} ${describeApprovalGroup(g, MARKDOWN_EXPLANATION)}`,
  );
  const summary = approvalSummary(approval);
  if (lines.length === 0) lines.push(summary);
  else if (!approval.satisfied && !summary.startsWith('Ownership:')) lines.push('', summary);
  return { title, body: lines.join('\n') };
}

/** The approval summary in Markdown (a summary replaced by the caller, e.g. on OWNERS errors, is escaped whole). */
function approvalSummary(approval: ApprovalStatus): string {
  return approval.summary === describeApproval(approval.groups)
    ? describeApproval(approval.groups, MARKDOWN_EXPLANATION)
    : escapeMarkdown(approval.summary);
}

/** A Markdown list item for one diagnostic, its path shown from the repository root. */
function diagnosticItem(d: Diagnostic, root: string): string {
  return `- ${escapeMarkdown(`${root}${d.file}`)}:${d.line}: ${escapeMarkdown(d.message)}`;
}

function diagnosticsList(errors: readonly Diagnostic[], root: string, max: number): string {
  const shown = errors.slice(0, max).map((d) => diagnosticItem(d, root));
  if (errors.length > max) shown.push(`- … and ${errors.length - max} more (see the check run)`);
  return shown.join('\n');
}

function truncate(text: string, max: number, pointer: string): string {
  if (text.length <= max) return text;
  const tail = `\n\n… truncated to stay under GitHub's comment limit. ${pointer}`;
  return text.slice(0, Math.max(0, max - tail.length)) + tail;
}

export interface ComposeCommentInput {
  analysis: Analysis;
  approval: ApprovalStatus;
  headSha: string;
  /** Shown as a prefix of file paths when the policy tree is a sub-folder of the repository. */
  policyRoot?: string;
  /** Where the full report lives (the `nyx/policy` check run). */
  fullReportUrl?: string;
  /**
   * The repository's web address (`https://github.com/acme/policy`): newly denied rows then link the
   * deciding file on the head commit.
   */
  repositoryUrl?: string;
  /** Upper bound of the whole body (default 65,000). */
  maxLength?: number;
  /** The agents' would-deny findings of the window (flows from Redis only). */
  observedWouldDeny?: ObservedWouldDeny;
}

/** Rows of the observed findings table at most; the rest are counted. */
const MAX_OBSERVED_ROWS = 20;

/**
 * The would-deny findings the agents' kernels recorded (SPEC section 3, observed on the revision in
 * force, not simulated): those of objects this change touches in a table (enforcing such an object
 * denies them), the other objects summed up in one line.
 */
export function observedWouldDenySection(
  observed: ObservedWouldDeny,
  changedObjectIds: readonly string[],
): { title: string; body: string } {
  const title = `Would-deny findings observed by the agents (kernel, last ${observed.hours} h)`;
  if (observed.records.length === 0) {
    return {
      title,
      body: `The agents recorded no would-deny finding in the last ${observed.hours} hours: no flow they let through would be denied by an object in audit.`,
    };
  }
  const changed = new Set(changedObjectIds);
  const touched = observed.records.filter((r) => r.wouldDeny.object && changed.has(r.wouldDeny.object));
  const others = new Map<string, { connections: number; flows: number }>();
  for (const r of observed.records) {
    const object = r.wouldDeny.object ?? r.wouldDeny.text;
    if (r.wouldDeny.object && changed.has(r.wouldDeny.object)) continue;
    const o = others.get(object) ?? { connections: 0, flows: 0 };
    o.connections += r.count ?? 1;
    o.flows += 1;
    others.set(object, o);
  }
  const lines: string[] = [];
  if (touched.length > 0) {
    lines.push(
      'Flows the agents let through that an object in audit touched by this change would deny (as if enforced), as their kernels recorded them. Enforcing the object denies these flows.',
      '',
      '| deciding rule | source → destination | protocol/port | connections | last seen | node |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of touched.slice(0, MAX_OBSERVED_ROWS)) {
      const server = r.serverName ? ` (${r.serverName})` : '';
      lines.push(
        `| ${escapeMarkdown(`${r.wouldDeny.point}: ${r.wouldDeny.text}`)}${r.wouldDeny.source ? ` at ${escapeMarkdown(r.wouldDeny.source)}` : ''} | ${escapeMarkdown(`${r.src} → ${r.dst}${server}`)} | ${escapeMarkdown(`${r.protocol}/${r.port}`)} | ${r.count ?? 1} | ${escapeMarkdown(r.lastSeen ?? '')} | ${escapeMarkdown(r.node ?? '')} |`,
      );
    }
    if (touched.length > MAX_OBSERVED_ROWS)
      lines.push('', `… and ${touched.length - MAX_OBSERVED_ROWS} more.`);
  } else {
    lines.push('No finding the agents recorded is attributed to an object this change touches.');
  }
  if (others.size > 0) {
    const top = [...others]
      .sort((a, b) => b[1].connections - a[1].connections)
      .slice(0, 5)
      .map(
        ([o, n]) =>
          `${escapeMarkdown(o)} (${plural(n.connections, 'connection')}, ${plural(n.flows, 'flow')})`,
      );
    lines.push(
      '',
      `Other objects with findings: ${top.join(', ')}${others.size > 5 ? `, and ${others.size - 5} more` : ''}.`,
    );
  }
  return { title, body: lines.join('\n') };
}

/**
 * The sticky comment: the hidden marker, then the impact report (headline first, changed flows,
 * would-deny findings, new lint, graph, as the engine renders it) with the ownership verdict as an
 * extra section, or the validation errors when a revision does not load. Always within
 * `maxLength` (and GitHub's limit), collapsing/truncating with a pointer to the full report.
 */
export function composeComment(input: ComposeCommentInput): string {
  const maxLength = Math.min(input.maxLength ?? 65_000, GITHUB_COMMENT_LIMIT - 1);
  const root = input.policyRoot ? `${input.policyRoot}/` : '';
  const footer = `\n\n<sub>nyx-gitops · head \`${input.headSha.slice(0, 12)}\`${input.fullReportUrl ? ` · [full report](${input.fullReportUrl})` : ''}</sub>`;
  const pointer = input.fullReportUrl
    ? `Full report: ${input.fullReportUrl}`
    : 'The full report is in the `nyx/policy` check run.';
  const ownership = ownershipSection(input.approval);
  const budget = maxLength - COMMENT_MARKER.length - 1 - footer.length;
  let body: string;
  if (input.analysis.kind === 'invalid') {
    const { errors, revision } = input.analysis;
    const head =
      revision === 'head'
        ? `### ❌ The policy tree at \`${input.headSha.slice(0, 12)}\` does not load: ${plural(errors.length, 'error')}`
        : `### ❌ The base branch's policy tree does not load: ${plural(errors.length, 'error')}`;
    const text = [
      head,
      '',
      'No impact was computed on a broken tree. Fix these first:',
      '',
      diagnosticsList(errors, root, 100),
      '',
      `#### ${ownership.title}`,
      '',
      ownership.body,
    ].join('\n');
    body = truncate(text, budget, pointer);
  } else {
    const observed = input.observedWouldDeny
      ? [observedWouldDenySection(input.observedWouldDeny, input.analysis.changedObjectIds)]
      : [];
    const options = {
      maxLength: budget,
      sections: [...observed, ownership],
      ...(input.fullReportUrl ? { fullReportUrl: input.fullReportUrl } : {}),
      ...(input.repositoryUrl
        ? {
            sourceUrl: (path: string, line: number) =>
              `${input.repositoryUrl}/blob/${input.headSha}/${root}${path.split('/').map(encodeURIComponent).join('/')}#L${line}`,
          }
        : {}),
    };
    body = truncate(renderImpactMarkdown(input.analysis.report, options), budget, pointer);
  }
  return `${COMMENT_MARKER}\n${body}${footer}`;
}

/** The sticky comment when the head's tree is refused before anything is analysed. */
export function unreadableTreeComment(headSha: string, problem: string): string {
  return [
    COMMENT_MARKER,
    `### ❌ The policy tree at \`${headSha.slice(0, 12)}\` could not be analysed`,
    '',
    escapeMarkdown(problem),
    '',
    'Nothing was evaluated for this commit and required approvals are not reported; see the `nyx/policy` check.',
  ].join('\n');
}

function lintLevel(f: LintFinding): CheckAnnotation['annotation_level'] {
  return f.severity === 'error' ? 'failure' : f.severity === 'warning' ? 'warning' : 'notice';
}

/** The `nyx/policy` check run: failure on validation errors, else per `conclusionOnNewlyDenied`. */
export function policyCheck(input: {
  analysis: Analysis;
  headSha: string;
  policyRoot?: string;
  conclusionOnNewlyDenied: Conclusion;
  configErrors?: readonly Diagnostic[];
}): CheckRunInput {
  const root = input.policyRoot ? `${input.policyRoot}/` : '';
  const configErrors = input.configErrors ?? [];
  const configAnnotations: CheckAnnotation[] = configErrors.map((d) => ({
    path: d.file,
    start_line: d.line,
    end_line: d.line,
    annotation_level: 'failure',
    message: d.message,
    title: 'nyx configuration',
  }));
  const a = input.analysis;
  if (a.kind === 'invalid') {
    return {
      name: POLICY_CHECK,
      headSha: input.headSha,
      conclusion: 'failure',
      title: `${plural(a.errors.length, 'validation error')}${a.revision === 'base' ? ' in the base branch' : ''}`,
      summary: `The ${a.revision === 'head' ? 'proposed' : 'base'} policy tree does not load; no impact was computed.`,
      text: a.errors.map((d) => diagnosticItem(d, root)).join('\n'),
      // Annotations attach to the head commit's files: base errors are listed in the text only.
      annotations: [
        ...configAnnotations,
        ...(a.revision === 'head'
          ? a.errors.map(
              (d): CheckAnnotation => ({
                path: `${root}${d.file}`,
                start_line: Math.max(1, d.line),
                end_line: Math.max(1, d.line),
                annotation_level: 'failure',
                message: d.message,
                title: 'nyx validation',
              }),
            )
          : []),
      ],
    };
  }
  const s = a.report.summary;
  const c = a.report.coverage;
  const title =
    s.newlyDenied > 0
      ? `${plural(s.newlyDenied, 'observed flow')} would be denied`
      : `no observed flow changes — window: ${plural(c.connections, 'connection')} (${plural(c.distinctFlows, 'flow')})`;
  const conclusion =
    configErrors.length > 0 ? 'failure' : s.newlyDenied > 0 ? input.conclusionOnNewlyDenied : 'success';
  return {
    name: POLICY_CHECK,
    headSha: input.headSha,
    conclusion,
    title,
    summary: [
      `Newly denied: ${s.newlyDenied} (${s.newlyDeniedRecords} connections), newly allowed: ${s.newlyAllowed}, new would-deny findings: ${s.newWouldDeny}, resolved: ${s.resolvedWouldDeny}.`,
      `Window: ${c.records} records, ${c.distinctFlows} distinct flows, ${c.unresolved} unresolved, ${c.namespaces.length} namespaces${c.from ? `, ${c.from} – ${c.to ?? ''}` : ''}.`,
      `New lint findings: ${a.report.lint.length}.`,
    ].join('\n'),
    text: renderImpactMarkdown(a.report, { maxLength: 65_000 }),
    annotations: [
      ...configAnnotations,
      ...a.report.lint.map(
        (f): CheckAnnotation => ({
          path: `${root}${f.file}`,
          start_line: Math.max(1, f.line),
          end_line: Math.max(1, f.line),
          annotation_level: lintLevel(f),
          message: `${f.message}\n${f.hint}`,
          title: `nyx lint: ${f.rule}`,
        }),
      ),
    ],
  };
}

/** The `nyx/ownership` check run: success once every required owner approved the head commit. */
export function ownershipCheck(input: { approval: ApprovalStatus; headSha: string }): CheckRunInput {
  const section = ownershipSection(input.approval);
  return {
    name: OWNERSHIP_CHECK,
    headSha: input.headSha,
    // `action_required` would demand a details URL; a pending approval is a plain failure that turns
    // green on the next review.
    conclusion: input.approval.satisfied ? 'success' : 'failure',
    title: section.title,
    summary: approvalSummary(input.approval),
    text: section.body,
  };
}
