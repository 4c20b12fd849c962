// @kubernetes/client-node (the reconciler's client) against the real API server: list + watch with
// bookmarks, the re-list after `410 Gone` that etcd compaction causes, and an informer whose watch
// resumes after the API server is restarted on the same state folder.
import {
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  NetworkingV1Api,
  type V1ConfigMap,
  type V1NetworkPolicy,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../src/index.js';

const NAMESPACE = 'watch';

let server: TestApiServer;
let config: KubeConfig;
let core: CoreV1Api;
let networking: NetworkingV1Api;

beforeAll(async () => {
  // ConfigMaps are watched straight from etcd (no watch cache), where a compacted revision is a 410.
  server = await startTestApiServer({ uncachedResources: ['configmaps'] });
  config = new KubeConfig();
  config.loadFromFile(server.kubeconfigPath);
  core = config.makeApiClient(CoreV1Api);
  networking = config.makeApiClient(NetworkingV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
});
afterAll(async () => {
  await server?.stop();
});

const configMap = (name: string) =>
  core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name }, data: { name } } });
const networkPolicy = (name: string) =>
  networking.createNamespacedNetworkPolicy({
    namespace: NAMESPACE,
    body: {
      metadata: { name },
      spec: { podSelector: { matchLabels: { app: name } }, policyTypes: ['Ingress'] },
    },
  });

/** Events as they arrive, and a way to wait for the first one that matches. */
class EventLog<T> {
  readonly events: T[] = [];
  private waiters: Array<{ match: (event: T) => boolean; resolve: (event: T) => void }> = [];

  push(event: T): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  /** The first event (already seen or still to come) that matches, or a failure after `timeoutMs`. */
  waitFor(match: (event: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }
}

interface WatchEvent {
  type: string;
  object: KubernetesObject & { code?: number; reason?: string };
}

describe('client-node: list + watch', () => {
  it('delivers the changes after the list’s resourceVersion, then a bookmark before the watch times out', async () => {
    await networkPolicy('before-list');
    const list = await networking.listNamespacedNetworkPolicy({ namespace: NAMESPACE });
    const listed = list.metadata?.resourceVersion;
    expect(list.items.map((item) => item.metadata?.name)).toEqual(['before-list']);

    const log = new EventLog<WatchEvent>();
    let finished!: (error: unknown) => void;
    const done = new Promise((resolve) => {
      finished = resolve;
    });
    await new Watch(config).watch(
      `/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`,
      // the cache sends a bookmark 2 s before the watch's deadline (and every minute)
      { resourceVersion: listed, allowWatchBookmarks: true, timeoutSeconds: 5 },
      (type, object) => log.push({ type, object }),
      (error) => finished(error),
    );
    const created = await networkPolicy('after-list');
    const added = await log.waitFor((event) => event.type === 'ADDED', 'ADDED event');
    expect(added.object.metadata?.name).toBe('after-list');
    expect(added.object.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const bookmark = await log.waitFor((event) => event.type === 'BOOKMARK', 'BOOKMARK event');
    expect(bookmark.object.kind).toBe('NetworkPolicy');
    expect(bookmark.object.metadata?.resourceVersion).toMatch(/^\d+$/);
    // a bookmark carries only the resourceVersion the client may resume from
    expect(bookmark.object.metadata?.name).toBeUndefined();
    expect(await done).toBeNull(); // the server ended the watch at its timeout
    // the one change, then only bookmarks (a loaded server may send more than one)
    const [first, ...rest] = log.events.map((event) => event.type);
    expect(first).toBe('ADDED');
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((type) => type === 'BOOKMARK')).toBe(true);
  });

  it('answers a watch from a compacted resourceVersion with 410 Gone; a re-list and a new watch carry on', async () => {
    await configMap('cm-1');
    const first = await core.listNamespacedConfigMap({ namespace: NAMESPACE });
    const stale = first.metadata!.resourceVersion!;
    await configMap('cm-2');
    await configMap('cm-3');
    const compactedAt = await server.compactEtcd();
    expect(compactedAt).toBeGreaterThan(Number(stale));

    const log = new EventLog<WatchEvent>();
    await new Watch(config).watch(
      `/api/v1/namespaces/${NAMESPACE}/configmaps`,
      { resourceVersion: stale },
      (type, object) => log.push({ type, object }),
      () => {},
    );
    const gone = await log.waitFor((event) => event.type === 'ERROR', 'ERROR event');
    expect(gone.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });

    const relisted = await core.listNamespacedConfigMap({ namespace: NAMESPACE });
    expect(
      relisted.items.map((item) => item.metadata?.name).filter((name) => name?.startsWith('cm-')),
    ).toEqual(['cm-1', 'cm-2', 'cm-3']);
    const resumed = new EventLog<WatchEvent>();
    const controller = await new Watch(config).watch(
      `/api/v1/namespaces/${NAMESPACE}/configmaps`,
      { resourceVersion: relisted.metadata!.resourceVersion! },
      (type, object) => resumed.push({ type, object }),
      () => {},
    );
    await configMap('cm-4');
    const added = await resumed.waitFor((event) => event.type === 'ADDED', 'ADDED after the re-list');
    expect(added.object.metadata?.name).toBe('cm-4');
    controller.abort();
  });

  it('the informer re-lists by itself when its resourceVersion has been compacted away', async () => {
    let lists = 0;
    const informer = makeInformer<V1ConfigMap>(config, `/api/v1/namespaces/${NAMESPACE}/configmaps`, () => {
      lists += 1;
      return core.listNamespacedConfigMap({ namespace: NAMESPACE });
    });
    const added = new EventLog<string>();
    informer.on('add', (object) => added.push(object.metadata!.name!));
    await informer.start();
    await added.waitFor((name) => name === 'cm-4', 'the initial list');
    expect(lists).toBe(1);

    // Away while the store moves on and is compacted: its resourceVersion is gone when it comes back.
    // (two writes: a watch may start at the compacted revision itself, one after its resourceVersion)
    await informer.stop();
    await configMap('cm-5');
    await configMap('cm-6');
    await server.compactEtcd();
    await informer.start();
    await added.waitFor((name) => name === 'cm-6', 'cm-6 after the re-list');
    expect(lists).toBe(2);
    expect(informer.list(NAMESPACE).map((item) => item.metadata?.name)).toEqual(
      expect.arrayContaining(['cm-5', 'cm-6']),
    );
    await informer.stop();
  });
});

