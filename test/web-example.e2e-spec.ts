import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page, Request, Worker } from 'playwright-core';
import { client, provisionApp, sandboxControl, startStack, waitFor, type Stack } from './support/harness';
import { QUEUE_BACKENDS } from './support/test-env';
import { launchChromium, serveWebExample, type FoundChromium, type ServedExample } from './support/web-browser';

type Json = Record<string, unknown>;
interface Subscription { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }
interface ShownNotification { title: string; body: string; tag: string; data: { id: string | null; link: string | null; data: Json } | null }

// What app.js exposes as window.pushExample (see examples/web/app.js).
interface PushExample {
  ready: Promise<void>;
  state: { received: Json[]; publicKey: string | null };
  registerSubscription(s: Subscription): Promise<Json>;
}
interface NotificationRequest { title: string; options: { body?: string; tag?: string; data?: ShownNotification['data'] }; outcome: string }
declare const window: { pushExample: PushExample };
declare const navigator: { serviceWorker: { ready: Promise<{ getNotifications(): Promise<ShownNotification[]> }> } };
declare const Notification: { permission: string };
// The service worker's global, as far as the test instruments it.
declare const self: {
  registration: { showNotification(title: string, options: NotificationRequest['options']): Promise<void> };
  requestedNotifications: NotificationRequest[];
};

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
  let found: FoundChromium;
  /** What the page sees after the test granted it: "granted", or "denied" in chrome-headless-shell. */
  let notificationPermission = '';
  let serviceWorker: Worker;
  let context: BrowserContext;
  let page: Page;
  let keyRequest: Promise<Request>;
  const pageErrors: string[] = [];
  /** The payload the gateway encrypted for the device registered by the page (decrypted by the sandbox). */
  let gatewayPayload: Json | undefined;

  before(async () => {
    ({ browser, found } = await launchChromium()); // fails saying what is missing when no Chromium can run
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
    notificationPermission = await page.evaluate(() => Notification.permission);
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

  it('its service worker posts a pushed message to the page and asks the browser to show it', async () => {
    assert.ok(gatewayPayload, 'needs the payload of the previous test');
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const registration = await waitFor(async () => registrations.find((r) => r.scopeURL === web.url && !r.isDeleted), 'the example’s service worker registration', 10_000);
    const push = (payload: Json) => cdp.send('ServiceWorker.deliverPushMessage', { origin: web.origin, registrationId: registration.registrationId, data: JSON.stringify(payload) });

    // Record what sw.js asks the browser to show (and what the browser answers), on any
    // Chromium; whether the browser then displays it is the next test's.
    serviceWorker = await waitFor(async () => context.serviceWorkers().find((w) => w.url().startsWith(web.url)), 'the example’s service worker', 10_000);
    await serviceWorker.evaluate(() => {
      const reg = self.registration;
      const original = reg.showNotification.bind(reg);
      self.requestedNotifications = [];
      reg.showNotification = (title, options) => {
        const entry: NotificationRequest = { title, options, outcome: 'pending' };
        self.requestedNotifications.push(entry);
        return original(title, options).then(
          () => void (entry.outcome = 'shown'),
          (err: Error) => {
            entry.outcome = `${err.name}: ${err.message}`;
            throw err;
          },
        );
      };
    });
    const requested = () => serviceWorker.evaluate(() => self.requestedNotifications.map((r) => ({ title: r.title, options: { body: r.options.body, tag: r.options.tag, data: r.options.data }, outcome: r.outcome })));

    // exactly what the gateway sent to the device in the previous test
    await push(gatewayPayload);
    await page.waitForFunction(() => window.pushExample.state.received.length >= 1, null, { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(() => window.pushExample.state.received[0]), gatewayPayload);
    assert.equal(await page.textContent('#messages li:first-child .title'), 'From the web example');
    const asked = await waitFor(async () => ((await requested()).every((r) => r.outcome !== 'pending') ? requested() : null), 'the showNotification() answer', 10_000);
    assert.deepEqual(asked.map(({ title, options }) => ({ title, options })), [{
      title: 'From the web example',
      options: { body: 'Through the gateway', tag: 'order-42', data: { id: gatewayPayload.id as string, link: '/orders/42', data: { orderId: '42' } } },
    }]);
    if (notificationPermission === 'granted') assert.equal(asked[0].outcome, 'shown');

    // a background (data-only) message reaches the page and asks for no notification
    const background = { id: 'background-1', background: true, data: { sync: 'inbox' } };
    await push(background);
    await page.waitForFunction(() => window.pushExample.state.received.length >= 2, null, { timeout: 10_000 });
    assert.deepEqual(await page.evaluate(() => window.pushExample.state.received[1]), background);
    assert.equal((await requested()).length, 1, 'a background message shows nothing');
    await cdp.detach();
    assert.deepEqual(pageErrors, []);
  });

  it('… and the browser displays that notification (getNotifications), the background one not', async (t) => {
    assert.ok(gatewayPayload, 'needs the payload of the previous tests');
    if (notificationPermission !== 'granted') {
      // chrome-headless-shell (what @sparticuz/chromium ships) has no notification service:
      // Notification.permission stays "denied" whatever is granted, and showNotification()
      // rejects ("No notification permission has been granted for this origin").
      t.skip(
        `this browser cannot display notifications (Notification.permission is "${notificationPermission}" after the grant` +
          `${found.headlessShell ? '; chrome-headless-shell has no notification service' : ''}): ${found.path}, ${found.why}. ` +
          'With a full Chromium (apt-get install -y chromium, or CHROMIUM_PATH) this check runs',
      );
      return;
    }
    const shown = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
    const mine = shown.filter((n) => n.data?.id === gatewayPayload?.id);
    assert.equal(mine.length, 1, JSON.stringify(shown));
    assert.deepEqual(mine[0], {
      title: 'From the web example', body: 'Through the gateway', tag: 'order-42',
      data: { id: gatewayPayload.id, link: '/orders/42', data: { orderId: '42' } },
    });
    assert.equal(shown.filter((n) => n.data?.id === 'background-1').length, 0);
  });
});
