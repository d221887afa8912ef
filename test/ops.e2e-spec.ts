import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_QUEUES } from '@app/queue';
import { createApi } from '../apps/api/src/api.bootstrap';
import { DASHBOARD_CSP } from '../apps/api/src/ops/queue-dashboard';
import { startWorker, type RunningWorker } from '../apps/worker/src/worker.bootstrap';
import { client, provisionApp, startStack, waitFor, type Stack } from './support/harness';
import { deviceKits } from './support/device-kits';
import { labelSets, sample } from './support/prometheus';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY } from './support/test-env';

type Json = Record<string, unknown>;

// The harness's own worker must not take the default ops port (9464): this suite starts
// its worker with an ephemeral ops port instead.
process.env.WORKER_OPS_PORT = '0';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('operations: queue dashboard, metrics, health', () => {
  let stack: Stack;
  let worker: RunningWorker;
  let call: ReturnType<typeof client>;
  let app: Awaited<ReturnType<typeof provisionApp>>;

  before(async () => {
    stack = await startStack(QUEUE_BACKENDS[0]);
    await stack.stopWorker();
    worker = await startWorker(stack.config, { ops: { port: 0, host: '127.0.0.1' } });
    call = client(stack.apiUrl);
    app = await provisionApp(call, 'ops app');
  });
  after(async () => {
    try {
      await worker?.close();
    } finally {
      await stack?.close();
    }
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(stack.apiUrl + path, { headers });

  describe('queue dashboard', () => {
    it('answers 401 with a Basic challenge without the bootstrap key', async () => {
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: basic('admin', 'wrong-key-0123456789abcdefgh') },
        { authorization: basic('admin', app.admin) },
        { authorization: `Bearer ${app.admin}` },
        { authorization: basic(TEST_ADMIN_KEY, '') },
        { authorization: 'Basic !!!' },
      ];
      for (const headers of attempts) {
        for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
          const r = await get(path, headers);
          assert.equal(r.status, 401, `${path} with ${JSON.stringify(headers)}`);
          assert.equal(r.headers.get('www-authenticate'), 'Basic realm="push-gateway"');
          await r.arrayBuffer();
        }
      }
    });

    it('references no outside host and forbids loading from one (it works offline)', async () => {
      const page = await get('/admin/queues', { authorization: basic('anyone', TEST_ADMIN_KEY) });
      assert.equal(page.status, 200);
      const html = await page.text();
      // every stylesheet, script, image and icon the page loads is the board's own
      const loads = [...html.matchAll(/<(?:link|script|img)\b[^>]*\b(?:href|src)="([^"]*)"/gi)].map((m) => m[1]);
      assert.ok(loads.some((u) => u.startsWith('static/')), `the board's own assets: ${loads.join(', ')}`);
      assert.deepEqual(loads.filter((u) => /^(?:[a-z]+:)?\/\//i.test(u)), [], 'nothing from another host');
      assert.ok(!html.includes('fonts.googleapis.com'));
      assert.equal(page.headers.get('content-security-policy'), DASHBOARD_CSP);
      assert.match(DASHBOARD_CSP, /default-src 'self'/);
    });

    it('opens with Basic auth whose password is the bootstrap key, and lists every queue', async () => {
      const page = await get('/admin/queues', { authorization: basic('anyone', TEST_ADMIN_KEY) });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /push-gateway|bull/i);
      const api = await get('/admin/queues/api/queues', { authorization: basic('anyone', TEST_ADMIN_KEY) });
      assert.equal(api.status, 200);
      const body = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean; counts: Json }> };
      assert.deepEqual(body.queues.map((q) => q.name).sort(), [...ALL_QUEUES].sort());
      for (const q of body.queues) assert.equal(q.readOnlyMode, false, 'retry, promote and clean stay available');
    });
  });

  describe('metrics', () => {
    it('counts deliveries on the worker and reports queue depth for every queue', async () => {
      const fcm = deviceKits(stack.sandbox).fcm;
      const cred = await fcm.credential();
      assert.equal((await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: 'fcm', name: 'default', config: cred.config } })).status, 201);
      const d = await fcm.device();
      assert.equal((await call('POST', '/v1/devices', { key: app.register, body: { provider: 'fcm', token: d.token } })).status, 201);

      assert.ok(worker.ops.url, 'the worker ops port is listening');
      const scrape = async () => (await fetch(`${worker.ops.url}/metrics`)).text();
      const delivered = (text: string) => sample(text, 'push_deliveries_total', { provider: 'fcm', outcome: 'delivered' }) ?? 0;
      const before = delivered(await scrape());

      const sent = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title: 'metrics' } });
      assert.equal(sent.status, 202);
      const text = await waitFor(async () => {
        const t = await scrape();
        return delivered(t) > before ? t : null;
      }, 'the deliveries counter to increase');
      assert.equal(delivered(text), before + 1);
      assert.ok((sample(text, 'push_provider_latency_seconds_count', { provider: 'fcm' }) ?? 0) >= 1);
      assert.ok((sample(text, 'push_accept_to_delivery_seconds_count', { provider: 'fcm' }) ?? 0) >= 1);
      assert.ok((sample(text, 'push_fanout_devices_enqueued_total') ?? 0) >= 1);
      assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, 'process metrics are collected');
      for (const queue of ALL_QUEUES) {
        assert.ok(sample(text, 'push_queue_jobs', { queue, state: 'waiting' }) !== undefined, `worker: depth of ${queue}`);
      }
      for (const l of labelSets(text, 'push_deliveries_total')) assert.deepEqual(Object.keys(l).sort(), ['outcome', 'provider']);
      assert.doesNotMatch(text, new RegExp(`${sent.body.id}|${app.appId}|${String(d.token).slice(0, 20)}`), 'no ids or tokens in labels');
    });

    it('exposes queue depth and HTTP metrics by route template on the API', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      assert.equal((await call('GET', `/v1/notifications/${missing}`, { key: app.send })).status, 404);
      const r = await get('/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await r.text();
      for (const queue of ALL_QUEUES) {
        for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
          assert.ok(sample(text, 'push_queue_jobs', { queue, state }) !== undefined, `api: ${queue} ${state}`);
        }
      }
      assert.ok((sample(text, 'http_requests_total', { method: 'GET', route: '/v1/notifications/:id', status_class: '4xx' }) ?? 0) >= 1);
      assert.ok((sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/apps', status_class: '2xx' }) ?? 0) >= 1);
      assert.doesNotMatch(text, new RegExp(missing), 'the raw URL is never a label');
    });

    it('asks for METRICS_TOKEN on the API when it is set', async () => {
      const api = await createApi(stack.config, { ops: { metricsToken: 'scrape-token-0123456789', workerOpsPort: null, workerOpsHost: '127.0.0.1' } });
      try {
        await api.listen(0, '127.0.0.1');
        const url = (await api.getUrl()).replace('[::1]', '127.0.0.1');
        assert.equal((await fetch(`${url}/metrics`)).status, 401);
        assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).status, 401);
        const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
        assert.equal(ok.status, 200);
        assert.match(await ok.text(), /push_queue_jobs/);
      } finally {
        await api.close();
      }
    });
  });

  describe('health', () => {
    it('answers live and ready on the API and on the worker ops port', async () => {
      for (const base of [stack.apiUrl, worker.ops.url as string]) {
        const live = await fetch(`${base}/health/live`);
        assert.equal(live.status, 200, `${base} live`);
        const ready = await fetch(`${base}/health/ready`);
        assert.equal(ready.status, 200, `${base} ready`);
        const body = (await ready.json()) as { status: string; details: Record<string, { status: string }> };
        assert.equal(body.status, 'ok');
        assert.equal(body.details.database.status, 'up');
        assert.equal(body.details.queue.status, 'up');
      }
    });
  });
});
