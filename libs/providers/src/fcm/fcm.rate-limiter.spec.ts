import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { InProcessRateLimiter, RedisRateLimiter, type RateLimiter } from './fcm.rate-limiter';

// npm test sets TEST_REDIS_URL to "" when Redis is unreachable: the shared limiter then has
// nothing to run against, and the run's header says the suite is on PostgreSQL only.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** 500 acquisitions at 200/s with a burst of 200: the last 300 need at least 1.5 s. */
async function timeAcquisitions(limiters: RateLimiter[], key: string, total: number): Promise<number> {
  const started = Date.now();
  await Promise.all(Array.from({ length: total }, (_, i) => limiters[i % limiters.length].acquire(key, 1)));
  return Date.now() - started;
}
const MIN_MS = ((500 - 200) / 200) * 1000 - 50; // 50 ms for timer and clock granularity

describe('fcm rate limiter (GCRA)', () => {
  it('in process: holds 200/s over 500 acquisitions', async () => {
    const limiter = new InProcessRateLimiter({ ratePerMinute: 12_000 });
    const elapsed = await timeAcquisitions([limiter], 'fcm:p1', 500);
    assert.ok(elapsed >= MIN_MS, `took ${elapsed} ms, the budget implies at least ${MIN_MS + 50} ms`);
  });

  it('in process: keys are independent and a burst passes without waiting', async () => {
    const limiter = new InProcessRateLimiter({ ratePerMinute: 60, burst: 5 });
    const started = Date.now();
    await limiter.acquire('a', 5);
    await limiter.acquire('b', 5);
    assert.ok(Date.now() - started < 4000, 'a shared schedule would have waited 5 s');
  });

  describe('redis (shared by every worker process)', { skip: REDIS_URL === '' && 'Redis is not reachable in this run' }, () => {
    let a: Redis;
    let b: Redis;
    // npm test removes what a run leaves under t<TEST_RUN_ID>_ (the test suites' prefixes)
    const prefix = `t${process.env.TEST_RUN_ID ?? ''}_fcm${randomBytes(5).toString('hex')}`;
    before(() => {
      a = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      b = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    });
    after(async () => {
      const keys = await a.keys(`${prefix}:*`); // this suite's few keys
      if (keys.length) await a.del(...keys);
      a.disconnect();
      b.disconnect();
    });

    it('two connections (two processes) share one 200/s budget over 500 acquisitions', async () => {
      const opts = { ratePerMinute: 12_000, prefix };
      const elapsed = await timeAcquisitions([new RedisRateLimiter(a, opts), new RedisRateLimiter(b, opts)], 'fcm:p1', 500);
      assert.ok(elapsed >= MIN_MS, `took ${elapsed} ms, the budget implies at least ${MIN_MS + 50} ms`);
      const ttl = await a.pttl(`${prefix}:rate:fcm:p1`);
      assert.ok(ttl > 0, 'the schedule key expires on its own');
    });

    it('reserves n slots at once', async () => {
      const limiter = new RedisRateLimiter(a, { ratePerMinute: 6000, burst: 10, prefix });
      const started = Date.now();
      await limiter.acquire('fcm:p2', 10); // the burst
      await limiter.acquire('fcm:p2', 50); // 50 × 10 ms
      assert.ok(Date.now() - started >= 450);
    });
  });
});
