// Commander wiring: options, help texts with examples and exit codes. No logic here: each action
// hands its parsed options to a `run*` function and records the exit code it returns. Commands are
// imported when they run, so `nyxctl validate` does not load the impact renderer.
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import type { CompileOptions } from './commands/compile.js';
import type { ConvertOptions } from './commands/convert.js';
import type { ExplainOptions } from './commands/explain.js';
import type { FlowsAnnotateOptions, FlowsExportOptions } from './commands/flows.js';
import type { ImpactOptions } from './commands/impact.js';
import type { LintOptions } from './commands/lint.js';
import type { VerdictsOptions } from './commands/verdicts.js';
import type { CommandIo } from './output.js';

const EXIT_CODES = `
Exit codes:
  0  ok
  1  findings (lint: at least one error-severity finding) or an unexpected error
  2  invalid input (every problem printed as file:line: message on stderr) or usage error`;

const INVENTORY_HELP = 'inventory: kubectl get namespaces,pods,nodes -A -o json (or -o yaml)';

/** The version of this package: `package.json` is one folder up from both `src/` and `dist/`. */
const VERSION: string = createRequire(import.meta.url)('../package.json').version;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n${EXIT_CODES}`;
}

/**
 * `--flow-format`: absent means detected from the first record of the file. The choices are
 * FLOW_FORMATS of options.ts, written out so that parsing the command line loads no engine code.
 */
function flowFormatOption(): Option {
  return new Option(
    '--flow-format <format>',
    'flow file format (default: detected from the first record)',
  ).choices(['nyx', 'hubble', 'calico']);
}

/** The result of a parsed command line: the exit code the command returned. */
export interface ProgramResult {
  exitCode: number;
}

/**
 * Builds `nyxctl`. `result.exitCode` is set by whichever command ran. Commander's own errors
 * (unknown option, missing argument) throw a `CommanderError` through `exitOverride`.
 */
/** Settings read from the environment by the entry point (`main.ts`). */
export interface ProgramSettings {
  /** `REDIS_URL`: the flow store `flows export` reads (default `redis://127.0.0.1:6379`, SPEC 8.4). */
  redisUrl?: string;
}

