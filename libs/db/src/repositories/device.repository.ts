import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { newId } from '@app/common';
import type { ProviderName } from '@app/providers';
import type { Db } from '../database';

export const tokenHash = (provider: string, token: string): string =>
  createHash('sha256').update(provider).update('\0').update(token).digest('hex');

export interface DeviceInput {
  provider: ProviderName;
  token: string;
  tokenData?: Record<string, string> | null;
  environment?: string | null;
  credentialId?: string | null;
  userId?: string | null;
  tags?: string[];
  locale?: string | null;
  timezone?: string | null;
  appVersion?: string | null;
}

export interface DevicePatch {
  userId?: string | null;
  tags?: string[];
  locale?: string | null;
  timezone?: string | null;
  appVersion?: string | null;
  environment?: string | null;
}

export interface AudienceFilter {
  all?: boolean;
  deviceIds?: string[];
  userIds?: string[];
  tags?: string[];
}

export interface StreamedDevice {
  id: string;
  provider: string;
  token: string;
  token_data: Record<string, string> | null;
  environment: string | null;
  credential_id: string | null;
}

const PUBLIC_COLUMNS = [
  'id', 'provider', 'token', 'token_data', 'environment', 'credential_id', 'user_id', 'tags', 'locale',
  'timezone', 'app_version', 'status', 'invalid_reason', 'invalidated_at', 'created_at', 'updated_at',
] as const;

/** Devices of one app. Every method takes the app id: a query without it cannot be written. */
export class DeviceRepository {
  constructor(private readonly db: Db) {}

  /**
   * Registers or refreshes a device idempotently per (app, provider, token). With
   * `previousToken`, the old row is moved to the new token (keeping its id) when the
   * new token is not registered yet; otherwise the old row is removed.
   */
  async register(appId: string, input: DeviceInput, previousToken?: string | null) {
    return this.db.transaction().execute(async (trx) => {
      const hash = tokenHash(input.provider, input.token);
      const values = {
        token: input.token,
        token_hash: hash,
        token_data: input.tokenData ? JSON.stringify(input.tokenData) : null,
        environment: input.environment ?? null,
        credential_id: input.credentialId ?? null,
        user_id: input.userId ?? null,
        tags: input.tags ?? [],
        locale: input.locale ?? null,
        timezone: input.timezone ?? null,
        app_version: input.appVersion ?? null,
        status: 'active' as const,
        invalid_reason: null,
        invalidated_at: null,
        updated_at: new Date(),
      };
      if (previousToken) {
        const prevHash = tokenHash(input.provider, previousToken);
        const existing = await trx.selectFrom('devices').select('id').where('app_id', '=', appId)
          .where('provider', '=', input.provider).where('token_hash', '=', hash).executeTakeFirst();
        if (existing) {
          await trx.deleteFrom('devices').where('app_id', '=', appId).where('provider', '=', input.provider)
            .where('token_hash', '=', prevHash).execute();
        } else {
          const moved = await trx.updateTable('devices').set(values).where('app_id', '=', appId)
            .where('provider', '=', input.provider).where('token_hash', '=', prevHash)
            .returning(PUBLIC_COLUMNS).executeTakeFirst();
          if (moved) return { device: moved, created: false };
        }
      }
      const row = await trx
        .insertInto('devices')
        .values({ id: newId(), app_id: appId, provider: input.provider, ...values })
        .onConflict((oc) => oc.columns(['app_id', 'provider', 'token_hash']).doUpdateSet(values))
        .returning([...PUBLIC_COLUMNS, sql<boolean>`(xmax = 0)`.as('inserted')])
        .executeTakeFirstOrThrow();
      const { inserted, ...device } = row;
      return { device, created: inserted };
    });
  }

  async get(appId: string, id: string) {
    return this.db.selectFrom('devices').select([...PUBLIC_COLUMNS, 'user_id']).where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
  }

