// Bot benchmark: webhook received → sticky comment posted, with a 100,000-tuple flow window and a
// 20-policy change, p50/p95 over 20 runs against the fake GitHub API (target p95 < 5 s); then the
// worker's throughput with 50 PRs queued at once, with Octokit's write throttling (GitHub's
// guidance: one write per second per process) as in production, and without it (the worker's own
// capacity). Real redis-server, real Probot server, real git repository behind the fake API.
//
//   npx tsx --conditions=source bench/bot.ts            # prints a Markdown report
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullRequestPayload, sendWebhook } from '@nyx/test';
import { deliver, EXAMPLES, type Harness, openPull, SECRET, startHarness } from '../bot/test/harness.js';

const RUNS = 20;
const QUEUED_PRS = 50;
const TUPLES = 100_000;

const inventory = (await import(join(EXAMPLES, 'inventory.json'), { with: { type: 'json' } })).default as {
  items: Array<{ kind: string; metadata: { name: string; namespace?: string }; status?: { podIP?: string } }>;
};
const pods = inventory.items
  .filter((i) => i.kind === 'Pod' && i.status?.podIP)
  .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);

/** 100,000 distinct tuples: pod→pod on many ports, and pod→world on 443 with server names. */
async function writeWindow(path: string): Promise<void> {
  const lines: string[] = [];
  let i = 0;
  const t0 = Date.parse('2026-11-20T00:00:00Z');
  while (lines.length < TUPLES) {
    const src = pods[i % pods.length] ?? '';
    const n = Math.floor(i / pods.length);
    const record =
      i % 2 === 0
        ? { src, dst: pods[(i * 7 + 3) % pods.length], protocol: 'TCP', port: 1024 + (n % 40_000) }
        : {
            src,
            dst: `203.0.${(n >> 8) & 255}.${n & 255}`,
            protocol: 'TCP',
            port: 443,
            serverName: `svc-${n % 500}.example.com`,
          };
    const first = new Date(t0 + (i % 259_200) * 1000).toISOString();
    lines.push(JSON.stringify({ ...record, count: 1 + (i % 17), firstSeen: first, lastSeen: first }));
    i++;
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}

/** 20 new application policies across the template's namespaces (valid, different ports). */
function twentyPolicies(run: number): Record<string, string> {
  const targets = [
    ['cloudmart-storefront', 'storefront-api'],
    ['cloudmart-payments', 'cloudmart-payments'],
    ['cloudmart-analytics', 'analytics-worker'],
    ['monitoring', 'prometheus'],
  ] as const;
  const out: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    const [ns, app] = targets[i % targets.length] ?? targets[0];
    out[`namespaces/${ns}/bench-${i}.yaml`] = [
      `# bench run ${run}`,
      'apiVersion: nyx.tracenyx.io/v1alpha1',
      'kind: NyxNetworkPolicy',
      'metadata:',
      `  name: bench-${i}`,
      'spec:',
      '  podSelector:',
      '    matchLabels:',
      `      app: ${app}`,
      `  priority: ${200 + i}`,
      '  egress:',
      `    - decision: ${i % 3 === 0 ? 'Deny' : 'Allow'}`,
      '      ports:',
      '        - protocol: TCP',
      `          port: ${2000 + i * 97}`,
      '',
    ].join('\n');
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

async function latencyRun(h: Harness, run: number): Promise<number> {
  const t = await openPull(h, twentyPolicies(run));
  const payload = pullRequestPayload('opened', t);
  const started = performance.now();
  const posted = h.github.waitFor(
    (r) => r.method === 'POST' && r.path.endsWith(`/issues/${t.number}/comments`) && r.status === 201,
    120_000,
  );
  const response = await sendWebhook({
    url: h.bot.webhookUrl,
    secret: SECRET,
    event: 'pull_request',
    payload,
  });
  if (response.status >= 300) throw new Error(`webhook answered ${response.status}`);
  await posted;
  const ms = performance.now() - started;
  await h.bot.drained();
  return ms;
}

async function throughput(h: Harness): Promise<{ seconds: number; perSecond: number }> {
  const targets = [];
  for (let i = 0; i < QUEUED_PRS; i++) targets.push(await openPull(h, twentyPolicies(1000 + i)));
  await h.bot.pauseWorker();
  for (const t of targets) await deliver(h, 'pull_request', pullRequestPayload('opened', t));
  const started = performance.now();
  h.bot.resumeWorker();
  await h.bot.drained(900_000);
  const seconds = (performance.now() - started) / 1000;
  const missing = targets.filter((t) => !(h.repo.comments.get(t.number)?.length === 1));
  if (missing.length > 0) throw new Error(`${missing.length} PRs got no comment`);
  return { seconds, perSecond: QUEUED_PRS / seconds };
}

const dir = await mkdtemp(join(tmpdir(), 'nyx-bench-bot-'));
try {
  const flows = join(dir, 'flows.jsonl');
  await writeWindow(flows);
  const env = { NYX_FLOWS: flows, NYX_CONCURRENCY: '4' };

  const h = await startHarness(env);
  const latencies: number[] = [];
  let warmup = 0;
  let throttled: { seconds: number; perSecond: number };
  try {
    warmup = await latencyRun(h, -1); // loads and caches the 100,000-tuple window
    process.stderr.write(`warm-up ${(warmup / 1000).toFixed(2)} s\n`);
    for (let run = 0; run < RUNS; run++) {
      latencies.push(await latencyRun(h, run));
      process.stderr.write(`run ${run + 1}/${RUNS}: ${((latencies.at(-1) ?? 0) / 1000).toFixed(2)} s\n`);
    }
    throttled = await throughput(h);
    process.stderr.write(`throttled: ${throttled.seconds.toFixed(1)} s\n`);
  } finally {
    await h.close();
  }
  // Same setup without Octokit's write throttling: what the worker itself sustains.
  const free = await startHarness(env, { githubThrottle: false });
  let unthrottled: { seconds: number; perSecond: number };
  try {
    await latencyRun(free, -2);
    unthrottled = await throughput(free);
  } finally {
    await free.close();
  }

  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    [
      '## nyx-bot benchmark',
      '',
      `Window: ${TUPLES.toLocaleString('en')} distinct tuples (file source), change: 20 policies, ${RUNS} runs, concurrency 4.`,
      '',
      '| measure | value | target |',
      '| --- | ---: | --- |',
      `| webhook → comment p50 | ${s(p50)} | |`,
      `| webhook → comment p95 | ${s(p95)} | < 5 s ${p95 < 5000 ? '✅' : '❌'} |`,
      `| webhook → comment max | ${s(sorted.at(-1) ?? 0)} | |`,
      `| first run (loads the window) | ${s(warmup)} | |`,
      `| ${QUEUED_PRS} queued PRs, Octokit throttling on (production) | ${throttled.seconds.toFixed(1)} s, ${throttled.perSecond.toFixed(2)} PR/s | |`,
      `| ${QUEUED_PRS} queued PRs, throttling off (worker capacity) | ${unthrottled.seconds.toFixed(1)} s, ${unthrottled.perSecond.toFixed(2)} PR/s | |`,
      '',
      'Each PR costs three GitHub writes (two check runs and the comment); with throttling, Octokit spaces',
      'writes one second apart per process, which bounds production throughput at about 0.33 PR/s per',
      'process whatever the worker concurrency: run more bot processes with NYX_WORKER=on to scale.',
      '',
    ].join('\n'),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
