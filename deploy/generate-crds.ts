// Writes the CustomResourceDefinitions derived from core/src/schemas to deploy/crds/, and the
// description-free schemas of the upstream CRDs in deploy/upstream-crds/ to
// core/src/schemas/upstream-crds.generated.ts, and the kinds' validators compiled ahead of time to
// core/src/schemas/validators.generated.ts (deploy/validators-module.ts). Run with `npm run gen:crds`; `core/src/crds.test.ts`
// fails when the committed files are stale.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { crdFiles, upstreamCrdSchemas, upstreamCrdsModule } from '../core/src/schemas/index.js';
import { validatorsModule } from './validators-module.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'deploy/crds');
mkdirSync(dir, { recursive: true });
const files = crdFiles();
const keep = new Set(files.map((f) => f.path.split('/').pop()));
for (const name of readdirSync(dir)) {
  if (name.endsWith('.yaml') && !keep.has(name)) rmSync(join(dir, name));
}
for (const f of files) {
  writeFileSync(join(root, f.path), f.content);
  console.log(`wrote ${f.path}`);
}

const upstreamDir = join(root, 'deploy/upstream-crds');
const upstream = readdirSync(upstreamDir)
  .filter((n) => n.endsWith('.yaml'))
  .sort()
  .map((n) => parse(readFileSync(join(upstreamDir, n), 'utf8')));
const generated = 'core/src/schemas/upstream-crds.generated.ts';
writeFileSync(join(root, generated), upstreamCrdsModule(upstreamCrdSchemas(upstream)));
console.log(`wrote ${generated}`);

const validatorsFile = 'core/src/schemas/validators.generated.ts';
writeFileSync(join(root, validatorsFile), validatorsModule());
console.log(`wrote ${validatorsFile}`);
