// How tests start a workspace package's entry point as its own process: from its TypeScript sources
// through tsx, with the workspace packages resolved to their sources (the `source` export
// condition), so a test never runs stale built output and needs no build step.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Node's arguments that run the TypeScript file `entry` (an absolute path), before its own arguments. */
export function sourceProcessArgs(entry: string): string[] {
  return ['--conditions=source', '--import', TSX_LOADER, entry];
}
