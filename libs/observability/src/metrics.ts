import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueFactory } from '@app/queue';

/**
 * Every Prometheus metric the gateway exports, defined once. Each process object (an API
 * instance, a worker) owns its own Registry rather than prom-client's global one, so
 * several stacks started in one process (the tests) never collide on a metric name.
 *
 * Label sets are bounded on purpose: provider (4), outcome (5), queue (ALL_QUEUES),
 * state (6), HTTP method, route template and status class. Never a token, a device id,
 * a notification id or an app id: each would create one series per value.
 */

/** A registry with the process metrics (CPU, memory, event loop lag, GC, handles). */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

const SECONDS_BUCKETS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Accept-to-delivery includes queueing, fan-out and retries (minutes when a provider throttles). */
const SECONDS_BUCKETS_SLOW = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** What the delivery pipeline counts (worker processes). */
export class PipelineMetrics {
  readonly deliveries: Counter<'provider' | 'outcome'>;
  readonly invalidTokens: Counter<'provider'>;
  readonly retries: Counter<'provider'>;
  readonly providerLatency: Histogram<'provider'>;
  readonly acceptToDelivery: Histogram<'provider'>;
  readonly fanoutDevices: Counter;
  readonly credentialAlarms: Counter<'provider'>;
  readonly notificationsCompleted: Counter<'status'>;
  readonly stalled: Gauge;
  readonly redriven: Counter<'kind'>;
  readonly circuitTransitions: Counter<'provider' | 'state'>;
  readonly circuitsOpen: Gauge<'provider'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'push_deliveries_total',
      help: 'Per-device delivery outcomes written by the workers (delivered, invalid_token, failed, expired, pending_retry).',
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.invalidTokens = new Counter({
      name: 'push_invalid_tokens_total',
      help: 'Devices marked invalid because the provider rejected their token.',
      labelNames: ['provider'],
      registers,
    });
    this.retries = new Counter({
      name: 'push_retries_total',
      help: 'Device deliveries scheduled for another attempt (throttling, provider 5xx, transport errors).',
      labelNames: ['provider'],
      registers,
    });
    this.providerLatency = new Histogram({
      name: 'push_provider_latency_seconds',
      help: 'Time one delivery batch spent in the provider client (send and answers).',
      labelNames: ['provider'],
      buckets: SECONDS_BUCKETS_FAST,
      registers,
    });
    this.acceptToDelivery = new Histogram({
      name: 'push_accept_to_delivery_seconds',
      help: 'Time from the API accepting a notification to a device delivery being confirmed by the provider.',
      labelNames: ['provider'],
      buckets: SECONDS_BUCKETS_SLOW,
      registers,
    });
    this.fanoutDevices = new Counter({
      name: 'push_fanout_devices_enqueued_total',
      help: 'Devices the fan-out has put into delivery batches.',
      registers,
    });
    this.stalled = new Gauge({
      name: 'push_recovery_stalled',
      help: 'Unfinished notifications whose work had not moved for RECOVERY_STALL_SECONDS at the last recovery sweep of this worker.',
      registers,
    });
    this.redriven = new Counter({
      name: 'push_recovery_redriven_total',
      help: 'Work the recovery sweep re-drove from the ledger because its job was lost or had failed (kind: notification, batch).',
      labelNames: ['kind'],
      registers,
    });
    this.circuitTransitions = new Counter({
      name: 'push_circuit_transitions_total',
      help: 'Circuit breaker transitions this worker made (state: open, closed), per provider.',
      labelNames: ['provider', 'state'],
      registers,
    });
    this.circuitsOpen = new Gauge({
      name: 'push_circuits_open',
      help: 'Push-service endpoint circuits (per credential) open at the last recovery sweep, per provider.',
      labelNames: ['provider'],
      registers,
    });
    this.credentialAlarms = new Counter({
      name: 'push_credential_alarms_total',
      help: 'Credentials that raised an alarm (misconfigured, revoked, wrong app).',
      labelNames: ['provider'],
      registers,
    });
    this.notificationsCompleted = new Counter({
      name: 'push_notifications_completed_total',
      help: 'Notifications that reached a final status.',
      labelNames: ['status'],
      registers,
    });
  }
}

/** Job states reported per queue. BullMQ 6 has no separate paused state (paused jobs are waiting). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/**
 * `push_queue_jobs{queue,state}`, read from the backend on each scrape (getJobCounts),
 * so it is right whichever process produced or consumed the jobs. Every process that
 * exposes it reports the same backend-wide numbers: aggregate with max(), not sum().
 * A queue that does not answer within timeoutMs has no samples in that scrape and
 * counts one `push_queue_depth_errors_total`.
 */
export function registerQueueDepth(registry: Registry, queues: QueueFactory, names: readonly string[], timeoutMs = 2000): void {
  const errors = new Counter({
    name: 'push_queue_depth_errors_total',
    help: 'Scrapes in which a queue did not report its job counts in time.',
    labelNames: ['queue'],
    registers: [registry],
  });
  new Gauge({
    name: 'push_queue_jobs',
    help: 'Jobs in each queue by state, read from the queue backend at scrape time.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        names.map(async (name) => {
          try {
            const counts = await withTimeout(queues.queue(name).getJobCounts(...QUEUE_STATES), timeoutMs);
            for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          } catch {
            errors.inc({ queue: name });
          }
        }),
      );
    },
  });
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** HTTP server metrics (API). `route` is the route template, never the raw URL. */
export class HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status_class'>;
  readonly duration: Histogram<'method' | 'route' | 'status_class'>;

  constructor(registry: Registry) {
    const labelNames = ['method', 'route', 'status_class'] as const;
    this.requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered.', labelNames, registers: [registry] });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request.',
      labelNames,
      buckets: SECONDS_BUCKETS_FAST,
      registers: [registry],
    });
  }

  /** `route` undefined means no route matched (404s on arbitrary paths share one series). */
  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const labels = {
      method: METHODS.has(method) ? method : 'OTHER',
      route: route ?? 'unmatched',
      status_class: `${Math.floor(statusCode / 100)}xx`,
    };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
