import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { sql } from 'kysely';
import { SecretBox, createLogger } from '@app/common';
import { CircuitRepository, CredentialRepository, DeliveryBatchRepository, DeviceRepository, NotificationRepository } from '@app/db';
import { QueueName, type FanoutJobData } from '@app/queue';
import { AcceptWriter } from '../apps/api/src/notifications/accept-writer';
import { DeliveryProcessor } from '../apps/worker/src/delivery.processor';
import { FanoutProcessor } from '../apps/worker/src/fanout.processor';
import { ObserverList } from '../apps/worker/src/pipeline-observer';
import { CircuitBreaker } from '../apps/worker/src/circuit-breaker';
import type { BuiltNotification } from '../apps/api/src/notifications/notification-builder';
import { client, startStack, waitFor, type Stack } from './support/harness';
import { appWithDevices as appWithFcmDevices, deviceKits, type DeviceKit } from './support/device-kits';
import { QUEUE_BACKENDS } from './support/test-env';

type Json = Record<string, unknown>;

// The accept path (AcceptWriter: rows and jobs of concurrent requests written together)
// and the direct queue (a few explicit targets resolved and sent in one job), on each
// BullMQ backend this machine has.
for (const backend of QUEUE_BACKENDS) describe(`accept path and direct queue (${backend})`, () => {
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let fcm: DeviceKit;

  before(async () => {
    stack = await startStack(backend, { DIRECT_MAX_TARGETS: '3' });
    call = client(stack.apiUrl);
    fcm = deviceKits(stack.sandbox).fcm;
  });
  after(async () => stack?.close());

  const appWithDevices = (n: number) => appWithFcmDevices(call, fcm, n);
  const settled = (app: { send: string }, id: string) =>
    waitFor(async () => {
      const r = await call<{ status: string; counts: Record<string, number> }>('GET', `/v1/notifications/${id}`, { key: app.send });
      return r.body.status === 'queued' || r.body.status === 'sending' ? null : r.body;
    }, `notification ${id} to settle`, 30_000);
  const queueOf = async (id: string) => {
    for (const q of [QueueName.Direct, QueueName.Fanout]) if (await stack.worker.queues.queue(q).getJob(id)) return q;
    return null;
  };
  const receipts = (sandboxId: string) => stack.sandbox.store.forDevice('fcm', sandboxId).length;

  it('sends a few explicit targets through the direct queue and a larger audience through the fan-out', async () => {
    const app = await appWithDevices(4);
    const small = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { deviceIds: app.devices.slice(0, 3).map((d) => d.id) }, title: 'direct' } });
    const large = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { deviceIds: app.devices.map((d) => d.id) }, title: 'fan-out' } });
    const all = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'all' } });
    for (const r of [small, large, all]) assert.equal(r.status, 202, JSON.stringify(r.body));
    for (const [r, n] of [[small, 3], [large, 4], [all, 4]] as const) {
      const done = await settled(app, r.body.id as string);
      assert.equal(done.status, 'completed');
      assert.deepEqual({ targeted: done.counts.targeted, delivered: done.counts.delivered }, { targeted: n, delivered: n });
    }
    assert.equal(await queueOf(small.body.id as string), QueueName.Direct);
    assert.equal(await queueOf(large.body.id as string), QueueName.Fanout, 'more targets than DIRECT_MAX_TARGETS');
    assert.equal(await queueOf(all.body.id as string), QueueName.Fanout);
    assert.deepEqual(app.devices.map((d) => receipts(d.sandboxId)), [3, 3, 3, 2]);
  });

  it('accepts 200 concurrent sends, each with its own row and job, and delivers each exactly once', async () => {
    const app = await appWithDevices(5);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { deviceIds: [app.devices[i % 5].id] }, title: `n${i}` } })));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [202]);
    const ids = answers.map((a) => a.body.id as string);
    assert.equal(new Set(ids).size, 200);
    const rows = await stack.db.selectFrom('notifications').select('id').where('app_id', '=', app.appId).execute();
    assert.deepEqual(rows.map((r) => r.id).sort(), [...ids].sort());
    await waitFor(async () => (app.devices.reduce((n, d) => n + receipts(d.sandboxId), 0) >= 200 ? true : null), '200 receipts');
    for (const id of ids) assert.equal((await settled(app, id)).counts.delivered, 1);
    assert.deepEqual(app.devices.map((d) => receipts(d.sandboxId)), [40, 40, 40, 40, 40]);
  });

  it('a write that fails for one request fails only that request, and leaves none of its rows', async () => {
    const app = await appWithDevices(1);
    const writer = new AcceptWriter(stack.db, { [QueueName.Fanout]: stack.worker.queues.queue(QueueName.Fanout), [QueueName.Direct]: stack.worker.queues.queue(QueueName.Direct) }, 3);
    const built = (appId: string): BuiltNotification => ({
      notification: { id: randomUUID(), appId, acceptedAt: Date.now(), title: 'w', priority: 'high' } as unknown as BuiltNotification['notification'],
      targets: { deviceIds: [app.devices[0].id] },
      sendAt: new Date(Date.now() + 3600_000), // scheduled: the test inspects the rows, the worker leaves them alone
    });
    const good = [built(app.appId), built(app.appId)];
    const orphan = built(randomUUID()); // no such app: the foreign key rejects the row
    // written in the same turn, so one INSERT carries all three at first
    const results = await Promise.allSettled([writer.write(app.appId, [good[0]]), writer.write(orphan.notification.appId, [orphan]), writer.write(app.appId, [good[1]])]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'], results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(' | '));
    assert.match(String((results[1] as PromiseRejectedResult).reason.message), /foreign key/);
    const n = await sql<{ n: number }>`select count(*)::int as n from notifications where id = any(${[...good, orphan].map((b) => b.notification.id)}::uuid[])`.execute(stack.db);
    assert.equal(n.rows[0].n, 2);
    for (const b of good) assert.equal(await queueOf(b.notification.id), QueueName.Direct);
    assert.equal(await queueOf(orphan.notification.id), null);
  });

  it('a direct job run again after a crash does not resend what was already delivered', async () => {
    const app = await appWithDevices(2);
    const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { deviceIds: app.devices.map((d) => d.id) }, title: 'once' } });
    const id = r.body.id as string;
    assert.equal((await settled(app, id)).counts.delivered, 2);
    // the crash: outcomes written, the fan-out step not recorded yet
    await stack.db.updateTable('notifications').set({ status: 'sending', completed_at: null, fanout_done: false, fanout_cursor: null, targeted: 0 }).where('id', '=', id).execute();
    const logger = createLogger('test');
    const repos = {
      devices: new DeviceRepository(stack.db),
      credentials: new CredentialRepository(stack.db, new SecretBox(stack.config.masterKey)),
      notifications: new NotificationRepository(stack.db),
      batches: new DeliveryBatchRepository(stack.db),
    };
    const observers = new ObserverList([], () => undefined);
    const breaker = new CircuitBreaker(new CircuitRepository(stack.db), stack.config.circuit, observers, logger);
    const delivery = new DeliveryProcessor({ config: stack.config, logger, queues: stack.worker.queues, providers: stack.worker.providers, observers, breaker, ...repos });
    const direct = new FanoutProcessor({ config: stack.config, logger, queues: stack.worker.queues, observers, ...repos }, (data, o) => delivery.deliver(data, { ...o, complete: false }));
    const rerun = { data: { appId: app.appId, notificationId: id }, attemptsStarted: 2, stalledCounter: 0, updateProgress: async () => undefined } as unknown as Job<FanoutJobData>;
    assert.deepEqual(await direct.process(rerun), { targeted: 2 });
    const after = await settled(app, id);
    assert.equal(after.status, 'completed');
    assert.deepEqual({ targeted: after.counts.targeted, delivered: after.counts.delivered }, { targeted: 2, delivered: 2 });
    assert.deepEqual(app.devices.map((d) => receipts(d.sandboxId)), [1, 1], 'nothing was sent twice');
  });
});
