// The worker thread behind `checkFlowsInWorker`: pass 1 of `nyxctl verdicts` over one flow file,
// its steps posted as they come, then what it found (buffers transferred, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '@nyx/io';
import { loadInventory } from '../inputs.js';
import { checkFlows, type FlowCheckInput, type FlowCheckMessage } from './verdicts-check.js';

const input = workerData as FlowCheckInput;
const port = parentPort!;
const post = (message: FlowCheckMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

try {
  // The command's thread loads the same file and reports its problems; here it is only used.
  const inventory = input.inventory ? await loadInventory(input.inventory) : undefined;
  const check = await checkFlows(
    { ...input, ...(inventory?.ok ? { inventory: inventory.inventory } : { inventory: undefined }) },
    (step) => post({ kind: 'step', step }),
  );
  const transfer: ArrayBuffer[] = [check.lines.ids.buffer];
  if (check.index)
    transfer.push(check.index.slots.buffer, check.index.records.buffer, check.index.arena.buffer);
  post({ kind: 'done', check }, transfer);
} catch (error) {
  post(
    error instanceof InputError
      ? { kind: 'stopped', diagnostics: error.diagnostics }
      : { kind: 'failed', message: (error as Error).message },
  );
}
