import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceRepository } from '@app/db';
import { client, provisionApp, sandboxControl, startStack, waitFor, type Stack } from './support/harness';
import { appWithDevices as appWithFcmDevices, deviceKits, type DeviceKit } from './support/device-kits';
import { startWorker } from '../apps/worker/src/worker.bootstrap';
import { QUEUE_BACKENDS } from './support/test-env';
import { JobName, QueueName } from '@app/queue';

type Json = Record<string, unknown>;
interface NotificationBody { status: string; counts: Record<string, number> }

// The pipeline's integration tests run once on each BullMQ backend this machine has.
for (const backend of QUEUE_BACKENDS) {
  describe(`pipeline on the ${backend} queue backend`, () => {
    let stack: Stack;
    let call: ReturnType<typeof client>;
    let fcm: DeviceKit;

    before(async () => {
      stack = await startStack(backend, { FANOUT_PAGE_SIZE: '1000', DELIVERY_BATCH_SIZE: '250' });
      call = client(stack.apiUrl);
      fcm = deviceKits(stack.sandbox).fcm;
    });
    after(async () => stack?.close());

    const appWithDevices = (n: number) => appWithFcmDevices(call, fcm, n);

    async function settled(app: { send: string }, id: string): Promise<NotificationBody> {
      return waitFor(async () => {
        const r = await call<NotificationBody>('GET', `/v1/notifications/${id}`, { key: app.send });
        return ['completed', 'partially_failed', 'failed', 'expired'].includes(r.body.status) ? r.body : null;
      }, `notification ${id} to settle`, 30_000);
    }

    const receipts = (sandboxId: string) => stack.sandbox.store.forDevice('fcm', sandboxId);

    it('goes from one HTTP send to a sandbox receipt, with the content translated', async () => {
      const app = await appWithDevices(1);
      const r = await call<Json>('POST', '/v1/notifications', {
        key: app.send, body: { targets: { userIds: ['user-0'] }, title: 'Hello', body: 'World', data: { orderId: '42' } },
      });
      assert.equal(r.status, 202);
      assert.equal(r.body.status, 'queued');
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'completed');
      assert.deepEqual(n.counts, { targeted: 1, delivered: 1, failed: 0, invalidTokens: 0, expired: 0, pendingRetry: 0 });
      const [receipt] = receipts(app.devices[0].sandboxId);
      const message = (receipt.payload as { message?: Json }).message ?? (receipt.payload as Json);
      assert.deepEqual(message.notification, { title: 'Hello', body: 'World' });
      assert.deepEqual(message.data, { orderId: '42' });
      const deliveries = await call<{ data: Json[] }>('GET', `/v1/notifications/${r.body.id}/deliveries`, { key: app.send });
      assert.equal(deliveries.body.data.length, 1);
      assert.equal(deliveries.body.data[0].outcome, 'delivered');
      assert.equal(deliveries.body.data[0].deviceId, app.devices[0].id);
    });

    it('fans out to a few thousand devices, each delivered exactly once, with exact counts', async () => {
      const app = await appWithDevices(0);
      const devices = new DeviceRepository(stack.db);
      const tokens: string[] = [];
      // shaped like FCM's tokens; the stand-in accepts well-formed tokens it never minted
      for (let i = 0; i < 2500; i++) tokens.push(`${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`);
      await devices.upsertRaw(app.appId, tokens.map((token) => ({ provider: 'fcm', token })));
      const before = stack.sandbox.store.stats().delivered.fcm;
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'Everyone' } });
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'completed');
      assert.equal(n.counts.targeted, 2500);
      assert.equal(n.counts.delivered, 2500);
      assert.equal(stack.sandbox.store.stats().delivered.fcm - before, 2500);
      for (const t of [tokens[0], tokens[1234], tokens[2499]]) assert.equal(receipts(t).length, 1);
      let page = await call<{ data: Json[]; nextCursor: string | null }>('GET', `/v1/notifications/${r.body.id}/deliveries?limit=1000`, { key: app.send });
      let seen = page.body.data.length;
      while (page.body.nextCursor) {
        page = await call('GET', `/v1/notifications/${r.body.id}/deliveries?limit=1000&cursor=${page.body.nextCursor}`, { key: app.send });
        seen += page.body.data.length;
      }
      assert.equal(seen, 2500);
    });

    it('scales out: two worker processes share the work and deliver each device exactly once', async () => {
      const second = await startWorker(stack.config, { ops: { port: 0, host: '127.0.0.1' } });
      try {
        const app = await appWithDevices(0);
        const tokens = Array.from({ length: 1500 }, () => `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`);
        await new DeviceRepository(stack.db).upsertRaw(app.appId, tokens.map((token) => ({ provider: 'fcm', token })));
        const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'shared' } });
        const n = await settled(app, r.body.id as string);
        assert.equal(n.counts.delivered, 1500);
        const counts = tokens.map((t) => receipts(t).length);
        assert.deepEqual([Math.min(...counts), Math.max(...counts)], [1, 1]);
      } finally {
        await second.close();
      }
    });

    it('retries only the device that got a 503, not before its Retry-After', async () => {
      const app = await appWithDevices(3);
      const control = sandboxControl(stack.sandbox);
      await control('POST', '/inject', { provider: 'fcm', device: app.devices[1].sandboxId, status: 503, reason: 'UNAVAILABLE', retryAfter: 1 });
      const sentAt = Date.now();
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'Retry me' } });
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'completed');
      assert.equal(n.counts.delivered, 3);
      assert.equal(n.counts.pendingRetry, 0);
      for (const d of app.devices) assert.equal(receipts(d.sandboxId).length, 1, 'each device received it exactly once');
      const retried = receipts(app.devices[1].sandboxId)[0];
      assert.ok(retried.at - sentAt >= 1000, `retried after ${retried.at - sentAt} ms, Retry-After was 1 s`);
      const rows = await call<{ data: Json[] }>('GET', `/v1/notifications/${r.body.id}/deliveries`, { key: app.send });
      const attempts = Object.fromEntries(rows.body.data.map((x) => [x.deviceId, x.attempts]));
      assert.equal(attempts[app.devices[1].id], 2);
      assert.equal(attempts[app.devices[0].id], 1);
    });

    it('marks an unregistered token invalid and never sends to it again', async () => {
      const app = await appWithDevices(2);
      const control = sandboxControl(stack.sandbox);
      await control('POST', '/inject', { provider: 'fcm', device: app.devices[0].sandboxId, status: 404, reason: 'UNREGISTERED' });
      const first = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'one' } });
      const n1 = await settled(app, first.body.id as string);
      assert.equal(n1.status, 'partially_failed');
      assert.equal(n1.counts.invalidTokens, 1);
      assert.equal(n1.counts.delivered, 1);
      const dev = await call<Json>('GET', `/v1/devices/${app.devices[0].id}`, { key: app.register });
      assert.equal(dev.body.status, 'invalid');
      assert.match(String(dev.body.invalidReason), /UNREGISTERED/);
      const second = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'two' } });
      const n2 = await settled(app, second.body.id as string);
      assert.equal(n2.counts.targeted, 1);
      assert.equal(receipts(app.devices[0].sandboxId).length, 0);
    });

    it('does not deliver late: a TTL that lapses while waiting for a retry counts as expired', async () => {
      const app = await appWithDevices(1);
      await sandboxControl(stack.sandbox)('POST', '/inject', { provider: 'fcm', device: app.devices[0].sandboxId, status: 503, reason: 'UNAVAILABLE', retryAfter: 5 });
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'soon', ttlSeconds: 2 } });
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'expired');
      assert.equal(n.counts.expired, 1);
      assert.equal(receipts(app.devices[0].sandboxId).length, 0);
    });

    it('delivers a scheduled send after sendAt', async () => {
      const app = await appWithDevices(1);
      const sendAt = new Date(Date.now() + 1500);
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'at', sendAt: sendAt.toISOString() } });
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'completed');
      assert.ok(receipts(app.devices[0].sandboxId)[0].at >= sendAt.getTime());
    });

    it('delivers through every provider in one send: APNs, FCM, WNS and Web Push', async () => {
      const app = await provisionApp(call);
      const kits = deviceKits(stack.sandbox);
      const sims: Array<{ provider: keyof typeof kits; sandboxId: string }> = [];
      for (const kit of Object.values(kits)) {
        const cred = await kit.credential();
        const c = await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: kit.provider, name: 'default', config: cred.config, ...(cred.environment ? { environment: cred.environment } : {}) } });
        assert.equal(c.status, 201, `${kit.provider} credential: ${JSON.stringify(c.body)}`);
        for (let i = 0; i < 2; i++) {
          const d = await kit.device();
          const r = await call('POST', '/v1/devices', { key: app.register, body: { provider: kit.provider, token: d.token, ...(d.environment ? { environment: d.environment } : {}), tags: ['everywhere'] } });
          assert.equal(r.status, 201, `${kit.provider} device: ${JSON.stringify(r.body)}`);
          sims.push({ provider: kit.provider, sandboxId: d.sandboxId });
        }
      }
      const r = await call<Json>('POST', '/v1/notifications', {
        key: app.send, body: { targets: { tags: ['everywhere'] }, title: 'Hello everyone', body: 'on every platform', data: { k: 'v' }, badge: 3 },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const n = await settled(app, r.body.id as string);
      assert.equal(n.status, 'completed', JSON.stringify(n));
      assert.equal(n.counts.delivered, 8);
      for (const sim of sims) {
        const got = stack.sandbox.store.forDevice(sim.provider, sim.sandboxId);
        assert.equal(got.length, 1, `${sim.provider} device received it once`);
        assert.match(JSON.stringify(got[0].payload), /Hello everyone/, `${sim.provider} payload carries the title`);
      }
    });

    it('re-enqueues a notification whose fan-out job was never added (API crash after commit)', async () => {
      const app = await appWithDevices(1);
      const id = randomUUID();
      const payload = { id, appId: app.appId, title: 'orphan', priority: 'high', silent: false, acceptedAt: Date.now() - 180_000 };
      await stack.db.insertInto('notifications').values({
        id, app_id: app.appId, status: 'queued', payload: JSON.stringify(payload), targets: JSON.stringify({ all: true }),
        send_at: null, expires_at: null, started_at: null, completed_at: null, fanout_cursor: null, created_at: new Date(Date.now() - 180_000),
      }).execute();
      const first = await stack.worker.maintenance.runOnce();
      assert.equal(first.requeued, 1);
      const n = await settled(app, id);
      assert.equal(n.counts.delivered, 1);
      assert.equal((await stack.worker.maintenance.runOnce()).requeued, 0);
    });

    it('does not re-enqueue an overdue notification whose direct job is still waiting', async () => {
      const app = await appWithDevices(1);
      const id = randomUUID();
      const old = new Date(Date.now() - 180_000);
      await stack.db.insertInto('notifications').values({
        id, app_id: app.appId, status: 'queued', payload: JSON.stringify({ id, appId: app.appId, title: 'late', priority: 'high', silent: false, acceptedAt: old.getTime() }),
        targets: JSON.stringify({ deviceIds: [app.devices[0].id] }), send_at: old, expires_at: null, started_at: null, completed_at: null, fanout_cursor: null, created_at: old,
      }).execute();
      // a backlog: its direct job has not been picked up yet
      await stack.worker.queues.queue(QueueName.Direct).add(JobName.FanoutNotification, { notificationId: id, appId: app.appId }, { jobId: id, delay: 3600_000 });
      assert.equal((await stack.worker.maintenance.runOnce()).requeued, 0);
      assert.equal(await stack.worker.queues.queue(QueueName.Fanout).getJob(id), undefined, 'no second job that could run it twice');
      await (await stack.worker.queues.queue(QueueName.Direct).getJob(id))?.remove();
      await stack.db.updateTable('notifications').set({ status: 'cancelled' }).where('id', '=', id).execute();
    });

    it('loses nothing accepted while the worker restarts', async () => {
      const app = await appWithDevices(2);
      await stack.stopWorker();
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'while down' } });
      assert.equal(r.status, 202);
      await stack.startWorker();
      const n = await settled(app, r.body.id as string);
      assert.equal(n.counts.delivered, 2);
    });
  });
}
