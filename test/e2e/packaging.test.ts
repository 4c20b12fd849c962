// nyx-gitops installed the three ways its users install it, each from a copy of this repository's
// tracked files (as the GitHub runner checks the Action out), never from this checkout's
// node_modules or dist/:
// - a platform team's CI: the template's workflow steps, with the composite Action (`action.yml`)
//   run step by step;
// - a developer's laptop: the packed tarballs of the workspace packages installed into an empty
//   folder, offline, with the copy moved away while the installed `nyxctl` runs;
// - a cluster: the Dockerfile's build stage (`deploy/assemble-app.mjs`), whose output runs
//   `nyxctl` and `nyx-bot` (no container engine here: the stage's commands run on the host).
// No network: the Action's `npm ci` is offline (npm's cache holds what package-lock.json locks),
// the tarball install is offline with an empty cache and an unreachable registry.
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { freePort, type RedisServer, startRedis, testAppPrivateKey } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../..');
const TEMPLATE = join(ROOT, 'policy-repo-template');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'cli/package.json'), 'utf8')) as { version: string })
  .version;
/** Packing, installing and assembling run npm and tsc: minutes on a loaded 2-core machine. */
const SLOW = 300_000;
const PINNED_SHA = /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

async function ok(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  const r = await run(file, args, options);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** PATH without this checkout (whose node_modules/.bin holds a `nyxctl` of its own). */
const HOST_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((p) => !p.startsWith(ROOT))
  .join(delimiter);

/** A bash step as GitHub runs `shell: bash` and `run:` (`bash --noprofile --norc -eo pipefail`). */
function bashStep(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env });
}

interface Step {
  uses?: string;
  run?: string;
  shell?: string;
  id?: string;
  'working-directory'?: string;
  with?: Record<string, string>;
}

let work: string;
/** The repository as the runner checks the Action out: tracked files only, then the Action's steps. */
let actionPath: string;
let runnerTemp: string;
/** What the Action's steps appended to GITHUB_PATH and GITHUB_OUTPUT. */
let addedPath: string[];
let outputs: Map<string, string>;

/** Runs the composite Action's steps as the runner would (the setup-node step: Node 20 is here). */
async function runAction(): Promise<void> {
  const action = parse(readFileSync(join(actionPath, 'action.yml'), 'utf8')) as {
    runs: { using: string; steps: Step[] };
  };
  expect(action.runs.using).toBe('composite');
  const githubPath = join(runnerTemp, 'github_path');
  const githubOutput = join(runnerTemp, 'github_output');
  writeFileSync(githubPath, '');
  writeFileSync(githubOutput, '');
  for (const step of action.runs.steps) {
    if (step.uses) {
      // Third-party actions are pinned by full commit SHA; setup-node's job (Node 20) is done here.
      expect(step.uses).toMatch(PINNED_SHA);
      expect(step.uses.startsWith('actions/setup-node@')).toBe(true);
      expect(process.versions.node.split('.')[0]).toBe('20');
      continue;
    }
    expect(step.shell).toBe('bash');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression
    const cwd = step['working-directory'] === '${{ github.action_path }}' ? actionPath : work;
    const r = await bashStep(step.run!, cwd, {
      PATH: HOST_PATH,
      HOME: join(work, 'home'),
      GITHUB_ACTION_PATH: actionPath,
      GITHUB_PATH: githubPath,
      GITHUB_OUTPUT: githubOutput,
      RUNNER_TEMP: runnerTemp,
      // The runner's network, replaced by npm's cache on this machine: `npm ci` fails if the
      // lock file asks for anything the cache lacks.
      npm_config_offline: 'true',
      npm_config_cache: join(process.env.HOME ?? '/root', '.npm'),
      npm_config_update_notifier: 'false',
    });
    if (r.code !== 0)
      throw new Error(`action step "${step.id ?? step.run}" failed:\n${r.stdout}\n${r.stderr}`);
  }
  addedPath = readFileSync(githubPath, 'utf8').split('\n').filter(Boolean);
  outputs = new Map(
    readFileSync(githubOutput, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nyx-packaging-'));
  actionPath = join(work, 'nyx-gitops');
  runnerTemp = join(work, 'runner-temp');
  mkdirSync(runnerTemp);
  mkdirSync(join(work, 'home'));
  const tracked = (
    await ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      env: process.env,
    })
  )
    .split('\0')
    .filter(Boolean);
  for (const file of tracked) cpSync(join(ROOT, file), join(actionPath, file), { dereference: false });
  await runAction();
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the template CI through the Action (a platform team)', () => {
  const workflow = parse(readFileSync(join(TEMPLATE, '.github/workflows/validate.yml'), 'utf8')) as {
    jobs: { validate: { steps: Step[] } };
  };
  const steps = workflow.jobs.validate.steps;

  /** The template workflow's steps on `tree`, the Action's steps having run: each step's result. */
  async function runWorkflow(tree: string): Promise<Run[]> {
    const workspace = join(work, `workspace-${Math.random().toString(36).slice(2)}`);
    const results: Run[] = [];
    for (const step of steps) {
      if (step.uses?.startsWith('actions/checkout@')) {
        expect(step.uses).toMatch(PINNED_SHA);
        cpSync(tree, workspace, { recursive: true });
      } else if (step.uses) {
        // The Action of this repository, named by full commit SHA: as shipped, a placeholder GitHub
        // refuses (no owner name contains `<`), so no one else's action can run in its place.
        expect(step.uses).toBe('<owner>/nyx-gitops@<full commit SHA>');
      } else {
        const r = await bashStep(step.run!, workspace, {
          PATH: [...addedPath, HOST_PATH].join(delimiter),
          HOME: join(work, 'home'),
        });
        results.push(r);
        if (r.code !== 0) break;
      }
    }
    return results;
  }

  it('installs nyxctl from this repository at the pinned commit, and no package by name', () => {
    expect(outputs.get('version')).toBe(VERSION);
    expect(addedPath).toEqual([join(runnerTemp, 'nyx-gitops-bin')]);
    expect(realpathSync(join(addedPath[0]!, 'nyxctl'))).toBe(join(actionPath, 'cli/bin/nyxctl.js'));
    const text = readFileSync(join(actionPath, 'action.yml'), 'utf8');
    expect(text).not.toMatch(/npm (install|i|exec|x)\b|npx /);
    expect(readFileSync(join(TEMPLATE, '.github/workflows/validate.yml'), 'utf8')).not.toMatch(
      /@nyx\/cli|npx |npm /,
    );
  });

  it('validates and lints the template, as its workflow says', async () => {
    const results = await runWorkflow(TEMPLATE);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(results[0]!.stdout).toMatch(/^ok: \d+ objects in \d+ files/);
  });

  it('fails the job on an invalid policy with file:line and exit 2', async () => {
    const broken = join(work, 'broken-tree');
    cpSync(TEMPLATE, broken, { recursive: true });
    writeFileSync(
      join(broken, 'namespaces/cloudmart-payments/broken.yaml'),
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: broken\nspec:\n  priority: high\n',
    );
    const results = await runWorkflow(broken);
    expect(results).toHaveLength(1);
    expect(results[0]!.code).toBe(2);
    expect(results[0]!.stderr).toMatch(/^namespaces\/cloudmart-payments\/broken\.yaml:\d+: /m);
  });
});

