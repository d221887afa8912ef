import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMs } from './retry-policy';

const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('retry policy', () => {
  it('grows exponentially with jitter between half and all of the ceiling', () => {
    assert.equal(retryDelayMs(policy, 0, undefined, () => 0), 500);
    assert.equal(retryDelayMs(policy, 0, undefined, () => 1), 1000);
    assert.equal(retryDelayMs(policy, 3, undefined, () => 1), 8000);
    assert.equal(retryDelayMs(policy, 3, undefined, () => 0), 4000);
  });
  it('is capped at maxDelayMs', () => {
    assert.equal(retryDelayMs(policy, 20, undefined, () => 1), 60_000);
  });
  it('never retries before the provider Retry-After', () => {
    assert.equal(retryDelayMs(policy, 0, 2000, () => 1), 2000);
    assert.equal(retryDelayMs(policy, 4, 2000, () => 1), 16_000);
  });
});
