import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE apps (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      name text NOT NULL,
      secret_hash text NOT NULL,
      scopes text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );
    CREATE INDEX api_keys_app ON api_keys (app_id);
    CREATE TABLE credentials (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      provider text NOT NULL,
      name text NOT NULL,
      environment text,
      secret_enc text NOT NULL,
      summary jsonb NOT NULL,
      version integer NOT NULL DEFAULT 1,
      alarm text,
      alarm_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (app_id, provider, name)
    );
    CREATE TABLE devices (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      provider text NOT NULL,
      token text NOT NULL,
      token_hash text NOT NULL,
      token_data jsonb,
      environment text,
      credential_id uuid REFERENCES credentials(id) ON DELETE SET NULL,
      user_id text,
      tags text[] NOT NULL DEFAULT '{}',
      locale text,
      timezone text,
      app_version text,
      status text NOT NULL DEFAULT 'active',
      invalid_reason text,
      invalidated_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (app_id, provider, token_hash)
    );
    -- fan-out streams active devices of an app in id order (keyset pages)
    CREATE INDEX devices_active_app_id ON devices (app_id, id) WHERE status = 'active';
    CREATE INDEX devices_app_user ON devices (app_id, user_id, id) WHERE user_id IS NOT NULL;
    CREATE INDEX devices_tags ON devices USING gin (tags);
    CREATE TABLE notifications (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      status text NOT NULL,
      payload jsonb NOT NULL,
      targets jsonb NOT NULL,
      send_at timestamptz,
      expires_at timestamptz,
      targeted integer NOT NULL DEFAULT 0,
      delivered integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      invalid_tokens integer NOT NULL DEFAULT 0,
      expired integer NOT NULL DEFAULT 0,
      pending_retry integer NOT NULL DEFAULT 0,
      fanout_done boolean NOT NULL DEFAULT false,
      fanout_cursor uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      completed_at timestamptz
    );
    CREATE INDEX notifications_app_created ON notifications (app_id, created_at DESC);
    CREATE TABLE deliveries (
      notification_id uuid NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
      device_id uuid NOT NULL,
      app_id uuid NOT NULL,
      provider text NOT NULL,
      status text NOT NULL,
      reason text,
      provider_message_id text,
      attempts integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (notification_id, device_id)
    );
    CREATE INDEX deliveries_status ON deliveries (notification_id, status, device_id);
    CREATE TABLE idempotency_keys (
      app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
      key text NOT NULL,
      request_hash text NOT NULL,
      status_code integer NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (app_id, key)
    );
    CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE idempotency_keys, deliveries, notifications, devices, credentials, api_keys, apps`.execute(db);
}
