import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, createLogger } from '@app/common';
import { deviceKits } from './support/device-kits';
import { client, provisionApp, startStack, waitFor, type Stack } from './support/harness';
import { QUEUE_BACKENDS } from './support/test-env';

type Json = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every PEM body in a credential config, whatever the field is called. */
function pemBodies(value: unknown): string[] {
  if (typeof value === 'string') {
    const m = /-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]+?)-----END/.exec(value);
    return m ? [m[1].replace(/\s+/g, '').slice(8, 72)] : [];
  }
  if (value && typeof value === 'object') return Object.values(value).flatMap(pemBodies);
  return [];
}

describe('logs: one JSON line per request, ids on it, secrets off it', () => {
  // Everything this process logs (api, worker and sandbox share the one root logger).
  // Configured before the stack starts: loggers derived earlier keep the level they were created with.
  let captured = '';
  const lines = () => captured.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
  const requestLines = (requestId: string) => lines().filter((l) => l.requestId === requestId && typeof l.statusCode === 'number');
  const requestLine = (requestId: string) => waitFor(async () => requestLines(requestId)[0], `the request line of ${requestId}`, 5_000, 20);

  let stack: Stack;
  let call: ReturnType<typeof client>;
  let app: Awaited<ReturnType<typeof provisionApp>>;
  const secrets: Record<string, string> = {};

  before(async () => {
    configureLogging({ destination: { write: (line: string) => void (captured += line) }, level: 'log' });
    stack = await startStack(QUEUE_BACKENDS[0]);
    call = client(stack.apiUrl);
    app = await provisionApp(call, 'logging app');
    Object.assign(secrets, { adminKey: app.admin, sendKey: app.send, registerKey: app.register });
  });
  after(async () => {
    await stack?.close();
    configureLogging({ destination: null });
  });

  it('writes one line for a send, with the request id, app id and notification id, and the worker its batch line', async () => {
    const kits = deviceKits(stack.sandbox);
    const cred = await kits.fcm.credential();
    assert.equal((await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: 'fcm', name: 'default', config: cred.config } })).status, 201);
    const device = await kits.fcm.device();
    assert.equal((await call('POST', '/v1/devices', { key: app.register, body: { provider: 'fcm', token: device.token, userId: 'u1' } })).status, 201);

    const sent = await call<Json>('POST', '/v1/notifications', { key: app.send, body: { targets: { userIds: ['u1'] }, title: 'hi' } });
    assert.equal(sent.status, 202);
    const requestId = sent.headers.get('x-request-id') ?? '';
    assert.match(requestId, UUID);
    const line = await requestLine(requestId);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'request completed');
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/v1/notifications');
    assert.equal(line.route, '/v1/notifications');
    assert.equal(line.statusCode, 202);
    assert.equal(typeof line.responseTime, 'number');
    assert.equal(line.appId, app.appId);
    assert.equal(line.notificationId, sent.body.id);
    assert.equal(requestLines(requestId).length, 1, 'one line per request');

    const status = await call<Json>('GET', `/v1/notifications/${String(sent.body.id)}`, { key: app.send });
    const statusLine = await requestLine(status.headers.get('x-request-id') ?? '');
    assert.equal(statusLine.route, '/v1/notifications/:id');
    assert.equal(statusLine.notificationId, sent.body.id);
    assert.equal(statusLine.appId, app.appId);

    const batch = await waitFor(async () => lines().find((l) => l.msg === 'batch delivered' && l.notificationId === sent.body.id), 'the worker\'s batch line', 20_000);
    assert.equal(batch.appId, app.appId);
    assert.equal(batch.provider, 'fcm');
    assert.equal(batch.context, 'worker');
  });

  it('echoes a sane X-Request-Id and logs under it; replaces one that is not', async () => {
    const given = 'trace-4f2a.9_B';
    const echoed = await call('GET', '/v1/devices', { key: app.send, headers: { 'x-request-id': given } });
    assert.equal(echoed.headers.get('x-request-id'), given);
    assert.equal((await requestLine(given)).appId, app.appId);

    for (const bad of ['has spaces', 'x'.repeat(129), 'quote"brace{', '']) {
      const r = await call('GET', '/v1/devices', { key: app.send, headers: { 'x-request-id': bad } });
      const id = r.headers.get('x-request-id') ?? '';
      assert.match(id, UUID, `replaces ${JSON.stringify(bad)}`);
      assert.equal((await requestLine(id)).path, '/v1/devices');
    }
    assert.ok(!captured.includes('has spaces') && !captured.includes('x'.repeat(129)) && !captured.includes('brace{'));
  });

  it('logs refused and unknown requests at warn, and probes not at info', async () => {
    const refused = await call('POST', '/v1/notifications', { key: app.register, body: { targets: { all: true }, title: 'x' } });
    assert.equal(refused.status, 403);
    const line = await requestLine(refused.headers.get('x-request-id') ?? '');
    assert.equal(line.level, 'warn');
    assert.equal(line.appId, app.appId, 'the key was known; only its scope was wrong');

    const unknown = await call('GET', '/v1/nothing-here', { key: app.send });
    assert.equal(unknown.status, 404);
    const unknownLine = await requestLine(unknown.headers.get('x-request-id') ?? '');
    assert.equal(unknownLine.path, '/v1/nothing-here');
    assert.equal(unknownLine.route, undefined);

    const probe = await call('GET', '/health/live');
    assert.equal(probe.status, 200);
    // lines are written in order: once a later request's line is there, the probe's would be too
    const later = await call('GET', '/v1/devices', { key: app.send });
    await requestLine(later.headers.get('x-request-id') ?? '');
    assert.equal(requestLines(probe.headers.get('x-request-id') ?? '').length, 0);
  });

  it('never writes an api key, a device token or a credential secret', async () => {
    const kits = deviceKits(stack.sandbox);
    const apns = await kits.apns.credential();
    const webpush = await kits.webpush.credential();
    for (const [provider, config] of [['apns', apns.config], ['webpush', webpush.config]] as const) {
      const r = await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider, name: `${provider}-1`, config } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const fcmCred = await kits.fcm.credential();
    pemBodies(apns.config).forEach((s, i) => (secrets[`apnsKey${i}`] = s));
    pemBodies(fcmCred.config).forEach((s, i) => (secrets[`fcmKey${i}`] = s));
    secrets.vapidPrivateKey = String(webpush.config.privateKey ?? webpush.config.private_key ?? '');
    // a credential that fails validation still must not be echoed into a log
    await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: 'fcm', name: 'broken', config: { ...fcmCred.config, project_id: 42 } } });

    const apnsDevice = await kits.apns.device();
    const sub = await kits.webpush.device();
    const subToken = sub.token as { endpoint: string; keys: { auth: string; p256dh: string } };
    Object.assign(secrets, { apnsToken: apnsDevice.token as string, endpoint: subToken.endpoint, auth: subToken.keys.auth, p256dh: subToken.keys.p256dh });
    assert.equal((await call('POST', '/v1/devices', { key: app.register, body: { provider: 'apns', token: apnsDevice.token, environment: apnsDevice.environment } })).status, 201);
    const reg = await call('POST', '/v1/devices', { key: app.register, body: { provider: 'webpush', token: sub.token } });
    assert.equal(reg.status, 201);
    await requestLine(reg.headers.get('x-request-id') ?? '');

    assert.ok(Object.keys(secrets).length >= 9, `collected ${Object.keys(secrets).join(', ')}`);
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(value.length >= 16, `${name} is long enough to search for`);
      assert.ok(!captured.includes(value), `${name} appears in the logs`);
    }
  });

  it('redacts secret-named fields in any line, as the net under never logging them', async () => {
    createLogger('test').log({
      msg: 'redaction check', token: 'tok-0123456789abcdef', privateKey: 'pk-0123456789abcdef',
      credential: { private_key: 'pk2-0123456789abcdef', clientId: 'visible-client' },
      subscription: { keys: { auth: 'auth-0123456789abcdef', p256dh: 'p256-0123456789abcdef' } },
      headers: { authorization: 'Bearer key-0123456789abcdef' },
    });
    const line = await waitFor(async () => lines().find((l) => l.msg === 'redaction check'), 'the redaction line', 2_000, 10);
    const text = JSON.stringify(line);
    for (const s of ['tok-', 'pk-', 'pk2-', 'auth-', 'p256-', 'key-0123']) assert.ok(!text.includes(s), `${s} redacted in ${text}`);
    assert.equal(line.token, '[redacted]');
    assert.equal((line.credential as Json).clientId, 'visible-client');
    assert.equal(line.context, 'test');
  });

  it('makes Nest\'s own logs pino lines', () => {
    assert.ok(lines().some((l) => l.context === 'NestApplication' && l.level === 'info'), 'Nest\'s start-up line');
  });
});
