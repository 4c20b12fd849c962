// The reconciler's Kubernetes client: a thin REST layer over the kubeconfig of
// `@kubernetes/client-node` (its auth and TLS), with the few calls the pipeline makes. Watches use the
// library's informers (kube-watch.ts).
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { FIELD_MANAGER, type KubeObject, type ManagedKind } from './manifests.js';

/** An API error with the server's HTTP status and `Status.reason` (`NotFound`, `Conflict`, …). */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface KubeList<T = KubeObject> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** The path of a kind's collection (all namespaces when `namespace` is undefined) or of one object. */
export function resourcePath(
  kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
  namespace?: string,
  name?: string,
): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const ns = kind.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${kind.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

export const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', namespaced: false } as const;
export const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true } as const;
export const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false } as const;
export const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', namespaced: true } as const;
export const EVENTS = { group: '', version: 'v1', plural: 'events', namespaced: true } as const;
export const LEASES = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
} as const;

export class KubeApi {
  /** Sent with every request; the audit log names the replica that wrote (`nyx-reconciler/<pod>`). */
  userAgent = 'nyx-reconciler';

  private constructor(
    private readonly server: URL,
    private readonly options: RequestOptions,
    readonly kubeConfig: KubeConfig,
  ) {}

  /** From a kubeconfig file, else as kubectl finds one (KUBECONFIG, ~/.kube/config, in-cluster). */
  static async connect(kubeconfigPath?: string): Promise<KubeApi> {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return KubeApi.fromKubeConfig(kc);
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeApi> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    const options: RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    options.agent = new Agent({ ...options, keepAlive: true, maxSockets: 16 } as never);
    return new KubeApi(new URL(cluster.server), options, kc);
  }

  /** Sends one request; resolves with the parsed JSON body, throws a `KubeError` for a non-2xx status. */
  request<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {},
  ): Promise<T> {
    const url = new URL(path, this.server);
    url.pathname = this.server.pathname.replace(/\/$/, '') + path.split('?')[0];
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...((this.options.headers as Record<string, string>) ?? {}),
      accept: 'application/json',
      'user-agent': this.userAgent,
    };
    if (payload !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { ...this.options, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(body as T);
          else {
            const s = (body ?? {}) as { reason?: string; message?: string };
            reject(
              new KubeError(status, s.reason ?? String(status), `${method} ${path}: ${s.message ?? text}`),
            );
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Server-side apply as `nyx-reconciler`, taking over conflicting fields. */
  apply<T extends KubeObject>(
    kind: ManagedKind,
    manifest: T,
    options: { dryRun?: boolean } = {},
  ): Promise<T> {
    return this.request<T>(
      'PATCH',
      resourcePath(kind, manifest.metadata?.namespace, manifest.metadata?.name),
      {
        body: manifest,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: options.dryRun ? 'All' : undefined },
      },
    );
  }

  /** Replaces an object whole (PUT, optimistic on its resourceVersion). */
  replace<T extends KubeObject>(kind: ManagedKind, object: T): Promise<T> {
    return this.request<T>('PUT', resourcePath(kind, object.metadata?.namespace, object.metadata?.name), {
      body: object,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** Deletes an object; with `uid`, only that incarnation of it. Absent objects are not an error. */
  async remove(
    kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
    namespace: string | undefined,
    name: string,
    uid?: string,
  ): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (uid) body.preconditions = { uid };
    try {
      await this.request('DELETE', resourcePath(kind, namespace, name), { body });
      return true;
    } catch (e) {
      if (e instanceof KubeError && (e.status === 404 || e.status === 409)) return false;
      throw e;
    }
  }

  async get<T = KubeObject>(
    kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(kind, namespace, name));
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Every object of a kind (all namespaces), page by page. */
  async list<T = KubeObject>(
    kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
    options: { labelSelector?: string; namespace?: string } = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<KubeList<T>>('GET', resourcePath(kind, options.namespace), {
        query: { labelSelector: options.labelSelector, limit: '500', continue: cont },
      });
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    return { metadata: { resourceVersion }, items };
  }

  create<T extends KubeObject>(
    kind: Pick<ManagedKind, 'group' | 'version' | 'plural' | 'namespaced'>,
    object: T,
  ): Promise<T> {
    return this.request<T>('POST', resourcePath(kind, object.metadata?.namespace), {
      body: object,
      query: { fieldManager: FIELD_MANAGER },
    });
  }
}
