// The impact report as the pull-request comment body (SPEC section 5): the headline first (what
// breaks, or plainly that nothing does and how much traffic that claim rests on), then the tables, a
// graph of the changed edges, and the caller's extra sections. Every user-controlled string (names,
// server names, reasons, lint text) is escaped; the result stays under `maxLength` by collapsing and
// truncating tables. Hidden markers for finding the comment again are the bot's business.
import { describeSkippedLines } from '../flows.js';
import type { ImpactChange, ImpactChangeKind, ImpactReport, ImpactSide } from '../impact.js';
import type { LintFinding } from '../lint-model.js';
import { type Reason, reasonFormatter } from '../verdict-model.js';

export interface RenderImpactMarkdownOptions {
  /** Upper bound on the result's length in characters (GitHub refuses comments over 65,536). */
  maxLength?: number;
  /** Where the untruncated report lives (the check run, a CI artifact…); linked from truncation notes. */
  fullReportUrl?: string;
  /**
   * The web address of a policy file at the head (the bot: the file on the head commit), for the
   * link a newly denied row gives to the rule that denies it; without it the row names `file:line`.
   */
  sourceUrl?: (path: string, line: number) => string | undefined;
  /** Extra blocks (e.g. the bot's ownership verdict), rendered after the impact; `body` is Markdown. */
  sections?: Array<{ title: string; body: string }>;
}

export const DEFAULT_MAX_MARKDOWN_LENGTH = 65_000;
/** Tables longer than this are collapsed into `<details>`. */
const COLLAPSE_AFTER = 10;
const MAX_GRAPH_EDGES = 40;
const MAX_GRAPH_NODES = 50;

// ---- text helpers ----------------------------------------------------------------------------------

/**
 * Escapes a user-controlled string for a Markdown table cell or paragraph: HTML, table pipes,
 * Markdown emphasis/link/code characters, @mentions and #references (which would notify people or
 * link issues), bare URLs GFM would link, and line breaks. The one helper for every string a pull
 * request controls, wherever it is rendered (core renderer, the bot's comment, checks and replies).
 */
const MARKDOWN_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '|': '&#124;',
  // GitHub finds mentions, references and bare links in the text AFTER decoding entities, so they
  // are broken with a zero-width space (as Renovate does), not an entity.
  '@': '@&#8203;',
  '#': '#&#8203;',
  '\n': ' ',
  '\r': ' ',
};

