// The analysis of a change (tree load, impact, lint, ownership) and the rendering of its verdict
// run on worker threads, never on the
// event loop: a PR of thousands of policies against a large flow window computes for seconds, and
// meanwhile the bot must answer webhooks within GitHub's 10 s, /healthz within its 1 s deadline and
// renew its BullMQ job locks (a missed renewal makes the job run twice). GitHub I/O stays on the
// main thread; a thread gets its inputs as data: file texts, the flow window as its state
// (`FlowWindow.state`, the form `@nyx/io`'s flow reader thread posts) and the inventory, each sent
// to a thread once per version. `NYX_ANALYSIS_THREADS` threads (default 1) take one change at a
// time each; more changes wait their turn in order.
import type { Worker } from 'node:worker_threads';
import { moduleBeside, startWorkerThread } from '@nyx/io';
import type {
  AnalysisRequest,
  PolicyCheckInput,
  Rendered,
  ThreadAnswer,
  ThreadRequest,
} from './analysis-thread.js';
import type { Analysis, AnalyzeInput } from './analyze.js';
import type { ComposeCommentInput } from './comment.js';
import { ObjectNumbers } from './object-numbers.js';

type Task =
  | { kind: 'analyze'; input: AnalyzeInput; resolve(analysis: Analysis): void; reject(error: Error): void }
  | {
      kind: 'render';
      input: { comment: ComposeCommentInput; policy?: PolicyCheckInput };
      resolve(rendered: Rendered): void;
      reject(error: Error): void;
    };

interface Slot {
  worker: Worker;
  task?: Task;
  /** Exited or failed; waiting for its replacement. */
  dead?: boolean;
  /** The window and inventory numbers this thread holds. */
  window?: number;
  inventory?: number;
}

export class AnalysisPool {
  readonly #slots: Slot[] = [];
  readonly #waiting: Task[] = [];
  readonly #numbers = new ObjectNumbers();
  #ids = 0;
  #closed = false;
  /** Threads that died in a row without answering: each replacement waits longer (up to 30 s). */
  #failures = 0;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.#slots.push(this.#start());
  }

  /** `analyzeChange(input)` on a thread of the pool. */
  analyze(input: AnalyzeInput): Promise<Analysis> {
    if (this.#closed) return Promise.reject(new Error('the analysis pool is closed'));
    return new Promise<Analysis>((resolve, reject) => {
      this.#waiting.push({ kind: 'analyze', input, resolve, reject });
      this.#dispatch();
    });
  }

  /** The sticky comment (`composeComment`) and, when given its input, the `nyx/policy` check run. */
  render(input: { comment: ComposeCommentInput; policy?: PolicyCheckInput }): Promise<Rendered> {
    if (this.#closed) return Promise.reject(new Error('the analysis pool is closed'));
    return new Promise<Rendered>((resolve, reject) => {
      this.#waiting.push({ kind: 'render', input, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the threads; changes still waiting or running are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error('the analysis pool is closed');
    for (const t of this.#waiting.splice(0)) t.reject(error);
    await Promise.all(
      this.#slots.map(async (slot) => {
        slot.task?.reject(error);
        slot.task = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  #start(): Slot {
    const slot: Slot = { worker: startWorkerThread(moduleBeside(import.meta.url, 'analysis-thread')) };
    slot.worker.on('message', (answer: ThreadAnswer) => {
      const task = slot.task;
      slot.task = undefined;
      this.#failures = 0;
      if (task) {
        if (answer.ok) task.resolve(answer.value as Analysis & Rendered);
        else task.reject(new Error(`analysis thread: ${answer.message}`));
      }
      this.#dispatch();
    });
    // A thread that dies (out of memory, a crash) fails its change (the job is retried) and is
    // replaced; one that keeps dying before it answers (a broken install) is replaced ever more
    // slowly instead of in a tight loop.
    const replace = (error: Error): void => {
      if (this.#closed || slot.dead) return;
      slot.dead = true;
      slot.task?.reject(error);
      slot.task = undefined;
      void slot.worker.terminate();
      const delay = this.#failures === 0 ? 0 : Math.min(100 * 2 ** this.#failures, 30_000);
      this.#failures += 1;
      setTimeout(() => {
        const index = this.#slots.indexOf(slot);
        if (this.#closed || index < 0) return;
        this.#slots[index] = this.#start();
        this.#dispatch();
      }, delay).unref();
    };
    slot.worker.on('error', replace);
    slot.worker.on('exit', (code) => replace(new Error(`the analysis thread exited (code ${code})`)));
    // An idle pool does not keep the process alive.
    slot.worker.unref();
    return slot;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.task || slot.dead) continue;
      const task = this.#waiting.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.ref();
      const request =
        task.kind === 'render'
          ? { kind: 'render' as const, id: ++this.#ids, ...task.input }
          : this.#analysisRequest(slot, task.input);
      try {
        slot.worker.postMessage(request satisfies ThreadRequest);
      } catch (error) {
        slot.task = undefined;
        task.reject(error as Error);
        continue;
      }
      if (request.kind === 'analyze') {
        slot.window = request.window.number;
        slot.inventory = request.inventory.number;
      }
    }
    for (const slot of this.#slots) if (!slot.task && !slot.dead) slot.worker.unref();
  }

  /** The window and inventory go along only when the slot's thread does not hold them yet. */
  #analysisRequest(slot: Slot, input: AnalyzeInput): AnalysisRequest {
    const window = this.#numbers.of(input.window);
    const inventory = this.#numbers.of(input.inventory);
    return {
      kind: 'analyze',
      id: ++this.#ids,
      baseFiles: input.baseFiles,
      headFiles: input.headFiles,
      changedFiles: input.changedFiles,
      // Copied, not transferred: the window stays in use on this thread for later jobs.
      window: slot.window === window ? { number: window } : { number: window, state: input.window.state() },
      inventory:
        slot.inventory === inventory ? { number: inventory } : { number: inventory, value: input.inventory },
    };
  }
}