describe('the packed tarballs in an empty folder (a developer laptop)', () => {
  it(
    'install offline with no access to the repository, and nyxctl runs there',
    async () => {
      const env = { PATH: HOST_PATH, HOME: join(work, 'home'), npm_config_update_notifier: 'false' };
      const packs = join(work, 'packs');
      mkdirSync(packs);
      const pack = async (args: string[]): Promise<string[]> =>
        (
          JSON.parse(
            await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packs, ...args], {
              cwd: actionPath,
              env,
            }),
          ) as { filename: string }[]
        ).map((p) => join(packs, p.filename));
      const ours = await pack(['-w', 'core', '-w', 'io', '-w', 'cli']);
      // The third-party packages @nyx/cli needs, packed from the lock file's install: offline, npm
      // has no registry to resolve their ranges against, so they are handed over as tarballs too.
      const installed = (
        await ok('npm', ['ls', '--omit=dev', '--omit=peer', '--all', '--parseable', '-w', 'cli'], {
          cwd: actionPath,
          env,
        })
      )
        .split('\n')
        .filter((p) => p.startsWith(join(actionPath, 'node_modules/')) && !p.includes('/@nyx/'));
      const names = installed.map((p) => relative(actionPath, p).split('node_modules/').pop());
      expect(new Set(names).size, 'one version of each dependency').toBe(names.length);
      const theirs = await pack(installed);

      const app = join(work, 'laptop');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), '{ "name": "laptop", "version": "1.0.0", "private": true }\n');
      await ok(
        'npm',
        [
          'install',
          '--offline',
          '--no-audit',
          '--no-fund',
          '--cache',
          join(work, 'empty-cache'),
          ...ours,
          ...theirs,
        ],
        { cwd: app, env: { ...env, npm_config_registry: 'http://127.0.0.1:9/' } },
      );
      cpSync(TEMPLATE, join(app, 'policies'), { recursive: true });

      // The repository copy and the tarballs are moved away: the install must stand on its own.
      renameSync(actionPath, `${actionPath}.away`);
      renameSync(packs, `${packs}.away`);
      try {
        const nyxctl = join(app, 'node_modules/.bin/nyxctl');
        expect(realpathSync(nyxctl).startsWith(join(app, 'node_modules/@nyx/cli/'))).toBe(true);
        expect(await ok(nyxctl, ['--version'], { cwd: app, env })).toBe(`${VERSION}\n`);
        expect(await ok(nyxctl, ['--help'], { cwd: app, env })).toContain('Usage: nyxctl');
        expect(await ok(nyxctl, ['validate', 'policies'], { cwd: app, env })).toMatch(/^ok: \d+ objects/);
        // The flow reader's worker thread runs from the installed dist/ too.
        const impact = JSON.parse(
          await ok(
            nyxctl,
            [
              'impact',
              '--base',
              'policies',
              '--head',
              'policies/examples/change-head',
              '--inventory',
              'policies/examples/inventory.json',
              '--flows',
              'policies/examples/flows.jsonl',
              '--format',
              'json',
            ],
            { cwd: app, env },
          ),
        ) as { summary: { newlyDenied: number } };
        expect(impact.summary.newlyDenied).toBeGreaterThanOrEqual(1);
        writeFileSync(join(app, 'policies/namespaces/monitoring/bad.yaml'), 'kind: [\n');
        const invalid = await run(nyxctl, ['validate', 'policies'], { cwd: app, env });
        expect(invalid.code).toBe(2);
        expect(invalid.stderr).toMatch(/^policies\/namespaces\/monitoring\/bad\.yaml:2: YAML syntax error/m);
      } finally {
        renameSync(`${actionPath}.away`, actionPath);
        renameSync(`${packs}.away`, packs);
      }
    },
    SLOW,
  );
});