describe('client-node: a watch across an API server restart', () => {
  it('resumes on the same state folder: objects kept, changes after the restart delivered', async () => {
    const informer = makeInformer<V1NetworkPolicy>(
      config,
      `/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`,
      () => networking.listNamespacedNetworkPolicy({ namespace: NAMESPACE }),
    );
    const seen = new EventLog<string>();
    informer.on('add', (object) => seen.push(`add ${object.metadata!.name}`));
    informer.on('delete', (object) => seen.push(`delete ${object.metadata!.name}`));
    // client-node's informer stops on a connection error; restarting it is the caller's job, as its
    // README shows. The retry is what brings it back once the server is up again.
    const errors: unknown[] = [];
    let stopped = false;
    informer.on('error', (error) => {
      errors.push(error);
      if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 250);
    });
    await informer.start();
    await networkPolicy('before-restart');
    await seen.waitFor((event) => event === 'add before-restart', 'before-restart');

    const pidsBefore = server.pids;
    await server.restart();
    expect(server.pids.apiserver).not.toBe(pidsBefore.apiserver);
    expect(server.pids.etcd).not.toBe(pidsBefore.etcd);
    // etcd kept the objects: a fresh list after the restart has them
    const listed = await networking.listNamespacedNetworkPolicy({ namespace: NAMESPACE });
    expect(listed.items.map((item) => item.metadata?.name)).toContain('before-restart');

    await networkPolicy('after-restart');
    await seen.waitFor((event) => event === 'add after-restart', 'after-restart through the resumed watch');
    await networking.deleteNamespacedNetworkPolicy({ namespace: NAMESPACE, name: 'before-restart' });
    await seen.waitFor((event) => event === 'delete before-restart', 'the delete through the resumed watch');
    expect(errors.length).toBeGreaterThan(0); // the connection did break
    const names = informer.list(NAMESPACE).map((item) => item.metadata?.name);
    expect(names).toContain('after-restart');
    expect(names).not.toContain('before-restart');
    stopped = true;
    await informer.stop();
  });
});
