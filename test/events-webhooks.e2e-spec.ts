import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { EventSource } from 'eventsource';
import { EVENT_TYPES, EventRepository } from '@app/db';
import { loadOrCreateTls } from '@app/sandbox';
import { EventRetention } from '../apps/worker/src/events/event-retention';
import { EventStreamHub } from '../apps/api/src/events/event-stream.hub';
import { client, provisionApp, SANDBOX_DIR, sandboxControl, startStack, waitFor, type Stack } from './support/harness';
import { deviceKits } from './support/device-kits';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY } from './support/test-env';

type Json = Record<string, unknown>;
type App = Awaited<ReturnType<typeof provisionApp>>;

/** The verification recipe of docs/webhooks-events.md, verbatim. */
function verifyWebhook(secret: string, rawBody: string, header: string, toleranceSec = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
  }));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return false;
  if (Math.abs(now / 1000 - t) > toleranceSec) return false; // older than 5 minutes (or from the future): reject
  const expected = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

interface Received { headers: Record<string, string | string[] | undefined>; body: string }

/** A local https receiver with the sandbox's certificate for localhost; status(n) answers the n-th request (1-based). */
async function receiver(status: (n: number) => number) {
  const tls = loadOrCreateTls(SANDBOX_DIR);
  const got: Received[] = [];
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status(got.length);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

interface Seen { id: string; type: string; data: Json }

/** An SSE client (eventsource v4) with the app key; collects every event type. */
function sse(url: string, key: string, lastEventId?: string) {
  const seen: Seen[] = [];
  const es = new EventSource(url, {
    fetch: (input, init) => fetch(input, {
      ...init,
      headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${key}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    }),
  });
  for (const t of EVENT_TYPES) es.addEventListener(t, (ev) => seen.push({ id: ev.lastEventId, type: ev.type, data: JSON.parse(ev.data) as Json }));
  const opened = new Promise<void>((resolve, reject) => {
    es.onopen = () => resolve();
    es.onerror = (e) => reject(new Error(`sse error ${(e as { code?: number }).code ?? ''}`));
  });
  return { es, seen, opened };
}

for (const backend of QUEUE_BACKENDS) {
  describe(`events and webhooks on the ${backend} queue backend`, () => {
    let stack: Stack;
    let call: ReturnType<typeof client>;
    let events: EventRepository;

    before(async () => {
      stack = await startStack(backend, { WEBHOOK_BACKOFF_MS: '100', WEBHOOK_ATTEMPTS: '6', WEBHOOK_MAX_FAILURES: '3', EVENTS_HEARTBEAT_SECONDS: '1' });
      call = client(stack.apiUrl);
      events = new EventRepository(stack.db);
    });
    after(async () => stack?.close());

    /** A fresh app with a Web Push credential and one subscribed browser. */
    async function appWithBrowser(): Promise<App> {
      const app = await provisionApp(call);
      const kit = deviceKits(stack.sandbox).webpush;
      const c = await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: 'webpush', name: 'default', config: (await kit.credential()).config } });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const d = await call('POST', '/v1/devices', { key: app.register, body: { provider: 'webpush', token: (await kit.device()).token } });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      return app;
    }

    async function send(app: App, title = 'hello'): Promise<string> {
      const r = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { all: true }, title } });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.id as string;
    }

    async function createHook(app: App, url: string, evts: string[] = ['notification.completed']) {
      const r = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks`, { key: app.admin, body: { url, events: evts } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; secret: string; enabled: boolean };
    }

    it('rejects SSRF-shaped webhook URLs and unknown fields at creation (400)', async () => {
      const app = await provisionApp(call);
      const bad = [
        'http://hooks.example.com/x', 'https://127.0.0.1/hook', 'https://[::1]/hook', 'https://169.254.169.254/latest/meta-data',
        'https://2130706433/', 'https://user:pw@hooks.example.com/', 'https://hooks.example.com:8443/x', 'https://metadata.google.internal/',
        'https://intranet/hook', 'https://printer.local/', 'file:///etc/passwd', 'not a url',
      ];
      for (const url of bad) {
        const r = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks`, { key: app.admin, body: { url, events: ['notification.completed'] } });
        assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
        assert.equal((r.body.details as Json[])[0].field, 'url');
      }
      const extra = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks`, { key: app.admin, body: { url: 'https://hooks.example.com/x', events: ['notification.completed'], followRedirects: true } });
      assert.equal(extra.status, 400);
      const badType = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks`, { key: app.admin, body: { url: 'https://hooks.example.com/x', events: ['notification.sent'] } });
      assert.equal(badType.status, 400);
      const ok = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks`, { key: app.admin, body: { url: 'https://hooks.example.com/x', events: ['delivery.failed'] } });
      assert.equal(ok.status, 201);
      assert.match(String(ok.body.secret), /^whsec_/);
      // send keys cannot manage webhooks; another app's admin key gets 404
      assert.equal((await call('GET', `/v1/apps/${app.appId}/webhooks`, { key: app.send })).status, 403);
      const other = await provisionApp(call);
      assert.equal((await call('GET', `/v1/apps/${app.appId}/webhooks`, { key: other.admin })).status, 404);
      const list = await call<{ data: Json[] }>('GET', `/v1/apps/${app.appId}/webhooks`, { key: app.admin });
      assert.equal(list.body.data.length, 1);
      assert.equal(list.body.data[0].secret, undefined, 'the secret is shown once');
      assert.equal((await call('DELETE', `/v1/apps/${app.appId}/webhooks/${ok.body.id}`, { key: app.admin })).status, 204);
      assert.equal((await call('GET', `/v1/apps/${app.appId}/webhooks/${ok.body.id}`, { key: app.admin })).status, 404);
    });

    it('signs webhook deliveries (documented recipe) and retries after a 500 with the same delivery id', async () => {
      const rx = await receiver((n) => (n === 1 ? 500 : 200));
      try {
        const app = await appWithBrowser();
        const hook = await createHook(app, rx.url);
        const id = await send(app);
        await waitFor(async () => rx.got.length >= 2, 'the retried webhook delivery');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(rx.got.length, 2, 'received twice: the 500, then the 200');
        const [first, second] = rx.got;
        assert.equal(first.headers['x-gateway-delivery'], second.headers['x-gateway-delivery']);
        assert.equal(second.headers['x-gateway-event'], 'notification.completed');
        for (const r of rx.got) assert.ok(verifyWebhook(hook.secret, r.body, String(r.headers['x-gateway-signature'])), 'signature verifies');
        assert.ok(!verifyWebhook(hook.secret, second.body.replace('completed', 'failed'), String(second.headers['x-gateway-signature'])), 'a changed body does not');
        assert.ok(!verifyWebhook('whsec_other', second.body, String(second.headers['x-gateway-signature'])), 'another secret does not');
        const t = Number(/t=(\d+)/.exec(String(second.headers['x-gateway-signature']))?.[1]);
        assert.ok(!verifyWebhook(hook.secret, second.body, String(second.headers['x-gateway-signature']), 300, (t + 301) * 1000), 'older than 5 minutes is rejected');
        const body = JSON.parse(second.body) as { type: string; appId: string; data: Json };
        assert.equal(body.type, 'notification.completed');
        assert.equal(body.appId, app.appId);
        assert.equal(body.data.notificationId, id);
        assert.equal(body.data.status, 'completed');
        const view = await call<Json>('GET', `/v1/apps/${app.appId}/webhooks/${hook.id}`, { key: app.admin });
        assert.equal(view.body.consecutiveFailures, 0, 'the success reset the failure count');
        assert.equal(view.body.lastError, 'HTTP 500');
      } finally {
        await rx.close();
      }
    });

    it('disables an endpoint after WEBHOOK_MAX_FAILURES consecutive failures and records webhook.disabled', async () => {
      const rx = await receiver(() => 500);
      const rxOk = await receiver(() => 200);
      try {
        const app = await appWithBrowser();
        const hook = await createHook(app, rx.url);
        const watcher = await createHook(app, rxOk.url, ['webhook.disabled']);
        await send(app);
        const view = await waitFor(async () => {
          const r = await call<Json>('GET', `/v1/apps/${app.appId}/webhooks/${hook.id}`, { key: app.admin });
          return r.body.enabled === false ? r.body : null;
        }, 'the webhook to be disabled');
        assert.equal(view.consecutiveFailures, 3);
        assert.match(String(view.disabledReason), /3 consecutive failed deliveries; last: HTTP 500/);
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(rx.got.length, 3, 'no attempt after it was disabled');
        const rows = await events.after(app.appId, '0', { types: ['webhook.disabled'], limit: 10 });
        assert.equal(rows.length, 1);
        assert.equal(rows[0].data.webhookId, hook.id);
        assert.equal(rows[0].data.lastError, 'HTTP 500');
        // the other endpoint of the app was told
        await waitFor(async () => rxOk.got.length >= 1, 'webhook.disabled to reach the other endpoint');
        assert.equal(rxOk.got[0].headers['x-gateway-event'], 'webhook.disabled');
        assert.ok(verifyWebhook(watcher.secret, rxOk.got[0].body, String(rxOk.got[0].headers['x-gateway-signature'])));
        const enabled = await call<Json>('POST', `/v1/apps/${app.appId}/webhooks/${hook.id}/enable`, { key: app.admin });
        assert.equal(enabled.status, 200);
        assert.equal(enabled.body.enabled, true);
        assert.equal(enabled.body.consecutiveFailures, 0);
        assert.equal(enabled.body.disabledReason, null);
      } finally {
        await rx.close();
        await rxOk.close();
      }
    });

    it('streams notification.completed over SSE after a send', async () => {
      const app = await appWithBrowser();
      const s = sse(`${stack.apiUrl}/v1/events`, app.send);
      try {
        await s.opened;
        const id = await send(app);
        await waitFor(async () => s.seen.find((e) => e.type === 'notification.completed'), 'notification.completed on the stream');
        const ev = s.seen.find((e) => e.type === 'notification.completed') as Seen;
        assert.match(ev.id, /^\d+$/);
        assert.equal(ev.data.id, ev.id);
        assert.equal((ev.data.data as Json).notificationId, id);
        assert.equal((ev.data.data as Json).status, 'completed');
        assert.deepEqual((ev.data.data as Json).counts, { targeted: 1, delivered: 1, failed: 0, invalidTokens: 0, expired: 0, pendingRetry: 0 });
      } finally {
        s.es.close();
      }
    });

    it('records delivery.failed and device.invalidated per batch, with device ids and reasons', async () => {
      const app = await appWithBrowser();
      const kit = deviceKits(stack.sandbox).webpush;
      const ids: string[] = [];
      const sims: string[] = [];
      for (let i = 0; i < 2; i++) {
        const d = await kit.device();
        const r = await call<Json>('POST', '/v1/devices', { key: app.register, body: { provider: 'webpush', token: d.token } });
        ids.push(r.body.id as string);
        sims.push(d.sandboxId);
      }
      const control = sandboxControl(stack.sandbox);
      await control('POST', '/inject', { provider: 'webpush', device: sims[0], status: 410 });
      await control('POST', '/inject', { provider: 'webpush', device: sims[1], status: 413 });
      const s = sse(`${stack.apiUrl}/v1/events`, app.send);
      try {
        await s.opened;
        const id = await send(app);
        await waitFor(async () => s.seen.length >= 3, 'three events');
        const byType = Object.fromEntries(s.seen.map((e) => [e.type, e.data.data as Json]));
        assert.deepEqual(Object.keys(byType).sort(), ['delivery.failed', 'device.invalidated', 'notification.completed']);
        assert.equal(byType['notification.completed'].status, 'partially_failed');
        assert.deepEqual(byType['device.invalidated'].devices, [{ deviceId: ids[0], reason: (byType['device.invalidated'].devices as Json[])[0].reason }]);
        assert.equal(byType['device.invalidated'].count, 1);
        assert.equal(byType['delivery.failed'].notificationId, id);
        assert.equal(byType['delivery.failed'].count, 1);
        assert.equal(byType['delivery.failed'].truncated, false);
        assert.equal((byType['delivery.failed'].devices as Json[])[0].deviceId, ids[1]);
        assert.ok((byType['delivery.failed'].devices as Json[])[0].reason);
      } finally {
        s.es.close();
      }
    });

    it('resumes with Last-Event-ID: exactly the events missed while disconnected', async () => {
      const app = await provisionApp(call);
      const first = sse(`${stack.apiUrl}/v1/events`, app.send);
      await first.opened;
      const [a] = await events.append([{ appId: app.appId, type: 'credential.alarm', payload: { n: 0 } }]);
      await waitFor(async () => first.seen.length >= 1, 'the first event');
      first.es.close();
      assert.equal(first.seen[0].id, a.id);
      const missed = await events.append([1, 2, 3].map((n) => ({ appId: app.appId, type: 'device.invalidated' as const, payload: { n } })));
      const other = await provisionApp(call);
      await events.append([{ appId: other.appId, type: 'device.invalidated', payload: { n: 99 } }]);
      const second = sse(`${stack.apiUrl}/v1/events`, app.send, first.seen[0].id);
      try {
        await second.opened;
        await waitFor(async () => second.seen.length >= 3, 'the missed events');
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(second.seen.map((e) => e.id), missed.map((e) => e.id));
        assert.deepEqual(second.seen.map((e) => (e.data.data as Json).n), [1, 2, 3]);
      } finally {
        second.es.close();
      }
    });

    it('serves rows written by anyone (not this process): a row inserted with SQL arrives, filtered by ?types=', async () => {
      const app = await provisionApp(call);
      const s = sse(`${stack.apiUrl}/v1/events?types=credential.alarm,webhook.disabled`, app.admin);
      try {
        await s.opened;
        await sql`INSERT INTO events (app_id, type, payload) VALUES (${app.appId}, 'delivery.failed', '{"skip":true}'::jsonb)`.execute(stack.db);
        await sql`INSERT INTO events (app_id, type, payload) VALUES (${app.appId}, 'credential.alarm', '{"from":"psql"}'::jsonb)`.execute(stack.db);
        await waitFor(async () => s.seen.length >= 1, 'the inserted row');
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(s.seen.length, 1);
        assert.equal(s.seen[0].type, 'credential.alarm');
        assert.deepEqual(s.seen[0].data.data, { from: 'psql' });
      } finally {
        s.es.close();
      }
    });

    it('keeps idle streams alive with ": ping" and checks keys and parameters', async () => {
      const app = await provisionApp(call);
      const ctrl = new AbortController();
      const res = await fetch(`${stack.apiUrl}/v1/events`, { headers: { authorization: `Bearer ${app.send}` }, signal: ctrl.signal });
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      const deadline = Date.now() + 5000;
      while (!text.includes(': ping') && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value);
      ctrl.abort();
      assert.match(text, /: ping\n\n/);
      await waitFor(async () => stack.api.get(EventStreamHub, { strict: false }).openStreams === 0, 'the server to drop the closed stream', 5000);
      assert.equal((await call('GET', '/v1/events', { key: app.register })).status, 403);
      assert.equal((await call('GET', '/v1/events', {})).status, 401);
      assert.equal((await call('GET', '/v1/events', { key: TEST_ADMIN_KEY })).status, 403, 'the bootstrap key has no app');
      assert.equal((await call('GET', '/v1/events?types=nope', { key: app.send })).status, 400);
      assert.equal((await call('GET', '/v1/events', { key: app.send, headers: { 'last-event-id': 'abc' } })).status, 400);
    });

    it('purges events older than EVENT_RETENTION_HOURS', async () => {
      const app = await provisionApp(call);
      await sql`INSERT INTO events (app_id, type, payload, created_at) VALUES (${app.appId}, 'credential.alarm', '{}'::jsonb, now() - interval '25 hours')`.execute(stack.db);
      const [fresh] = await events.append([{ appId: app.appId, type: 'credential.alarm', payload: {} }]);
      const retention = new EventRetention({ events, logger: { log: () => undefined, warn: () => undefined, error: () => undefined }, retentionHours: 24 });
      assert.ok((await retention.runOnce()) >= 1);
      const left = await events.after(app.appId, '0', { limit: 10 });
      assert.deepEqual(left.map((e) => e.id), [fresh.id]);
    });
  });
}
