import type { FaultSpec } from '@app/sandbox';

export type Backend = 'redis' | 'postgres';
export const BACKENDS: Backend[] = ['redis', 'postgres'];

/** How a scenario breaks something: a process, a store, or the push services. */
export type Fault =
  /** SIGKILL a worker when each fraction of the devices has received; `restart`: start a new one at once. */
  | { kind: 'worker-kill'; at: number[]; restart: boolean }
  /** SIGKILL redis-server, start it again after `down`. */
  | { kind: 'redis-kill'; appendonly: boolean; down: 'redisDownMs' }
  /** Stop PostgreSQL (pg_ctl -m fast), start it again after `down`. */
  | { kind: 'pg-stop'; down: 'pgShortMs' | 'pgLongMs' }
  /** A sandbox fault on every push service for `outageMs`; `retryAfter` picks the scale's value. */
  | { kind: 'service'; spec: Omit<FaultSpec, 'durationMs' | 'retryAfter'>; retryAfter?: 'outageRetryAfterS' | 'stormRetryAfterS' };

export interface ScenarioDef {
  id: string;
  title: string;
  backends: Backend[];
  workers: number;
  fault: Fault;
}

/** The scenarios of issue #14, item 8. Redis-process scenarios only on the Redis backend. */
export const SCENARIOS: ScenarioDef[] = [
  { id: 'worker-kill', title: 'worker SIGKILL at 30 % and 70 % (one worker, restarted)', backends: BACKENDS, workers: 1, fault: { kind: 'worker-kill', at: [0.3, 0.7], restart: true } },
  { id: 'worker-kill-of-2', title: 'two workers, one SIGKILLed at 30 % (not restarted)', backends: BACKENDS, workers: 2, fault: { kind: 'worker-kill', at: [0.3], restart: false } },
  { id: 'redis-kill', title: 'redis-server SIGKILL, no persistence, back after the down time', backends: ['redis'], workers: 1, fault: { kind: 'redis-kill', appendonly: false, down: 'redisDownMs' } },
  { id: 'redis-kill-aof', title: 'redis-server SIGKILL, appendonly yes, back after the down time', backends: ['redis'], workers: 1, fault: { kind: 'redis-kill', appendonly: true, down: 'redisDownMs' } },
  { id: 'pg-stop-short', title: 'PostgreSQL stopped (fast), short', backends: BACKENDS, workers: 1, fault: { kind: 'pg-stop', down: 'pgShortMs' } },
  { id: 'pg-stop-long', title: 'PostgreSQL stopped (fast), long', backends: BACKENDS, workers: 1, fault: { kind: 'pg-stop', down: 'pgLongMs' } },
  { id: 'outage-503-retry-after', title: 'push services answer 503 + Retry-After', backends: BACKENDS, workers: 1, fault: { kind: 'service', spec: { kind: 'status', status: 503 }, retryAfter: 'outageRetryAfterS' } },
  { id: 'outage-503', title: 'push services answer 503, no Retry-After', backends: BACKENDS, workers: 1, fault: { kind: 'service', spec: { kind: 'status', status: 503 } } },
  { id: 'storm-429', title: 'push services answer 429 + Retry-After', backends: BACKENDS, workers: 1, fault: { kind: 'service', spec: { kind: 'status', status: 429 }, retryAfter: 'stormRetryAfterS' } },
  { id: 'hang', title: 'push services accept and never answer', backends: BACKENDS, workers: 1, fault: { kind: 'service', spec: { kind: 'hang' } } },
  { id: 'reset', title: 'push services reset every connection (TCP RST)', backends: BACKENDS, workers: 1, fault: { kind: 'service', spec: { kind: 'reset', reset: 'tcp' } } },
];

/**
 * Sizes and durations. `full` is the issue's: 40,000 devices, a 2-minute outage, PostgreSQL
 * down 15 s and 60 s, 2 minutes to recover; `small` (npm test) a few hundred devices and
 * seconds, with a slow sandbox (`sandboxDelayMs`) and small batches so a fault lands while
 * deliveries are in flight, and the worker's recovery timers scaled down to match.
 */
