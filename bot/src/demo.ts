// `npm run demo`: prints exactly the comment the bot would post for the template's example change
// (base `policy-repo-template`, head `policy-repo-template/examples/change-head`, inventory and
// flows from `policy-repo-template/examples/`), for a made-up author with no reviews yet. No
// GitHub, no Redis: the same composition function as the worker, fed from disk.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyFile } from '@nyx/core';
import { readFlowWindow, readInventoryFile, readPolicyTree } from '@nyx/io';
import { analyzeChange, ownershipVerdict } from './analyze.js';
import { composeComment } from './comment.js';
import { changedPaths } from './github.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const template = join(repoRoot, 'policy-repo-template');
const examples = join(template, 'examples');

/** The template minus its `examples/` folder (which holds the head and the sample data). */
function withoutExamples(files: PolicyFile[]): PolicyFile[] {
  return files.filter((f) => !f.path.startsWith('examples/'));
}

/** A stand-in for blob shas: the content itself identifies a revision of a file. */
function asBlobs(files: readonly PolicyFile[]): Array<{ path: string; sha: string; size: number }> {
  return files.map((f) => ({ path: f.path, sha: f.content, size: f.content.length }));
}

const baseFiles = withoutExamples(await readPolicyTree(template));
const headFiles = await readPolicyTree(join(examples, 'change-head'));
const inventory = await readInventoryFile(join(examples, 'inventory.json'));
const window = await readFlowWindow(join(examples, 'flows.jsonl'));

const analysis = analyzeChange({
  baseFiles,
  headFiles,
  changedFiles: changedPaths(asBlobs(baseFiles), asBlobs(headFiles)),
  inventory,
  window,
});
const headSha = '0000000000000000000000000000000000000000';
const approval = ownershipVerdict({
  analysis,
  reviews: [],
  author: 'demo-author',
  headSha,
  teamMembers: new Map(),
});
process.stdout.write(`${composeComment({ analysis, approval, headSha })}\n`);
