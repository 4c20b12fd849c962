// Writes the CustomResourceDefinitions derived from core/src/schemas to deploy/crds/.
// Run with `npm run gen:crds`; `core/src/crds.test.ts` fails when the committed files are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFiles } from '../core/src/schemas/index.js';

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
