import { newId, SecretBox } from '@app/common';
import type { CredentialRecord, ApnsEnvironment, ProviderName } from '@app/providers';
import type { Db } from '../database';

export interface CredentialView {
  id: string;
  provider: string;
  name: string;
  environment: string | null;
  summary: Record<string, string>;
  version: number;
  alarm: string | null;
  alarmAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Provider credentials, sealed with the master key and bound to their app. Reads for
 * the API return only the non-secret summary; only the worker opens the secret.
 */
export class CredentialRepository {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async upsert(
    appId: string,
    input: { provider: ProviderName; name: string; environment: ApnsEnvironment | null; secret: object; summary: Record<string, string> },
  ): Promise<CredentialView> {
    const id = newId();
    const row = await this.db
      .insertInto('credentials')
      .values({
        id,
        app_id: appId,
        provider: input.provider,
        name: input.name,
        environment: input.environment,
        secret_enc: this.box.seal(input.secret, appId),
        summary: JSON.stringify(input.summary),
        alarm: null,
        alarm_at: null,
      })
      .onConflict((oc) =>
        oc.columns(['app_id', 'provider', 'name']).doUpdateSet((eb) => ({
          environment: eb.ref('excluded.environment'),
          secret_enc: eb.ref('excluded.secret_enc'),
          summary: eb.ref('excluded.summary'),
          version: eb('credentials.version', '+', 1),
          alarm: null,
          alarm_at: null,
          updated_at: new Date(),
        })),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toView(row);
  }

  /** Inserts unless a credential of that provider and name exists; returns whichever is stored. */
  async createIfAbsent(
    appId: string,
    input: { provider: ProviderName; name: string; environment: ApnsEnvironment | null; secret: object; summary: Record<string, string> },
  ): Promise<CredentialView> {
    await this.db
      .insertInto('credentials')
      .values({
        id: newId(), app_id: appId, provider: input.provider, name: input.name, environment: input.environment,
        secret_enc: this.box.seal(input.secret, appId), summary: JSON.stringify(input.summary), alarm: null, alarm_at: null,
      })
      .onConflict((oc) => oc.columns(['app_id', 'provider', 'name']).doNothing())
      .execute();
    const row = await this.db.selectFrom('credentials').selectAll().where('app_id', '=', appId)
      .where('provider', '=', input.provider).where('name', '=', input.name).executeTakeFirstOrThrow();
    return toView(row);
  }

  async list(appId: string): Promise<CredentialView[]> {
    const rows = await this.db.selectFrom('credentials').selectAll().where('app_id', '=', appId).orderBy('created_at').execute();
    return rows.map(toView);
  }

  async get(appId: string, id: string): Promise<CredentialView | undefined> {
    const row = await this.db.selectFrom('credentials').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return row && toView(row);
  }

  async delete(appId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('credentials').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Decrypted credential for the worker; null when it was deleted meanwhile. */
  async open(appId: string, id: string): Promise<CredentialRecord | null> {
    const row = await this.db.selectFrom('credentials').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      appId: row.app_id,
      provider: row.provider as ProviderName,
      name: row.name,
      environment: row.environment as ApnsEnvironment | null,
      secret: this.box.open<Record<string, unknown>>(row.secret_enc, appId),
      version: row.version,
    };
  }

  /** Every credential's route of an app, by provider, oldest first (one query for a fan-out). */
  async routesByProvider(appId: string): Promise<Map<ProviderName, Array<{ id: string; environment: string | null }>>> {
    const rows = await this.db.selectFrom('credentials').select(['id', 'provider', 'environment'])
      .where('app_id', '=', appId).orderBy('created_at').execute();
    const out = new Map<ProviderName, Array<{ id: string; environment: string | null }>>();
    for (const r of rows) {
      const list = out.get(r.provider as ProviderName) ?? [];
      list.push({ id: r.id, environment: r.environment });
      out.set(r.provider as ProviderName, list);
    }
    return out;
  }


  async raiseAlarm(appId: string, id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('credentials')
      .set({ alarm: reason.slice(0, 500), alarm_at: new Date() })
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .execute();
  }
}

function toView(row: {
  id: string; provider: string; name: string; environment: string | null; summary: Record<string, string>;
  version: number; alarm: string | null; alarm_at: Date | null; created_at: Date; updated_at: Date;
}): CredentialView {
  return {
    id: row.id,
    provider: row.provider,
    name: row.name,
    environment: row.environment,
    summary: row.summary,
    version: row.version,
    alarm: row.alarm,
    alarmAt: row.alarm_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
