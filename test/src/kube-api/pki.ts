// The test cluster's certificates, made with the openssl CLI the way "Kubernetes the hard way" does:
// a CA, the API server's serving certificate, client certificates for the admin and for `alice`, and
// the service-account signing key. Kept in the state folder, so a restart on the same folder keeps
// the kubeconfig and the service-account tokens valid.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system.js';

const exec = promisify(execFile);

/** A certificate and its key, as file paths. */
export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly ca: CertificatePair;
  readonly serving: CertificatePair;
  /** client certificate of the cluster admin (group `system:masters`) */
  readonly admin: CertificatePair;
  /** client certificate of `alice` (group `ops`), the click-ops user */
  readonly alice: CertificatePair;
  readonly serviceAccountKey: { readonly publicKey: string; readonly privateKey: string };
}

/** Identities of the client certificates: the CN is the user, the O the group. */
export const ADMIN_IDENTITY = { user: 'nyx-admin', group: 'system:masters' } as const;
export const ALICE_IDENTITY = { user: 'alice', group: 'ops' } as const;

const SERVING_NAMES = [
  'IP:127.0.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  // first address of the default --service-cluster-ip-range, the in-cluster `kubernetes` Service
  'IP:10.96.0.1',
];

/** Creates the certificates in `dir` unless they are already there; returns their paths. */
export async function ensureTestPki(dir: string): Promise<TestPki> {
  const pki: TestPki = {
    ca: { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') },
    serving: { cert: join(dir, 'apiserver.crt'), key: join(dir, 'apiserver.key') },
    admin: { cert: join(dir, 'admin.crt'), key: join(dir, 'admin.key') },
    alice: { cert: join(dir, 'alice.crt'), key: join(dir, 'alice.key') },
    serviceAccountKey: { publicKey: join(dir, 'sa.pub'), privateKey: join(dir, 'sa.key') },
  };
  const complete = await Promise.all(
    [pki.ca, pki.serving, pki.admin, pki.alice]
      .flatMap((pair) => [pair.cert, pair.key])
      .concat([pki.serviceAccountKey.publicKey, pki.serviceAccountKey.privateKey])
      .map((path) =>
        access(path).then(
          () => true,
          () => false,
        ),
      ),
  );
  if (complete.every(Boolean)) return pki;

  const openssl = await requireBinary('openssl');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const run = (args: string[]) => exec(openssl, args, { cwd: dir });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  await run([
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    pki.ca.key,
    '-out',
    pki.ca.cert,
    '-days',
    '3650',
    '-sha256',
    '-subj',
    '/CN=nyx-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = async (pair: CertificatePair, subject: string, extensions: string[]): Promise<void> => {
    const csr = `${pair.cert}.csr`;
    const extfile = `${pair.cert}.ext`;
    await run(['req', '-new', ...newKey, '-keyout', pair.key, '-out', csr, '-subj', subject]);
    await writeFile(extfile, `${extensions.join('\n')}\n`);
    await run([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.ca.cert,
      '-CAkey',
      pki.ca.key,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '825',
      '-sha256',
      '-extfile',
      extfile,
      '-out',
      pair.cert,
    ]);
    await rm(csr);
    await rm(extfile);
  };
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  await issue(pki.serving, '/CN=kube-apiserver', [
    ...leaf,
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${SERVING_NAMES.join(',')}`,
  ]);
  await issue(pki.admin, `/O=${ADMIN_IDENTITY.group}/CN=${ADMIN_IDENTITY.user}`, [
    ...leaf,
    'extendedKeyUsage=clientAuth',
  ]);
  await issue(pki.alice, `/O=${ALICE_IDENTITY.group}/CN=${ALICE_IDENTITY.user}`, [
    ...leaf,
    'extendedKeyUsage=clientAuth',
  ]);

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(pki.serviceAccountKey.publicKey, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(pki.serviceAccountKey.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  return pki;
}
