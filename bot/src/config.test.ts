import { testAppPrivateKey } from '@nyx/test';
import { describe, expect, it } from 'vitest';
import { parseCommand } from './app.js';
import { describeConfig, loadConfig } from './config.js';
import { jobId } from './jobs.js';
import { parseRepoConfig } from './repo-config.js';

const KEY = testAppPrivateKey();
const base = {
  APP_ID: '12',
  PRIVATE_KEY: KEY,
  WEBHOOK_SECRET: 's3cret',
  REDIS_URL: 'redis://:pw@127.0.0.1:6379',
};

describe('loadConfig', () => {
  it('reports every missing required setting at once', () => {
    const r = loadConfig({});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toMatch(/APP_ID is required/);
    expect(r.errors.join('\n')).toMatch(/PRIVATE_KEY or PRIVATE_KEY_PATH is required/);
    expect(r.errors.join('\n')).toMatch(/WEBHOOK_SECRET is required/);
    expect(r.errors.join('\n')).toMatch(/REDIS_URL is required/);
  });

  it('refuses malformed values, naming what was expected', () => {
    const r = loadConfig({
      ...base,
      APP_ID: 'abc',
      PORT: '70000',
      REDIS_URL: 'http://x',
      NYX_CONCURRENCY: '0',
      NYX_ANALYSIS_THREADS: 'all',
      GHE_PROTOCOL: 'ftp',
      GHE_HOST: 'ghe.local',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'APP_ID=abc: expected a positive integer',
        'PORT=70000: expected an integer between 0 and 65535',
        'NYX_CONCURRENCY=0: expected an integer between 1 and 256',
        'NYX_ANALYSIS_THREADS=all: expected an integer between 1 and 64',
        'GHE_PROTOCOL=ftp: expected http or https',
      ]),
    );
  });

  it('builds the GHE API URL, reads the key from PRIVATE_KEY_PATH and masks secrets when printed', () => {
    const r = loadConfig(
      {
        APP_ID: '12',
        PRIVATE_KEY_PATH: '/keys/app.pem',
        WEBHOOK_SECRET: 's3cret',
        REDIS_URL: 'redis://:pw@127.0.0.1:6379',
        GHE_HOST: '127.0.0.1:8080',
        GHE_PROTOCOL: 'http',
        NYX_FLOWS: 'hubble:/data/hubble.jsonl',
        NYX_INVENTORY: '/data/inv.json',
      },
      (path) => (path === '/keys/app.pem' ? KEY : ''),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.baseUrl).toBe('http://127.0.0.1:8080/api/v3');
    expect(r.config.flows).toEqual({ kind: 'file', path: '/data/hubble.jsonl', format: 'hubble' });
    expect(r.config.inventory).toEqual({ kind: 'file', path: '/data/inv.json' });
    const printed = describeConfig(r.config).join('\n');
    expect(printed).not.toContain('s3cret');
    expect(printed).not.toContain(KEY.split('\n')[1] ?? 'unreachable');
    expect(printed).not.toContain(':pw@');
    expect(printed).toContain('REDIS_URL=redis://***@127.0.0.1:6379');
  });

  it('refuses a PEM key that does not parse, at start', () => {
    const r = loadConfig({
      ...base,
      PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----\n',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toMatch(/^PRIVATE_KEY: not a usable private key/m);
    expect(r.errors.join('\n')).not.toContain('MIIabc');
  });

  it('masks credentials and query values of a flow URL', () => {
    const r = loadConfig({
      ...base,
      NYX_FLOWS: 'https://nyx:hunter2@flows.example/window?token=abc123&h=24',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const printed = describeConfig(r.config).join('\n');
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain('abc123');
    expect(printed).toContain('NYX_FLOWS=https://***@flows.example/window?token=***&h=***');
  });

  it('defaults: flows and inventory from Redis, worker on, concurrency 4', () => {
    const r = loadConfig(base);
    expect(r.ok && r.config).toMatchObject({
      flows: { kind: 'redis' },
      inventory: { kind: 'redis' },
      worker: true,
      concurrency: 4,
      port: 3000,
    });
  });
});

describe('repo config (.github/nyx.yml)', () => {
  it('defaults when absent; parses the settings; refuses unknown keys at their line', () => {
    expect(parseRepoConfig(undefined)).toMatchObject({
      ok: true,
      config: { policyRoot: '', conclusionOnNewlyDenied: 'neutral', windowHours: 168 },
    });
    expect(
      parseRepoConfig('policyRoot: /policies/\nconclusionOnNewlyDenied: failure\nwindow: 3d\n'),
    ).toMatchObject({
      ok: true,
      config: { policyRoot: 'policies', conclusionOnNewlyDenied: 'failure', windowHours: 72 },
    });
    const bad = parseRepoConfig('window: 3d\nconclusion: fail\npolicyRoot: ../x\n');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => `${e.file}:${e.line}`)).toEqual(['.github/nyx.yml:2', '.github/nyx.yml:3']);
  });
});

describe('commands and job ids', () => {
  it('parses /nyx rerun and /nyx explain', () => {
    expect(parseCommand('please\n/nyx rerun')).toEqual({ command: 'rerun' });
    expect(parseCommand('/nyx explain shop/web-1 db/pg-0 5432')).toEqual({
      command: 'explain',
      src: 'shop/web-1',
      dst: 'db/pg-0',
      port: 5432,
      protocol: 'TCP',
    });
    expect(parseCommand('/nyx explain a b 53/udp')).toMatchObject({ port: 53, protocol: 'UDP' });
    expect(parseCommand('/nyx explain a b')).toMatchObject({ command: 'invalid' });
    expect(parseCommand('/nyx explain `@all` b 80')).toMatchObject({ command: 'invalid' });
    expect(parseCommand('lgtm')).toBeUndefined();
  });

  it('keys analysis jobs by repository, PR and head SHA', () => {
    const common = { owner: 'acme', repo: 'policy', installationId: 1, deliveryId: 'd1', trigger: 't' };
    expect(jobId({ ...common, kind: 'analyze', pr: 7, headSha: 'abc' })).toBe('acme/policy#7@abc');
    expect(jobId({ ...common, kind: 'analyze', pr: 7, headSha: 'abc', variant: 'review-d1' })).toBe(
      'acme/policy#7@abc~review-d1',
    );
    expect(jobId({ ...common, kind: 'refresh', baseRef: 'main', baseSha: 'f' })).toBe('acme/policy~push-d1');
  });
});
