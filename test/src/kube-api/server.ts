// The real kube-apiserver and etcd for integration tests, started the way envtest does it (an API
// server and etcd, no kubelet, no controller manager), with generated certificates, RBAC, the
// admission plugins of a real cluster and an audit log. `startTestApiServer` serves both vitest
// (one server per test file, reused by its cases) and `npx nyx-test-apiserver`.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../system.js';
import { type KubeBinaries, requireKubeBinaries } from './binaries.js';
import { ADMIN_IDENTITY, ALICE_IDENTITY, ensureTestPki, type TestPki } from './pki.js';
import { type LoggedProcess, lastLogLines, spawnLogged, stopProcess } from './processes.js';

/** The kubeconfig's contexts, one per identity; `admin` is the current context. */
export const TEST_CONTEXTS = { admin: 'admin', reconciler: 'reconciler', alice: 'alice' } as const;

/** The reconciler's service account, created at start (its RBAC is the project's, applied by tests). */
export const RECONCILER_SERVICE_ACCOUNT = { namespace: 'nyx-system', name: 'nyx-reconciler' } as const;

/** The click-ops user of the kubeconfig's `alice` context (client certificate, CN=alice, O=ops). */
export const ALICE = ALICE_IDENTITY;

/** The ClusterRole (bound to group `ops`) that lets operators read, not write, every policy kind. */
export const OPS_READ_ROLE = 'ops:read';

/** The cluster admin of the `admin` context (client certificate, O=system:masters). */
export const CLUSTER_ADMIN = ADMIN_IDENTITY;

export interface TestApiServerOptions {
  /** The API server's port on 127.0.0.1; 0 (the default) takes the state folder's last port if free, else a free one. */
  port?: number;
  /** Keeps etcd's data, the certificates and the audit log here, so a later start resumes; default: a temp folder that `stop()` removes. */
  stateDir?: string;
  /** Where the kubeconfig is written; default `<stateDir>/kubeconfig`. */
  kubeconfigPath?: string;
  /**
   * Resources whose watches go straight to etcd instead of the API server's watch cache
   * (`--watch-cache-sizes=<resource>#0`), e.g. `configmaps`: there, etcd compaction surfaces to a
   * watch from a compacted resourceVersion as `410 Gone`, as it does for any watch the cache cannot serve.
   */
  uncachedResources?: string[];
  /** How long etcd and then the API server may take to become ready (each); default 60 s. */
  readyTimeoutMs?: number;
  /** Environment the binaries are looked up from (`NYX_KUBE_BIN_DIR`, `XDG_CACHE_HOME`, `CI`). */
  env?: NodeJS.ProcessEnv;
}

export interface TestApiServer {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly stateDir: string;
  /** JSON lines, one audit event per write (level Metadata): `user.username`, `verb`, `objectRef`. */
  readonly auditLogPath: string;
  /** etcd's client URL (plain HTTP on loopback), for tests that compact or inspect storage. */
  readonly etcdUrl: string;
  /** A bearer token of the reconciler's service account (valid 7 days, and across restarts). */
  readonly reconcilerToken: string;
  readonly versions: KubeBinaries['versions'];
  /** Seconds from starting etcd to the API server's `/readyz` answering ok, for the last (re)start. */
  readonly readySeconds: number;
  /** Process ids of the running etcd and kube-apiserver. */
  readonly pids: { readonly etcd: number; readonly apiserver: number };
  /** Stops both processes and starts them again on the same state folder and ports. */
  restart(): Promise<void>;
  /** Compacts etcd up to its current revision (physically) and returns that revision. */
  compactEtcd(): Promise<number>;
  /** Stops kube-apiserver, then etcd; removes the state folder unless it was given. */
  stop(): Promise<void>;
}

interface Ports {
  apiserver: number;
  etcdClient: number;
  etcdPeer: number;
}

const TOKEN_SECONDS = 7 * 24 * 3600;

