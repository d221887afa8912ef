import { sql } from 'kysely';
import type { Db } from '../database';

/** A batch of devices of one notification, provider and credential that still owe an outcome. */
export interface BatchLedgerRow {
  id: string;
  notificationId: string;
  appId: string;
  provider: string;
  credentialId: string;
  deviceIds: string[];
  attempt: number;
  generation: number;
  /** When its current job is due (rows read back from the ledger). */
  runAt?: Date;
}

/** The job id of a batch's current generation (never reused: see migration 0003). */
export function batchJobId(batchId: string, generation: number): string {
  return `${batchId}.g${generation}`;
}

/**
 * The ledger of delivery work owed (docs/reliability.md). A row exists while any of its
 * devices lacks a final outcome; the delivery job that owns its current generation deletes
 * it when done or rewrites it for the devices that retry. The recovery sweep reads it to
 * re-drive a batch whose job was lost or failed.
 */
export class DeliveryBatchRepository {
  constructor(private readonly db: Db) {}

  /** Rows for a fan-out page, inside the page's transaction (a re-run inserts nothing twice). */
  static async insert(trx: Db, rows: BatchLedgerRow[]): Promise<void> {
    if (rows.length === 0) return;
    await trx.insertInto('delivery_batches').values(rows.map((r) => ({
      id: r.id, notification_id: r.notificationId, app_id: r.appId, provider: r.provider, credential_id: r.credentialId,
      device_ids: r.deviceIds, attempt: r.attempt, generation: r.generation,
    }))).onConflict((oc) => oc.column('id').doNothing()).execute();
  }

  async get(id: string): Promise<{ generation: number } | undefined> {
    return this.db.selectFrom('delivery_batches').select('generation').where('id', '=', id).executeTakeFirst();
  }

  /**
   * The devices of a batch that retry (or are held by an open circuit) get the next
   * generation, due at `runAt`; returns that generation, or null when the batch was
   * taken over meanwhile (its generation moved on: the newer job owns it now).
   * A batch that has no row yet (the direct path's first retry) is created.
   */
  async reschedule(b: Omit<BatchLedgerRow, 'generation'>, ownGeneration: number | null, runAt: Date, reason: string | null): Promise<number | null> {
    if (ownGeneration === null) {
      const r = await sql<{ generation: number }>`
        INSERT INTO delivery_batches (id, notification_id, app_id, provider, credential_id, device_ids, attempt, generation, run_at, last_reason)
        VALUES (${b.id}, ${b.notificationId}, ${b.appId}, ${b.provider}, ${b.credentialId}, ${sql.val(b.deviceIds)}::uuid[], ${b.attempt}, 1, ${runAt}, ${reason})
        ON CONFLICT (id) DO UPDATE SET device_ids = excluded.device_ids, attempt = excluded.attempt,
          generation = delivery_batches.generation + 1, run_at = excluded.run_at, last_reason = excluded.last_reason, checked_at = now()
        RETURNING generation`.execute(this.db);
      return r.rows[0].generation;
    }
    const r = await this.db.updateTable('delivery_batches')
      .set((eb) => ({ device_ids: b.deviceIds, attempt: b.attempt, generation: eb('generation', '+', 1), run_at: runAt, last_reason: reason, checked_at: new Date() }))
      .where('id', '=', b.id).where('generation', '=', ownGeneration)
      .returning('generation').executeTakeFirst();
    return r?.generation ?? null;
  }

  /** The batch is done: removed by the job that owns its generation (null: the direct path, no row). */
  async remove(id: string, generation: number | null): Promise<void> {
    let q = this.db.deleteFrom('delivery_batches').where('id', '=', id);
    if (generation !== null) q = q.where('generation', '=', generation);
    await q.execute();
  }

  /**
   * Sweep: batches due for more than `staleMs` (their job should have run by now),
   * least recently checked first; marks them checked so the next sweep looks further.
   */
  async overdue(staleMs: number, limit: number): Promise<BatchLedgerRow[]> {
    const r = await sql<{ id: string; notification_id: string; app_id: string; provider: string; credential_id: string; device_ids: string[]; attempt: number; generation: number }>`
      UPDATE delivery_batches b SET checked_at = now()
      FROM (SELECT id FROM delivery_batches WHERE run_at < now() - ${staleMs} * interval '1 millisecond'
            ORDER BY checked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) d
      WHERE b.id = d.id
      RETURNING b.id, b.notification_id, b.app_id, b.provider, b.credential_id, b.device_ids, b.attempt, b.generation`.execute(this.db);
    return r.rows.map((x) => ({
      id: x.id, notificationId: x.notification_id, appId: x.app_id, provider: x.provider, credentialId: x.credential_id,
      deviceIds: x.device_ids, attempt: x.attempt, generation: x.generation,
    }));
  }

  /** Sweep: takes a batch over (next generation), once across every worker; null when another did. */
  async takeOver(id: string, generation: number): Promise<number | null> {
    const r = await this.db.updateTable('delivery_batches').set((eb) => ({ generation: eb('generation', '+', 1), run_at: new Date() }))
      .where('id', '=', id).where('generation', '=', generation).returning('generation').executeTakeFirst();
    return r?.generation ?? null;
  }

  /** Batches a notification still owes (a fan-out re-run re-adds their jobs). */
  async forNotification(notificationId: string): Promise<BatchLedgerRow[]> {
    const rows = await this.db.selectFrom('delivery_batches').selectAll().where('notification_id', '=', notificationId).execute();
    return rows.map((x) => ({
      id: x.id, notificationId: x.notification_id, appId: x.app_id, provider: x.provider, credentialId: x.credential_id,
      deviceIds: x.device_ids, attempt: x.attempt, generation: x.generation, runAt: x.run_at,
    }));
  }

  async countFor(notificationId: string): Promise<number> {
    const r = await this.db.selectFrom('delivery_batches').select((eb) => eb.fn.countAll<string>().as('n')).where('notification_id', '=', notificationId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
