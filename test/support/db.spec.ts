import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppRepository, DeviceRepository, type Db } from '../../libs/db/src';
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
});