describe("the Dockerfile's build stage (a cluster)", () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.close();
  });

  it(
    'assembles the packed build with production dependencies only; nyxctl and nyx-bot run from it',
    async () => {
      const dockerfile = readFileSync(join(actionPath, 'Dockerfile'), 'utf8');
      for (const from of dockerfile.matchAll(/^ARG NODE_IMAGE=(\S+)$/gm))
        expect(from[1]).toMatch(/@sha256:[0-9a-f]{64}$/);
      // Every stage starts from the pinned base or from the runtime stage built on it.
      const bases = new Set([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]));
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument
      expect(bases).toEqual(new Set(['${NODE_IMAGE}', 'runtime']));
      const buildStage = dockerfile.split(/^FROM /m).find((s) => s.includes(' AS build\n'))!;
      const commands = [...buildStage.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]);
      expect(commands).toEqual([
        'npm ci --ignore-scripts --no-audit --no-fund',
        'node deploy/assemble-app.mjs /app',
      ]);
      expect(dockerfile).toMatch(/FROM \$\{NODE_IMAGE\} AS runtime\n[\s\S]*?\nUSER node\n/);

      // `npm ci` has run in the copy (the Action's step); the stage's last command, into a folder of ours.
      const app = join(work, 'image-app');
      await ok('node', ['deploy/assemble-app.mjs', app], { cwd: actionPath, env: { PATH: HOST_PATH } });
      const env = { PATH: HOST_PATH };
      for (const entry of dockerfile.matchAll(
        /^ENTRYPOINT \["node", "\/app\/(cli|bot)\/bin\/([\w-]+\.js)"\]$/gm,
      ))
        expect(readFileSync(join(app, entry[1]!, 'bin', entry[2]!), 'utf8')).toContain(
          "import '../dist/main.js'",
        );
      expect(await ok('node', [join(app, 'cli/bin/nyxctl.js'), '--version'], { cwd: work, env })).toBe(
        `${VERSION}\n`,
      );
      expect(
        await ok('node', [join(app, 'cli/bin/nyxctl.js'), 'validate', TEMPLATE], { cwd: work, env }),
      ).toMatch(/^ok: /);
      for (const workspace of ['core', 'io', 'cli', 'bot']) {
        const files = readdirSync(join(app, workspace));
        expect(files, workspace).toContain('dist');
        expect(files, workspace).not.toContain('src');
      }
      for (const devTool of ['typescript', 'tsx', 'vitest', '@biomejs', 'fast-check'])
        expect(() => readFileSync(join(app, 'node_modules', devTool, 'package.json')), devTool).toThrow();

      redis = await startRedis();
      const port = await freePort();
      const bot = execFile('node', [join(app, 'bot/bin/nyx-bot.js')], {
        cwd: work,
        env: {
          PATH: HOST_PATH,
          APP_ID: '7',
          PRIVATE_KEY: testAppPrivateKey(),
          WEBHOOK_SECRET: 'image-test-secret',
          REDIS_URL: redis.url,
          PORT: String(port),
          HOST: '127.0.0.1',
          GHE_HOST: '127.0.0.1:1',
          GHE_PROTOCOL: 'http',
          NYX_FLOWS: 'none',
          NYX_INVENTORY: 'none',
          LOG_LEVEL: 'warn',
        },
      });
      const exited = new Promise<void>((resolve) => bot.on('exit', () => resolve()));
      try {
        let out = '';
        await new Promise<void>((resolve, reject) => {
          bot.stdout?.on('data', (chunk) => {
            out += chunk;
            if (out.includes('nyx-bot: listening')) resolve();
          });
          bot.stderr?.on('data', (chunk) => {
            out += chunk;
          });
          void exited.then(() => reject(new Error(`nyx-bot exited before listening:\n${out}`)));
        });
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      } finally {
        bot.kill('SIGTERM');
        await exited;
      }
    },
    SLOW,
  );
});
