import { type Kysely, sql } from 'kysely';

/**
 * The ledger of work owed (docs/reliability.md). A queue job is only a wake-up call:
 *
 * - `delivery_batches`: one row per batch of devices that still owe an outcome, written in
 *   the same transaction as the fan-out page that produced it (or when a direct send
 *   schedules a retry), rewritten when its devices are retried, deleted when none is left.
 *   `generation` is part of the batch's job id, so a re-driven batch gets a job of its own
 *   even while an old, failed or completed job with the previous id is still kept.
 * - `notifications.progress_at`: the last time a notification's work moved (a page fanned
 *   out, outcomes written); the recovery sweep re-drives what has not moved for a while.
 * - `provider_circuits`: the circuit breaker per push-service endpoint and credential,
 *   shared by every worker process.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE notifications ADD COLUMN progress_at timestamptz;
    CREATE INDEX notifications_unfinished ON notifications (created_at) WHERE status IN ('queued', 'sending');

    CREATE TABLE delivery_batches (
      id text PRIMARY KEY,
      notification_id uuid NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
      app_id uuid NOT NULL,
      provider text NOT NULL,
      credential_id uuid NOT NULL,
      device_ids uuid[] NOT NULL,
      attempt integer NOT NULL DEFAULT 0,
      generation integer NOT NULL DEFAULT 0,
      run_at timestamptz NOT NULL DEFAULT now(),
      last_reason text,
      checked_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX delivery_batches_notification ON delivery_batches (notification_id);
    CREATE INDEX delivery_batches_checked ON delivery_batches (checked_at);

    CREATE TABLE provider_circuits (
      key text PRIMARY KEY,
      app_id uuid NOT NULL,
      provider text NOT NULL,
      credential_id uuid NOT NULL,
      endpoint text NOT NULL,
      state text NOT NULL,
      reason text,
      opened_at timestamptz,
      probe_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE provider_circuits, delivery_batches;
    DROP INDEX notifications_unfinished;
    ALTER TABLE notifications DROP COLUMN progress_at;
  `.execute(db);
}
