import { sql } from 'kysely';
import { newId, randomSecret, type SecretBox } from '@app/common';
import type { Db } from '../database';
import type { EventType } from './event.repository';

export interface WebhookView {
  id: string;
  url: string;
  events: EventType[];
  description: string | null;
  enabled: boolean;
  consecutiveFailures: number;
  lastError: string | null;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
}

/** What the webhook processor needs to sign and send one delivery. */
export interface WebhookTarget {
  id: string;
  url: string;
  enabled: boolean;
  secret: string;
}

type Row = {
  id: string; url: string; events: string[]; description: string | null; enabled: boolean; consecutive_failures: number;
  last_error: string | null; last_success_at: Date | null; last_failure_at: Date | null; disabled_at: Date | null;
  disabled_reason: string | null; created_at: Date;
};

const toView = (r: Row): WebhookView => ({
  id: r.id,
  url: r.url,
  events: r.events as EventType[],
  description: r.description,
  enabled: r.enabled,
  consecutiveFailures: r.consecutive_failures,
  lastError: r.last_error,
  lastSuccessAt: r.last_success_at,
  lastFailureAt: r.last_failure_at,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
});

/**
 * Webhook endpoints of an app. The signing secret is generated here, returned once by
 * create(), and stored sealed with the master key and bound to the app (like provider
 * credentials); only the worker opens it.
 */
export class WebhookRepository {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(appId: string, input: { url: string; events: EventType[]; description: string | null }): Promise<{ webhook: WebhookView; secret: string }> {
    const secret = `whsec_${randomSecret(32)}`;
    const row = await this.db
      .insertInto('webhooks')
      .values({
        id: newId(), app_id: appId, url: input.url, events: input.events, description: input.description,
        secret_enc: this.box.seal(secret, appId), last_error: null, last_success_at: null, last_failure_at: null,
        disabled_at: null, disabled_reason: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { webhook: toView(row), secret };
  }

  async count(appId: string): Promise<number> {
    const r = await this.db.selectFrom('webhooks').select((eb) => eb.fn.countAll<string>().as('n')).where('app_id', '=', appId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async list(appId: string): Promise<WebhookView[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('app_id', '=', appId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toView);
  }

  async get(appId: string, id: string): Promise<WebhookView | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && toView(row);
  }

  async delete(appId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('webhooks').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Re-enables an endpoint and forgets its failure streak. */
  async enable(appId: string, id: string): Promise<WebhookView | undefined> {
    const row = await this.db
      .updateTable('webhooks')
      .set({ enabled: true, consecutive_failures: 0, disabled_at: null, disabled_reason: null, updated_at: new Date() })
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toView(row);
  }

  /** Enabled endpoints of the app subscribed to any of `types`. */
  async subscribers(appId: string, types: readonly EventType[]): Promise<Array<{ id: string; events: EventType[] }>> {
    if (types.length === 0) return [];
    const rows = await this.db
      .selectFrom('webhooks')
      .select(['id', 'events'])
      .where('app_id', '=', appId)
      .where('enabled', '=', true)
      .where(sql<boolean>`events && ${sql.val(types)}::text[]`)
      .execute();
    return rows.map((r) => ({ id: r.id, events: r.events as EventType[] }));
  }

  /** The endpoint with its secret opened, for the worker; undefined when it was deleted. */
  async target(appId: string, id: string): Promise<WebhookTarget | undefined> {
    const row = await this.db.selectFrom('webhooks').select(['id', 'url', 'enabled', 'secret_enc']).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, url: row.url, enabled: row.enabled, secret: this.box.open<string>(row.secret_enc, appId) };
  }

  async recordSuccess(appId: string, id: string): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({ consecutive_failures: 0, last_success_at: new Date() })
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .execute();
  }

  /**
   * Counts one failed attempt; at `maxFailures` consecutive failures the endpoint is
   * disabled in the same statement. `disabledNow` is true for exactly one caller (the
   * row lock serializes concurrent failures and only an enabled row is updated), so the
   * webhook.disabled event is written once. Undefined when the endpoint is gone or
   * already disabled.
   */
  async recordFailure(appId: string, id: string, error: string, maxFailures: number): Promise<{ failures: number; disabledNow: boolean } | undefined> {
    const reason = error.slice(0, 500);
    const row = await this.db
      .updateTable('webhooks')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        last_error: reason,
        last_failure_at: new Date(),
        enabled: sql<boolean>`consecutive_failures + 1 < ${maxFailures}`,
        disabled_at: sql<Date | null>`CASE WHEN consecutive_failures + 1 >= ${maxFailures} THEN now() ELSE NULL END`,
        disabled_reason: sql<string | null>`CASE WHEN consecutive_failures + 1 >= ${maxFailures}
          THEN ${`${maxFailures} consecutive failed deliveries; last: ${reason}`} ELSE NULL END`,
      }))
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .where('enabled', '=', true)
      .returning(['consecutive_failures', 'enabled'])
      .executeTakeFirst();
    return row && { failures: row.consecutive_failures, disabledNow: !row.enabled };
  }
}
