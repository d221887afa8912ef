import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { ConfigError, loadConfig } from '@app/common';
import { client, provisionApp, sandboxControl, startStack, waitFor, type Stack } from './support/harness';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY, TEST_MASTER_KEY } from './support/test-env';
import { launchChromium, serveWebExample, type ServedExample } from './support/web-browser';

type Json = Record<string, unknown>;
interface Subscription { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }
interface ShownNotification { title: string; body: string; tag: string; data: { id: string | null; link: string | null; data: Json } | null }

// What app.js exposes as window.pushExample (see examples/web/app.js).
interface PushExample {
  ready: Promise<void>;
  state: { received: Json[]; publicKey: string | null };
  registerSubscription(s: Subscription): Promise<Json>;
}
declare const window: { pushExample: PushExample };
declare const navigator: { serviceWorker: { ready: Promise<{ getNotifications(): Promise<ShownNotification[]> }> } };

/** p, or a failure naming what did not happen within ms (page.evaluate has no timeout of its own). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('examples/web: the browser example against a running gateway (headless Chromium)', { timeout: 180_000 }, () => {
  let web: ServedExample;
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let app: Awaited<ReturnType<typeof provisionApp>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let keyRequest: Promise<Request>;
  const pageErrors: string[] = [];
  /** The payload the gateway encrypted for the device registered by the page (decrypted by the sandbox). */
  let gatewayPayload: Json | undefined;

  before(async () => {
    browser = await launchChromium(); // fails with install instructions when Chromium is missing
    web = await serveWebExample();
    stack = await startStack(QUEUE_BACKENDS[0], { CORS_ORIGINS: web.origin });
    call = client(stack.apiUrl);
    app = await provisionApp(call, 'web example');
    context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: web.origin });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    keyRequest = page.waitForRequest((r) => r.url().endsWith('/webpush/public-key'), { timeout: 20_000 });
    const query = new URLSearchParams({ gateway: stack.apiUrl, appId: app.appId, key: app.register });
    await page.goto(`${web.url}?${query}`);
    await within(20_000, 'the page to start (service worker + key fetch)', page.evaluate(() => window.pushExample.ready));
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    await web?.close();
  });

  it('fetches the app’s VAPID public key from the gateway, cross-origin, with the register key, and shows it', async () => {
    const request = await keyRequest;
    assert.equal(request.url(), `${stack.apiUrl}/v1/apps/${app.appId}/webpush/public-key`);
    assert.equal(request.headers().authorization, `Bearer ${app.register}`);
    const response = await request.response();
    assert.ok(response, 'the key request got no answer (blocked by CORS?)');
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['access-control-allow-origin'], web.origin);

    const fromApi = await call<{ publicKey: string; subject: string; credentialId: string }>('GET', `/v1/apps/${app.appId}/webpush/public-key`, { key: app.register });
    assert.equal(fromApi.status, 200);
    assert.equal(await page.textContent('#public-key'), fromApi.body.publicKey);
    assert.equal(await page.textContent('#subject'), fromApi.body.subject);
    assert.match(fromApi.body.publicKey, /^B[A-Za-z0-9_-]{86}$/); // 65-byte uncompressed P-256 point
  });

  it('answers preflights only for the configured origins', async () => {
    const preflight = (origin: string) => fetch(`${stack.apiUrl}/v1/devices`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    const ok = await preflight(web.origin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), web.origin);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    const other = await preflight('http://elsewhere.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('registers a subscription through the page, and a send through the gateway reaches it', async () => {
    // The browser's own push service is unreachable offline, so pushManager.subscribe() cannot
    // succeed here: the sandbox mints the subscription a browser would, for the app's key.
    const publicKey = await page.evaluate(() => window.pushExample.state.publicKey);
    assert.ok(publicKey);
    const subscription = await sandboxControl(stack.sandbox)<Subscription>('POST', '/webpush/subscriptions', { applicationServerKey: publicKey });
    const device = await page.evaluate((s) => window.pushExample.registerSubscription(s), subscription);
    assert.equal(device.provider, 'webpush');
    assert.equal(await page.textContent('#device-id'), device.id);

    const stored = await call<Json>('GET', `/v1/devices/${device.id}`, { key: app.register });
    assert.equal(stored.status, 200);
    assert.equal(stored.body.provider, 'webpush');
    assert.equal(stored.body.token, subscription.endpoint);
    assert.deepEqual(stored.body.keys, subscription.keys);
    assert.equal(stored.body.status, 'active');

    const sent = await call<Json>('POST', '/v1/notifications', {
      key: app.send,
      body: {
        targets: { deviceIds: [device.id] }, title: 'From the web example', body: 'Through the gateway',
        data: { orderId: '42' }, webpush: { tag: 'order-42', link: '/orders/42' },
      },
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const subscriptionId = subscription.endpoint.split('/').pop() as string;
    const [receipt] = await waitFor(async () => {
      const r = stack.sandbox.store.forDevice('webpush', subscriptionId);
      return r.length ? r : null;
    }, 'the Web Push receipt in the sandbox', 30_000);
    gatewayPayload = receipt.payload as Json;
    assert.equal(gatewayPayload.title, 'From the web example');
    assert.equal(gatewayPayload.body, 'Through the gateway');
    assert.equal(gatewayPayload.id, sent.body.id);
  });

  it('its service worker shows a pushed notification and posts the message to the page', async () => {
    assert.ok(gatewayPayload, 'needs the payload of the previous test');
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const registration = await waitFor(async () => registrations.find((r) => r.scopeURL === web.url && !r.isDeleted), 'the example’s service worker registration', 10_000);
    const push = (payload: Json) => cdp.send('ServiceWorker.deliverPushMessage', { origin: web.origin, registrationId: registration.registrationId, data: JSON.stringify(payload) });

    // exactly what the gateway sent to the device in the previous test
    await push(gatewayPayload);
    await page.waitForFunction(() => window.pushExample.state.received.length >= 1, null, { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(() => window.pushExample.state.received[0]), gatewayPayload);
    assert.equal(await page.textContent('#messages li:first-child .title'), 'From the web example');

    const shown = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
    const mine = shown.filter((n) => n.data?.id === gatewayPayload?.id);
    assert.equal(mine.length, 1, JSON.stringify(shown));
    assert.deepEqual(mine[0], {
      title: 'From the web example', body: 'Through the gateway', tag: 'order-42',
      data: { id: gatewayPayload.id, link: '/orders/42', data: { orderId: '42' } },
    });

    // a background (data-only) message reaches the page but shows nothing
    const background = { id: 'background-1', background: true, data: { sync: 'inbox' } };
    await push(background);
    await page.waitForFunction(() => window.pushExample.state.received.length >= 2, null, { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(() => window.pushExample.state.received[1]), background);
    const after = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
    assert.equal(after.filter((n) => n.data?.id === 'background-1').length, 0);
    await cdp.detach();
    assert.deepEqual(pageErrors, []);
  });

  it('CORS_ORIGINS: unset is off, a list is normalised, anything else stops start-up', () => {
    const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', ADMIN_API_KEY: TEST_ADMIN_KEY, MASTER_KEY: TEST_MASTER_KEY };
    assert.deepEqual(loadConfig(base).corsOrigins, []);
    assert.deepEqual(loadConfig({ ...base, CORS_ORIGINS: 'http://localhost:8080/, https://App.Example.com' }).corsOrigins, ['http://localhost:8080', 'https://app.example.com']);
    assert.deepEqual(loadConfig({ ...base, CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    for (const bad of ['localhost:8080', 'https://app.example.com/path', 'ftp://files.example.com']) {
      assert.throws(() => loadConfig({ ...base, CORS_ORIGINS: bad }), (err: Error) => err instanceof ConfigError && err.message.includes('CORS_ORIGINS'));
    }
  });
});
