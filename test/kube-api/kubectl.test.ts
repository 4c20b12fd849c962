// The real kubectl, typed as a user types it, against the real API server: apply (client- and
// server-side, field-manager conflicts), patch (merge, JSON, strategic), label, edit, delete, whoami,
// impersonation; RBAC for the click-ops user; the project's ValidatingAdmissionPolicy; the audit log.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KubectlResult,
  RECONCILER_SERVICE_ACCOUNT,
  runKubectl,
  startTestApiServer,
  type TestApiServer,
  waitForAuditEvent,
} from '../src/index.js';

const root = resolve(import.meta.dirname, '../..');
const GROUP = 'nyx.tracenyx.io';
const RECONCILER = `system:serviceaccount:${RECONCILER_SERVICE_ACCOUNT.namespace}:${RECONCILER_SERVICE_ACCOUNT.name}`;

let server: TestApiServer;
let scratch: string;
const kubectl = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runKubectl(server.kubeconfigPath, args, options);

async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

function refused(result: KubectlResult): string {
  expect(result.code, result.stdout).not.toBe(0);
  return result.stderr;
}

const json = (object: unknown) => JSON.stringify(object);
const metadata = (name: string, labels?: Record<string, string>) => (labels ? { name, labels } : { name });
const networkPolicy = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
  json({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(name, labels), spec });
const nyxPolicy = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
  json({ apiVersion: `${GROUP}/v1alpha1`, kind: 'NyxNetworkPolicy', metadata: metadata(name, labels), spec });
