// Shared setup of the bot's integration tests and benchmark: a real redis-server, the fake GitHub
// API over a real git repository seeded with the policy template, and the real Probot server (with
// its worker) configured exactly as `main.ts` would configure it from the environment.
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createGitRepo,
  type FakeGitHub,
  type FakeRepoState,
  type FileChange,
  freePort,
  type GitRepo,
  type PullRequestTarget,
  pullRequestPayload,
  type RedisServer,
  readDirFiles,
  sendWebhook,
  sourceProcessArgs,
  startFakeGitHub,
  startRedis,
  testAppPrivateKey,
} from '@nyx/test';
import { pino } from 'pino';
import { type BotConfig, loadConfig, type RunningBot, startBot } from '../src/index.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const TEMPLATE = join(REPO_ROOT, 'policy-repo-template');
export const EXAMPLES = join(TEMPLATE, 'examples');
export const SECRET = 'integration-secret';
export const OWNER = 'cloudmart';
export const REPO = 'network-policy';
export const INSTALLATION = 4242;

export interface Harness {
  redis: RedisServer;
  github: FakeGitHub;
  git: GitRepo;
  repo: FakeRepoState;
  bot: RunningBot;
  config: BotConfig;
  baseSha: string;
  baseFiles: Record<string, string>;
  close(): Promise<void>;
}

/** The template's policy tree (without `examples/`): the base revision of every test PR. */
export async function templateFiles(): Promise<Record<string, string>> {
  const all = await readDirFiles(TEMPLATE);
  return Object.fromEntries(Object.entries(all).filter(([p]) => !p.startsWith('examples/')));
}

export async function startHarness(
  env: Record<string, string> = {},
  botOptions: { githubThrottle?: boolean } = {},
): Promise<Harness> {
  const redis = await startRedis();
  const github = await startFakeGitHub();
  const git = await createGitRepo();
  const baseFiles = await templateFiles();
  const baseSha = await git.commit(baseFiles, { message: 'base: policy template' });
  const repo = github.addRepo({ owner: OWNER, name: REPO, git });
  repo.branches.set('main', baseSha);
  const loaded = loadConfig({
    APP_ID: '1',
    PRIVATE_KEY: testAppPrivateKey(),
    WEBHOOK_SECRET: SECRET,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    GHE_HOST: github.host,
    GHE_PROTOCOL: 'http',
    REDIS_URL: redis.url,
    NYX_FLOWS: join(EXAMPLES, 'flows.jsonl'),
    NYX_INVENTORY: join(EXAMPLES, 'inventory.json'),
    NYX_CONCURRENCY: '4',
    NYX_BACKOFF_MS: '100',
    NYX_CACHE_SECONDS: '3600',
    LOG_LEVEL: 'warn',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  // Quiet by default (a forged delivery is logged with its whole payload); NYX_TEST_LOG=debug to see.
  const bot = await startBot(loaded.config, {
    log: pino({ level: process.env.NYX_TEST_LOG ?? 'silent' }),
    defaultMetrics: false,
    ...botOptions,
  });
  return {
    redis,
    github,
    git,
    repo,
    bot,
    config: loaded.config,
    baseSha,
    baseFiles,
    async close() {
      await bot.close();
      await github.close();
      await redis.close();
      await git.close();
    },
  };
}

let nextPr = 1;

/** Opens a PR in the fake (head = base + `changes`) and returns its target for payloads. */
export async function openPull(
  h: Harness,
  changes: Record<string, FileChange>,
  options: { author?: string; replace?: boolean } = {},
): Promise<PullRequestTarget> {
  const headSha = await h.git.commit(changes, {
    parent: h.baseSha,
    ...(options.replace ? { replace: true } : {}),
  });
  const number = nextPr++;
  const target: PullRequestTarget = {
    owner: OWNER,
    repo: REPO,
    installationId: INSTALLATION,
    number,
    headSha,
    baseSha: h.baseSha,
    author: options.author ?? 'dev-author',
  };
  h.repo.pulls.set(number, { number, headSha, baseSha: h.baseSha, author: target.author });
  return target;
}

/** Sends a signed delivery and checks GitHub would see it accepted. */
export async function deliver(
  h: Harness,
  event: string,
  payload: unknown,
  deliveryId?: string,
): Promise<void> {
  const r = await sendWebhook({
    url: h.bot.webhookUrl,
    secret: SECRET,
    event,
    payload,
    ...(deliveryId ? { deliveryId } : {}),
  });
  if (r.status >= 300) throw new Error(`webhook ${event} answered ${r.status}: ${r.body}`);
}

/** Opens the PR on the bot's side (`pull_request.opened`) and waits until the queue is drained. */
export async function analyse(h: Harness, t: PullRequestTarget, action = 'opened'): Promise<void> {
  await deliver(h, 'pull_request', pullRequestPayload(action, t));
  await h.bot.drained();
}

/** Requests the bot made about PR `n` or its head, by kind. */
export function requestsFor(h: Harness, t: PullRequestTarget) {
  const prefix = `/repos/${OWNER}/${REPO}`;
  const checkRuns = h.github
    .find('POST', new RegExp(`^${prefix}/check-runs$`))
    .filter((r) => (r.body as { head_sha?: string }).head_sha === t.headSha)
    .map(
      (r) =>
        r.body as {
          name: string;
          conclusion: string;
          output: { title: string; summary: string; text?: string; annotations?: unknown[] };
        },
    );
  return {
    commentPosts: h.github
      .find('POST', new RegExp(`^${prefix}/issues/${t.number}/comments$`))
      .map((r) => (r.body as { body: string }).body),
    checkRuns,
    policy: checkRuns.filter((c) => c.name === 'nyx/policy'),
    ownership: checkRuns.filter((c) => c.name === 'nyx/ownership'),
    comments: h.repo.comments.get(t.number) ?? [],
  };
}

// The sources of `nyx-bot` (the bin runs the built output of the same file).
const MAIN = join(REPO_ROOT, 'bot/src/main.ts');

/** `nyx-bot` (from its sources) as a child process with exactly `env` (plus PATH). */
export function runBotProcess(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output contains `text`; rejects if the process exits first. */
  printed: (text: string) => Promise<void>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, sourceProcessArgs(MAIN), {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!out.includes(text)) return;
        child.stdout?.off('data', check);
        resolve();
      };
      child.stdout?.on('data', check);
      check();
      void exited.then(() => reject(new Error(`nyx-bot exited before printing "${text}":\n${out}`)));
    });
  return { child, output: () => out, printed, exited };
}