export function buildProgram(io: CommandIo, result: ProgramResult, settings: ProgramSettings = {}): Command {
  const program = new Command('nyxctl')
    .description(
      'GitOps for Kubernetes network policy: validate policy trees, compute verdicts, explain them, and show the impact of a change on observed traffic.',
    )
    .version(VERSION, '-V, --version', 'print the version of nyxctl')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => void io.out.write(text),
      writeErr: (text) => void io.err.write(text),
    })
    .addHelpText(
      'after',
      `\nFile formats: see README.md ("File formats") and SPEC section 7.\n${EXIT_CODES}`,
    );

  const done = (code: number): void => {
    result.exitCode = code;
  };

  program
    .command('validate')
    .description(
      'Validate a policy tree; print one summary line when valid, else every error as file:line: message.',
    )
    .argument('<dir>', 'policy tree (cluster/ and namespaces/<ns>/, or any folder of YAML manifests)')
    .option('-v, --verbose', 'also print notes (ignored manifests of other kinds) on stderr')
    .option(
      '--allow-empty',
      'accept a tree with no policy object and no cluster/ folder (by default an error: a wrong path must not pass)',
    )
    .addHelpText(
      'after',
      examples(
        'nyxctl validate policy-repo-template',
        'nyxctl validate ./k8s --verbose',
        'nyxctl validate new-repo --allow-empty',
      ),
    )
    .action(async (dir: string, opts: { verbose?: boolean; allowEmpty?: boolean }) =>
      done(
        await (await import('./commands/validate.js')).runValidate(
          { dir, verbose: opts.verbose ?? false, allowEmpty: opts.allowEmpty ?? false },
          io,
        ),
      ),
    );

  program
    .command('verdicts')
    .description(
      'Print one JSON line per flow, in input order: the flow plus verdict, asIfEnforced and reasons.',
    )
    .requiredOption('--policies <dir>', 'policy tree')
    .requiredOption('--inventory <file>', INVENTORY_HELP)
    .requiredOption(
      '--flows <file>',
      'flows, JSON Lines ({"src","dst","protocol","port",...}); .gz is read too',
    )
    .addOption(flowFormatOption())
    .addHelpText(
      'after',
      examples(
        'nyxctl verdicts --policies policy-repo-template --inventory inventory.json --flows flows.jsonl',
        'nyxctl verdicts --policies . --inventory inv.json --flows flows.jsonl | jq -c \'select(.verdict == "deny")\'',
      ) + '\n\nNothing is printed on stdout when any input is invalid (exit 2).',
    )
    .action(async (opts: VerdictsOptions) =>
      done(await (await import('./commands/verdicts.js')).runVerdicts(opts, io)),
    );

  program
    .command('explain')
    .description('Explain the verdict of one flow at each enforcement point, effective and as if enforced.')
    .requiredOption('--policies <dir>', 'policy tree')
    .requiredOption('--inventory <file>', INVENTORY_HELP)
    .requiredOption(
      '--from <endpoint>',
      'source: <namespace>/<pod>, <namespace>/<workload> (its first pod by name) or an IP address',
    )
    .requiredOption(
      '--to <endpoint>',
      'destination: <namespace>/<pod>, <namespace>/<workload> (its first pod by name) or an IP address',
    )
    .requiredOption('--port <port>', 'destination port')
    .option('--protocol <protocol>', 'TCP, UDP or SCTP', 'TCP')
    .option('--server-name <name>', 'TLS SNI or resolved DNS name (for toFqdn rules)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      examples(
        'nyxctl explain --policies policy-repo-template --inventory inventory.json --from shop/web-0 --to payments/api-0 --port 8080',
        'nyxctl explain --policies . --inventory inv.json --from payments/api-0 --to 203.0.113.7 --port 443 --server-name api.stripe.com --format json',
        'nyxctl explain --policies . --inventory inv.yaml --from checkout/cart --to checkout/db --port 5432',
      ) +
        '\n\nA workload (Deployment, StatefulSet, DaemonSet, Job…) is explained as its current pod first by name.' +
        '\nDenied packets are dropped, not rejected: the client sees a timeout.',
    )
    .action(async (opts: ExplainOptions) =>
      done(await (await import('./commands/explain.js')).runExplain(opts, io)),
    );

  program
    .command('impact')
    .description(
      "Report what a change does to observed traffic (the bot's pull-request comment), as Markdown or JSON.",
    )
    .requiredOption('--base <dir>', 'policy tree before the change')
    .requiredOption('--head <dir>', 'policy tree after the change')
    .requiredOption('--inventory <file>', INVENTORY_HELP)
    .requiredOption('--flows <file>', 'observed flows')
    .addOption(
      new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'),
    )
    .addOption(flowFormatOption())
    .addHelpText(
      'after',
      examples(
        'nyxctl impact --base main-checkout --head . --inventory inventory.json --flows flows.jsonl',
        'nyxctl impact --base old --head new --inventory inv.json --flows hubble.json --flow-format hubble --format json',
      ),
    )
    .action(async (opts: ImpactOptions) =>
      done(await (await import('./commands/impact.js')).runImpact(opts, io)),
    );

  program
    .command('compile')
    .description(
      "Print the nftables script that enforces the policy tree for the pods of one node (load it with nft -f in the node's network namespace).",
    )
    .requiredOption('--policies <dir>', 'policy tree')
    .requiredOption('--inventory <file>', INVENTORY_HELP)
    .requiredOption('--node <name>', 'node name as in the inventory (spec.nodeName of its pods)')
    .option(
      '--agent',
      'print what the agent loads: the script plus flow capture, would-deny findings (record-only) and DNS interception',
    )
    .option('--dns-proxy-port <port>', "with --agent: the agent's DNS proxy port (default 5353)")
    .option(
      '--pod-interfaces <pattern>',
      "with --agent: the node's pod interfaces (cali*), as NYX_POD_INTERFACES",
    )
    .addHelpText(
      'after',
      examples(
        'nyxctl compile --policies policy-repo-template --inventory inventory.json --node worker-1 > worker-1.nft',
        'nyxctl compile --policies . --inventory inv.json --node worker-1 | sudo ip netns exec node1 nft -f -',
      ) +
        `

The script replaces only the table inet nyx, in one transaction. Pod networking must be routed
(a /32 or /128 route per pod, as Calico does); bridged pod networks are out of scope. Denied packets
are dropped, not rejected: a client sees a timeout. toFqdn sets are empty here: the agent fills them
from the DNS answers it proxies. Pods are identified by their IP addresses: anti-spoofing (a pod
sending from an address that is not its own) is the CNI's job. One node's script depends on the whole
inventory (what is world, remote pods' labels and named ports): recompile on any pod change.`,
    )
    .action(async (opts: CompileOptions) =>
      done(await (await import('./commands/compile.js')).runCompile(opts, io)),
    );

  program
    .command('convert')
    .description(
      'Rewrite v1alpha1 AdminNetworkPolicy/BaselineAdminNetworkPolicy as v1alpha2 ClusterNetworkPolicy and prove by simulation that no verdict changes; print the rewrite, or with --write rewrite the files in place (only when the proof holds).',
    )
    .argument('<dir>', 'policy tree')
    .requiredOption('--to <version>', 'target API version (v1alpha2)')
    .option(
      '--inventory <file>',
      `${INVENTORY_HELP} (default: stand-in pods, nodes and addresses for every selector, network and port the admin policies name)`,
    )
    .option('--flows <file>', 'observed flows to prove on (needs --inventory; default: generated flows)')
    .option(
      '--write',
      'rewrite the files in place (other documents and comments kept); nothing is written unless the proof holds',
    )
    .addHelpText(
      'after',
      examples(
        'nyxctl convert --to v1alpha2 policy-repo --inventory inventory.json --flows flows.jsonl --write',
        'nyxctl convert --to v1alpha2 policy-repo > /tmp/review.yaml',
      ) +
        '\n\nExit 0: converted and every verdict equal; 1: some flow differs (each is named, with both\nexplanations, on stderr; nothing written); 2: invalid input or an order the conversion cannot keep.',
    )
    .action(async (dir: string, opts: Omit<ConvertOptions, 'dir'>) =>
      done(await (await import('./commands/convert.js')).runConvert({ dir, ...opts }, io)),
    );

  program
    .command('lint')
    .description(
      'Lint a policy tree; with --inventory (and --flows) also the checks that need the cluster and traffic.',
    )
    .argument('<dir>', 'policy tree')
    .option('--inventory <file>', INVENTORY_HELP)
    .option('--flows <file>', 'observed flows (needs --inventory): enables rule-hit checks')
    .addOption(flowFormatOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      examples(
        'nyxctl lint policy-repo-template',
        'nyxctl lint . --inventory inventory.json --flows flows.jsonl --format json',
      ) + '\n\nText findings: file:line: severity rule: message (hint)',
    )
    .action(async (dir: string, opts: Omit<LintOptions, 'dir'>) =>
      done(await (await import('./commands/lint.js')).runLint({ dir, ...opts }, io)),
    );

  const flows = program
    .command('flows')
    .description(
      'Helpers for flow windows: annotate a window with workload identities, export the flow store.',
    );

  flows
    .command('annotate')
    .description(
      "Write the workload and labels of every pod end (srcWorkload, srcLabels, dstWorkload, dstLabels) into each flow, from the inventory of the window's time, so the window can be replayed after pods are renamed.",
    )
    .requiredOption('--inventory <file>', `${INVENTORY_HELP} (taken while the flows were observed)`)
    .requiredOption('--flows <file>', 'flows to annotate; .gz is read too')
    .addOption(flowFormatOption())
    .addHelpText(
      'after',
      examples(
        'nyxctl flows annotate --inventory inventory-monday.json --flows flows-monday.jsonl > flows-monday.annotated.jsonl',
        'nyxctl flows annotate --inventory inv.json --flows hubble.json --flow-format hubble > window.jsonl',
      ) +
        '\n\nPrints one flow line per input record (canonical field order). A pod given by its IP is written as <namespace>/<pod>;\nends the inventory does not know are left as they were. Nothing is printed on stdout when any input is invalid (exit 2).',
    )
    .action(async (opts: FlowsAnnotateOptions) =>
      done(await (await import('./commands/flows.js')).runFlowsAnnotate(opts, io)),
    );

  flows
    .command('export')
    .description(
      'Print the flows the agents recorded in the Redis flow store (REDIS_URL), identity fields included, as flow lines.',
    )
    .option(
      '--hours <n>',
      'hourly buckets to read, ending with the current hour (default: 192, the 8-day retention)',
    )
    .option(
      '--would-deny',
      "print the would-deny findings the agents' kernels recorded (flows an audit object would deny), each with its deciding reason (wouldDeny) and node",
    )
    .addHelpText(
      'after',
      examples(
        'REDIS_URL=redis://redis.nyx-system:6379 nyxctl flows export > window.jsonl',
        'nyxctl flows export --would-deny --hours 24 > findings.jsonl',
        'nyxctl flows export --hours 24 | nyxctl verdicts --policies . --inventory inv.json --flows /dev/stdin',
      ) + '\n\nREDIS_URL defaults to redis://127.0.0.1:6379.',
    )
    .action(async (opts: FlowsExportOptions) =>
      done(
        await (await import('./commands/flows.js')).runFlowsExport(opts, io, {
          redisUrl: settings.redisUrl ?? 'redis://127.0.0.1:6379',
        }),
      ),
    );

  addReconcilerCommands(program, io, done);
  return program;
}

