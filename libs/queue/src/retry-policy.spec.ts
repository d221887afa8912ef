import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { infraBackoffMs, retryDeadline, retryDelayMs } from './retry-policy';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxWindowMs: 3_600_000 };

describe('retry policy', () => {
  it('grows exponentially with jitter between half and all of the ceiling', () => {
    assert.equal(retryDelayMs(policy, 0, undefined, () => 0), 500);
    assert.equal(retryDelayMs(policy, 0, undefined, () => 1), 1000);
    assert.equal(retryDelayMs(policy, 3, undefined, () => 1), 8000);
    assert.equal(retryDelayMs(policy, 3, undefined, () => 0), 4000);
  });
  it('is capped at maxDelayMs, however many attempts came before', () => {
    assert.equal(retryDelayMs(policy, 20, undefined, () => 1), 60_000);
    assert.equal(retryDelayMs(policy, 5000, undefined, () => 1), 60_000);
  });
  it('never retries before the provider Retry-After', () => {
    assert.equal(retryDelayMs(policy, 0, 2000, () => 1), 2000);
    assert.equal(retryDelayMs(policy, 4, 2000, () => 1), 16_000);
  });
  it('stops at the TTL when it comes before the window closes', () => {
    assert.deepEqual(retryDeadline(policy, { acceptedAt: 1000, expiresAt: 61_000 }), { at: 61_000, by: 'ttl' });
  });
  it('stops when the window closes before the TTL, counting from sendAt for a scheduled send', () => {
    assert.deepEqual(retryDeadline(policy, { acceptedAt: 1000 }), { at: 3_601_000, by: 'window' });
    assert.deepEqual(retryDeadline(policy, { acceptedAt: 1000, sendAt: 10_000, expiresAt: 99_000_000 }), { at: 3_610_000, by: 'window' });
  });
  it('backs off infrastructure failures up to 30 s', () => {
    assert.equal(infraBackoffMs(0, () => 1), 500);
    assert.equal(infraBackoffMs(3, () => 1), 4000);
    assert.equal(infraBackoffMs(40, () => 1), 30_000);
    assert.equal(infraBackoffMs(40, () => 0), 15_000);
  });
});