const get = async (kind: string, name: string, namespace: string) =>
  JSON.parse(await ok(['get', kind, name, '-n', namespace, '-o', 'json']));

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'nyx-kubectl-'));
  server = await startTestApiServer();
  await ok(['apply', '-f', join(root, 'deploy/crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await ok(['create', 'namespace', 'shop']);
  await ok(['create', 'namespace', 'payments']);
});
afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('kubectl against the real API server', () => {
  it('auth whoami names each identity; --as and --as-group impersonate', async () => {
    const whoami = async (args: string[]) =>
      JSON.parse(await ok([...args, 'auth', 'whoami', '-o', 'json'])).status.userInfo as {
        username: string;
        groups: string[];
      };
    expect(await whoami([])).toMatchObject({
      username: 'nyx-admin',
      groups: expect.arrayContaining(['system:masters']),
    });
    expect(await whoami(['--context', 'alice'])).toMatchObject({
      username: 'alice',
      groups: expect.arrayContaining(['ops']),
    });
    expect((await whoami(['--context', 'reconciler'])).username).toBe(RECONCILER);
    expect(await whoami(['--as', 'bob', '--as-group', 'ops'])).toMatchObject({
      username: 'bob',
      groups: expect.arrayContaining(['ops']),
    });
    // impersonating needs the right to: alice has not got it
    const notAllowed = refused(
      await kubectl(['--context', 'alice', '--as', 'nyx-admin', 'get', 'namespaces']),
    );
    expect(notAllowed).toContain(
      'Error from server (Forbidden): users "nyx-admin" is forbidden: User "alice" cannot impersonate resource "users"',
    );
  });

  it('client-side apply creates, then configures, and records the last applied configuration', async () => {
    const spec = { podSelector: { matchLabels: { app: 'cart' } }, policyTypes: ['Ingress'] };
    expect(await ok(['apply', '-n', 'shop', '-f', '-'], networkPolicy('cart', spec))).toBe(
      'networkpolicy.networking.k8s.io/cart created\n',
    );
    expect(await ok(['apply', '-n', 'shop', '-f', '-'], networkPolicy('cart', spec))).toBe(
      'networkpolicy.networking.k8s.io/cart unchanged\n',
    );
    const changed = { ...spec, policyTypes: ['Ingress', 'Egress'] };
    expect(await ok(['apply', '-n', 'shop', '-f', '-'], networkPolicy('cart', changed))).toBe(
      'networkpolicy.networking.k8s.io/cart configured\n',
    );
    const applied = await get('networkpolicy', 'cart', 'shop');
    expect(applied.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(
      JSON.parse(applied.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).spec,
    ).toEqual(changed);
  });

  it('server-side apply: a second field manager conflicts, --force-conflicts takes the field over', async () => {
    const apply = (manager: string, priority: number, force = false) =>
      kubectl(
        [
          'apply',
          '--server-side',
          `--field-manager=${manager}`,
          ...(force ? ['--force-conflicts'] : []),
          '-n',
          'shop',
          '-f',
          '-',
        ],
        { input: nyxPolicy('checkout', { priority, enforcement: 'audit' }) },
      );
    expect((await apply('nyx-reconciler', 200)).stdout).toBe(
      `nyxnetworkpolicy.${GROUP}/checkout serverside-applied\n`,
    );
    const conflict = refused(await apply('click-ops', 300));
    expect(conflict).toContain(
      'Apply failed with 1 conflict: conflict with "nyx-reconciler": .spec.priority',
    );
    expect((await get('nnp', 'checkout', 'shop')).spec.priority).toBe(200);

    await apply('click-ops', 300, true).then((forced) => expect(forced.code, forced.stderr).toBe(0));
    const taken = JSON.parse(
      await ok(['get', 'nnp', 'checkout', '-n', 'shop', '-o', 'json', '--show-managed-fields']),
    );
    expect(taken.spec.priority).toBe(300);
    const owners = (
      taken.metadata.managedFields as Array<{ manager: string; fieldsV1: { 'f:spec'?: object } }>
    )
      .filter((entry) => entry.fieldsV1['f:spec'] && 'f:priority' in (entry.fieldsV1['f:spec'] as object))
      .map((entry) => entry.manager);
    expect(owners).toEqual(['click-ops']);
  });

  it('patch: merge, JSON and strategic (NetworkPolicy); strategic is refused for a custom resource', async () => {
    const spec = {
      podSelector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }],
      },
      policyTypes: ['Ingress'],
    };
    await ok(['apply', '-n', 'shop', '-f', '-'], networkPolicy('web', spec));

    // merge patch: maps merge, so matchExpressions stays
    await ok([
      'patch',
      'networkpolicy',
      'web',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      json({ spec: { podSelector: { matchLabels: { app: 'web2' } } } }),
    ]);
    let web = await get('networkpolicy', 'web', 'shop');
    expect(web.spec.podSelector).toEqual({
      matchLabels: { app: 'web2' },
      matchExpressions: spec.podSelector.matchExpressions,
    });

    // strategic merge patch: its `$patch: replace` directive replaces the whole map
    await ok([
      'patch',
      'networkpolicy',
      'web',
      '-n',
      'shop',
      '--type=strategic',
      '-p',
      json({ spec: { podSelector: { $patch: 'replace', matchLabels: { app: 'web3' } } } }),
    ]);
    web = await get('networkpolicy', 'web', 'shop');
    expect(web.spec.podSelector).toEqual({ matchLabels: { app: 'web3' } });

    // JSON patch: a failing `test` op refuses the whole patch, a passing one applies the rest
    const failedTest = refused(
      await kubectl([
        'patch',
        'networkpolicy',
        'web',
        '-n',
        'shop',
        '--type=json',
        '-p',
        json([
          { op: 'test', path: '/spec/podSelector/matchLabels/app', value: 'nope' },
          { op: 'add', path: '/spec/policyTypes/-', value: 'Egress' },
        ]),
      ]),
    );
    // the server's 422 for a patch that cannot apply; nothing of it is applied
    expect(failedTest).toContain(
      'The request is invalid: the server rejected our request due to an error in our request',
    );
    expect((await get('networkpolicy', 'web', 'shop')).spec.policyTypes).toEqual(['Ingress']);
    await ok([
      'patch',
      'networkpolicy',
      'web',
      '-n',
      'shop',
      '--type=json',
      '-p',
      json([
        { op: 'test', path: '/spec/podSelector/matchLabels/app', value: 'web3' },
        { op: 'add', path: '/spec/policyTypes/-', value: 'Egress' },
      ]),
    ]);
    expect((await get('networkpolicy', 'web', 'shop')).spec.policyTypes).toEqual(['Ingress', 'Egress']);

    await ok(['apply', '-n', 'shop', '-f', '-'], nyxPolicy('cr-patch', { priority: 400 }));
    await ok([
      'patch',
      'nnp',
      'cr-patch',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      json({ spec: { priority: 410 } }),
    ]);
    expect((await get('nnp', 'cr-patch', 'shop')).spec.priority).toBe(410);
    const strategic = refused(
      await kubectl([
        'patch',
        'nnp',
        'cr-patch',
        '-n',
        'shop',
        '--type=strategic',
        '-p',
        json({ spec: { priority: 420 } }),
      ]),
    );
    expect(strategic).toContain('the body of the request was in an unknown format');
  });

  it('label (and --overwrite), edit with EDITOR set to a script, delete', async () => {
    await ok(['apply', '-n', 'shop', '-f', '-'], nyxPolicy('labelled', { priority: 500 }));
    expect(await ok(['label', 'nnp', 'labelled', '-n', 'shop', 'team=payments'])).toBe(
      `nyxnetworkpolicy.${GROUP}/labelled labeled\n`,
    );
    expect(refused(await kubectl(['label', 'nnp', 'labelled', '-n', 'shop', 'team=shop']))).toContain(
      "'team' already has a value (payments), and --overwrite is false",
    );
    await ok(['label', 'nnp', 'labelled', '-n', 'shop', 'team=shop', '--overwrite']);
    expect((await get('nnp', 'labelled', 'shop')).metadata.labels).toEqual({ team: 'shop' });

    // kubectl edit runs $EDITOR on a temporary file and sends what it leaves there
    const editor = join(scratch, 'editor.sh');
    await writeFile(editor, '#!/bin/sh\nsed -i "s/priority: 500/priority: 510/" "$1"\n');
    await chmod(editor, 0o755);
    const edited = await kubectl(['edit', 'nnp', 'labelled', '-n', 'shop'], {
      env: { EDITOR: editor, KUBE_EDITOR: '' },
    });
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toBe(`nyxnetworkpolicy.${GROUP}/labelled edited\n`);
    expect((await get('nnp', 'labelled', 'shop')).spec.priority).toBe(510);

    // an edit the server refuses: kubectl reports the server's error and exits non-zero
    const badEditor = join(scratch, 'bad-editor.sh');
    await writeFile(badEditor, '#!/bin/sh\nsed -i "s/priority: 510/priority: high/" "$1"\n');
    await chmod(badEditor, 0o755);
    const badEdit = refused(
      await kubectl(['edit', 'nnp', 'labelled', '-n', 'shop'], {
        env: { EDITOR: badEditor, KUBE_EDITOR: '' },
      }),
    );
    expect(badEdit).toContain(`error: nyxnetworkpolicies.${GROUP} "labelled" is invalid`);
    expect(badEdit).toContain('error: Edit cancelled, no valid changes were saved.');
    expect((await get('nnp', 'labelled', 'shop')).spec.priority).toBe(510);

    expect(await ok(['delete', 'nnp', 'labelled', '-n', 'shop'])).toBe(
      `nyxnetworkpolicy.${GROUP} "labelled" deleted\n`,
    );
    expect(refused(await kubectl(['get', 'nnp', 'labelled', '-n', 'shop']))).toContain(
      `Error from server (NotFound): nyxnetworkpolicies.${GROUP} "labelled" not found`,
    );
  });
});

