import type { Redis } from 'ioredis';

/**
 * Paces sends against a per-key budget (FCM: messages per project per minute).
 * `acquire` resolves when `n` more sends may start; it never rejects for pacing.
 */
export interface RateLimiter {
  acquire(key: string, n: number): Promise<void>;
}

export interface RateLimiterOptions {
  ratePerMinute: number;
  /**
   * Sends allowed back to back before pacing starts. Default: one second's worth of the
   * rate (at least 1), so a 600,000/min project may burst 10,000 and then runs at 10,000/s.
   */
  burst?: number;
}

interface Pace {
  /** Milliseconds one send "costs". */
  intervalMs: number;
  /** How far ahead of now the schedule may run before callers wait (burst × interval). */
  toleranceMs: number;
}

function pace(opts: RateLimiterOptions): Pace {
  if (!(opts.ratePerMinute > 0)) throw new Error('ratePerMinute must be positive');
  const intervalMs = 60_000 / opts.ratePerMinute;
  const burst = Math.max(1, Math.floor(opts.burst ?? opts.ratePerMinute / 60));
  return { intervalMs, toleranceMs: burst * intervalMs };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp): every
 * acquisition reserves its slots at the "theoretical arrival time" and waits until the
 * schedule is no more than the burst tolerance ahead of now. Reservations are made
 * atomically and then waited out, so N callers are spread evenly whatever N is.
 */
function reserve(tat: number, now: number, n: number, p: Pace): { tat: number; waitMs: number } {
  const next = Math.max(tat, now) + n * p.intervalMs;
  return { tat: next, waitMs: Math.max(0, next - p.toleranceMs - now) };
}

/** One process only: for a single worker, or when no Redis is configured. */
export class InProcessRateLimiter implements RateLimiter {
  private readonly pace: Pace;
  private readonly tats = new Map<string, number>();

  constructor(opts: RateLimiterOptions) {
    this.pace = pace(opts);
  }

  async acquire(key: string, n: number): Promise<void> {
    if (n <= 0) return;
    const now = Date.now();
    const r = reserve(this.tats.get(key) ?? 0, now, n, this.pace);
    this.tats.set(key, r.tat);
    // forget idle keys so a process that served many projects does not grow forever
    if (this.tats.size > 10_000) for (const [k, t] of this.tats) if (t < now) this.tats.delete(k);
    if (r.waitMs > 0) await sleep(r.waitMs);
  }
}

/**
 * The same GCRA schedule in Redis, so every worker process shares one budget per key.
 * The clock is Redis's own (TIME), so workers with skewed clocks still agree.
 * KEYS[1] = schedule key; ARGV = n, intervalMs, toleranceMs. Returns the wait in ms.
 */
const RESERVE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + n * interval
local wait = nextTat - tolerance - now
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now) + 1000)
return math.ceil(wait)
`;

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  /** Prefix of the schedule keys (e.g. the queue prefix), so deployments never share budgets. */
  prefix: string;
}

/** Cross-process: pass the worker's ioredis connection (it is not closed here). */
export class RedisRateLimiter implements RateLimiter {
  private readonly pace: Pace;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisRateLimiterOptions,
  ) {
    this.pace = pace(opts);
  }

  async acquire(key: string, n: number): Promise<void> {
    if (n <= 0) return;
    const waitMs = Number(
      await this.redis.eval(RESERVE_LUA, 1, `${this.opts.prefix}:rate:${key}`, n, this.pace.intervalMs, this.pace.toleranceMs),
    );
    if (waitMs > 0) await sleep(waitMs);
  }
}
