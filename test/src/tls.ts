// A self-signed TLS server certificate for the test world's HTTPS stand-in, made with the openssl
// CLI (which `.ci/run` installs): the certificate is its own trust anchor, handed to clients as `ca`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './system.js';

const exec = promisify(execFile);

/** PEM texts of a certificate and its key. */
export interface TlsIdentity {
  cert: string;
  key: string;
}

/** A P-256 certificate for `names` (DNS subjectAltNames), valid for a day. */
export async function selfSignedCertificate(names: readonly string[]): Promise<TlsIdentity> {
  const openssl = await requireBinary('openssl');
  const dir = await mkdtemp(join(tmpdir(), 'nyx-tls-'));
  try {
    await exec(openssl, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      `/CN=${names[0] ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ]);
    return {
      cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
      key: await readFile(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
