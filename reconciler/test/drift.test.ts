// Drift against the real kube-apiserver, with the real kubectl as the click-ops tool: patch, label,
// delete and create are reverted and recorded with the actor; an object fought over by another
// writer backs off with an alert; a break-glass pause records without reverting and restores Git
// when it expires; watches resume after the API server restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningReconciler } from '../src/app.js';
import { CLUSTER_CONFIG, nnp, startWorld, type World, waitFor } from './world.js';

interface Obj {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: { priority?: number };
}

describe('reconciler: drift', () => {
  let w: World;
  let r: RunningReconciler;

  const get = async (name: string): Promise<Obj | undefined> => {
    const res = await w.kubectlResult(['get', 'nnp', '-n', 'shop', name, '-o', 'json']);
    return res.code === 0 ? (JSON.parse(res.stdout) as Obj) : undefined;
  };
  const events = async (reason: string, name?: string): Promise<string[]> => {
    const selector = `reason=${reason}${name ? `,involvedObject.name=${name}` : ''}`;
    const list = JSON.parse(
      await w.kubectl(['get', 'events', '-A', '--field-selector', selector, '-o', 'json']),
    ) as { items: Array<{ message: string }> };
    return list.items.map((e) => e.message);
  };
  const eventMatching = (reason: string, name: string, pattern: RegExp): Promise<string> =>
    waitFor(`${reason} event for ${name}`, async () =>
      (await events(reason, name)).find((m) => pattern.test(m)),
    );
  const metric = async (line: string): Promise<number> => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const found = text.split('\n').find((l) => l.startsWith(`${line} `));
    return found ? Number(found.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    w = await startWorld();
    await w.kubectl(['create', 'namespace', 'shop']);
    const files: Record<string, string> = { 'cluster/config.yaml': CLUSTER_CONFIG };
    for (const name of ['patched', 'labelled', 'deleted', 'fought', 'paused', 'restarted']) {
      files[`namespaces/shop/${name}.yaml`] = nnp(name, 200);
    }
    await w.commitAndPush(files);
    r = await w.startReconciler({ NYX_DRIFT_MAX_REVERTS_PER_MINUTE: '3' });
    await waitFor('applied', async () => ((await get('restarted')) ? true : undefined));
  });
  afterAll(async () => {
    await r?.close();
    await w?.close();
  });

  it('kubectl patch is reverted and recorded with the field manager and the field', async () => {
    await w.kubectl([
      'patch',
      'nnp',
      '-n',
      'shop',
      'patched',
      '--type=merge',
      '-p',
      '{"spec":{"priority":700}}',
    ]);
    await waitFor('reverted', async () => ((await get('patched'))?.spec.priority === 200 ? true : undefined));
    const message = await eventMatching('DriftReverted', 'patched', /kubectl-patch/);
    expect(message).toMatch(
      /^changed spec\.priority by kubectl-patch; reverted to revision [0-9a-f]{12} \(namespaces\/shop\/patched\.yaml:1\)$/,
    );
    expect(await metric('nyx_drift_reverted_total{kind="NyxNetworkPolicy"}')).toBeGreaterThanOrEqual(1);
  });

  it('kubectl label is reverted (the label removed) and recorded', async () => {
    await w.kubectl(['label', 'nnp', '-n', 'shop', 'labelled', 'team=rogue']);
    await waitFor('label removed', async () => {
      const o = await get('labelled');
      return o && o.metadata.labels?.team === undefined ? true : undefined;
    });
    expect((await get('labelled'))?.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'nyx-gitops',
    });
    expect(await eventMatching('DriftReverted', 'labelled', /kubectl-label/)).toContain(
      'metadata.labels.team',
    );
  });

  it('kubectl delete is reverted (recreated) and recorded', async () => {
    const before = (await get('deleted'))!.metadata.uid;
    await w.kubectl(['delete', 'nnp', '-n', 'shop', 'deleted', '--wait=false']);
    const after = await waitFor('recreated', async () => {
      const o = await get('deleted');
      return o && o.metadata.uid !== before ? o : undefined;
    });
    expect(after.spec.priority).toBe(200);
    expect(await eventMatching('DriftReverted', 'deleted', /^deleted by /)).toMatch(/reverted to revision/);
  });

  it('a Nyx policy created by hand is deleted and recorded with its author', async () => {
    await w.kubectl(
      ['create', '-f', '-'],
      nnp('by-hand', 300).replace('name: by-hand', 'name: by-hand\n  namespace: shop'),
    );
    await waitFor('deleted', async () => ((await get('by-hand')) === undefined ? true : undefined));
    expect(await eventMatching('DriftReverted', 'by-hand', /kubectl-create/)).toMatch(
      /^created outside Git by kubectl-create; deleted: Git does not declare it/,
    );
  });

  it('an object fought over by another writer backs off with an alert instead of a hot loop', async () => {
    const reverts = async (): Promise<number> => (await events('DriftReverted', 'fought')).length;
    // Another controller sets priority 800 whenever it sees anything else.
    for (let i = 0; i < 3; i++) {
      await w.kubectl([
        'patch',
        'nnp',
        '-n',
        'shop',
        'fought',
        '--type=merge',
        '--field-manager=rogue-controller',
        '-p',
        '{"spec":{"priority":800}}',
      ]);
      await waitFor(`revert ${i + 1}`, async () =>
        (await get('fought'))?.spec.priority === 200 ? true : undefined,
      );
    }
    await w.kubectl([
      'patch',
      'nnp',
      '-n',
      'shop',
      'fought',
      '--type=merge',
      '--field-manager=rogue-controller',
      '-p',
      '{"spec":{"priority":800}}',
    ]);
    const alert = await eventMatching('DriftRevertBackoff', 'fought', /rogue-controller/);
    expect(alert).toMatch(/reverted 3 times within a minute .* another writer is fighting the reconciler/);
    expect(await metric('nyx_drift_objects_in_backoff')).toBe(1);
    expect(await metric('nyx_drift_backoff_total{kind="NyxNetworkPolicy"}')).toBe(1);
    // Held: the rogue value stays and no further revert is made.
    await r.reconciler.idle();
    expect((await get('fought'))?.spec.priority).toBe(800);
    await waitFor('events recorded', async () => ((await reverts()) >= 3 ? true : undefined));
    expect(await reverts()).toBe(3);
    expect(r.reconciler.status.inBackoff).toEqual(['NyxNetworkPolicy/shop/fought']);
  });

  it('a break-glass pause records drift without reverting; when it expires Git state is restored', async () => {
    const paused = await w.nyxctl([
      'pause',
      '--for',
      '4s',
      '--reason',
      'INC-42 git is down',
      '--by',
      'alice',
    ]);
    expect(paused).toMatchObject({ code: 0, stdout: expect.stringMatching(/^paused until /) });
    await waitFor('paused', () => r.reconciler.status.paused !== undefined);
    expect(await events('Paused')).toEqual([expect.stringContaining('by alice: INC-42 git is down')]);
    expect(await metric('nyx_reconcile_paused')).toBe(1);
    await w.kubectl([
      'patch',
      'nnp',
      '-n',
      'shop',
      'paused',
      '--type=merge',
      '-p',
      '{"spec":{"priority":650}}',
    ]);
    expect(await eventMatching('DriftNotReverted', 'paused', /kubectl-patch/)).toContain('paused until');
    // A sync meanwhile (a poll) leaves it too: a pause stops reverts, not only the watch's.
    await r.reconciler.requestSync('poll during the pause');
    expect((await get('paused'))?.spec.priority).toBe(650);
    await waitFor(
      'restored after the pause',
      async () => ((await get('paused'))?.spec.priority === 200 ? true : undefined),
      30_000,
    );
    expect(r.isLeader()).toBe(true);
    expect(await metric('nyx_reconcile_paused')).toBe(0);
    expect(await events('Resumed')).toHaveLength(1);
    expect(await w.nyxctl(['resume'])).toMatchObject({
      code: 0,
      stdout: 'resumed: the reconciler restores the state of Git\n',
    });
  });

  it('watches resume after the API server restarts, without missing a drift', async () => {
    await w.api.restart();
    // Made before the reconciler's watch is back: it must still be seen (resourceVersion resume).
    await w.kubectl([
      'patch',
      'nnp',
      '-n',
      'shop',
      'restarted',
      '--type=merge',
      '-p',
      '{"spec":{"priority":710}}',
    ]);
    await waitFor(
      'reverted after restart',
      async () => ((await get('restarted'))?.spec.priority === 200 ? true : undefined),
      60_000,
    );
    expect(await eventMatching('DriftReverted', 'restarted', /kubectl-patch/)).toContain('spec.priority');
  });
});