export function escapeMarkdown(text: string): string {
  return (
    text
      .replace(/[&<>"|@#\r\n\\`*_[\]~]/g, (c) => MARKDOWN_ESCAPES[c] ?? `\\${c}`)
      // GFM links bare URLs (`http://…`, `www.…`) in text: break the patterns it looks for.
      .replace(/:\/\//g, ':&#8203;//')
      .replace(/(w{3})\./gi, '$1&#8203;.')
      // At the start of a line the text could open a block: indented code, a list item.
      .replace(/^[ \t]/, (c) => (c === ' ' ? '&#32;' : '&#9;'))
      .replace(/^[-+]/, '\\$&')
      .replace(/^(\d{1,9})([.)])/, '$1\\$2')
  );
}

/** Mermaid label text: anything beyond a safe set becomes a `#code;` entity, which Mermaid decodes. */
function mermaidText(text: string): string {
  return text.replace(/[^A-Za-z0-9 ./:_-]/g, (c) => `#${c.codePointAt(0)};`);
}

/** 1234567 -> `1,234,567`, without depending on the runtime's locale data. */
export function formatCount(n: number): string {
  const s = String(Math.round(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1234567 -> `1.2M`, 48213 -> `48.2k`, 9812 -> `9,812`. */
export function formatCompact(n: number): string {
  const short = (v: number, unit: string): string =>
    `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))}${unit}`;
  if (n < 10_000) return formatCount(n);
  if (n < 1_000_000) return short(n / 1000, 'k');
  if (n < 1_000_000_000) return short(n / 1_000_000, 'M');
  return short(n / 1_000_000_000, 'B');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function day(t: string): string {
  return t.slice(0, 10);
}

/** `2026-11-23T09:00:12Z` -> `2026-11-23 09:00`; times are shown as written (their own offset). */
function shortTime(t: string | undefined): string {
  if (!t) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})/.exec(t);
  return m ? `${m[1]} ${m[2]}` : escapeMarkdown(t);
}

function duration(from: string, to: string): string {
  const ms = Date.parse(to.replace(' ', 'T')) - Date.parse(from.replace(' ', 'T'));
  if (!Number.isFinite(ms) || ms < 0) return 'unknown duration';
  const minutes = ms / 60_000;
  if (minutes < 1) return 'under a minute';
  if (minutes < 90) return plural(Math.max(1, Math.round(minutes)), 'minute');
  const hours = minutes / 60;
  if (hours < 48) return plural(Math.round(hours), 'hour');
  return plural(Math.round(hours / 24), 'day');
}

/**
 * The "how much was looked at" statement: connections (the records' counts), flows (distinct
 * source, destination, protocol, port, server name), time range, namespaces, unresolved, skipped.
 */
function windowStatement(report: ImpactReport): string {
  const c = report.coverage;
  const parts = [`${formatCompact(c.connections)} connections (${plural(c.distinctFlows, 'flow')})`];
  if (c.from && c.to) {
    const range = day(c.from) === day(c.to) ? day(c.from) : `${day(c.from)} → ${day(c.to)}`;
    parts.push(`${duration(c.from, c.to)} (${escapeMarkdown(range)})`);
  } else parts.push('time range unknown');
  parts.push(plural(c.namespaces.length, 'namespace'));
  let text = `window: ${parts.join(', ')}`;
  if (c.unresolved > 0)
    text += `; ${plural(c.unresolved, 'flow record')} not evaluated (pods not in the inventory)`;
  const resolution = resolutionStatement(report);
  if (resolution) text += `; ${resolution}`;
  const skipped = skippedStatement(report);
  if (skipped) text += `; ${skipped}`;
  return text;
}

/** Below this share of connections resolved, the headline calls the result partial. */
const PARTIAL_BELOW = 0.9;

/** Share of the window's connections whose ends resolved (directly or by a fallback); 1 when empty. */
function resolvedShare(report: ImpactReport): number {
  const c = report.coverage;
  if (c.connections === 0) return 1;
  const unresolved = c.resolution?.unresolved.connections;
  // Reports built without the breakdown: records are the best measure there is.
  if (unresolved === undefined) return c.records === 0 ? 1 : 1 - c.unresolved / c.records;
  return 1 - unresolved / c.connections;
}

function percent(part: number, whole: number): string {
  const p = (100 * part) / whole;
  if (part > 0 && p < 1) return '<1%';
  if (part < whole && p > 99) return '>99%';
  return `${Math.round(p)}%`;
}

/**
 * How the window's connections resolved when not all did directly (SPEC section 7: pods renamed
 * since are resolved by their recorded workload, labels or pod name): undefined when all did.
 */
function resolutionStatement(report: ImpactReport): string | undefined {
  const c = report.coverage;
  const r = c.resolution;
  if (!r || c.connections === 0 || r.direct.connections === c.connections) return undefined;
  const parts = [`${percent(r.direct.connections, c.connections)} directly`];
  if (r.workload.connections > 0)
    parts.push(`${percent(r.workload.connections, c.connections)} by recorded workload`);
  if (r.labels.connections > 0)
    parts.push(`${percent(r.labels.connections, c.connections)} by recorded labels`);
  if (r.podName.connections > 0)
    parts.push(`${percent(r.podName.connections, c.connections)} by workload read from the pod name`);
  parts.push(`${percent(r.unresolved.connections, c.connections)} not at all`);
  return `connections resolved: ${parts.join(', ')}`;
}

/** The headline's warning when too little of the window resolved for its answer to be whole. */
function partialNote(report: ImpactReport): string {
  const share = resolvedShare(report);
  if (share >= PARTIAL_BELOW) return '';
  return ` — **partial result**: only ${percent(Math.round(share * 1000), 1000)} of the window's connections could be evaluated (the rest name pods gone from the inventory), so more may break than this says`;
}

/** `skipped 2 lines of the flow file: 2 × reply packet`, or undefined when none was. */
function skippedStatement(report: ImpactReport): string | undefined {
  const described = describeSkippedLines(report.coverage.skipped ?? {});
  return described
    ? escapeMarkdown(described.replace(/^skipped (\d+ lines?)/, 'skipped $1 of the flow file'))
    : undefined;
}

/** The cells every change table starts with: source → destination, port, server name, count, last seen. */
const FLOW_HEADER = ['source → destination', 'port', 'server name', 'connections', 'last seen'];
const FLOW_ALIGN = ['---', '---', '---', '---:', '---'];

/** Says which fallback resolved the group's gone pods (SPEC section 7), when one did. */
function resolutionNote(c: ImpactChange): string {
  const by = c.resolvedBy;
  if (!by) return '';
  const parts: string[] = [];
  if (by.workload) parts.push(`${formatCount(by.workload)} by recorded workload`);
  if (by.labels) parts.push(`${formatCount(by.labels)} by recorded labels`);
  if (by.podName) parts.push(`${formatCount(by.podName)} by workload read from the pod name`);
  const notes = (c.resolutionNotes ?? []).map((n) => escapeMarkdown(n)).join('<br>');
  return `<br><sub>connections resolved ${parts.join(', ')}${notes ? `: ${notes}` : ''}</sub>`;
}

function flowCells(c: ImpactChange): string[] {
  return [
    `${escapeMarkdown(c.src)} → ${escapeMarkdown(c.dst)}${resolutionNote(c)}`,
    `${c.port}/${c.protocol}`,
    c.serverName ? escapeMarkdown(c.serverName) : '—',
    formatCount(c.count),
    shortTime(c.lastSeen),
  ];
}

/** A reason in Markdown (the comment, the bot's replies): the tree's text escaped, the source in parentheses. */
export const markdownReason: (reason: Reason) => string = reasonFormatter({
  escape: escapeMarkdown,
  source: (s) => ` (${s})`,
});

/** The reasons that decided a verdict: the points whose decision equals it (all of them when none). */
function deciding(reasons: readonly Reason[], verdict: 'allow' | 'deny'): string {
  const chosen = reasons.filter((r) => r.decision === verdict);
  const list = chosen.length > 0 ? chosen : reasons;
  return list.length > 0 ? list.map(markdownReason).join('<br>') : '—';
}

/** One side of an "other change": both verdicts, then the reasons that decided `decided`. */
function sideCell(side: ImpactSide, asIfEnforced: boolean, decided: 'allow' | 'deny'): string {
  const reasons = asIfEnforced ? side.asIfEnforcedReasons : side.reasons;
  return `${side.verdict} (as if enforced: ${side.asIfEnforced})<br>${deciding(reasons, decided)}`;
}

const KIND_LABEL: Readonly<Record<ImpactChangeKind, string>> = {
  'newly-denied': '🔴 newly denied',
  'newly-allowed': '🟢 newly allowed',
  'new-would-deny': '🟠 new would-deny (audit)',
  'resolved-would-deny': '⚪ would-deny resolved',
  'as-if-enforced-changed': '🔵 as-if-enforced only',
};

const SEVERITY_LABEL: Readonly<Record<LintFinding['severity'], string>> = {
  error: '❌ error',
  warning: '⚠️ warning',
  info: 'ℹ️ info',
};

// ---- tables ------------------------------------------------------------------------------------------

interface Table {
  title: string;
  /** What one row is, for "…and N more changes". */
  noun: string;
  header: string[];
  align: string[];
  rows: string[][];
  /** Open even when collapsed (the headline table). */
  open: boolean;
}

function renderTable(t: Table, cap: number, fullReportUrl: string | undefined): string {
  if (t.rows.length === 0) return '';
  const shown = t.rows.slice(0, cap);
  const lines = [`| ${t.header.join(' | ')} |`, `| ${t.align.join(' | ')} |`];
  for (const row of shown) lines.push(`| ${row.join(' | ')} |`);
  const hidden = t.rows.length - shown.length;
  if (hidden > 0) {
    const more = `…and ${formatCount(hidden)} more ${hidden === 1 ? t.noun : `${t.noun}s`}`;
    lines.push(
      '',
      fullReportUrl
        ? `${more} — see the [full report](${fullReportUrl})`
        : `${more} — see the full report (\`nyxctl impact --format json\`)`,
    );
  }
  const table = lines.join('\n');
  if (t.rows.length <= COLLAPSE_AFTER) return `#### ${t.title}\n\n${table}\n`;
  return `<details${t.open ? ' open' : ''}>\n<summary><strong>${t.title}</strong> (${formatCount(t.rows.length)})</summary>\n\n${table}\n\n</details>\n`;
}

/** The namespace folder where the denied side can allow a flow (the deciding point's pod). */
function namespaceToAllowIn(r: Reason, c: ImpactChange): string | undefined {
  const parts = r.object?.split('/') ?? [];
  if (parts.length === 3 && !r.object?.startsWith('NyxClusterNetworkPolicy/')) return parts[1];
  const end = r.point === 'ingress' ? c.dst : c.src;
  const slash = end.indexOf('/');
  return slash > 0 ? end.slice(0, slash) : undefined;
}

/**
 * What a reviewer does about a newly denied flow: the file and rule that decided it (a link on the
 * head commit when the caller knows the repository) and a one-line hint.
 */
function whatToDo(c: ImpactChange, options: RenderImpactMarkdownOptions): string {
  const r = c.after.reasons.find((x) => x.decision === 'deny');
  if (!r) return '—';
  const ns = namespaceToAllowIn(r, c);
  const folder = ns ? `namespaces/${ns}/` : 'the policy tree';
  const hint =
    r.band === 'default'
      ? `allow it in ${folder} or revert the change of the cluster default`
      : r.rule === undefined
        ? `allow it with a rule in ${folder} or revert this change`
        : r.band === 'admin-tier'
          ? 'revert this rule, narrow it or put a Pass before it (the Admin tier decides before every namespace policy: the platform owners decide)'
          : r.band === 'platform' || r.band === 'baseline'
            ? 'revert this rule or narrow it (a platform guardrail: the platform owners decide)'
            : `allow it in ${folder} or revert this rule`;
  const at = /^(.*):(\d+)$/.exec(r.source ?? '');
  if (!at) return escapeMarkdown(hint);
  const [, file, line] = at as unknown as [string, string, string];
  const url = options.sourceUrl?.(file, Number(line));
  const where = url
    ? `[${escapeMarkdown(`${file}:${line}`)}](${url.replace(/[\s()<>]/g, (ch) => encodeURIComponent(ch))})`
    : escapeMarkdown(`${file}:${line}`);
  return `${where}: ${escapeMarkdown(hint)}`;
}

function changeTables(report: ImpactReport, options: RenderImpactMarkdownOptions = {}): Table[] {
  const denied = report.changes.filter((c) => c.kind === 'newly-denied');
  const wouldDeny = report.changes.filter((c) => c.kind === 'new-would-deny');
  const others = report.changes.filter((c) => c.kind !== 'newly-denied' && c.kind !== 'new-would-deny');
  return [
    {
      title: 'Newly denied flows',
      noun: 'newly denied flow',
      header: [...FLOW_HEADER, 'denied by (head)', 'allowed before by', 'what to do'],
      align: [...FLOW_ALIGN, '---', '---', '---'],
      rows: denied.map((c) => [
        ...flowCells(c),
        deciding(c.after.reasons, 'deny'),
        deciding(c.before.reasons, 'allow'),
        whatToDo(c, options),
      ]),
      open: true,
    },
    {
      title: 'New would-deny findings (audit)',
      noun: 'would-deny finding',
      header: [...FLOW_HEADER, 'would be denied by'],
      align: [...FLOW_ALIGN, '---'],
      rows: wouldDeny.map((c) => [...flowCells(c), deciding(c.after.asIfEnforcedReasons, 'deny')]),
      open: false,
    },
    {
      title: 'Other changes',
      noun: 'change',
      header: ['change', ...FLOW_HEADER, 'before', 'after'],
      align: ['---', ...FLOW_ALIGN, '---', '---'],
      rows: others.map((c) => {
        // Changes that only the as-if-enforced verdict shows are explained by its reasons.
        const asIf = c.kind === 'as-if-enforced-changed' || c.kind === 'resolved-would-deny';
        const resolved = c.kind === 'resolved-would-deny';
        return [
          KIND_LABEL[c.kind],
          ...flowCells(c),
          sideCell(c.before, asIf, resolved ? 'deny' : c.before.verdict),
          sideCell(c.after, asIf, resolved ? c.after.asIfEnforced : c.after.verdict),
        ];
      }),
      open: false,
    },
    {
      title: 'New lint findings',
      noun: 'lint finding',
      header: ['severity', 'where', 'finding', 'how to fix'],
      align: ['---', '---', '---', '---'],
      rows: report.lint.map((f) => [
        SEVERITY_LABEL[f.severity],
        `${escapeMarkdown(f.file)}:${f.line}`,
        `${escapeMarkdown(f.message)}${f.object ? `<br><sub>${escapeMarkdown(f.object)} · ${escapeMarkdown(f.rule)}</sub>` : `<br><sub>${escapeMarkdown(f.rule)}</sub>`}`,
        escapeMarkdown(f.hint),
      ]),
      open: false,
    },
  ];
}

// ---- headline, summary, graph ------------------------------------------------------------------------

function headline(report: ImpactReport): string {
  const s = report.summary;
  const c = report.coverage;
  if (s.newlyDenied > 0) {
    const flows =
      s.newlyDenied === 1
        ? '1 observed flow would be denied'
        : `${formatCount(s.newlyDenied)} observed flows would be denied`;
    return `⚠️ **${flows}** (${plural(s.newlyDeniedRecords, 'connection')})${partialNote(report)}`;
  }
  if (c.records === 0) {
    const skipped = skippedStatement(report);
    return skipped
      ? `❔ **No observed flows to check this change against** — the flow window is empty (${skipped}), so its effect on traffic is unknown`
      : '❔ **No observed flows to check this change against** — the flow window is empty, so its effect on traffic is unknown';
  }
  if (c.records === c.unresolved)
    return `❔ **No observed flow could be evaluated** — all ${plural(c.records, 'flow record')} name pods missing from the inventory, so this change's effect on traffic is unknown`;
  const window = windowStatement(report) + partialNote(report);
  if (report.changes.length === 0) return `✅ No observed flow changes verdict — ${window}`;
  const others: string[] = [];
  if (s.newlyAllowed > 0) others.push(`${plural(s.newlyAllowed, 'flow')} newly allowed`);
  if (s.newWouldDeny > 0) others.push(plural(s.newWouldDeny, 'new would-deny finding'));
  if (s.resolvedWouldDeny > 0) others.push(plural(s.resolvedWouldDeny, 'would-deny finding') + ' resolved');
  const asIf = report.changes.filter((x) => x.kind === 'as-if-enforced-changed').length;
  if (asIf > 0) others.push(`${plural(asIf, 'flow')} changed only as if enforced`);
  return `✅ No observed flow would be denied (${others.join(', ')}) — ${window}`;
}

function summaryTable(report: ImpactReport): string {
  const ofKind = (kind: ImpactChangeKind) => report.changes.filter((c) => c.kind === kind);
  const rows = (
    [
      'newly-denied',
      'newly-allowed',
      'new-would-deny',
      'resolved-would-deny',
      'as-if-enforced-changed',
    ] as const
  )
    .map((k) => {
      const list = ofKind(k);
      return { k, n: list.length, conn: list.reduce((a, c) => a + c.count, 0) };
    })
    .filter((r) => r.n > 0 || r.k === 'newly-denied' || r.k === 'newly-allowed' || r.k === 'new-would-deny');
  const lines = ['| | flows | connections |', '| --- | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${KIND_LABEL[r.k]} | ${formatCount(r.n)} | ${formatCount(r.conn)} |`);
  lines.push(`| 📝 new lint findings | ${formatCount(report.lint.length)} | |`);
  return lines.join('\n');
}

function graph(report: ImpactReport): string {
  interface Edge {
    src: string;
    dst: string;
    kind: ImpactChangeKind;
    ports: string[];
    count: number;
  }
  const edges = new Map<string, Edge>();
  for (const c of report.changes) {
    if (c.kind === 'as-if-enforced-changed') continue;
    const key = `${c.kind}\u0000${c.src}\u0000${c.dst}`;
    let e = edges.get(key);
    if (!e) {
      e = { src: c.src, dst: c.dst, kind: c.kind, ports: [], count: 0 };
      edges.set(key, e);
    }
    const port = `${c.protocol}/${c.port}`;
    if (!e.ports.includes(port)) e.ports.push(port);
    e.count += c.count;
  }
  if (edges.size === 0) return '';
  const rank: Record<ImpactChangeKind, number> = {
    'newly-denied': 0,
    'new-would-deny': 1,
    'newly-allowed': 2,
    'resolved-would-deny': 3,
    'as-if-enforced-changed': 4,
  };
  const sorted = [...edges.values()].sort((a, b) => rank[a.kind] - rank[b.kind] || b.count - a.count);
  const nodes = new Map<string, string>();
  const shown: Edge[] = [];
  for (const e of sorted) {
    if (shown.length >= MAX_GRAPH_EDGES) break;
    const needed = [e.src, e.dst].filter((n) => !nodes.has(n)).length;
    if (nodes.size + needed > MAX_GRAPH_NODES) continue;
    for (const n of [e.src, e.dst]) if (!nodes.has(n)) nodes.set(n, `n${nodes.size}`);
    shown.push(e);
  }
  const lines = ['```mermaid', 'graph LR'];
  for (const [name, id] of nodes) lines.push(`  ${id}["${mermaidText(name)}"]`);
  const styles: string[] = [];
  shown.forEach((e, i) => {
    const ports =
      e.ports.length > 3 ? `${e.ports.slice(0, 3).join(', ')} +${e.ports.length - 3}` : e.ports.join(', ');
    const arrow = e.kind === 'new-would-deny' || e.kind === 'resolved-would-deny' ? '-.->' : '-->';
    lines.push(`  ${nodes.get(e.src)} ${arrow}|"${mermaidText(ports)}"| ${nodes.get(e.dst)}`);
    const color =
      e.kind === 'newly-denied'
        ? 'stroke:#d73a49,stroke-width:2px'
        : e.kind === 'newly-allowed'
          ? 'stroke:#2da44e,stroke-width:2px'
          : e.kind === 'new-would-deny'
            ? 'stroke:#e36209,stroke-width:2px,stroke-dasharray:5 5'
            : 'stroke:#8c959f,stroke-dasharray:5 5';
    styles.push(`  linkStyle ${i} ${color}`);
  });
  lines.push(...styles, '```');
  const legend =
    '🔴 newly denied · 🟢 newly allowed · 🟠 dashed: new would-deny · grey dashed: would-deny resolved';
  const capped =
    shown.length < edges.size
      ? `\n\nThe graph shows ${shown.length} of ${formatCount(edges.size)} changed edges.`
      : '';
  return `<details>\n<summary><strong>Changed workload edges</strong></summary>\n\n${lines.join('\n')}\n\n${legend}${capped}\n\n</details>\n`;
}

// ---- assembly ----------------------------------------------------------------------------------------

/** The parts that do not depend on the table cap, computed once per report. */
interface Parts {
  headline: string;
  window: string;
  summary: string;
  graph: string;
}

function assemble(
  report: ImpactReport,
  fixed: Parts,
  tables: Table[],
  cap: number,
  withGraph: boolean,
  options: RenderImpactMarkdownOptions,
): string {
  const parts: string[] = [fixed.headline];
  const hasWindowInHeadline =
    !report.summary.newlyDenied && report.coverage.records > report.coverage.unresolved;
  if (!hasWindowInHeadline && report.coverage.records > 0) parts.push(`<sub>${fixed.window}</sub>`);
  if (report.changes.length > 0 || report.lint.length > 0) parts.push(fixed.summary);
  for (const t of tables) {
    const rendered = renderTable(t, cap, options.fullReportUrl);
    if (rendered) parts.push(rendered.trimEnd());
  }
  // The caller writes titles and bodies (trusted Markdown, e.g. mentions of the owners to ping);
  // only HTML in the title is neutralised.
  for (const s of options.sections ?? [])
    parts.push(`#### ${s.title.replace(/[<>&]/g, (c) => MARKDOWN_ESCAPES[c]!)}\n\n${s.body.trimEnd()}`);
  if (withGraph && fixed.graph) parts.push(fixed.graph.trimEnd());
  if (report.coverage.unresolvedExamples.length > 0) {
    const ex = report.coverage.unresolvedExamples.map((e) => `- ${escapeMarkdown(e)}`).join('\n');
    parts.push(
      `<details>\n<summary>Unresolved flows (${formatCount(report.coverage.unresolved)} records)</summary>\n\n${ex}\n\n</details>`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}

/**
 * Renders the impact report as the pull-request comment: headline, summary counts, newly denied
 * flows with the deciding rule in head and what allowed them before, would-deny findings, other
 * changes, new lint findings, the caller's sections, and a Mermaid graph of changed edges. Stays
 * under `maxLength` (default 65,000) by truncating tables, with a note pointing at the full report.
 */
export function renderImpactMarkdown(
  report: ImpactReport,
  options: RenderImpactMarkdownOptions = {},
): string {
  if (options.fullReportUrl !== undefined)
    options = {
      ...options,
      fullReportUrl: options.fullReportUrl.replace(/[\s()<>]/g, (c) => encodeURIComponent(c)),
    };
  const max = options.maxLength ?? DEFAULT_MAX_MARKDOWN_LENGTH;
  const tables = changeTables(report, options);
  const fixed: Parts = {
    headline: headline(report),
    window: windowStatement(report),
    summary: summaryTable(report),
    graph: graph(report),
  };
  const longest = Math.max(0, ...tables.map((t) => t.rows.length));
  // Try the whole report first, then fewer rows per table, then without the graph.
  const caps = [longest, 500, 200, 100, 50, 20, 10, 5, 1, 0].filter(
    (c, i, all) => c <= longest && all.indexOf(c) === i,
  );
  for (const withGraph of [true, false]) {
    for (const cap of caps) {
      const text = assemble(report, fixed, tables, cap, withGraph, options);
      if (text.length <= max) return text;
    }
  }
  // Still too long (huge caller sections or reasons): cut, and say so.
  const text = assemble(report, fixed, tables, 0, false, options);
  const note = `\n\n…report truncated to ${formatCount(max)} characters${options.fullReportUrl ? ` — see the [full report](${options.fullReportUrl})` : ''}\n`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}
