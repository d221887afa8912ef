import { type Kysely, sql } from 'kysely';

/**
 * Events (what happened to what an app sent) and webhook endpoints.
 *
 * Ordering guarantee for the SSE stream and Last-Event-ID: a reader asks for
 * "id > last seen", so an id must never become visible after a larger one of the same
 * table. A BEFORE STATEMENT trigger takes a transaction-scoped advisory lock before the
 * ids are drawn, so inserts into `events` commit one after another, in id order (event
 * inserts are batched by the workers: a few short statements per second, no contention
 * worth measuring). An AFTER STATEMENT trigger NOTIFYs `pgw_events` with
 * "<schema>:<app id>" for every app that got rows; API processes LISTEN to wake their
 * streams, and the table stays the only source of truth.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE events (
      id bigserial PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      type text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_app_id ON events (app_id, id);
    -- retention purge
    CREATE INDEX events_created_at ON events (created_at);

    CREATE FUNCTION events_serialize() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.events'));
      RETURN NULL;
    END $$;
    CREATE TRIGGER events_serialize BEFORE INSERT ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_serialize();

    CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('pgw_events', TG_TABLE_SCHEMA || ':' || a.app_id::text)
        FROM (SELECT DISTINCT app_id FROM new_rows) a;
      RETURN NULL;
    END $$;
    CREATE TRIGGER events_notify AFTER INSERT ON events
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

    CREATE TABLE webhooks (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      url text NOT NULL,
      events text[] NOT NULL,
      description text,
      secret_enc text NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      consecutive_failures integer NOT NULL DEFAULT 0,
      last_error text,
      last_success_at timestamptz,
      last_failure_at timestamptz,
      disabled_at timestamptz,
      disabled_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhooks_app ON webhooks (app_id, created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE webhooks, events;
    DROP FUNCTION events_serialize(), events_notify();
  `.execute(db);
}