  async patch(appId: string, id: string, patch: DevicePatch) {
    const set: Record<string, unknown> = { updated_at: new Date() };
    if (patch.userId !== undefined) set.user_id = patch.userId;
    if (patch.tags !== undefined) set.tags = patch.tags;
    if (patch.locale !== undefined) set.locale = patch.locale;
    if (patch.timezone !== undefined) set.timezone = patch.timezone;
    if (patch.appVersion !== undefined) set.app_version = patch.appVersion;
    if (patch.environment !== undefined) set.environment = patch.environment;
    return this.db.updateTable('devices').set(set).where('app_id', '=', appId).where('id', '=', id)
      .returning(PUBLIC_COLUMNS).executeTakeFirst();
  }

  async delete(appId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('devices').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(appId: string, opts: { limit: number; after?: string; userId?: string; tag?: string; provider?: string; status?: string }) {
    let q = this.db.selectFrom('devices').select(PUBLIC_COLUMNS).where('app_id', '=', appId).orderBy('id').limit(opts.limit);
    if (opts.after) q = q.where('id', '>', opts.after);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    if (opts.tag) q = q.where(sql<boolean>`tags @> ARRAY[${opts.tag}]::text[]`);
    if (opts.provider) q = q.where('provider', '=', opts.provider);
    if (opts.status) q = q.where('status', '=', opts.status as 'active' | 'invalid');
    return q.execute();
  }

  /**
   * Callers that keep their own registry send to raw tokens: they become devices of
   * the app (idempotent upsert), so invalid-token marking and delivery status work the
   * same for them. One statement for the whole list.
   */
  async upsertRaw(appId: string, tokens: Array<{ provider: string; token: string; tokenData?: Record<string, string> | null; environment?: string | null }>): Promise<string[]> {
    if (tokens.length === 0) return [];
    const rows = await this.db
      .insertInto('devices')
      .values(tokens.map((t) => ({
        id: newId(), app_id: appId, provider: t.provider, token: t.token, token_hash: tokenHash(t.provider, t.token),
        token_data: t.tokenData ? JSON.stringify(t.tokenData) : null, environment: t.environment ?? null,
        credential_id: null, user_id: null, locale: null, timezone: null, app_version: null, invalid_reason: null, invalidated_at: null,
      })))
      .onConflict((oc) => oc.columns(['app_id', 'provider', 'token_hash']).doUpdateSet({ updated_at: new Date() }))
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** One keyset page of active devices matching the audience, in id order. */
  async page(appId: string, audience: AudienceFilter, after: string | null, limit: number): Promise<StreamedDevice[]> {
    let q = this.db
      .selectFrom('devices')
      .select(['id', 'provider', 'token', 'token_data', 'environment', 'credential_id'])
      .where('app_id', '=', appId)
      .where('status', '=', 'active')
      .orderBy('id')
      .limit(limit);
    if (after) q = q.where('id', '>', after);
    if (!audience.all) {
      q = q.where((eb) => {
        const ors = [];
        if (audience.deviceIds?.length) ors.push(eb('id', 'in', audience.deviceIds));
        if (audience.userIds?.length) ors.push(eb('user_id', 'in', audience.userIds));
        if (audience.tags?.length) ors.push(sql<boolean>`tags && ${sql.val(audience.tags)}::text[]`);
        return ors.length ? eb.or(ors) : sql<boolean>`false`;
      });
    }
    return q.execute();
  }

  /** Marks devices invalid in one statement; kept for audit, excluded from every later send. */
  /** Devices by id, whatever their status (the recovery sweep rebuilds a batch's job from them). */
  async byIds(appId: string, ids: string[]): Promise<StreamedDevice[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('devices').select(['id', 'provider', 'token', 'token_data', 'environment', 'credential_id'])
      .where('app_id', '=', appId).where('id', 'in', ids).orderBy('id').execute() as Promise<StreamedDevice[]>;
  }

  async markInvalid(appId: string, marks: Array<{ deviceId: string; reason: string }>): Promise<number> {
    if (marks.length === 0) return 0;
    const r = await sql`
      UPDATE devices d SET status = 'invalid', invalid_reason = m.reason, invalidated_at = now(), updated_at = now()
      FROM unnest(${sql.val(marks.map((m) => m.deviceId))}::uuid[], ${sql.val(marks.map((m) => m.reason))}::text[]) AS m(id, reason)
      WHERE d.id = m.id AND d.app_id = ${appId} AND d.status = 'active'
    `.execute(this.db);
    return Number(r.numAffectedRows ?? 0);
  }
}
