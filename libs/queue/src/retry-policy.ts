/**
 * When to try a device again. Exponential backoff with full jitter (AWS architecture
 * blog, "Exponential Backoff And Jitter"), never earlier than the provider's
 * Retry-After, capped at maxDelayMs. Attempt 0 is the first retry.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}
