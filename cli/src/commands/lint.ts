// `nyxctl lint DIR`: advice about a valid tree; exit 1 when any finding has error severity.
// With `--inventory` the checks that need the cluster run too; with `--flows` as well, the checks
// that need rule-hit counts (stale rules) and the excluded-namespace traffic count.
import { type LintFinding, lintPolicySet, ruleHitsOverWindow, staleRuleWindowProblem } from '@nyx/core';
import { EXIT_FINDINGS, EXIT_OK, InputError, UsageError } from '../errors.js';
import { readWindow, requireFile } from '../flows.js';
import { displayPath, loadInventory, loadTree } from '../inputs.js';
import { parseFlowFormat, parseFormat } from '../options.js';
import type { CommandIo } from '../output.js';

export interface LintOptions {
  dir: string;
  inventory?: string;
  flows?: string;
  flowFormat?: string;
  format?: string;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/** `file:line: severity rule: message (hint)` */
export function lintLine(f: LintFinding): string {
  return `${f.file}:${f.line}: ${f.severity} ${f.rule}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`;
}

export async function runLint(options: LintOptions, io: CommandIo): Promise<number> {
  const format = parseFormat('--format', options.format, ['text', 'json'] as const);
  const flowFormat = parseFlowFormat(options.flowFormat);
  if (options.flows && !options.inventory) {
    throw new UsageError('--flows needs --inventory: flows are resolved against the inventory');
  }
  if (options.flows) await requireFile(options.flows, 'flow file');
  const tree = await loadTree(options.dir);
  const inventory = options.inventory ? await loadInventory(options.inventory) : undefined;
  if (!tree.ok || (inventory && !inventory.ok)) {
    throw new InputError([
      ...(tree.ok ? [] : tree.errors),
      ...(inventory && !inventory.ok ? inventory.errors : []),
    ]);
  }
  const inv = inventory?.ok ? inventory.inventory : undefined;
  const hits =
    inv && options.flows
      ? ruleHitsOverWindow({
          policySet: tree.policySet,
          inventory: inv,
          window: await readWindow(options.flows, flowFormat, io),
        })
      : undefined;
  // "No observed flow hit this rule" only over a window that was looked at; else say why not.
  const staleProblem = hits ? staleRuleWindowProblem(hits) : undefined;
  if (staleProblem) await io.err.write(`lint: note: stale-rule not checked: ${staleProblem}\n`);
  const ruleHits = hits && !staleProblem ? hits.ruleHits : undefined;
  const findings = lintPolicySet({
    policySet: tree.policySet,
    files: tree.files,
    ...(inv ? { inventory: inv } : {}),
    ...(ruleHits ? { ruleHits } : {}),
  })
    .map((f) => ({ ...f, file: displayPath(options.dir, f.file) }))
    .sort(
      (a, b) =>
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
        a.file.localeCompare(b.file) ||
        a.line - b.line,
    );
  const count = (s: LintFinding['severity']): number => findings.filter((f) => f.severity === s).length;
  const summary = { errors: count('error'), warnings: count('warning'), info: count('info') };
  if (format === 'json') {
    await io.out.write(`${JSON.stringify({ findings, summary }, null, 2)}\n`);
  } else {
    for (const f of findings) await io.out.write(`${lintLine(f)}\n`);
    // The summary goes to stderr so that stdout stays one finding per line (greppable).
    await io.err.write(
      `lint: ${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}, ${summary.info} info\n`,
    );
  }
  return findings.some((f) => f.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
