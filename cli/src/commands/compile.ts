// `nyxctl compile`: the nftables script that enforces a policy tree for the pods of one node (SPEC
// section 7). The script alone goes to stdout, so `nyxctl compile … | nft -f -` loads it and two
// revisions can be diffed; notes go to stderr.
import { compileEvaluator, compileRuleset, type Diagnostic, formatDiagnostic } from '@nyx/core';
import { EXIT_INVALID, EXIT_OK } from '../errors.js';
import { loadInventory, loadTree } from '../inputs.js';
import type { CommandIo } from '../output.js';

export interface CompileOptions {
  policies: string;
  inventory: string;
  node: string;
  /** Print what the agent loads: the script plus flow capture, would-deny findings and DNS interception (SPEC 8.7). */
  agent?: boolean;
  /** The agent's DNS proxy port, for `--agent`. */
  dnsProxyPort?: string;
  /** The node's pod interfaces (`NYX_POD_INTERFACES`), for `--agent`. */
  podInterfaces?: string;
}

/** The agent's DNS proxy port when none is given (the agent's own default). */
export const DEFAULT_DNS_PROXY_PORT = 5353;

export async function runCompile(options: CompileOptions, io: CommandIo): Promise<number> {
  const tree = await loadTree(options.policies);
  const inventory = await loadInventory(options.inventory);
  const errors: Diagnostic[] = [...(tree.ok ? [] : tree.errors), ...(inventory.ok ? [] : inventory.errors)];
  if (inventory.ok && !inventory.inventory.nodes.has(options.node)) {
    errors.push({
      file: options.inventory,
      line: 1,
      message: `node "${options.node}" is not in the inventory (nodes: ${[...inventory.inventory.nodes.keys()].join(', ') || 'none'})`,
    });
  }
  let port = DEFAULT_DNS_PROXY_PORT;
  if (options.dnsProxyPort !== undefined) {
    port = Number(options.dnsProxyPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      await io.err.write(`--dns-proxy-port: expected a port 1-65535, got "${options.dnsProxyPort}"\n`);
      return EXIT_INVALID;
    }
  }
  if (options.podInterfaces !== undefined && !/^[A-Za-z0-9._-]+\*?$/.test(options.podInterfaces)) {
    await io.err.write(
      `--pod-interfaces: expected an interface name or prefix followed by * (cali*), got "${options.podInterfaces}"\n`,
    );
    return EXIT_INVALID;
  }
  for (const d of errors) await io.err.write(`${formatDiagnostic(d)}\n`);
  if (errors.length > 0 || !tree.ok || !inventory.ok) return EXIT_INVALID;
  if (tree.policySet.objects.length === 0) {
    await io.err.write(
      `note: ${options.policies} holds no policy object: compiling the defaults of SPEC section 2\n`,
    );
  }
  const evaluator = compileEvaluator(tree.policySet, inventory.inventory);
  const ruleset = compileRuleset({
    evaluator,
    node: options.node,
    ...(options.agent
      ? {
          agent: {
            flowCapture: true,
            wouldDeny: true,
            dnsProxyPort: port,
            ...(options.podInterfaces ? { podInterfaces: options.podInterfaces } : {}),
          },
        }
      : {}),
  });
  await io.out.write(ruleset.script);
  await io.err.write(
    `note: node ${options.node}: ${ruleset.localPods.size} local pod address(es), ${ruleset.fqdnSets.length} toFqdn set(s)${ruleset.fqdnSets.length > 0 && !options.agent ? ' (empty: the agent fills them from DNS answers)' : ''}\n`,
  );
  return EXIT_OK;
}
