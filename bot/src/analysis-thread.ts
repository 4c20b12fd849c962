// A thread of the analysis pool (`analysis-pool.ts`): loads, evaluates and judges ownership of one
// change at a time (`analyzeChange`, pure and CPU-heavy), and renders a verdict's comment and policy
// check, so that the bot's event loop keeps answering webhooks, /healthz and BullMQ's lock
// renewals meanwhile. The flow window and the
// inventory arrive once per version (by number) and are kept until a newer one replaces them.
import { parentPort } from 'node:worker_threads';
import { FlowWindow, type FlowWindowState, type Inventory, type PolicyFile } from '@nyx/core';
import { type Analysis, analyzeChange } from './analyze.js';
import { type ComposeCommentInput, composeComment, policyCheck } from './comment.js';
import type { CheckRunInput } from './github.js';

export type PolicyCheckInput = Parameters<typeof policyCheck>[0];

/** What `render` gives back: the sticky comment's body and, when asked, the `nyx/policy` check run. */
export interface Rendered {
  comment: string;
  policy?: CheckRunInput;
}

export type ThreadRequest = AnalysisRequest | RenderRequest;

export interface RenderRequest {
  kind: 'render';
  id: number;
  comment: ComposeCommentInput;
  policy?: PolicyCheckInput;
}

export interface AnalysisRequest {
  kind: 'analyze';
  id: number;
  baseFiles: readonly PolicyFile[];
  headFiles: readonly PolicyFile[];
  changedFiles: readonly string[];
  /** The window's number, with its state when this thread has not been sent that number yet. */
  window: { number: number; state?: FlowWindowState };
  inventory: { number: number; value?: Inventory };
}

export type ThreadAnswer =
  | { id: number; ok: true; value: Analysis | Rendered }
  | { id: number; ok: false; message: string };

const port = parentPort!;
let window: { number: number; value: FlowWindow } | undefined;
let inventory: { number: number; value: Inventory } | undefined;

function render(request: RenderRequest): Rendered {
  return {
    comment: composeComment(request.comment),
    ...(request.policy ? { policy: policyCheck(request.policy) } : {}),
  };
}

function analyze(request: AnalysisRequest): Analysis {
  if (request.window.state)
    window = { number: request.window.number, value: FlowWindow.fromState(request.window.state) };
  if (request.inventory.value)
    inventory = { number: request.inventory.number, value: request.inventory.value };
  if (window?.number !== request.window.number || inventory?.number !== request.inventory.number)
    throw new Error('the analysis thread was not sent the flow window or inventory of this request');
  return analyzeChange({
    baseFiles: request.baseFiles,
    headFiles: request.headFiles,
    changedFiles: request.changedFiles,
    window: window.value,
    inventory: inventory.value,
  });
}

port.on('message', (request: ThreadRequest) => {
  let answer: ThreadAnswer;
  try {
    answer = {
      id: request.id,
      ok: true,
      value: request.kind === 'render' ? render(request) : analyze(request),
    };
  } catch (error) {
    answer = { id: request.id, ok: false, message: (error as Error).stack ?? String(error) };
  }
  port.postMessage(answer);
});
