// `npm run bench`: generates the benchmark world once (seeded, into .bench/), then measures in
// child processes the JSON.parse floor and the full impact of a 20-policy change, and prints a
// Markdown report: the headline ratio (target <= 3), peak RSS (target < 1 GB), and scaling in
// records (expected linear) and in policies (expected far less than linear).
//
// Everything runs the built output, rebuilt first from the current sources. Then the same commands
// whole-process: the built `nyxctl`, start-up included, against a floor process, in alternating
// pairs (bench/whole-process.ts).
//
//   npm run bench                  # everything (a few minutes on 2 cores)
//   npm run bench -- --regenerate  # rebuild .bench/ first
//   npm run bench -- --rollout-detail  # also the annotated window on the old inventory
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { annotateFlowRecord, formatFlowLine, parseInventory } from '@nyx/core';
import { rolloutInventoryJson } from '../core/src/testing/rollout.js';
import {
  CHANGED_POLICIES,
  changeHead,
  generateCluster,
  generatePolicies,
  inventoryJson,
  NAMESPACES,
  SEED,
  writeFlows,
  writeTree,
} from './generate.js';
import { emptyNode, measurePair, nyxctl, readlineFloor, type WholeProcessPair } from './whole-process.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '.bench');
/** Bump when the generator changes, so stale data is regenerated. */
const GENERATOR_VERSION = 3;
const POLICY_COUNTS = [100, 500, 2000, 5000];
const RECORD_COUNTS = [10_000, 100_000, 1_000_000];
const MAIN_POLICIES = 2000;
const MAIN_RECORDS = 1_000_000;
/** The policy sweep runs at this record count, so that the whole bench stays within minutes. */
const SWEEP_RECORDS = 100_000;

const flowsFile = (records: number): string => join(DATA, `flows-${records}.jsonl`);
const treeDir = (policies: number, side: 'base' | 'head' | 'base-json' | 'head-json'): string =>
  join(DATA, `policies-${policies}`, side);
const inventoryFile = join(DATA, 'inventory.json');
/** The cluster after a rollout of every workload: every pod renamed, new pod addresses. */
const renamedInventoryFile = join(DATA, 'inventory-renamed.json');
/** The main window annotated with the identity of its pod ends (`nyxctl flows annotate`). */
const annotatedFlowsFile = join(DATA, `flows-${MAIN_RECORDS}.annotated.jsonl`);
/** Alternating runs of each variant in the rollout comparison (medians reported). */
const ROLLOUT_RUNS = 3;

