import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatorsModule } from '../../deploy/validators-module.js';
import {
  crdFiles,
  crdManifests,
  policySchemas,
  UPSTREAM_KINDS,
  type UpstreamKind,
  upstreamCrdSchemas,
  upstreamCrdsModule,
  upstreamManifestSchema,
} from './schemas/index.js';

const ROOT = join(import.meta.dirname, '../..');

describe('generated CRDs', () => {
  it('deploy/crds/ matches the schemas (run `npm run gen:crds` when this fails)', () => {
    const files = crdFiles();
    const committed = readdirSync(join(ROOT, 'deploy/crds'))
      .filter((n) => n.endsWith('.yaml'))
      .sort();
    expect(committed).toEqual(files.map((f) => f.path.replace('deploy/crds/', '')).sort());
    for (const f of files) {
      expect(readFileSync(join(ROOT, f.path), 'utf8'), `${f.path} is stale; run npm run gen:crds`).toBe(
        f.content,
      );
    }
  });

  it('builds structural CRDs in nyx.tracenyx.io/v1alpha1 with scopes, short names and columns', () => {
    const crds = crdManifests() as Array<{ metadata: { name: string }; spec: Record<string, unknown> }>;
    expect(
      crds.map((c) => [c.metadata.name, c.spec.scope, (c.spec.names as { shortNames: string[] }).shortNames]),
    ).toEqual([
      ['nyxclusterconfigs.nyx.tracenyx.io', 'Cluster', ['ncc']],
      ['nyxclusternetworkpolicies.nyx.tracenyx.io', 'Cluster', ['ncnp']],
      ['nyxnetworkpolicies.nyx.tracenyx.io', 'Namespaced', ['nnp']],
    ]);
    const text = JSON.stringify(crds);
    // Structural schemas: no additionalProperties:false beside properties, no union types, no $ref.
    expect(text).not.toContain('"additionalProperties":false');
    expect(text).not.toContain('$ref');
    expect(text).not.toMatch(/"type":\[/);
    expect(text).toContain('"x-kubernetes-int-or-string":true');
    const cnp = crds[1]!.spec.versions as Array<{
      name: string;
      additionalPrinterColumns: Array<{ jsonPath: string }>;
    }>;
    expect(cnp[0]!.name).toBe('v1alpha1');
    expect(cnp[0]!.additionalPrinterColumns.map((c) => c.jsonPath)).toEqual([
      '.spec.tier',
      '.spec.priority',
      '.spec.enforcement',
      '.metadata.creationTimestamp',
    ]);
    // Every CRD file parses back to the same manifest.
    for (const [i, f] of crdFiles().entries()) expect(parse(f.content)).toEqual(crds[i]);
  });

  it('every schema compiles under ajv strict mode', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    for (const schema of Object.values(policySchemas)) expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('the upstream CRDs of deploy/upstream-crds/ are what upstream-crds.generated.ts holds (npm run gen:crds)', () => {
    const dir = join(ROOT, 'deploy/upstream-crds');
    const crds = readdirSync(dir)
      .filter((n) => n.endsWith('.yaml'))
      .sort()
      .map((n) => parse(readFileSync(join(dir, n), 'utf8')));
    expect(
      crds.map((c) => [c.spec.names.kind, c.spec.versions.map((v: { name: string }) => v.name)]),
    ).toEqual([
      ['AdminNetworkPolicy', ['v1alpha1']],
      ['BaselineAdminNetworkPolicy', ['v1alpha1']],
      ['ClusterNetworkPolicy', ['v1alpha2']],
    ]);
    expect(readFileSync(join(ROOT, 'core/src/schemas/upstream-crds.generated.ts'), 'utf8')).toBe(
      upstreamCrdsModule(upstreamCrdSchemas(crds)),
    );
    // the fetch script pins the version and checksum that deploy/upstream-crds/README.md records
    const script = readFileSync(join(dir, 'fetch.sh'), 'utf8');
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const pin of script.matchAll(/^fetch (v\S+) '(h1:[^']+)'/gm)) {
      expect(readme).toContain(pin[1]);
      expect(readme).toContain(pin[2]);
    }
  });

  it('the validators compiled ahead of time are those of the schemas (npm run gen:crds)', () => {
    expect(readFileSync(join(ROOT, 'core/src/schemas/validators.generated.ts'), 'utf8')).toBe(
      validatorsModule(),
    );
  });

  it('the upstream schemas compile under ajv strict mode and refuse unknown fields', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    for (const kind of Object.keys(UPSTREAM_KINDS) as UpstreamKind[]) {
      const validate = ajv.compile(upstreamManifestSchema(kind));
      const base = {
        apiVersion: UPSTREAM_KINDS[kind],
        kind,
        metadata: { name: 'default' },
        spec: {
          subject: { namespaces: {} },
          ...(kind === 'BaselineAdminNetworkPolicy' ? {} : { priority: 1 }),
        },
      };
      const spec = kind === 'ClusterNetworkPolicy' ? { ...base.spec, tier: 'Admin' } : base.spec;
      expect(validate({ ...base, spec }), JSON.stringify(validate.errors)).toBe(true);
      expect(validate({ ...base, spec: { ...spec, extra: 1 } })).toBe(false);
    }
  });
});
