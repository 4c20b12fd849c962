// The Probot application: webhook handlers that only verify (Probot checks X-Hub-Signature-256
// before any handler runs), record (logs, metrics) and enqueue. No GitHub call and no analysis
// happens here, so a delivery is answered within milliseconds and bursts coalesce in the queue.
import type { Protocol } from '@nyx/core';
import type { Queue } from 'bullmq';
import type { ApplicationFunction, Probot } from 'probot';
import { withDeadline } from './deadline.js';
import { enqueue, type NyxJob, type QueueSettings, type RepoJob } from './jobs.js';
import type { BotMetrics } from './metrics.js';

export interface AppDeps {
  queue: Queue<NyxJob>;
  settings: QueueSettings;
  metrics: BotMetrics;
  /**
   * Longest wait for Redis to take a job (default 5 s). Past it the handler fails and the delivery
   * is answered 500, well before Probot's middleware would answer 202 at 9 s: GitHub counts any 2xx
   * as delivered and never sends it again, so a job that was not stored must not be answered 2xx.
   */
  enqueueDeadlineMs?: number;
}

/** What every job of one delivery shares; each handler adds its trigger. */
type Base = Omit<RepoJob, 'trigger'>;

/** `/nyx rerun` or `/nyx explain <src> <dst> <port>[/<protocol>]`, else undefined. */
export function parseCommand(
  body: string,
):
  | { command: 'rerun' }
  | { command: 'explain'; src: string; dst: string; port: number; protocol: Protocol }
  | { command: 'invalid'; message: string }
  | undefined {
  const line = body
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('/nyx'));
  if (!line) return undefined;
  const [, verb, ...args] = line.split(/\s+/);
  if (verb === 'rerun') return { command: 'rerun' };
  if (verb === 'explain') {
    const [src, dst, portText] = args;
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(portText ?? '');
    const port = Number(m?.[1]);
    // Endpoints are echoed back in the reply: only `<ns>/<pod>` or an IP, nothing Markdown could misread.
    const endpoint = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$/;
    if (!src || !dst || !m || port < 1 || port > 65535 || !endpoint.test(src) || !endpoint.test(dst)) {
      return {
        command: 'invalid',
        message: 'usage: /nyx explain <src> <dst> <port>[/tcp|udp|sctp] (src/dst: <ns>/<pod> or an IP)',
      };
    }
    return {
      command: 'explain',
      src,
      dst,
      port,
      protocol: (m[2]?.toUpperCase() ?? 'TCP') as Protocol,
    };
  }
  return {
    command: 'invalid',
    message: `unknown command /nyx ${verb ?? ''}; expected /nyx rerun or /nyx explain`,
  };
}

/** The Probot app function. */
export function nyxApp(deps: AppDeps): ApplicationFunction {
  return (app: Probot) => {
    const add = async (job: NyxJob): Promise<void> => {
      const { id, added } = await withDeadline(
        enqueue(deps.queue, job, deps.settings),
        deps.enqueueDeadlineMs ?? 5000,
        'enqueue',
      );
      // A duplicate (a redelivery, a burst on one head) is not a new job.
      if (added) deps.metrics.enqueued.inc({ trigger: job.trigger });
      app.log.info(
        { jobId: id, trigger: job.trigger, duplicate: !added },
        added ? 'enqueued' : 'duplicate dropped',
      );
    };
    const base = (
      payload: { repository: { name: string; owner: { login: string } }; installation?: { id: number } },
      id: string,
    ): Base | undefined => {
      if (!payload.installation?.id) {
        app.log.warn({ deliveryId: id }, 'delivery without installation: ignored');
        return undefined;
      }
      return {
        owner: payload.repository.owner.login,
        repo: payload.repository.name,
        installationId: payload.installation.id,
        deliveryId: id,
      };
    };

    app.onAny(async (context) => {
      deps.metrics.webhooks.inc({ event: context.name });
    });

    app.on(
      [
        'pull_request.opened',
        'pull_request.synchronize',
        'pull_request.reopened',
        'pull_request.ready_for_review',
        'pull_request.edited',
      ],
      async (context) => {
        const p = context.payload;
        // `edited` matters only when the base branch changed.
        const baseChanged =
          p.action === 'edited' && 'changes' in p && (p.changes as { base?: unknown }).base !== undefined;
        if (p.action === 'edited' && !baseChanged) return;
        const b = base(p, context.id);
        if (!b) return;
        await add({
          ...b,
          kind: 'analyze',
          trigger: `pull_request.${p.action}`,
          pr: p.pull_request.number,
          headSha: p.pull_request.head.sha,
          // The job reads the new base branch's tip itself (see the worker).
          ...(baseChanged ? { variant: `base-${p.pull_request.base.sha}` } : {}),
        });
      },
    );

    app.on(['pull_request_review.submitted', 'pull_request_review.dismissed'], async (context) => {
      const p = context.payload;
      const b = base(p, context.id);
      if (!b) return;
      await add({
        ...b,
        kind: 'analyze',
        trigger: `pull_request_review.${p.action}`,
        pr: p.pull_request.number,
        headSha: p.pull_request.head.sha,
        variant: `review-${context.id}`,
      });
    });

    app.on('check_run.rerequested', async (context) => {
      const p = context.payload;
      if (!p.check_run.name.startsWith('nyx/')) return;
      const b = base(p, context.id);
      if (!b) return;
      for (const pr of p.check_run.pull_requests) {
        await add({
          ...b,
          kind: 'analyze',
          trigger: 'check_run.rerequested',
          pr: pr.number,
          headSha: p.check_run.head_sha,
          variant: `rerun-${context.id}`,
        });
      }
    });

    app.on('issue_comment.created', async (context) => {
      const p = context.payload;
      if (!p.issue.pull_request || p.comment.user?.type === 'Bot') return;
      const command = parseCommand(p.comment.body ?? '');
      if (!command) return;
      const b = base(p, context.id);
      if (!b) return;
      if (command.command === 'rerun') {
        await add({
          ...b,
          kind: 'analyze',
          trigger: 'comment.rerun',
          pr: p.issue.number,
          variant: `rerun-${context.id}`,
        });
      } else if (command.command === 'explain') {
        const { src, dst, port, protocol } = command;
        await add({
          ...b,
          kind: 'explain',
          trigger: 'comment.explain',
          pr: p.issue.number,
          src,
          dst,
          port,
          protocol,
        });
      } else {
        app.log.info({ deliveryId: context.id }, command.message);
      }
    });

    app.on('push', async (context) => {
      const p = context.payload;
      const branch = p.ref.replace(/^refs\/heads\//, '');
      if (branch !== p.repository.default_branch || p.deleted) return;
      const b = base(p as Parameters<typeof base>[0], context.id);
      if (!b) return;
      await add({ ...b, kind: 'refresh', trigger: 'push', baseRef: branch, baseSha: p.after });
    });
  };
}