describe('RBAC: the click-ops user', () => {
  beforeAll(async () => {
    // What a platform team gives its operators: edit policies in `shop`, read everywhere (ops:read).
    await ok([
      'create',
      'role',
      'policy-editor',
      '-n',
      'shop',
      '--verb=get,list,watch,create,update,patch,delete',
      `--resource=nyxnetworkpolicies.${GROUP},networkpolicies.networking.k8s.io`,
    ]);
    await ok([
      'create',
      'rolebinding',
      'ops-policy-editor',
      '-n',
      'shop',
      '--role=policy-editor',
      '--group=ops',
    ]);
    await ok(['apply', '-n', 'payments', '-f', '-'], nyxPolicy('payments-ingress', { priority: 200 }));
    await ok(['apply', '-n', 'shop', '-f', '-'], nyxPolicy('alice-may', { priority: 200 }));
  });

  it('alice edits policies where her role allows', async () => {
    expect(await ok(['--context', 'alice', 'label', 'nnp', 'alice-may', '-n', 'shop', 'reviewed=yes'])).toBe(
      `nyxnetworkpolicy.${GROUP}/alice-may labeled\n`,
    );
    expect(
      await ok(['--context', 'alice', 'auth', 'can-i', 'patch', `nyxnetworkpolicies.${GROUP}`, '-n', 'shop']),
    ).toBe('yes\n');
  });

  it('and is refused elsewhere with the server’s 403, as herself and when impersonated', async () => {
    const asAlice = refused(
      await kubectl([
        '--context',
        'alice',
        'label',
        'nnp',
        'payments-ingress',
        '-n',
        'payments',
        'reviewed=yes',
      ]),
    );
    expect(asAlice).toContain(
      `Error from server (Forbidden): nyxnetworkpolicies.${GROUP} "payments-ingress" is forbidden: User "alice" cannot patch resource "nyxnetworkpolicies" in API group "${GROUP}" in the namespace "payments"`,
    );
    const impersonated = refused(
      await kubectl([
        '--as',
        'alice',
        '--as-group',
        'ops',
        'delete',
        'nnp',
        'payments-ingress',
        '-n',
        'payments',
      ]),
    );
    expect(impersonated).toContain('User "alice" cannot delete resource "nyxnetworkpolicies"');
    // the 403 itself, as the API answers it
    const raw = refused(
      await kubectl(['--context', 'alice', 'get', '--raw', '/api/v1/namespaces/payments/secrets']),
    );
    expect(raw).toContain('Error from server (Forbidden)');
    // reading is allowed everywhere
    expect(
      await ok(['--context', 'alice', 'get', 'nnp', 'payments-ingress', '-n', 'payments', '-o', 'name']),
    ).toBe(`nyxnetworkpolicy.${GROUP}/payments-ingress\n`);
  });
});

