import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitRepository, DeliveryBatchRepository, batchJobId } from '@app/db';
import { DELIVERY_QUEUES, QueueFactory, QueueName } from '@app/queue';
import { client, sandboxControl, startStack, waitFor, type Stack } from './support/harness';
import { appWithDevices as appWithFcmDevices, deviceKits, type DeviceKit } from './support/device-kits';
import { QUEUE_BACKENDS } from './support/test-env';

type Json = Record<string, unknown>;
interface NotificationBody { status: string; counts: Record<string, number> }
const FINAL = ['completed', 'partially_failed', 'failed', 'expired'];

// The ledger, the recovery sweep, time-bounded retries and the circuit breaker, on each
// BullMQ backend. The process-level faults (kills, outages) are in the fault suite.
for (const backend of QUEUE_BACKENDS) {
  describe(`durable delivery on the ${backend} queue backend`, () => {
    let stack: Stack;
    let call: ReturnType<typeof client>;
    let fcm: DeviceKit;

    before(async () => {
      stack = await startStack(backend, {
        FANOUT_PAGE_SIZE: '100', DELIVERY_BATCH_SIZE: '20', DIRECT_MAX_TARGETS: '0',
        RECOVERY_STALL_SECONDS: '1', RECOVERY_SWEEP_SECONDS: '3600',
        RETRY_BASE_DELAY_MS: '100', RETRY_MAX_DELAY_MS: '300', CIRCUIT_MIN_REQUESTS: '10', CIRCUIT_PROBE_INTERVAL_MS: '500',
      });
      call = client(stack.apiUrl);
      fcm = deviceKits(stack.sandbox).fcm;
    });
    after(async () => stack.close());

    const appWithDevices = (n: number) => appWithFcmDevices(call, fcm, n);
    const receipts = (sandboxId: string) => stack.sandbox.store.forDevice('fcm', sandboxId).length;
    const get = async (app: { send: string }, id: string) => (await call<NotificationBody>('GET', `/v1/notifications/${id}`, { key: app.send })).body;
    const settled = (app: { send: string }, id: string, ms = 30_000) =>
      waitFor(async () => { const b = await get(app, id); return FINAL.includes(b.status) ? b : null; }, `notification ${id} to settle`, ms);
    const send = async (app: { send: string }, body: Json) => {
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const ledger = () => new DeliveryBatchRepository(stack.db);
    let lostId = '';

    it('re-drives a batch whose job was lost, from the ledger, and delivers each device once', async () => {
      const app = await appWithDevices(30);
      // run only the fan-out: delivery is paused (a queue-wide flag, set through a handle of
      // the test's own while no worker runs, so no delivery job can start first) ...
      const queues = new QueueFactory({ kind: stack.config.queueBackend, redisUrl: stack.config.redisUrl, databaseUrl: stack.config.databaseUrl, prefix: stack.config.queuePrefix });
      const deliveries = queues.queue(DELIVERY_QUEUES.fcm);
      try {
        await stack.stopWorker();
        await deliveries.pause();
        await stack.startWorker();
        const id0 = await send(app, { targets: { all: true }, title: 'lost' });
        // the ledger rows commit first, their jobs are added right after
        const jobs = await waitFor(async () => {
          const rows = await ledger().forNotification(id0);
          const found = await Promise.all(rows.map((r) => deliveries.getJob(batchJobId(r.id, r.generation))));
          return rows.length === 2 && found.every(Boolean) ? found : null;
        }, 'two ledger batches and their jobs', 15_000);
        // ... then every delivery job is lost, as a Redis restarted without persistence would lose them
        for (const job of jobs) await job!.remove();
        lostId = id0;
      } finally {
        await deliveries.resume();
        await queues.close();
      }
      const id = lostId;
      await new Promise((r) => setTimeout(r, 1200));
      const sweep = await stack.worker.maintenance.runOnce();
      assert.ok(sweep.redrivenBatches >= 1, JSON.stringify(sweep));
      const n = await settled(app, id);
      assert.equal(n.status, 'completed', JSON.stringify(n));
      assert.equal(n.counts.delivered, 30);
      assert.deepEqual(app.devices.map((d) => receipts(d.sandboxId)), app.devices.map(() => 1), 'each device received it once');
      assert.equal((await ledger().forNotification(id)).length, 0, 'nothing left owed');
      assert.equal((await stack.worker.maintenance.runOnce()).redrivenBatches, 0, 'a second sweep finds nothing');
    });

    it('re-drives a notification whose fan-out job failed, and counts the stalled work', async () => {
      const app = await appWithDevices(3);
      const fanout = stack.worker.queues.queue(QueueName.Fanout);
      await fanout.pause();
      const id = await send(app, { targets: { all: true }, title: 'failed job' });
      const job = await fanout.getJob(id);
      assert.ok(job, 'the fan-out job is queued');
      // as if it had run, started the notification, and failed for good
      await job.remove();
      await fanout.resume();
      await stack.db.updateTable('notifications').set({ status: 'sending', created_at: new Date(Date.now() - 5000), started_at: new Date(Date.now() - 5000) }).where('id', '=', id).execute();
      const sweep = await stack.worker.maintenance.runOnce();
      assert.ok(sweep.stalled >= 1 && sweep.requeued >= 1, JSON.stringify(sweep));
      const n = await settled(app, id);
      assert.equal(n.counts.delivered, 3);
      const metrics = await stack.worker.metrics.metrics();
      assert.match(metrics, /push_recovery_redriven_total\{kind="notification"\} [1-9]/);
    });

    it('retries within the TTL with backoff, then ends expired with the last reason (never a fixed count)', async () => {
      const app = await appWithDevices(1);
      await sandboxControl(stack.sandbox)('POST', '/inject', { provider: 'fcm', device: app.devices[0].sandboxId, status: 503, reason: 'UNAVAILABLE', times: 1000 });
      const id = await send(app, { targets: { all: true }, title: 'ttl', ttlSeconds: 3 });
      const n = await settled(app, id);
      assert.equal(n.status, 'expired');
      const d = await call<{ data: Json[] }>('GET', `/v1/notifications/${id}/deliveries`, { key: app.send });
      // decided before the next try (a device failing this often also opens its circuit),
      // or, on a slow machine, when a retry was picked up after the TTL
      assert.match(String(d.body.data[0].reason), /^(ttl elapses before the next try \((UNAVAILABLE|circuit open for fcm)|ttl elapsed before delivery)/);
      // backoff 100–300 ms within a 2 s TTL: far more tries than the old fixed count of 5 would allow in time
      assert.ok(Number(d.body.data[0].attempts) >= 3, `retried several times within the TTL: ${JSON.stringify(d.body.data[0])}`);
      assert.equal(receipts(app.devices[0].sandboxId), 0);
    });

    it('opens the circuit when most requests fail, holds the work with one probe at a time, and resumes when the service answers', async () => {
      const app = await appWithDevices(40);
      const sb = sandboxControl(stack.sandbox);
      for (const d of app.devices) await sb('POST', '/inject', { provider: 'fcm', device: d.sandboxId, status: 503, reason: 'UNAVAILABLE', times: 1 });
      const before = stack.sandbox.store.stats().rejected?.fcm ?? 0;
      const id = await send(app, { targets: { all: true }, title: 'outage' });
      const circuits = new CircuitRepository(stack.db);
      const mine = async () => (await circuits.openCircuits()).filter((c) => c.appId === app.appId && c.provider === 'fcm');
      await waitFor(async () => ((await mine()).length > 0 ? true : null), 'the fcm circuit to open', 10_000);
      const n = await settled(app, id);
      assert.equal(n.status, 'completed', JSON.stringify(n));
      assert.equal(n.counts.delivered, 40);
      assert.deepEqual(app.devices.map((d) => receipts(d.sandboxId)), app.devices.map(() => 1));
      assert.equal((await mine()).length, 0, 'closed again');
      const rejected = (stack.sandbox.store.stats().rejected?.fcm ?? 0) - before;
      assert.ok(rejected <= 40, `no device was hammered: ${rejected} rejected requests for 40 injected failures`);
      const events = await stack.db.selectFrom('events').select('type').where('app_id', '=', app.appId).execute();
      const types = events.map((e) => e.type);
      assert.ok(types.includes('provider.degraded') && types.includes('provider.recovered'), types.join(','));
    });
  });
}
