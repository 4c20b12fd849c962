// `nyxctl flows annotate` and `nyxctl flows export`: helpers around the flow format of SPEC
// section 7 and its identity fields ("Flow endpoints outlive their pods").
//
// annotate: writes the workload and labels of every pod end, from the inventory of the window's
//   time, into each record, so that the window can be replayed after a rollout has renamed its pods.
//   Two passes (check, then write), so that invalid input leaves stdout empty, as `verdicts` does.
// export: prints what the agents wrote to the Redis flow store (identity fields included) as flow
//   lines, oldest hour first.
import { annotateFlowRecord, type Diagnostic, formatDiagnostic, formatFlowLine } from '@nyx/core';
import {
  readFlowFile,
  readFlowRecordsFromRedis,
  readWouldDenyFromRedis,
  type WouldDenyRecord,
} from '@nyx/io';
import { Redis } from 'ioredis';
import { EXIT_INVALID, EXIT_OK, UsageError } from '../errors.js';
import { requireFile } from '../flows.js';
import { loadInventory } from '../inputs.js';
import { parseFlowFormat } from '../options.js';
import type { CommandIo } from '../output.js';
import { startProgress } from '../progress.js';

export interface FlowsAnnotateOptions {
  inventory: string;
  flows: string;
  flowFormat?: string;
}

export async function runFlowsAnnotate(options: FlowsAnnotateOptions, io: CommandIo): Promise<number> {
  const format = parseFlowFormat(options.flowFormat);
  await requireFile(options.flows, 'flow file');
  const inventory = await loadInventory(options.inventory);
  const errors: Diagnostic[] = inventory.ok ? [] : [...inventory.errors];
  const check = startProgress(io, 'checking flows');
  for await (const _ of readFlowFile(options.flows, {
    ...(format ? { format } : {}),
    onError: (d) => errors.push(d),
  }))
    check.tick();
  check.done();
  if (errors.length > 0 || !inventory.ok) {
    for (const d of errors) await io.err.write(`${formatDiagnostic(d)}\n`);
    return EXIT_INVALID;
  }
  const counts = { records: 0, annotated: 0, named: 0, unknown: 0 };
  const write = startProgress(io, 'annotating flows');
  for await (const { record } of readFlowFile(options.flows, format ? { format } : {})) {
    write.tick();
    const result = annotateFlowRecord(inventory.inventory, record);
    counts.records += 1;
    for (const end of [result.src, result.dst]) {
      if (end === 'annotated') counts.annotated += 1;
      else if (end === 'named') counts.named += 1;
      else if (end === 'unknown-pod') counts.unknown += 1;
    }
    await io.out.write(`${formatFlowLine(result.record)}\n`);
  }
  write.done();
  await io.err.write(
    `flows annotate: ${counts.records} records; ${counts.annotated + counts.named} pod ends annotated` +
      (counts.named > 0 ? ` (${counts.named} given as a pod IP, written as <namespace>/<pod>)` : '') +
      (counts.unknown > 0 ? `; ${counts.unknown} pod ends not in the inventory, left as they were` : '') +
      '\n',
  );
  return EXIT_OK;
}

export interface FlowsExportOptions {
  /** How many hourly buckets, ending with the current hour (default: the store's 8-day retention). */
  hours?: string;
  /**
   * Print the would-deny findings the agents' kernels recorded instead of the flows: flow lines
   * with `wouldDeny` (the deciding as-if-enforced reason) and `node` (the observing agent).
   */
  wouldDeny?: boolean;
}

/** The store's retention (`DEFAULT_FLOW_TTL_SECONDS`): every bucket that can still exist. */
const DEFAULT_EXPORT_HOURS = 8 * 24;

/** A would-deny finding as a flow line (valid SPEC section 7) with its reason and node appended. */
function formatWouldDenyLine(record: WouldDenyRecord): string {
  const line = formatFlowLine(record);
  const node = record.node !== undefined ? `,"node":${JSON.stringify(record.node)}` : '';
  return `${line.slice(0, -1)},"wouldDeny":${JSON.stringify(record.wouldDeny)}${node}}`;
}

/** `redis://user:secret@host:6379/0` as `redis://host:6379/0`, for messages. */
function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

export async function runFlowsExport(
  options: FlowsExportOptions,
  io: CommandIo,
  settings: { redisUrl: string },
): Promise<number> {
  const hours = options.hours === undefined ? DEFAULT_EXPORT_HOURS : Number(options.hours);
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 366)
    throw new UsageError(`--hours ${options.hours}: expected a whole number of hours from 1 to 8784`);
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported through the failed command below
  try {
    await redis.connect().catch((error: Error) => {
      throw new Error(
        `cannot reach the flow store at ${maskedUrl(settings.redisUrl)} (REDIS_URL): ${error.message}`,
      );
    });
    let records = 0;
    let skipped = 0;
    const onSkip = () => skipped++;
    if (options.wouldDeny) {
      for await (const record of readWouldDenyFromRedis(redis, { hours, onSkip })) {
        records += 1;
        await io.out.write(`${formatWouldDenyLine(record)}\n`);
      }
    } else {
      for await (const record of readFlowRecordsFromRedis(redis, { hours, onSkip })) {
        records += 1;
        await io.out.write(`${formatFlowLine(record)}\n`);
      }
    }
    const what = options.wouldDeny ? 'would-deny findings observed by the agents' : 'records';
    await io.err.write(
      `flows export: ${records} ${what} from the last ${hours} hours of ${maskedUrl(settings.redisUrl)}` +
        (skipped > 0 ? `; ${skipped} malformed entries skipped` : '') +
        '\n',
    );
    return EXIT_OK;
  } finally {
    redis.disconnect();
  }
}
