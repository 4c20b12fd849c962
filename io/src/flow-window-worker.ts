// The worker thread behind `readFlowWindowInWorker`: reads one flow file into a window and posts
// back its state (typed arrays, transferred rather than copied), progress every 65,536 records
// with the tuples discovered meanwhile, or the failure.
import { parentPort, workerData } from 'node:worker_threads';
import {
  type EncodedTupleIdentities,
  FlowWindow,
  type FlowWindowState,
  TupleIdentityEncoder,
} from '@nyx/core/flows';
import { InputError } from './errors.js';
import { type FlowFileFormat, readFlowWindow } from './flows.js';

export interface FlowWorkerInput {
  path: string;
  format?: FlowFileFormat;
  displayName?: string;
}

export type FlowWorkerMessage =
  | { kind: 'progress'; records: number; tuples: EncodedTupleIdentities }
  | { kind: 'done'; state: FlowWindowState }
  | { kind: 'invalid'; diagnostics: InputError['diagnostics'] }
  | { kind: 'failed'; message: string };

const PROGRESS_EVERY = 1 << 16;
const input = workerData as FlowWorkerInput;
const port = parentPort!;
const post = (message: FlowWorkerMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

let records = 0;
let posted = 0;
const encoder = new TupleIdentityEncoder();
try {
  const window = new FlowWindow();
  await readFlowWindow(input.path, {
    ...(input.format ? { format: input.format } : {}),
    ...(input.displayName ? { displayName: input.displayName } : {}),
    window,
    onRecord: () => {
      records += 1;
      if (records % PROGRESS_EVERY !== 0) return;
      // The tuples discovered since the last step go along: the caller may evaluate them already.
      const tuples = window.identitiesFrom(posted);
      posted += tuples.length;
      const encoded = encoder.encode(tuples);
      post({ kind: 'progress', records: PROGRESS_EVERY, tuples: encoded }, [encoded.fields.buffer]);
    },
  });
  const state = window.state();
  const { slots, records: keys, arena } = state.index;
  post({ kind: 'done', state }, [slots.buffer, keys.buffer, arena.buffer]);
} catch (error) {
  post(
    error instanceof InputError
      ? { kind: 'invalid', diagnostics: error.diagnostics }
      : { kind: 'failed', message: (error as Error).message },
  );
}