function ensureData(force: boolean): void {
  const metaFile = join(DATA, 'meta.json');
  const meta = { version: GENERATOR_VERSION, seed: SEED, policies: POLICY_COUNTS, records: RECORD_COUNTS };
  if (!force && existsSync(metaFile) && readFileSync(metaFile, 'utf8') === JSON.stringify(meta)) return;
  const started = performance.now();
  process.stderr.write('bench: generating .bench/ (seeded) ...\n');
  mkdirSync(DATA, { recursive: true });
  const cluster = generateCluster();
  const list = inventoryJson(cluster);
  writeFileSync(inventoryFile, JSON.stringify(list));
  writeFileSync(renamedInventoryFile, JSON.stringify(rolloutInventoryJson(list)));
  for (const count of POLICY_COUNTS) {
    const base = generatePolicies(count, cluster);
    writeTree(treeDir(count, 'base'), base);
    const head = changeHead(base, cluster);
    writeTree(treeDir(count, 'head'), head);
    if (count === MAIN_POLICIES) {
      // The same trees in JSON style (generators, `kubectl get -o json`): the loader's other fast path.
      writeTree(treeDir(count, 'base-json'), base, 'json');
      writeTree(treeDir(count, 'head-json'), head, 'json');
    }
  }
  for (const records of RECORD_COUNTS) writeFlows(flowsFile(records), cluster, records);
  // The same records with each tuple annotated from the inventory of the window's time.
  const parsed = parseInventory(list, inventoryFile);
  if (!parsed.ok) throw new Error('bench: generated inventory does not parse');
  writeFlows(annotatedFlowsFile, cluster, MAIN_RECORDS, SEED, (fields) => {
    const line = formatFlowLine(annotateFlowRecord(parsed.inventory, JSON.parse(`{${fields}}`)).record);
    return line.slice(1, -1);
  });
  writeFileSync(metaFile, JSON.stringify(meta));
  process.stderr.write(`bench: generated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

interface Measurement {
  ms: number;
  maxRssBytes: number;
  phases?: Record<string, number>;
}

async function child(...args: string[]): Promise<Measurement> {
  const { stdout } = await run(
    process.execPath,
    // The child itself runs through tsx; the engine it imports is the built output (no `source`
    // condition), as users run it, worker threads included.
    ['--import', 'tsx', join(ROOT, 'bench/child.ts'), ...args],
    {
      cwd: ROOT,
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
}

const floors = new Map<number, Measurement>();
async function floor(records: number): Promise<Measurement> {
  let m = floors.get(records);
  if (!m) {
    m = await child('floor', flowsFile(records));
    floors.set(records, m);
  }
  return m;
}

/** `nyxctl impact` of the 20-policy change on `flows` against `inventory`, uncached. */
async function impactOn(inventory: string, flows: string): Promise<Measurement> {
  return child('impact', treeDir(MAIN_POLICIES, 'base'), treeDir(MAIN_POLICIES, 'head'), inventory, flows);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const impacts = new Map<string, Measurement>();
async function impact(policies: number, records: number): Promise<Measurement> {
  const key = `${policies}/${records}`;
  let m = impacts.get(key);
  if (!m) {
    m = await child(
      'impact',
      treeDir(policies, 'base'),
      treeDir(policies, 'head'),
      inventoryFile,
      flowsFile(records),
    );
    impacts.set(key, m);
    process.stderr.write(`bench: impact ${policies} policies, ${records} records: ${m.ms.toFixed(0)} ms\n`);
  }
  return m;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const n = (x: number): string => x.toLocaleString('en-US');

/** The built output, from the current sources: what every figure below runs. */
async function build(): Promise<void> {
  process.stderr.write('bench: building dist/ ...\n');
  await run('npm', ['run', 'build', '-w', 'core', '-w', 'io', '-w', 'cli'], {
    cwd: ROOT,
    maxBuffer: 1 << 24,
  });
}

async function main(): Promise<void> {
  await build();
  const started = performance.now();
  const loadStart = loadavg()[0]!.toFixed(1);
  ensureData(process.argv.includes('--regenerate'));
  const flowMb = statSync(flowsFile(MAIN_RECORDS)).size / 1024 / 1024;

  const mainFloor = await floor(MAIN_RECORDS);
  const main = await impact(MAIN_POLICIES, MAIN_RECORDS);
  const ratio = main.ms / mainFloor.ms;

  // Impact survives rollouts: the main window replayed after every pod was renamed (resolved by
  // the recorded workloads) against the plain run; the variants alternate, medians compared.
  const detail = process.argv.includes('--rollout-detail');
  const variants: Record<string, () => Promise<Measurement>> = {
    plain: () => impactOn(inventoryFile, flowsFile(MAIN_RECORDS)),
    ...(detail ? { annotated: () => impactOn(inventoryFile, annotatedFlowsFile) } : {}),
    renamed: () => impactOn(renamedInventoryFile, annotatedFlowsFile),
  };
  const runs: Record<string, Measurement[]> = {};
  for (let i = 0; i < ROLLOUT_RUNS; i++) {
    for (const [name, measure] of Object.entries(variants)) {
      const m = await measure();
      const list = runs[name] ?? [];
      list.push(m);
      runs[name] = list;
      process.stderr.write(`bench: rollout ${name} run ${i + 1}: ${m.ms.toFixed(0)} ms\n`);
    }
  }
  const times = (name: string): number[] => (runs[name] ?? []).map((m) => m.ms);
  const med = (name: string): number => median(times(name));
  const renamedRatio = med('renamed') / med('plain');
  const annotatedMb = statSync(annotatedFlowsFile).size / 1024 / 1024;

  const recordRows: string[] = [];
  for (const records of RECORD_COUNTS) {
    const f = await floor(records);
    const m = await impact(MAIN_POLICIES, records);
    recordRows.push(
      `| ${n(records)} | ${s(f.ms)} | ${s(m.ms)} | ${(m.ms / f.ms).toFixed(2)} | ${((m.ms / records) * 1000).toFixed(2)} µs | ${mb(m.maxRssBytes)} |`,
    );
  }
  const sweepFloor = await floor(SWEEP_RECORDS);
  const policyRows: string[] = [];
  for (const policies of POLICY_COUNTS) {
    const m = await impact(policies, SWEEP_RECORDS);
    const ph = m.phases ?? {};
    policyRows.push(
      `| ${n(policies)} | ${s(m.ms)} | ${(m.ms / sweepFloor.ms).toFixed(2)} | ${s(ph['trees+inventory'] ?? 0)} | ${s(ph['lint (but stale rules)'] ?? 0)} | ${s(ph.finish ?? 0)} | ${mb(m.maxRssBytes)} |`,
    );
  }
  const phaseRows = Object.entries(main.phases ?? {}).map(
    ([phase, ms]) => `| ${phase} | ${s(ms)} | ${((ms / main.ms) * 100).toFixed(0)} % |`,
  );

  const whole = await wholeProcess();

  const lines = [
    '## nyx-gitops benchmark',
    '',
    `Seed ${SEED}; ${n(NAMESPACES)} namespaces, 10,000 pods; flows drawn from ~100,000 distinct tuples; change: ${CHANGED_POLICIES} policies (8 modified, 6 removed, 6 added). Node ${process.version}, ${process.platform}/${process.arch}.`,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| floor: JSON.parse of every line (${n(MAIN_RECORDS)} records, ${flowMb.toFixed(0)} MB) | ${s(mainFloor.ms)} | |`,
    `| full impact: ${n(MAIN_POLICIES)} policies, load base+head, inventory, stream flows, evaluate, lint, Markdown | ${s(main.ms)} | |`,
    `| ratio impact / floor | **${ratio.toFixed(2)}** | ≤ 3 ${ratio <= 3 ? '✅' : '❌'} |`,
    `| peak RSS of the impact process | **${mb(main.maxRssBytes)}** | < 1 GB ${main.maxRssBytes < 1024 ** 3 ? '✅' : '❌'} |`,
    '',
    `### Impact after a rollout (${n(MAIN_POLICIES)} policies, ${n(MAIN_RECORDS)} records; medians of ${ROLLOUT_RUNS} alternating runs)`,
    '',
    '| run | inventory | flows | median | runs |',
    '| --- | --- | --- | --- | --- |',
    `| plain | of the window's time | as recorded (${flowMb.toFixed(0)} MB) | ${s(med('plain'))} | ${times('plain').map(s).join(', ')} |`,
    ...(detail
      ? [
          `| annotated | of the window's time | annotated with workload and labels (${annotatedMb.toFixed(0)} MB) | ${s(med('annotated'))} | ${times('annotated').map(s).join(', ')} |`,
        ]
      : []),
    `| renamed | every pod renamed, new addresses | annotated with workload and labels (${annotatedMb.toFixed(0)} MB) | ${s(med('renamed'))} | ${times('renamed').map(s).join(', ')} |`,
    '',
    `Ratio renamed / plain: **${renamedRatio.toFixed(2)}** (target ≤ 1.10 ${renamedRatio <= 1.1 ? '✅' : '❌'})${detail ? `; renamed / annotated: ${(med('renamed') / med('annotated')).toFixed(2)}` : ''}.`,
    '',
    `### Scaling in records (${n(MAIN_POLICIES)} policies; ratio against the floor at the same record count)`,
    '',
    '| records | floor | impact | ratio | impact per record | peak RSS |',
    '| --- | --- | --- | --- | --- | --- |',
    ...recordRows,
    '',
    `### Where the time goes (${n(MAIN_POLICIES)} policies, ${n(MAIN_RECORDS)} records)`,
    '',
    '| phase | time | share |',
    '| --- | --- | --- |',
    ...phaseRows,
    '',
    `### Scaling in policies (${n(SWEEP_RECORDS)} records, floor ${s(sweepFloor.ms)}; ratio against that floor)`,
    '',
    '| policies | impact | ratio | of which trees + inventory | of which lint (all but stale rules) | of which finish (after the read) | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...policyRows,
    '',
    ...whole,
    '',
    `Whole run: ${s(performance.now() - started)} (the in-process tables: times measured inside each child process, after module loading; the whole-process table: from outside). Load average at start ${loadStart}, at end ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs: other work on the machine inflates every figure, the floor included.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The whole-process section: `nyxctl` built from the current sources, then timed from outside. */
async function wholeProcess(): Promise<string[]> {
  const head = treeDir(MAIN_POLICIES, 'head');
  const rows: [WholeProcessPair, string][] = [];
  const help = await measurePair('`nyxctl --help`', nyxctl('--help'), '`node -e 0`', emptyNode, 11);
  rows.push([help, `≤ 150 ms ${help.ms <= 150 ? '✅' : '❌'}`]);
  const impactWhole = await measurePair(
    `\`nyxctl impact\`, ${n(MAIN_POLICIES)} policies, ${n(MAIN_RECORDS)} records, Markdown`,
    nyxctl(
      'impact',
      '--base',
      treeDir(MAIN_POLICIES, 'base'),
      '--head',
      head,
      '--inventory',
      inventoryFile,
      '--flows',
      flowsFile(MAIN_RECORDS),
    ),
    'readline + JSON.parse, same file',
    readlineFloor(flowsFile(MAIN_RECORDS)),
    5,
  );
  rows.push([impactWhole, `ratio ≤ 2.0 ${impactWhole.ms / impactWhole.floorMs <= 2 ? '✅' : '❌'}`]);
  const impactJson = await measurePair(
    `\`nyxctl impact\`, the same trees in JSON style, ${n(MAIN_RECORDS)} records, Markdown`,
    nyxctl(
      'impact',
      '--base',
      treeDir(MAIN_POLICIES, 'base-json'),
      '--head',
      treeDir(MAIN_POLICIES, 'head-json'),
      '--inventory',
      inventoryFile,
      '--flows',
      flowsFile(MAIN_RECORDS),
    ),
    'readline + JSON.parse, same file',
    readlineFloor(flowsFile(MAIN_RECORDS)),
    5,
  );
  rows.push([impactJson, `ratio ≤ 2.0 ${impactJson.ms / impactJson.floorMs <= 2 ? '✅' : '❌'}`]);
  const verdictsWhole = await measurePair(
    `\`nyxctl verdicts\`, ${n(MAIN_POLICIES)} policies, ${n(SWEEP_RECORDS)} records`,
    nyxctl('verdicts', '--policies', head, '--inventory', inventoryFile, '--flows', flowsFile(SWEEP_RECORDS)),
    'readline + JSON.parse, same file',
    readlineFloor(flowsFile(SWEEP_RECORDS)),
    5,
  );
  // The issue's measure is the 1M-record window; at 100,000 records the fixed costs (start-up, the
  // tree, the inventory) weigh against a floor of a tenth of a second, so this row has no target.
  rows.push([verdictsWhole, 'fixed costs dominate (see below)']);
  // The issue's own measure: the 1M-record window, where the fixed costs (start-up, the tree) weigh
  // less and the per-line cost decides.
  const verdictsMain = await measurePair(
    `\`nyxctl verdicts\`, ${n(MAIN_POLICIES)} policies, ${n(MAIN_RECORDS)} records`,
    nyxctl('verdicts', '--policies', head, '--inventory', inventoryFile, '--flows', flowsFile(MAIN_RECORDS)),
    'readline + JSON.parse, same file',
    readlineFloor(flowsFile(MAIN_RECORDS)),
    5,
  );
  rows.push([verdictsMain, `ratio ≤ 3 ${verdictsMain.ms / verdictsMain.floorMs <= 3 ? '✅' : '❌'}`]);
  return [
    '### Whole process (the built `nyxctl`, start-up included, timed from outside; medians of alternating pairs)',
    '',
    '| command | floor | floor median | command median | ratio | target | peak RSS | pairs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      ([r, target]) =>
        `| ${r.label} | ${r.floorLabel} | ${(r.floorMs).toFixed(0)} ms | ${r.ms.toFixed(0)} ms | ${(r.ms / r.floorMs).toFixed(2)} | ${target} | ${r.maxRssBytes === undefined ? 'n/a' : mb(r.maxRssBytes)} | ${r.runs} |`,
    ),
  ];
}

await main();