describe('ValidatingAdmissionPolicy: only the reconciler writes managed policies (deploy/admission/)', () => {
  const managed = { 'app.kubernetes.io/managed-by': 'nyx-gitops' };

  beforeAll(async () => {
    // The reconciler's write access (the project's RBAC for it comes with the reconciler).
    await ok([
      'create',
      'clusterrole',
      'nyx-reconciler-test',
      '--verb=get,list,watch,create,update,patch,delete',
      `--resource=nyxnetworkpolicies.${GROUP},networkpolicies.networking.k8s.io`,
    ]);
    await ok([
      'create',
      'clusterrolebinding',
      'nyx-reconciler-test',
      '--clusterrole=nyx-reconciler-test',
      `--serviceaccount=${RECONCILER_SERVICE_ACCOUNT.namespace}:${RECONCILER_SERVICE_ACCOUNT.name}`,
    ]);
    await ok(['apply', '-f', join(root, 'deploy/admission/managed-policies.yaml')]);
    // The policy takes effect once the API server has loaded and type-checked it: wait for the first
    // refusal of a server-side dry run, the event that says so.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await kubectl(
        ['--context', 'alice', 'apply', '--dry-run=server', '-n', 'shop', '-f', '-'],
        { input: nyxPolicy('probe', { priority: 200 }, managed) },
      );
      if (probe.code !== 0 && probe.stderr.includes('nyx-managed-policies')) break;
      if (Date.now() > deadline)
        throw new Error(`the admission policy was not enforced within 30 s: ${probe.stderr}`);
      await new Promise((done) => setTimeout(done, 200));
    }
    await ok(
      [
        '--context',
        'reconciler',
        'apply',
        '--server-side',
        '--field-manager=nyx-reconciler',
        '-n',
        'shop',
        '-f',
        '-',
      ],
      nyxPolicy('managed-one', { priority: 250 }, managed),
    );
  });

  it('refuses alice’s change, delete and creation of a managed policy, with the policy’s message', async () => {
    const change = refused(
      await kubectl([
        '--context',
        'alice',
        'patch',
        'nnp',
        'managed-one',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        json({ spec: { priority: 260 } }),
      ]),
    );
    expect(change).toContain(
      "ValidatingAdmissionPolicy 'nyx-managed-policies' with binding 'nyx-managed-policies' denied request: objects managed by nyx-gitops change through Git (the reconciler applies them), not by alice",
    );
    // removing the label is a change of a managed object too
    const unlabel = refused(
      await kubectl([
        '--context',
        'alice',
        'label',
        'nnp',
        'managed-one',
        '-n',
        'shop',
        'app.kubernetes.io/managed-by-',
      ]),
    );
    expect(unlabel).toContain('denied request');
    const remove = refused(
      await kubectl(['--context', 'alice', 'delete', 'nnp', 'managed-one', '-n', 'shop']),
    );
    expect(remove).toContain('denied request');
    const create = refused(
      await kubectl(['--context', 'alice', 'apply', '-n', 'shop', '-f', '-'], {
        input: networkPolicy('alice-managed', { podSelector: {} }, managed),
      }),
    );
    expect(create).toContain('denied request');
    expect((await get('nnp', 'managed-one', 'shop')).spec.priority).toBe(250);
  });

  it('lets alice write unmanaged policies where RBAC allows, and the reconciler write managed ones', async () => {
    await ok(
      ['--context', 'alice', 'apply', '-n', 'shop', '-f', '-'],
      networkPolicy('alice-own', { podSelector: {} }),
    );
    await ok([
      '--context',
      'reconciler',
      'patch',
      'nnp',
      'managed-one',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      json({ spec: { priority: 270 } }),
    ]);
    expect((await get('nnp', 'managed-one', 'shop')).spec.priority).toBe(270);
    await ok(['--context', 'reconciler', 'delete', 'nnp', 'managed-one', '-n', 'shop']);
  });
});

