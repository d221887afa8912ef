/**
 * When to try a device again, and until when. Retries are bounded by time, not by a
 * count: a device is retried until its notification's TTL, or until `maxWindowMs` after
 * the notification was due, whichever comes first.
 *
 * The delay is exponential backoff with jitter between half and all of the ceiling (AWS
 * architecture blog, "Exponential Backoff And Jitter"), never earlier than the provider's
 * Retry-After, capped at maxDelayMs. Attempt 0 is the first retry.
 */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxWindowMs: number;
}

export function retryDelayMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, attempt: number, retryAfterMs: number | undefined, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** The last moment a device of this notification may be tried, and why it stops there. */
export function retryDeadline(policy: Pick<RetryPolicy, 'maxWindowMs'>, n: { acceptedAt: number; sendAt?: number; expiresAt?: number }): { at: number; by: 'ttl' | 'window' } {
  const windowEnd = Math.max(n.acceptedAt, n.sendAt ?? 0) + policy.maxWindowMs;
  return n.expiresAt !== undefined && n.expiresAt <= windowEnd ? { at: n.expiresAt, by: 'ttl' } : { at: windowEnd, by: 'window' };
}

/**
 * Backoff of a job that failed for an infrastructure reason (database or Redis away, a
 * socket error outside a provider answer): BullMQ's own attempts, exponential with
 * jitter, capped at 30 s so the work resumes soon after the outage ends. Registered as
 * the workers' custom backoff strategy.
 */
export function infraBackoffMs(attemptsMade: number, random = Math.random): number {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.min(attemptsMade, 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Attempts for a job's infrastructure failures: with the 30 s cap about 25 minutes of
 * outage. Past that the job fails, and the recovery sweep re-drives its work from the
 * ledger once the database answers again.
 */
export const INFRA_ATTEMPTS = 60;
