// The analysis pool gives the same analysis as `analyzeChange` on this thread, for several changes
// at once and for a window replaced between them, and refuses work once closed.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowWindow, type PolicyFile } from '@nyx/core';
import { readFlowWindow, readInventoryFile, readPolicyTree } from '@nyx/io';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisPool } from './analysis-pool.js';
import { type AnalyzeInput, analyzeChange, ownershipVerdict } from './analyze.js';
import { composeComment, policyCheck } from './comment.js';
import { changedPaths } from './github.js';

const template = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../policy-repo-template');
const examples = join(template, 'examples');
const asBlobs = (files: readonly PolicyFile[]) =>
  files.map((f) => ({ path: f.path, sha: f.content, size: f.content.length }));

const baseFiles = (await readPolicyTree(template)).filter((f) => !f.path.startsWith('examples/'));
const headFiles = await readPolicyTree(join(examples, 'change-head'));
const input: AnalyzeInput = {
  baseFiles,
  headFiles,
  changedFiles: changedPaths(asBlobs(baseFiles), asBlobs(headFiles)),
  inventory: await readInventoryFile(join(examples, 'inventory.json')),
  window: await readFlowWindow(join(examples, 'flows.jsonl')),
};

const pool = new AnalysisPool(2);
afterAll(() => pool.close());

describe('AnalysisPool', () => {
  it('answers as analyzeChange does, for more changes than threads and a window replaced meanwhile', async () => {
    const expected = analyzeChange(input);
    expect(expected.kind === 'ok' && expected.report.summary.newlyDenied).toBeGreaterThan(0);
    const empty = { ...input, window: new FlowWindow() };
    const invalid = {
      ...input,
      headFiles: [...headFiles, { path: 'namespaces/x/bad.yaml', content: 'kind: [' }],
    };
    const answers = await Promise.all([
      pool.analyze(input),
      pool.analyze(empty),
      pool.analyze(input),
      pool.analyze(invalid),
      pool.analyze(input),
    ]);
    for (const i of [0, 2, 4]) expect(answers[i]).toEqual(expected);
    expect(answers[1]).toEqual(analyzeChange(empty));
    expect(answers[3]).toEqual(analyzeChange(invalid));
    expect(answers[3]?.kind).toBe('invalid');
    // The window in use here is still whole (its state was copied, not transferred).
    expect(analyzeChange(input)).toEqual(expected);
  });

  it('renders the comment and the policy check as composeComment and policyCheck do', async () => {
    const analysis = analyzeChange(input);
    const headSha = 'a'.repeat(40);
    const approval = ownershipVerdict({
      analysis,
      reviews: [],
      author: 'dev',
      headSha,
      teamMembers: new Map(),
    });
    const comment = { analysis, approval, headSha, fullReportUrl: 'https://github.com/o/r/pull/1/checks' };
    const policy = { analysis, headSha, conclusionOnNewlyDenied: 'failure' as const };
    expect(await pool.render({ comment, policy })).toEqual({
      comment: composeComment(comment),
      policy: policyCheck(policy),
    });
    expect(await pool.render({ comment })).toEqual({ comment: composeComment(comment) });
  });

  it('refuses changes once closed', async () => {
    const closing = new AnalysisPool(1);
    await closing.close();
    await expect(closing.analyze(input)).rejects.toThrow('closed');
  });
});