describe('the audit log names the user of each write', () => {
  it('alice’s label, the reconciler’s apply and a refused write are each recorded with their user', async () => {
    await ok(['apply', '-n', 'shop', '-f', '-'], nyxPolicy('audited', { priority: 600 }));
    await ok(['--context', 'alice', 'label', 'nnp', 'audited', '-n', 'shop', 'who=alice']);
    await ok(
      [
        '--context',
        'reconciler',
        'apply',
        '--server-side',
        '--field-manager=nyx-reconciler',
        '-n',
        'shop',
        '-f',
        '-',
      ],
      nyxPolicy('audited', { priority: 600 }),
    );
    await kubectl(['--context', 'alice', 'delete', 'nnp', 'payments-ingress', '-n', 'payments']);

    const write = (user: string, verb: string, namespace: string, name: string) =>
      waitForAuditEvent(
        server.auditLogPath,
        (event) =>
          event.stage === 'ResponseComplete' &&
          event.user.username === user &&
          event.verb === verb &&
          event.objectRef?.resource === 'nyxnetworkpolicies' &&
          event.objectRef.namespace === namespace &&
          event.objectRef.name === name,
      );
    expect((await write('nyx-admin', 'create', 'shop', 'audited')).responseStatus?.code).toBe(201);
    const label = await write('alice', 'patch', 'shop', 'audited');
    expect(label.responseStatus?.code).toBe(200);
    expect(label.user.groups).toContain('ops');
    expect(label.userAgent).toMatch(/^kubectl/);
    expect((await write(RECONCILER, 'patch', 'shop', 'audited')).responseStatus?.code).toBe(200);
    expect((await write('alice', 'delete', 'payments', 'payments-ingress')).responseStatus?.code).toBe(403);
  });
});
