import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { AppRepository, DeviceRepository, NotificationRepository, type Db } from '@app/db';
import { testConfig, testDatabase } from './test-env';

describe('database: migrations and tenant-scoped repositories', () => {
  let db: Db;
  let drop: () => Promise<void>;
  before(async () => {
    ({ db, drop } = await testDatabase(testConfig()));
  });
  after(async () => drop());

  it('authenticates a key it issued and refuses a tampered or revoked one', async () => {
    const apps = new AppRepository(db);
    const app = await apps.createApp('a');
    const k = await apps.createKey(app.id, 'k', ['send']);
    assert.deepEqual(await apps.authenticate(k.key), { keyId: k.id, appId: app.id, scopes: ['send'] });
    assert.equal(await apps.authenticate(k.key.slice(0, -1) + (k.key.endsWith('A') ? 'B' : 'A')), null);
    assert.equal(await apps.revokeKey(app.id, k.id), true);
    assert.equal(await apps.authenticate(k.key), null);
  });

  it('registers devices idempotently per (app, provider, token) and never across apps', async () => {
    const apps = new AppRepository(db);
    const devices = new DeviceRepository(db);
    const a = await apps.createApp('a');
    const b = await apps.createApp('b');
    const first = await devices.register(a.id, { provider: 'fcm', token: 'tok-1', userId: 'u1' });
    const again = await devices.register(a.id, { provider: 'fcm', token: 'tok-1', userId: 'u2' });
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.equal(again.device.id, first.device.id);
    assert.equal(again.device.user_id, 'u2');
    const other = await devices.register(b.id, { provider: 'fcm', token: 'tok-1' });
    assert.notEqual(other.device.id, first.device.id);
    assert.equal(await devices.get(b.id, first.device.id), undefined);
    assert.equal(await devices.delete(b.id, first.device.id), false);
  });

  it('pages the deliveries of a large notification in index order, never by sorting them all', async () => {
    const app = await new AppRepository(db).createApp('big');
    const id = '00000000-0000-4000-8000-000000000001';
    await db.insertInto('notifications').values({
      id, app_id: app.id, status: 'completed', payload: '{}', targets: '{"all":true}', send_at: null, expires_at: null, started_at: null, completed_at: null, fanout_cursor: null,
    }).execute();
    // 50,000 rows straight after the insert: no statistics yet, as after any burst
    await sql`INSERT INTO deliveries (notification_id, device_id, app_id, provider, status)
      SELECT ${id}::uuid, gen_random_uuid(), ${app.id}::uuid, 'fcm', CASE WHEN i % 1000 = 0 THEN 'failed' ELSE 'delivered' END
      FROM generate_series(1, 50000) AS i`.execute(db);
    const repo = new NotificationRepository(db);
    const plan = async (opts: { limit: number; after?: string; status?: 'failed' }) =>
      NotificationRepository.withoutSorting(db, async (trx) => {
        const q = NotificationRepository.deliveriesQuery(trx, app.id, id, opts).compile();
        const r = await sql.raw<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.sql.replace(/\$(\d+)/g, (_, n) => `'${String(q.parameters[Number(n) - 1])}'`)}`).execute(trx);
        return JSON.stringify(r.rows[0]['QUERY PLAN']);
      });
    const first = await repo.deliveries(app.id, id, { limit: 1000 });
    for (const [opts, index] of [[{ limit: 1000 }, 'deliveries_pkey'], [{ limit: 1000, after: first[999].device_id }, 'deliveries_pkey'], [{ limit: 100, status: 'failed' as const }, 'deliveries_status']] as const) {
      const p = await plan(opts);
      assert.doesNotMatch(p, /"Node Type":\s*"(Sort|Bitmap Heap Scan)"/, `no sort over every row: ${p}`);
      assert.match(p, new RegExp(`"Index Name":\\s*"${index}"`));
    }
    // and the pages are right: ordered, contiguous, complete
    const second = await repo.deliveries(app.id, id, { limit: 1000, after: first[999].device_id });
    const ids = [...first, ...second].map((r) => r.device_id);
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(new Set(ids).size, 2000);
    assert.equal((await repo.deliveries(app.id, id, { limit: 100, status: 'failed' })).length, 50);
  });
});
