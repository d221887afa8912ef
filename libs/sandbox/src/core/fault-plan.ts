import { PROVIDERS, type ProviderName } from '@app/providers';

/**
 * What a push service does to every push request while a fault is active:
 *  - `status`: answers that HTTP status (429, 500, 503…), with Retry-After when given;
 *  - `hang`:   accepts the request (connection, stream, body) and never answers;
 *  - `reset`:  drops it — `tcp` resets the connection (RST: the client reads ECONNRESET),
 *              `stream` sends HTTP/2 RST_STREAM (INTERNAL_ERROR) for that request only,
 *              `goaway` sends HTTP/2 GOAWAY (INTERNAL_ERROR) and closes the connection;
 *              over HTTP/1.1 `stream` and `goaway` are a TCP reset (it has no streams);
 *  - `delay`:  answers normally, `delayMs` later (a slow service).
 * Only push requests are affected, not the token endpoints (FCM's OAuth, WNS's login):
 * those are other hosts of the real services.
 */
export type FaultKind = 'status' | 'hang' | 'reset' | 'delay';
export type ResetMode = 'tcp' | 'stream' | 'goaway';

export interface FaultSpec {
  kind: FaultKind;
  /** kind `status`: the HTTP status answered. */
  status?: number;
  /** kind `status`: Retry-After, in seconds. */
  retryAfter?: number;
  /** kind `status`: the provider's reason (APNs `reason`, FCM status name, WNS error description). */
  reason?: string;
  /** kind `reset`: how (default `tcp`). */
  reset?: ResetMode;
  /** kind `delay`: how long each answer waits. */
  delayMs?: number;
  /** How long the fault lasts; afterwards the service is back to what it was. Unset: until cleared. */
  durationMs?: number;
}

export interface ActiveFault extends FaultSpec {
  id: number;
  provider: ProviderName;
  startedAt: number;
  /** Epoch ms when it ends by itself (null: until cleared). */
  until: number | null;
}

const KINDS: FaultKind[] = ['status', 'hang', 'reset', 'delay'];
const RESETS: ResetMode[] = ['tcp', 'stream', 'goaway'];
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Checks a control-request body; returns the providers and the spec, or the first problem. */
export function parseFault(body: unknown): { providers: ProviderName[]; spec: FaultSpec } | { error: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const which = b.provider ?? 'all';
  const providers = which === 'all' ? [...PROVIDERS] : (Array.isArray(which) ? which : [which]);
  if (providers.length === 0 || !providers.every((p) => PROVIDERS.includes(p as ProviderName))) {
    return { error: `provider: "all", one of ${PROVIDERS.join(', ')}, or a list of them` };
  }
  if (!KINDS.includes(b.kind as FaultKind)) return { error: `kind: one of ${KINDS.join(', ')}` };
  const spec: FaultSpec = { kind: b.kind as FaultKind };
  if (b.durationMs !== undefined) {
    if (!isInt(b.durationMs, 1, 24 * 3600_000)) return { error: 'durationMs: an integer from 1 to 86400000' };
    spec.durationMs = b.durationMs;
  }
  if (spec.kind === 'status') {
    if (!isInt(b.status, 300, 599)) return { error: 'status: an HTTP status from 300 to 599' };
    spec.status = b.status;
    if (b.retryAfter !== undefined) {
      if (!isInt(b.retryAfter, 0, 86_400)) return { error: 'retryAfter: seconds, an integer from 0 to 86400' };
      spec.retryAfter = b.retryAfter;
    }
    if (b.reason !== undefined) {
      if (typeof b.reason !== 'string' || b.reason.length > 200) return { error: 'reason: a string of at most 200 characters' };
      spec.reason = b.reason;
    }
  }
  if (spec.kind === 'reset') {
    if (b.reset !== undefined && !RESETS.includes(b.reset as ResetMode)) return { error: `reset: one of ${RESETS.join(', ')}` };
    spec.reset = (b.reset as ResetMode | undefined) ?? 'tcp';
  }
  if (spec.kind === 'delay') {
    if (!isInt(b.delayMs, 1, 600_000)) return { error: 'delayMs: an integer from 1 to 600000' };
    spec.delayMs = b.delayMs;
  }
  return { providers: providers as ProviderName[], spec };
}

/**
 * The faults in force, per provider. Several may be set on one provider: the newest one
 * in force applies, and when it ends the one before it applies again (a 2-minute outage
 * on top of a slow service ends in the slow service). Expiry is checked on each request,
 * so a fault ends at its time without a timer.
 */
export class FaultPlan {
  private readonly faults: ActiveFault[] = [];
  private nextId = 1;

  set(providers: ProviderName[], spec: FaultSpec, now = Date.now()): ActiveFault[] {
    const added = providers.map((provider) => ({
      ...spec, id: this.nextId++, provider, startedAt: now, until: spec.durationMs === undefined ? null : now + spec.durationMs,
    }));
    this.faults.push(...added);
    return added;
  }

  /** Removes the faults of one provider (or all); returns how many. */
  clear(provider?: ProviderName): number {
    let n = 0;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (!provider || this.faults[i].provider === provider) {
        this.faults.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /** The fault a push request to `provider` meets now, if any. */
  active(provider: ProviderName, now = Date.now()): ActiveFault | null {
    this.expire(now);
    for (let i = this.faults.length - 1; i >= 0; i--) if (this.faults[i].provider === provider) return this.faults[i];
    return null;
  }

  list(now = Date.now()): ActiveFault[] {
    this.expire(now);
    return this.faults.map((f) => ({ ...f }));
  }

  private expire(now: number): void {
    for (let i = this.faults.length - 1; i >= 0; i--) {
      const until = this.faults[i].until;
      if (until !== null && until <= now) this.faults.splice(i, 1);
    }
  }
}
