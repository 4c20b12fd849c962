// The job queue (BullMQ on Redis). The webhook handler only verifies (Probot), records and
// enqueues; the worker does the work. Job ids make BullMQ drop duplicates:
//
//   owner/repo#pr@headSha                  a head to analyse (opened, synchronize, reopened, ready_for_review)
//   owner/repo#pr@headSha~base-<sha>       the same head against a moved base (edited base, push to base)
//   owner/repo#pr@headSha~review-<delivery> re-evaluation after a review (same head, new reviews)
//   owner/repo#pr@headSha~rerun-<delivery> check_run rerequested (the check's head)
//   owner/repo#pr~rerun-<delivery>         `/nyx rerun` (the PR's head when the job runs)
//   owner/repo#pr~explain-<delivery>       `/nyx explain <src> <dst> <port>`
//   owner/repo~push-<delivery>             push to the default branch: refresh the open PRs on it
//
// A redelivered webhook carries the same delivery id, so every kind is deduplicated; completed
// jobs are kept for a day so that late redeliveries are still recognised.
import type { Protocol } from '@nyx/core';
import type { JobsOptions, Queue } from 'bullmq';

export interface RepoJob {
  owner: string;
  repo: string;
  installationId: number;
  deliveryId: string;
  trigger: string;
}

export type NyxJob =
  | (RepoJob & { kind: 'analyze'; pr: number; headSha?: string; baseSha?: string; variant?: string })
  | (RepoJob & {
      kind: 'explain';
      pr: number;
      src: string;
      dst: string;
      port: number;
      protocol: Protocol;
    })
  | (RepoJob & { kind: 'refresh'; baseRef: string; baseSha: string });

/** The BullMQ job id of a job (see the table above). Never contains `:` (BullMQ refuses it). */
export function jobId(job: NyxJob): string {
  const repo = `${job.owner}/${job.repo}`;
  switch (job.kind) {
    case 'analyze': {
      const at = job.headSha ? `${repo}#${job.pr}@${job.headSha}` : `${repo}#${job.pr}`;
      return job.variant ? `${at}~${job.variant}` : at;
    }
    case 'explain':
      return `${repo}#${job.pr}~explain-${job.deliveryId}`;
    case 'refresh':
      return `${repo}~push-${job.deliveryId}`;
  }
}

export interface QueueSettings {
  attempts: number;
  backoffMs: number;
}

export function jobOptions(job: NyxJob, settings: QueueSettings): JobsOptions {
  return {
    jobId: jobId(job).replaceAll(':', '_'),
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/**
 * Adds a job; BullMQ ignores it when a job with the same id exists (deduplication). `added` says
 * which: BullMQ answers with the id either way, so the stored job's creation time is compared with
 * the one just sent.
 */
export async function enqueue(
  queue: Queue<NyxJob>,
  job: NyxJob,
  settings: QueueSettings,
): Promise<{ id: string; added: boolean }> {
  const sent = await queue.add(job.kind, job, jobOptions(job, settings));
  const id = sent.id ?? jobId(job);
  const stored = await queue.getJob(id);
  return { id, added: stored === undefined || stored.timestamp === sent.timestamp };
}
