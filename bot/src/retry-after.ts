// GitHub answers an abuse/secondary limit with 403 or 429 and a `retry-after` (seconds). Octokit's
// throttling plugin waits only when the message says "secondary rate" or the rate-limit headers are
// at 0, and its retry plugin re-sends a 429 after 1 s; this plugin waits as long as GitHub asked and
// re-sends the request itself (not the whole job), twice at most, for waits of up to two minutes.
// Longer waits fail the request and BullMQ's backoff takes over.

const MAX_WAIT_SECONDS = 120;
const MAX_RETRIES = 2;

interface RequestError {
  status?: number;
  response?: { headers?: Record<string, string | undefined> };
}

type RequestFn = (options: Record<string, unknown>) => Promise<unknown>;

/** An Octokit plugin (`Octokit.plugin(honourRetryAfter)`). */
export function honourRetryAfter(octokit: {
  hook: {
    wrap(
      name: 'request',
      fn: (request: RequestFn, options: Record<string, unknown>) => Promise<unknown>,
    ): void;
  };
}): void {
  octokit.hook.wrap('request', async (request, options) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(options);
      } catch (error) {
        const e = error as RequestError;
        const wait = Number(e.response?.headers?.['retry-after']);
        const limited = e.status === 429 || e.status === 403;
        if (!limited || attempt >= MAX_RETRIES || !(wait > 0) || wait > MAX_WAIT_SECONDS) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    }
  });
}

/** Octokit's retry plugin defaults, plus 429: a 429 is re-sent by `honourRetryAfter`, when GitHub says. */
export const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];
