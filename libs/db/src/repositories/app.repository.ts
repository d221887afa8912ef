import { createHash, timingSafeEqual } from 'node:crypto';
import { newId, randomSecret } from '@app/common';
import type { Db } from '../database';
import type { ApiScope } from '../schema';

export interface ApiKeyPrincipal {
  keyId: string;
  appId: string;
  scopes: ApiScope[];
}

const hash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/**
 * Apps (tenants) and their API keys. A key reads "pgw_<key id>_<secret>": the id
 * finds the row, the secret is compared to its sha256 in constant time. Keys are
 * 192-bit random, so a fast hash is the right tool (no password stretching needed).
 */
export class AppRepository {
  constructor(private readonly db: Db) {}

  async createApp(name: string): Promise<{ id: string; name: string; createdAt: Date }> {
    const id = newId();
    const row = await this.db.insertInto('apps').values({ id, name }).returningAll().executeTakeFirstOrThrow();
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }

  async getApp(appId: string) {
    return this.db.selectFrom('apps').selectAll().where('id', '=', appId).executeTakeFirst();
  }

  async listApps(limit: number, after?: string) {
    let q = this.db.selectFrom('apps').selectAll().orderBy('id').limit(limit);
    if (after) q = q.where('id', '>', after);
    return q.execute();
  }

  async deleteApp(appId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('apps').where('id', '=', appId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async createKey(appId: string, name: string, scopes: ApiScope[]) {
    const id = newId();
    const secret = randomSecret(24);
    await this.db
      .insertInto('api_keys')
      .values({ id, app_id: appId, name, scopes, secret_hash: hash(secret), revoked_at: null })
      .execute();
    return { id, name, scopes, key: `pgw_${id.replace(/-/g, '')}_${secret}` };
  }

  async listKeys(appId: string) {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scopes', 'created_at', 'revoked_at'])
      .where('app_id', '=', appId)
      .orderBy('created_at')
      .execute();
  }

  async revokeKey(appId: string, keyId: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('app_id', '=', appId)
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async authenticate(presented: string): Promise<ApiKeyPrincipal | null> {
    const m = /^pgw_([0-9a-f]{32})_([A-Za-z0-9_-]{20,64})$/.exec(presented);
    if (!m) return null;
    const id = m[1].replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'app_id', 'scopes', 'secret_hash', 'revoked_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || row.revoked_at) return null;
    const a = Buffer.from(hash(m[2]), 'hex');
    const b = Buffer.from(row.secret_hash, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    return { keyId: row.id, appId: row.app_id, scopes: row.scopes };
  }
}
