import { sql } from 'kysely';
import type { Db } from '../database';

/** Every event type an app can receive (SSE stream and webhooks). Never rename: clients filter on them. */
export const EVENT_TYPES = Object.freeze([
  'notification.completed',
  'delivery.failed',
  'device.invalidated',
  'credential.alarm',
  'webhook.disabled',
  'provider.degraded',
  'provider.recovered',
] as const);
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (s: string): s is EventType => (EVENT_TYPES as readonly string[]).includes(s);

export interface NewEvent {
  appId: string;
  type: EventType;
  payload: Record<string, unknown>;
}

export interface EventView {
  /** bigint as a decimal string: the SSE `id:` and the Last-Event-ID a client sends back. */
  id: string;
  appId: string;
  type: EventType;
  createdAt: Date;
  data: Record<string, unknown>;
}

/** The wire form shared by the SSE `data:` line and the webhook body. */
export function eventEnvelope(e: EventView): Record<string, unknown> {
  return { id: e.id, type: e.type, appId: e.appId, createdAt: e.createdAt.toISOString(), data: e.data };
}

type Row = { id: string; app_id: string; type: string; payload: Record<string, unknown>; created_at: Date };
const toView = (r: Row): EventView => ({ id: String(r.id), appId: r.app_id, type: r.type as EventType, createdAt: r.created_at, data: r.payload });

/**
 * The events table: appended in batches by the workers, read by id by the API's event
 * streams. Ids of one schema become visible in id order (see migration 0002), so
 * "id > last seen" never skips an event.
 */
export class EventRepository {
  constructor(private readonly db: Db) {}

  /** One statement for the whole batch (rows of several apps); returns them with their ids, in order. */
  async append(events: NewEvent[]): Promise<EventView[]> {
    if (events.length === 0) return [];
    const rows = await this.db
      .insertInto('events')
      .values(events.map((e) => ({ app_id: e.appId, type: e.type, payload: JSON.stringify(e.payload) })))
      .returningAll()
      .execute();
    return rows.map(toView).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  /** Events of the app after `afterId`, oldest first. */
  async after(appId: string, afterId: string, opts: { types?: readonly string[] | null; limit: number }): Promise<EventView[]> {
    let q = this.db.selectFrom('events').selectAll().where('app_id', '=', appId).where('id', '>', afterId);
    if (opts.types?.length) q = q.where('type', 'in', opts.types as string[]);
    const rows = await q.orderBy('id').limit(opts.limit).execute();
    return rows.map(toView);
  }

  /** The id of the app's newest event, or "0": where a stream without Last-Event-ID starts. */
  async latestId(appId: string): Promise<string> {
    const r = await this.db.selectFrom('events').select((eb) => eb.fn.max('id').as('max')).where('app_id', '=', appId).executeTakeFirst();
    return r?.max ? String(r.max) : '0';
  }

  /**
   * Retention (maintenance, every app): deletes events older than the window in chunks
   * so one purge never holds a long transaction. Returns how many were removed.
   */
  async purgeOlderThan(cutoff: Date, chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await sql<{ n: string }>`
        WITH gone AS (
          DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${chunk})
          RETURNING 1
        ) SELECT count(*) AS n FROM gone`.execute(this.db);
      const n = Number(r.rows[0]?.n ?? 0);
      total += n;
      if (n < chunk) return total;
    }
  }
}