/** `status`, `pause` and `resume`: the in-cluster reconciler, through the kubeconfig's identity. */
function addReconcilerCommands(program: Command, io: CommandIo, done: (code: number) => void): void {
  const target = (c: Command): Command =>
    c
      .option('--kubeconfig <file>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)')
      .option('-n, --namespace <ns>', "the reconciler's namespace", 'nyx-system');
  // @nyx/reconciler (and the Kubernetes client under it) is an optional peer of the CLI: a laptop
  // install of core, io and cli validates and simulates without it; these commands say what to add.
  const reconciler = () =>
    import('./commands/reconciler.js').catch((error: unknown) => {
      if (
        (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
        String(error).includes('@nyx/reconciler')
      )
        throw new Error(
          'this command needs the @nyx/reconciler package beside @nyx/cli (install its tarball, or use the cli image)',
        );
      throw error;
    });

  target(
    program
      .command('status')
      .description(
        "The reconciler's state: the revision applied, an invalid tip and its errors, held objects, pause, and the rollout to the agents (nodes applied, pending, failed).",
      ),
  )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      examples('nyxctl status', 'nyxctl status --namespace nyx-system --format json') +
        '\n\nExit 0 when the branch tip is applied (phase Synced), 1 otherwise.',
    )
    .action(async (opts: { kubeconfig?: string; namespace: string; format: 'text' | 'json' }) =>
      done(await (await reconciler()).runStatus(opts, io)),
    );

  target(
    program
      .command('pause')
      .description(
        'Break-glass: stop reverting drift for a while (drift is still recorded); Git state is restored when the pause expires. The documented path is `git revert` on main; pause is for when Git itself is unreachable.',
      ),
  )
    .requiredOption('--for <duration>', 'how long: 30m, 1h, 1h30m (at most 24h)')
    .requiredOption('--reason <text>', 'why (an incident id); recorded in the Event and the status')
    .option('--by <name>', 'who (default: $USER); the API server audit log has the authenticated identity')
    .addHelpText(
      'after',
      examples('nyxctl pause --for 30m --reason "INC-1234: git server down, hotfix in place"'),
    )
    .action(
      async (opts: { kubeconfig?: string; namespace: string; for: string; reason: string; by?: string }) =>
        done(await (await reconciler()).runPause(opts, io)),
    );

  target(program.command('resume').description('End a pause now: the reconciler restores the state of Git.'))
    .addHelpText('after', examples('nyxctl resume'))
    .action(async (opts: { kubeconfig?: string; namespace: string }) =>
      done(await (await reconciler()).runResume(opts, io)),
    );
}
