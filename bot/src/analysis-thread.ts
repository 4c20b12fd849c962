// A thread of the analysis pool (`analysis-pool.ts`): loads, evaluates and judges ownership of one
// change at a time (`analyzeChange`, pure and CPU-heavy) so that the bot's event loop keeps
// answering webhooks, /healthz and BullMQ's lock renewals meanwhile. The flow window and the
// inventory arrive once per version (by number) and are kept until a newer one replaces them.
import { parentPort } from 'node:worker_threads';
import { FlowWindow, type FlowWindowState, type Inventory, type PolicyFile } from '@nyx/core';
import { type Analysis, analyzeChange } from './analyze.js';

export interface AnalysisRequest {
  id: number;
  baseFiles: readonly PolicyFile[];
  headFiles: readonly PolicyFile[];
  changedFiles: readonly string[];
  /** The window's number, with its state when this thread has not been sent that number yet. */
  window: { number: number; state?: FlowWindowState };
  inventory: { number: number; value?: Inventory };
}

export type AnalysisAnswer =
  | { id: number; ok: true; analysis: Analysis }
  | { id: number; ok: false; message: string };

const port = parentPort!;
let window: { number: number; value: FlowWindow } | undefined;
let inventory: { number: number; value: Inventory } | undefined;

port.on('message', (request: AnalysisRequest) => {
  let answer: AnalysisAnswer;
  try {
    if (request.window.state)
      window = { number: request.window.number, value: FlowWindow.fromState(request.window.state) };
    if (request.inventory.value)
      inventory = { number: request.inventory.number, value: request.inventory.value };
    if (window?.number !== request.window.number || inventory?.number !== request.inventory.number)
      throw new Error('the analysis thread was not sent the flow window or inventory of this request');
    const analysis = analyzeChange({
      baseFiles: request.baseFiles,
      headFiles: request.headFiles,
      changedFiles: request.changedFiles,
      window: window.value,
      inventory: inventory.value,
    });
    answer = { id: request.id, ok: true, analysis };
  } catch (error) {
    answer = { id: request.id, ok: false, message: (error as Error).stack ?? String(error) };
  }
  port.postMessage(answer);
});
