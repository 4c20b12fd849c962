#!/usr/bin/env node
// Assembles the runnable app of the container images (the Dockerfile's build stage runs it, and
// test/e2e/image-build.test.ts runs it the same way): the packed workspace packages (`npm pack`, so
// exactly the files a user installs: package.json, dist/, bin/), unpacked in the workspace layout,
// plus their production dependencies copied from this checkout's node_modules, which `npm ci`
// installed from package-lock.json: the image runs the locked versions and nothing of the sources,
// tests or dev tools.
//
//   node deploy/assemble-app.mjs OUT_DIR
//
// Run after `npm ci` (`--ignore-scripts` is fine: this builds dist/ itself). Needs no network.
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

/** The workspaces the images run, in build order. The reconciler and agent join when they have a build. */
export const APP_WORKSPACES = ['core', 'io', 'reconciler', 'cli', 'bot', 'agent'];

const ROOT = resolve(import.meta.dirname, '..');

function npm(args) {
  return execFileSync('npm', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * Builds `workspaces` (in order: each needs the output of those before it) and packs them into
 * `dir`; returns workspace → tarball path.
 */
export function packWorkspaces(workspaces, dir) {
  const selected = workspaces.flatMap((w) => ['-w', w]);
  npm(['run', 'build', ...selected]);
  const packed = JSON.parse(
    npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir, ...selected]),
  );
  return new Map(workspaces.map((w, i) => [w, join(dir, packed[i].filename)]));
}

/**
 * The installed production dependencies of `workspaces`, as paths relative to the checkout
 * (`node_modules/ajv`, `node_modules/a/node_modules/b`), the workspaces' own links excluded.
 */
export function productionDependencies(workspaces) {
  const paths = npm(['ls', '--omit=dev', '--all', '--parseable', ...workspaces.flatMap((w) => ['-w', w])])
    .split('\n')
    .filter((p) => p.startsWith(join(ROOT, 'node_modules')));
  return [...new Set(paths)]
    .map((p) => relative(ROOT, p))
    .filter((p) => !lstatSync(join(ROOT, p)).isSymbolicLink());
}

function assemble(out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const packs = mkdtempSync(join(tmpdir(), 'nyx-packs-'));
  try {
    for (const [workspace, tarball] of packWorkspaces(APP_WORKSPACES, packs)) {
      mkdirSync(join(out, workspace));
      execFileSync('tar', ['-xzf', tarball, '-C', join(out, workspace), '--strip-components=1']);
      // The workspace link npm makes: node_modules/@nyx/cli → ../../cli.
      const link = join(ROOT, 'node_modules/@nyx', workspace);
      mkdirSync(dirname(join(out, relative(ROOT, link))), { recursive: true });
      symlinkSync(readlinkSync(link), join(out, relative(ROOT, link)));
    }
  } finally {
    rmSync(packs, { recursive: true, force: true });
  }
  for (const path of productionDependencies(APP_WORKSPACES)) {
    // Nested node_modules are listed on their own: copy each package without its nested ones.
    cpSync(join(ROOT, path), join(out, path), {
      recursive: true,
      filter: (source) => !relative(join(ROOT, path), source).startsWith('node_modules'),
    });
  }
  cpSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(out, 'package-lock.json'));
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node deploy/assemble-app.mjs OUT_DIR\n');
    process.exit(2);
  }
  assemble(resolve(out));
}
