import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { QueueName } from '@app/queue';
import { client, provisionApp, sandboxControl, startStack, type Stack } from './support/harness';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY } from './support/test-env';

type Json = Record<string, unknown>;

/** A browser page's origin allowed to call the API (examples/web's test drives a real one). */
const WEB_ORIGIN = 'http://localhost:8080';

describe('API: auth, validation, isolation, idempotency, scheduling', () => {
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let a: Awaited<ReturnType<typeof provisionApp>>;
  let b: Awaited<ReturnType<typeof provisionApp>>;
  let fcmToken: () => Promise<string>;

  const rowCount = async (table: 'notifications' | 'devices' | 'idempotency_keys') =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(stack.db)).rows[0].n);
  const fanoutJobs = async () => {
    let n = 0;
    for (const q of [QueueName.Fanout, QueueName.Direct]) {
      const c = await stack.worker.queues.queue(q).getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
      n += Object.values(c).reduce((x, y) => x + y, 0);
    }
    return n;
  };

  before(async () => {
    stack = await startStack(QUEUE_BACKENDS[0], { CORS_ORIGINS: WEB_ORIGIN });
    call = client(stack.apiUrl);
    a = await provisionApp(call, 'app a');
    b = await provisionApp(call, 'app b');
    const control = sandboxControl(stack.sandbox);
    const account = await control<Json>('POST', '/fcm/service-accounts', {});
    for (const app of [a, b]) {
      const r = await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: 'fcm', name: 'default', config: account } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    fcmToken = async () => (await control<{ token: string }>('POST', '/fcm/tokens', {})).token;
  });
  after(async () => stack?.close());

  it('CORS: answers preflights only for the origins in CORS_ORIGINS', async () => {
    const preflight = (origin: string) => fetch(`${stack.apiUrl}/v1/devices`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    const ok = await preflight(WEB_ORIGIN);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), WEB_ORIGIN);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    const other = await preflight('http://elsewhere.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('answers 401 without a valid key and 403 without the scope', async () => {
    assert.equal((await call('POST', '/v1/notifications', { body: {} })).status, 401);
    assert.equal((await call('POST', '/v1/notifications', { key: 'pgw_nope', body: {} })).status, 401);
    const revoked = await call<{ id: string; key: string }>('POST', `/v1/apps/${a.appId}/keys`, { key: a.admin, body: { name: 'tmp', scopes: ['send'] } });
    assert.equal((await call('DELETE', `/v1/apps/${a.appId}/keys/${revoked.body.id}`, { key: a.admin })).status, 204);
    const register = await call('POST', '/v1/notifications', { key: a.register, body: { targets: { all: true }, title: 'x' } });
    assert.equal(register.status, 403);
    assert.match(String(register.body.message), /scope send/);
    assert.equal((await call('POST', '/v1/devices', { key: a.send, body: { provider: 'fcm', token: 'x' } })).status, 403);
    assert.equal((await call('POST', '/v1/devices', { key: TEST_ADMIN_KEY, body: { provider: 'fcm', token: 'x' } })).status, 403);
    assert.equal((await call('POST', '/v1/apps', { key: a.admin, body: { name: 'x' } })).status, 403);
  });

  it('rejects bad input with a 4xx naming the field and the rule, and writes nothing', async () => {
    const before = { n: await rowCount('notifications'), jobs: await fanoutJobs() };
    const invalidJson = await call('POST', '/v1/notifications', { key: a.send, rawBody: '{"targets":' });
    assert.equal(invalidJson.status, 400);
    const unknown = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true }, title: 'x', colour: 'red' } });
    assert.equal(unknown.status, 400);
    assert.deepEqual((unknown.body.details as Json[])[0], { field: 'colour', rule: 'unknownField', message: 'colour is not a known field' });
    const wrongType = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true }, badge: 'three' } });
    assert.equal(wrongType.status, 400);
    assert.ok((wrongType.body.details as Json[]).some((d) => d.field === 'badge' && d.rule === 'isInt'));
    const nestedUnknown = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true, everyone: 1 }, title: 'x' } });
    assert.ok((nestedUnknown.body.details as Json[]).some((d) => d.field === 'targets.everyone' && d.rule === 'unknownField'));
    const tooMany = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, title: 'x' } });
    assert.equal(tooMany.status, 400);
    assert.match(String(tooMany.body.message), /at most 1000 targets/);
    const data = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true }, data: { n: 1 } } });
    assert.equal(data.status, 400);
    assert.ok((data.body.details as Json[]).some((d) => d.field === 'data' && d.rule === 'isStringMap'));
    const huge = await call('POST', '/v1/notifications', { key: a.send, rawBody: JSON.stringify({ targets: { all: true }, body: 'x'.repeat(2_000_000) }) });
    assert.equal(huge.status, 413);
    const tooBig = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true }, title: 't', data: { blob: 'x'.repeat(4000) } } });
    assert.equal(tooBig.status, 400, 'a payload that cannot fit FCM is rejected at the API');
    const badToken = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { tokens: [{ provider: 'fcm', token: 'has spaces' }] }, title: 'x' } });
    assert.equal(badToken.status, 400);
    assert.ok((badToken.body.details as Json[]).some((d) => d.field === 'targets.tokens.0.token'));
    const noTargets = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: {}, title: 'x' } });
    assert.equal(noTargets.status, 400);
    assert.equal(await rowCount('notifications'), before.n);
    assert.equal(await fanoutJobs(), before.jobs);
  });

  it('validates device registration per provider with clear messages', async () => {
    const before = await rowCount('devices');
    const bad = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: 'has spaces' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /^token: /);
    const ssrf = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'wns', token: 'https://169.254.169.254/latest' } });
    assert.equal(ssrf.status, 400);
    const env = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: await fcmToken(), environment: 'sandbox' } });
    assert.equal(env.status, 400);
    const tz = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: await fcmToken(), timezone: 'Mars/Olympus' } });
    assert.equal(tz.status, 400);
    assert.equal(await rowCount('devices'), before);
  });

  it('registers idempotently, rotates tokens, patches, lists by user and tag, deletes', async () => {
    const t1 = await fcmToken();
    const first = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: t1, userId: 'alice', tags: ['news'] } });
    assert.equal(first.status, 201);
    const again = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: t1, userId: 'alice', tags: ['news', 'sport'] } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    const t2 = await fcmToken();
    const rotated = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: t2, previousToken: t1, userId: 'alice' } });
    assert.equal(rotated.body.id, first.body.id, 'rotation keeps the device id');
    assert.equal(rotated.body.token, t2);
    const patched = await call<Json>('PATCH', `/v1/devices/${first.body.id}`, { key: a.register, body: { tags: ['vip'], locale: 'en-GB' } });
    assert.deepEqual(patched.body.tags, ['vip']);
    const byTag = await call<{ data: Json[] }>('GET', '/v1/devices?tag=vip', { key: a.admin });
    assert.deepEqual(byTag.body.data.map((d) => d.id), [first.body.id]);
    const byUser = await call<{ data: Json[] }>('GET', '/v1/devices?userId=alice', { key: a.send });
    assert.equal(byUser.body.data.length, 1);
    assert.equal((await call('DELETE', `/v1/devices/${first.body.id}`, { key: a.register })).status, 204);
    assert.equal((await call('GET', `/v1/devices/${first.body.id}`, { key: a.register })).status, 404);
  });

  it('keeps apps apart: no app sees or touches another app\'s data', async () => {
    const dev = await call<Json>('POST', '/v1/devices', { key: a.register, body: { provider: 'fcm', token: await fcmToken() } });
    const id = dev.body.id as string;
    assert.equal((await call('GET', `/v1/devices/${id}`, { key: b.register })).status, 404);
    assert.equal((await call('PATCH', `/v1/devices/${id}`, { key: b.register, body: { userId: 'x' } })).status, 404);
    assert.equal((await call('DELETE', `/v1/devices/${id}`, { key: b.register })).status, 404);
    assert.equal((await call('GET', `/v1/apps/${a.appId}`, { key: b.admin })).status, 404);
    assert.equal((await call('GET', `/v1/apps/${a.appId}/credentials`, { key: b.admin })).status, 404);
    const sent = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { deviceIds: [id] }, title: 'hi' } });
    assert.equal((await call('GET', `/v1/notifications/${sent.body.id}`, { key: b.send })).status, 404);
    assert.equal((await call('DELETE', `/v1/notifications/${sent.body.id}`, { key: b.send })).status, 404);
    const creds = await call<{ data: Json[] }>('GET', `/v1/apps/${a.appId}/credentials`, { key: a.admin });
    assert.equal(JSON.stringify(creds.body).includes('PRIVATE KEY'), false, 'credentials are never returned in full');
  });

  it('honours Idempotency-Key: same answer, nothing new; another body is a 422', async () => {
    const body = { targets: { userIds: ['nobody'] }, title: 'once' };
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call<Json>('POST', '/v1/notifications', { key: a.send, body, headers });
    assert.equal(first.status, 202);
    const n = await rowCount('notifications');
    const second = await call<Json>('POST', '/v1/notifications', { key: a.send, body, headers });
    assert.equal(second.status, 202);
    assert.equal(second.body.id, first.body.id);
    assert.equal(await rowCount('notifications'), n);
    const other = await call('POST', '/v1/notifications', { key: a.send, body: { ...body, title: 'twice' }, headers });
    assert.equal(other.status, 422);
    const otherApp = await call<Json>('POST', '/v1/notifications', { key: b.send, body, headers });
    assert.notEqual(otherApp.body.id, first.body.id, 'keys are per app');
  });

  it('schedules with sendAt and cancels until it starts', async () => {
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const r = await call<Json>('POST', '/v1/notifications', { key: a.send, body: { targets: { all: true }, title: 'later', sendAt } });
    assert.equal(r.status, 202);
    assert.equal(r.body.sendAt, sendAt);
    const job = await stack.worker.queues.queue(QueueName.Fanout).getJob(r.body.id as string);
    assert.equal(await job?.getState(), 'delayed');
    const cancelled = await call<Json>('DELETE', `/v1/notifications/${r.body.id}`, { key: a.send });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(await stack.worker.queues.queue(QueueName.Fanout).getJob(r.body.id as string), undefined);
    assert.equal((await call('DELETE', `/v1/notifications/${r.body.id}`, { key: a.send })).status, 409);
  });

  it('answers each item of a batch on its own', async () => {
    const r = await call<{ accepted: number; rejected: number; results: Json[] }>('POST', '/v1/notifications/batch', {
      key: a.send,
      body: { notifications: [{ targets: { userIds: ['x'] }, title: 'one' }, { targets: { userIds: ['x'] }, badge: -1 }, { targets: { tags: ['t'] }, body: 'three' }] },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);
    assert.equal(r.body.rejected, 1);
    assert.deepEqual(r.body.results.map((x) => x.statusCode), [202, 400, 202]);
    assert.match(String(r.body.results[1].message), /badge/);
    const tooMany = await call('POST', '/v1/notifications/batch', { key: a.send, body: { notifications: Array.from({ length: 501 }, () => ({})) } });
    assert.equal(tooMany.status, 400);
  });
});