/** Starts etcd and kube-apiserver; resolves once `/readyz` is ok and the kubeconfig is written. */
export async function startTestApiServer(options: TestApiServerOptions = {}): Promise<TestApiServer> {
  const binaries = await requireKubeBinaries(options.env ?? process.env);
  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ? resolve(options.stateDir) : await mkdtemp(join(tmpdir(), 'nyx-kube-'));
  try {
    return await start({ ...options, binaries, stateDir, ownsStateDir });
  } catch (error) {
    if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}

async function start(
  options: TestApiServerOptions & { binaries: KubeBinaries; stateDir: string; ownsStateDir: boolean },
): Promise<TestApiServer> {
  const { binaries, stateDir } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const pki = await ensureTestPki(join(stateDir, 'pki'));
  const auditPolicyPath = join(stateDir, 'audit-policy.yaml');
  const auditLogPath = join(stateDir, 'audit.log');
  await writeFile(auditPolicyPath, AUDIT_POLICY);
  const kubeconfigPath = options.kubeconfigPath
    ? resolve(options.kubeconfigPath)
    : join(stateDir, 'kubeconfig');
  const requestedPort = options.port ?? 0;
  let ports = await choosePorts(stateDir, requestedPort, { reusePrevious: true });
  const urls = () => ({
    url: `https://127.0.0.1:${ports.apiserver}`,
    etcdUrl: `http://127.0.0.1:${ports.etcdClient}`,
  });

  let etcd: LoggedProcess | undefined;
  let apiserver: LoggedProcess | undefined;
  let readySeconds = 0;

  const stopBoth = async (): Promise<void> => {
    if (apiserver) await stopProcess(apiserver);
    if (etcd) await stopProcess(etcd);
  };

  const launch = async (): Promise<void> => {
    const started = performance.now();
    etcd = await spawnLogged({
      name: 'etcd',
      binary: binaries.etcd,
      args: etcdArgs(stateDir, ports),
      logPath: join(stateDir, 'etcd.log'),
      parentDeathSignal: 'SIGTERM',
    });
    await waitReady(etcd, readyTimeoutMs, () => etcdHealthy(urls().etcdUrl));
    apiserver = await spawnLogged({
      name: 'kube-apiserver',
      binary: binaries.kubeApiserver,
      args: apiserverArgs({
        stateDir,
        ports,
        pki,
        auditPolicyPath,
        auditLogPath,
        uncached: options.uncachedResources,
      }),
      logPath: join(stateDir, 'kube-apiserver.log'),
      // Its graceful shutdown needs etcd, which gets SIGTERM at the same moment: it would linger ~20 s.
      parentDeathSignal: 'SIGKILL',
    });
    await waitReady(apiserver, readyTimeoutMs, () => apiserverReady(urls().url, pki));
    readySeconds = (performance.now() - started) / 1000;
  };

  try {
    // Ports chosen here were free a moment ago; another process on a shared machine may take one
    // first. Then start again on fresh ports (a port the caller asked for is never swapped).
    for (let attempt = 1; ; attempt += 1) {
      try {
        await launch();
        break;
      } catch (error) {
        await stopBoth();
        if (!(error instanceof PortTakenError) || requestedPort !== 0 || attempt === 3) throw error;
        ports = await choosePorts(stateDir, 0, { reusePrevious: false });
      }
    }
    const { url, etcdUrl } = urls();
    const reconcilerToken = await bootstrap(url, pki);
    await writeFile(kubeconfigPath, await kubeconfig(url, pki, reconcilerToken), { mode: 0o600 });
    await writeFile(join(stateDir, 'ports.json'), `${JSON.stringify(ports)}\n`);
    return {
      url,
      port: ports.apiserver,
      kubeconfigPath,
      stateDir,
      auditLogPath,
      etcdUrl,
      reconcilerToken,
      versions: binaries.versions,
      get readySeconds() {
        return readySeconds;
      },
      get pids() {
        return { etcd: etcd?.child.pid ?? 0, apiserver: apiserver?.child.pid ?? 0 };
      },
      restart: async () => {
        await stopBoth();
        await launch();
      },
      compactEtcd: () => compactEtcd(etcdUrl),
      stop: async () => {
        await stopBoth();
        if (options.ownsStateDir) await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopBoth();
    throw error;
  }
}

function etcdArgs(stateDir: string, ports: Ports): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=nyx-test',
    `--data-dir=${join(stateDir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=nyx-test=${peer}`,
    // Test data on a shared disk: durability against power loss is not what these tests measure.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

function apiserverArgs(options: {
  stateDir: string;
  ports: Ports;
  pki: TestPki;
  auditPolicyPath: string;
  auditLogPath: string;
  uncached: string[] | undefined;
}): string[] {
  const { stateDir, ports, pki } = options;
  const args = [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--cert-dir=${join(stateDir, 'apiserver')}`,
    `--tls-cert-file=${pki.serving.cert}`,
    `--tls-private-key-file=${pki.serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    '--authorization-mode=RBAC',
    // The defaults of 1.34 include these; named so that the test cluster's admission is explicit.
    '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountKey.publicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey.privateKey}`,
    '--service-cluster-ip-range=10.96.0.0/12',
    // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints refuse (loopback): no pod
    // runs here to use them, so their reconciler is off instead of failing every 10 s.
    '--endpoint-reconciler-type=none',
    `--audit-policy-file=${options.auditPolicyPath}`,
    `--audit-log-path=${options.auditLogPath}`,
    '--audit-log-format=json',
    '--profiling=false',
    // On SIGTERM, drain requests, then give open watches 2 s (not the default 60 s request timeout)
    // before the HTTP server closes them: a restart with informers attached takes seconds.
    '--shutdown-send-retry-after=true',
  ];
  if (options.uncached && options.uncached.length > 0) {
    args.push(`--watch-cache-sizes=${options.uncached.map((resource) => `${resource}#0`).join(',')}`);
  }
  return args;
}

/**
 * Writes are logged at Metadata level (who, what verb, which object, when), reads not at all, and
 * the API server's own lease renewals not at all: the log answers "who changed it".
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    verbs: [get, list, watch]
  - level: None
    resources:
      - group: coordination.k8s.io
        resources: [leases]
  - level: Metadata
`;

/**
 * The ports of this start: the requested one, else the state folder's previous ones when free (a
 * restarted server keeps its URL), else free ones; never the same port twice.
 */
async function choosePorts(
  stateDir: string,
  requested: number,
  options: { reusePrevious: boolean },
): Promise<Ports> {
  const previous = options.reusePrevious
    ? await readFile(join(stateDir, 'ports.json'), 'utf8')
        .then((text) => JSON.parse(text) as Partial<Ports>)
        .catch(() => ({}) as Partial<Ports>)
    : {};
  if (requested !== 0 && !(await portIsFree(requested))) {
    throw new Error(
      `port ${requested} on 127.0.0.1 is already in use: choose another --port, or --port 0 for a free one`,
    );
  }
  const taken = new Set<number>(requested !== 0 ? [requested] : []);
  const pick = async (wanted: number | undefined): Promise<number> => {
    let port =
      wanted !== undefined && !taken.has(wanted) && (await portIsFree(wanted)) ? wanted : await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    return port;
  };
  return {
    apiserver: requested !== 0 ? requested : await pick(previous.apiserver),
    etcdClient: await pick(previous.etcdClient),
    etcdPeer: await pick(previous.etcdPeer),
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
  });
}

/** A server that could not bind a port another process took first. */
class PortTakenError extends Error {}

/**
 * Polls `probe` until it answers true. A process that exits first, or a deadline that passes, fails
 * with the process's last log lines (there is no readiness event to subscribe to: both servers are
 * asked, as kubelet's readiness probes ask them).
 */
async function waitReady(
  proc: LoggedProcess,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: string | undefined;
  void proc.exited.then((how) => {
    exit = how;
  });
  for (;;) {
    if (exit !== undefined) {
      const lines = await lastLogLines(proc.logPath);
      if (/address already in use/.test(lines)) {
        throw new PortTakenError(
          `${proc.name} exited (${exit}) before it was ready: a port it needs is already in use; last lines of ${proc.logPath}:\n${lines}`,
        );
      }
      throw new Error(
        `${proc.name} exited (${exit}) before it was ready; last lines of ${proc.logPath}:\n${lines}`,
      );
    }
    if (await probe().catch(() => false)) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(
        `${proc.name} was not ready within ${timeoutMs / 1000} s; last lines of ${proc.logPath}:\n${await lastLogLines(proc.logPath)}`,
      );
    }
    // never past the deadline: a last probe at the deadline decides
    await new Promise((resolvePromise) => setTimeout(resolvePromise, Math.min(100, left)));
  }
}

function etcdHealthy(etcdUrl: string): Promise<boolean> {
  return etcdCall(etcdUrl, 'GET', '/health').then(
    (answer) => answer.status === 200 && /"health":"true"/.test(answer.body),
  );
}

async function apiserverReady(url: string, pki: TestPki): Promise<boolean> {
  const answer = await adminRequest(url, pki, 'GET', '/readyz');
  return answer.status === 200 && answer.body.trim() === 'ok';
}

interface Answer {
  status: number;
  body: string;
}

function etcdCall(etcdUrl: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(`${etcdUrl}${path}`, { method, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`etcd ${path}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A request to the API server as the cluster admin (client certificate). */
function adminRequest(
  url: string,
  pki: TestPki,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  return Promise.all([readFile(pki.ca.cert), readFile(pki.admin.cert), readFile(pki.admin.key)]).then(
    ([ca, cert, key]) =>
      new Promise<Answer>((resolvePromise, reject) => {
        const req = httpsRequest(
          `${url}${path}`,
          {
            method,
            ca,
            cert,
            key,
            timeout: 10_000,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      }),
  );
}

/**
 * What a new cluster has besides the API server's own bootstrap objects: the reconciler's service
 * account (an identity, without the project's RBAC, which tests apply) and the operators' read access
 * (group `ops` may read namespaces, workloads and every policy kind, not Secrets). The built-in
 * `view`/`edit`/`admin` are aggregated ClusterRoles, filled in by kube-controller-manager, which does
 * not run here: they are empty, so the rules are spelled out. Idempotent, for restarts on a kept state.
 */
async function bootstrap(url: string, pki: TestPki): Promise<string> {
  const { namespace, name } = RECONCILER_SERVICE_ACCOUNT;
  const create = async (path: string, object: unknown): Promise<void> => {
    const answer = await adminRequest(url, pki, 'POST', path, object);
    if (answer.status !== 201 && answer.status !== 409) {
      throw new Error(`creating ${path} at start-up failed with ${answer.status}: ${answer.body}`);
    }
  };
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name },
  });
  const read = ['get', 'list', 'watch'];
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: OPS_READ_ROLE },
    rules: [
      {
        apiGroups: [''],
        resources: [
          'namespaces',
          'pods',
          'services',
          'endpoints',
          'configmaps',
          'serviceaccounts',
          'events',
          'nodes',
        ],
        verbs: read,
      },
      {
        apiGroups: [
          'apps',
          'networking.k8s.io',
          'nyx.tracenyx.io',
          'apiextensions.k8s.io',
          'admissionregistration.k8s.io',
        ],
        resources: ['*'],
        verbs: read,
      },
    ],
  });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: OPS_READ_ROLE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPS_READ_ROLE },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: ALICE_IDENTITY.group }],
  });
  const answer = await adminRequest(
    url,
    pki,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: TOKEN_SECONDS },
    },
  );
  if (answer.status !== 201)
    throw new Error(`TokenRequest for ${namespace}/${name} failed with ${answer.status}: ${answer.body}`);
  return (JSON.parse(answer.body) as { status: { token: string } }).status.token;
}

/** The kubeconfig, as JSON (a kubeconfig is YAML, and JSON is YAML). */
function kubeconfig(url: string, pki: TestPki, reconcilerToken: string): Promise<string> {
  const base64 = (path: string) => readFile(path).then((data) => data.toString('base64'));
  return Promise.all([
    base64(pki.ca.cert),
    base64(pki.admin.cert),
    base64(pki.admin.key),
    base64(pki.alice.cert),
    base64(pki.alice.key),
  ]).then(([ca, adminCert, adminKey, aliceCert, aliceKey]) => {
    const cluster = 'nyx-test';
    const context = (name: string, user: string, namespace?: string) => ({
      name,
      context: { cluster, user, ...(namespace ? { namespace } : {}) },
    });
    return `${JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: cluster, cluster: { server: url, 'certificate-authority-data': ca } }],
        users: [
          {
            name: ADMIN_IDENTITY.user,
            user: { 'client-certificate-data': adminCert, 'client-key-data': adminKey },
          },
          {
            name: `system:serviceaccount:${RECONCILER_SERVICE_ACCOUNT.namespace}:${RECONCILER_SERVICE_ACCOUNT.name}`,
            user: { token: reconcilerToken },
          },
          {
            name: ALICE_IDENTITY.user,
            user: { 'client-certificate-data': aliceCert, 'client-key-data': aliceKey },
          },
        ],
        contexts: [
          context(TEST_CONTEXTS.admin, ADMIN_IDENTITY.user),
          context(
            TEST_CONTEXTS.reconciler,
            `system:serviceaccount:${RECONCILER_SERVICE_ACCOUNT.namespace}:${RECONCILER_SERVICE_ACCOUNT.name}`,
            RECONCILER_SERVICE_ACCOUNT.namespace,
          ),
          context(TEST_CONTEXTS.alice, ALICE_IDENTITY.user),
        ],
        'current-context': TEST_CONTEXTS.admin,
      },
      null,
      2,
    )}\n`;
  });
}

/** Compacts etcd to its current revision through etcd's JSON gateway. */
async function compactEtcd(etcdUrl: string): Promise<number> {
  // A range over an absent key answers with the store's current revision in its header.
  const range = await etcdCall(etcdUrl, 'POST', '/v3/kv/range', {
    key: Buffer.from('\0').toString('base64'),
  });
  if (range.status !== 200) throw new Error(`etcd range failed with ${range.status}: ${range.body}`);
  const revision = Number((JSON.parse(range.body) as { header: { revision: string } }).header.revision);
  const compaction = await etcdCall(etcdUrl, 'POST', '/v3/kv/compaction', { revision, physical: true });
  if (compaction.status !== 200)
    throw new Error(`etcd compaction failed with ${compaction.status}: ${compaction.body}`);
  return revision;
}