export interface Scale {
  name: 'full' | 'small';
  devices: number;
  /** Fraction of devices received when a store or service fault starts. */
  faultAt: number;
  outageMs: number;
  outageRetryAfterS: number;
  stormRetryAfterS: number;
  pgShortMs: number;
  pgLongMs: number;
  redisDownMs: number;
  /** Time after the fault ends for the notification to become final (issue: 2 minutes). */
  recoverMs: number;
  /** Time allowed to reach the fault point after the send. */
  reachMs: number;
  /** Wait after the final status before counting, so late (duplicate) sends are seen. */
  settleMs: number;
  /** Every answer of the sandbox this much later (0: as fast as it goes). */
  sandboxDelayMs: number;
  /** Start of an outage left out of the request rate: requests already on their way, and the breaker's first failures. */
  rateGraceMs: number;
  /** Environment of the api and workers. */
  env: Record<string, string>;
}

/** The durability settings the worker reads (defaults of the durable delivery path); unknown ones are ignored. */
const FULL_ENV = {
  RECOVERY_STALL_SECONDS: '60', RECOVERY_SWEEP_SECONDS: '15', RETRY_MAX_WINDOW_SECONDS: '3600', RETRY_BASE_DELAY_MS: '1000',
  RETRY_MAX_DELAY_MS: '60000', CIRCUIT_PROBE_INTERVAL_MS: '1000', WORKER_LOCK_MS: '10000', WORKER_STALLED_INTERVAL_MS: '5000',
};

export const FULL: Scale = {
  name: 'full', devices: 40_000, faultAt: 0.3, outageMs: 120_000, outageRetryAfterS: 5, stormRetryAfterS: 10,
  pgShortMs: 15_000, pgLongMs: 60_000, redisDownMs: 15_000, recoverMs: 120_000, reachMs: 300_000, settleMs: 10_000,
  sandboxDelayMs: 0, rateGraceMs: 10_000, env: FULL_ENV,
};

export const SMALL: Scale = {
  name: 'small', devices: 400, faultAt: 0.3, outageMs: 8_000, outageRetryAfterS: 1, stormRetryAfterS: 2,
  pgShortMs: 3_000, pgLongMs: 10_000, redisDownMs: 3_000, recoverMs: 30_000, reachMs: 60_000, settleMs: 3_000,
  sandboxDelayMs: 100, rateGraceMs: 2_000,
  env: {
    RECOVERY_STALL_SECONDS: '10', RECOVERY_SWEEP_SECONDS: '2', RETRY_MAX_WINDOW_SECONDS: '600', RETRY_BASE_DELAY_MS: '200',
    RETRY_MAX_DELAY_MS: '2000', CIRCUIT_PROBE_INTERVAL_MS: '1000', CIRCUIT_MIN_REQUESTS: '8', WORKER_LOCK_MS: '10000', WORKER_STALLED_INTERVAL_MS: '2000',
    // Batches much larger than what is on the wire at once (8 streams / sockets per provider),
    // as at full scale: what a crashed worker had sent but not recorded is then more than
    // what was in flight, so the duplicate bound tells per-batch from per-answer recording.
    DELIVERY_BATCH_SIZE: '100', DELIVERY_CONCURRENCY: '2', FANOUT_PAGE_SIZE: '100',
    APNS_MAX_CONCURRENT_STREAMS: '8', WEBPUSH_MAX_SOCKETS_PER_ORIGIN: '8',
    APNS_REQUEST_TIMEOUT_MS: '2000', WEBPUSH_REQUEST_TIMEOUT_MS: '2000',
  },
};

/** What the scale's fault lasts, for store and service faults (a worker kill is a moment). */
export function faultDurationMs(s: Scale, f: Fault): number {
  switch (f.kind) {
    case 'worker-kill':
      return 0;
    case 'redis-kill':
    case 'pg-stop':
      return s[f.down];
    case 'service':
      return s.outageMs;
  }
}

export function scale(name: string, devices?: number): Scale {
  const base = name === 'small' ? SMALL : FULL;
  return devices ? { ...base, devices } : base;
}
