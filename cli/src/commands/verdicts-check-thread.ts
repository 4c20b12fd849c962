// The worker thread behind `checkFlowsInWorker`: pass 1 of `nyxctl verdicts` over one flow file,
// tuples numbered but not resolved (the command's thread resolves them), its steps posted as they
// come, then what it found (buffers transferred, not copied). Loads only the flow half of the engine.
import { parentPort, workerData } from 'node:worker_threads';
import { TupleIdentityEncoder } from '@nyx/core/flows';
import { checkFlows, type FlowCheckInput, type FlowCheckMessage, TupleTable } from './verdicts-check.js';

const input = workerData as FlowCheckInput;
const port = parentPort!;
const post = (message: FlowCheckMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

try {
  const encoder = new TupleIdentityEncoder();
  const check = await checkFlows(input, new TupleTable(), (step) => {
    const tuples = encoder.encode(step.tuples);
    post({ kind: 'step', step: { ...step, tuples } }, [tuples.fields.buffer]);
  });
  const { lines, index } = check;
  post({ kind: 'done', check }, [
    lines.ids.buffer,
    index.slots.buffer,
    index.records.buffer,
    index.arena.buffer,
  ]);
} catch (error) {
  post({ kind: 'failed', message: (error as Error).message });
}
