// Upstream admin policy in the bot's comment (SPEC 9.4), through the real Probot app: a pull request
// adding an Admin Deny, an Admin Pass with the namespace policy that then decides, and a Baseline
// Deny (test/fixtures/admin-change) to the template; its window holds one flow each. The comment
// names object, API version, tier, priority and rule, and the change needs the platform owners.
import { join } from 'node:path';
import { readDirFiles } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, type Harness, openPull, REPO_ROOT, requestsFor, startHarness } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/admin-change');
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ NYX_FLOWS: join(FIXTURE, 'flows.jsonl') });
  h.github.setTeam('cloudmart/platform', ['pat']);
});
afterAll(async () => {
  await h?.close();
});

/** What `markdownReason` makes of a text: quotes and brackets escaped. */
const md = (text: string) => text.replace(/"/g, '&quot;').replace(/\[/g, '\\[').replace(/\]/g, '\\]');

describe('the bot comment on a change of upstream admin policy', () => {
  it('names object, API version, tier, priority and rule: Admin Deny, Pass then Nyx, Baseline Deny', async () => {
    const files = Object.fromEntries(
      Object.entries(await readDirFiles(FIXTURE)).filter(([path]) => path.endsWith('.yaml')),
    );
    expect(Object.keys(files).sort()).toEqual([
      'cluster/admin-deny-storefront-telemetry.yaml',
      'cluster/admin-pass.yaml',
      'cluster/baseline-storefront-api.yaml',
      'namespaces/cloudmart-analytics/allow-metadata-proxy.yaml',
    ]);
    const t = await openPull(h, files);
    await analyse(h, t);
    const r = requestsFor(h, t);
    expect(r.policy[0]?.output.title).toBe('2 observed flows would be denied');
    const body = r.commentPosts[0] ?? '';
    // Admin Deny
    expect(body).toContain(
      `ingress: ${md('ClusterNetworkPolicy/deny-storefront-telemetry ingress rule "storefront-otlp" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 20)')} (cluster/admin-deny-storefront-telemetry.yaml:14)`,
    );
    // Pass, then the namespace's own policy decides (newly allowed: the Admin Deny of the metadata address no longer applies)
    expect(body).toContain(
      `egress: ${md('NyxNetworkPolicy/cloudmart-analytics/allow-metadata-proxy egress[0] Allow (after AdminNetworkPolicy/analytics-delegates egress rule "metadata-proxy" Pass (policy.networking.k8s.io/v1alpha1, tier Admin, priority 5)')} (cluster/admin-pass.yaml:14)) (namespaces/cloudmart-analytics/allow-metadata-proxy.yaml:11)`,
    );
    expect(body).toContain(
      `egress: ${md('ClusterNetworkPolicy/deny-cloud-metadata egress rule "cloud-metadata" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 10)')} (cluster/admin-deny-cloud-metadata.yaml:15)`,
    );
    // Baseline Deny
    expect(body).toContain(
      `ingress: ${md('ClusterNetworkPolicy/storefront-api-default-deny ingress rule "everyone-else" Deny (policy.networking.k8s.io/v1alpha2, tier Baseline, priority 20)')} (cluster/baseline-storefront-api.yaml:18)`,
    );
    // cluster/ changed: the platform owners must approve
    expect(body).toContain('cluster/ changed: needs @cloudmart/platform');
    expect(r.ownership[0]?.conclusion).toBe('failure');
  });
});
