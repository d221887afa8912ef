import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LoggerService } from '@nestjs/common';
import { loadConfig } from '@app/common';
import type { CanonicalNotification } from '../canonical';
import { TokenRejected } from '../provider.interface';
import { FcmProvider } from './fcm.provider';
import { validateFcmOverride } from './fcm.override';

const silentLogger: LoggerService = { log() {}, error() {}, warn() {} };
const provider = new FcmProvider({
  config: loadConfig({ DATABASE_URL: 'postgres://x', ADMIN_API_KEY: 'k'.repeat(24), MASTER_KEY: 'a'.repeat(64) }),
  logger: silentLogger,
  extraCa: null,
  urlGuard: { wns: { allowlist: [], sandboxEnabled: false }, webpush: { allowlist: [], sandboxEnabled: false } },
});
const note = (over: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: 'n', appId: 'a', title: 'T', body: 'B', priority: 'high', silent: false, acceptedAt: Date.now(), ...over,
});

describe('fcm override block and checkNotification', () => {
  it('accepts every documented field', () => {
    const problems = validateFcmOverride(
      {
        validate_only: false,
        data: { s: 'x', n: 1, b: true, o: { a: 1 }, l: [1] },
        notification: { title: 't', body: 'b', image: 'https://i.example/a.png' },
        android: {
          priority: 'HIGH', ttl: '3600s', collapse_key: 'c', restricted_package_name: 'com.example', direct_boot_ok: true,
          data: { k: 'v' }, fcm_options: { analytics_label: 'lbl' },
          notification: {
            title: 't', body: 'b', icon: 'i', color: '#aabbcc', sound: 's', tag: 't', click_action: 'OPEN', channel_id: 'ch',
            image: 'https://i.example/b.png', ticker: 'x', body_loc_key: 'k', body_loc_args: ['a'], title_loc_key: 'k',
            title_loc_args: ['b'], sticky: false, event_time: '2025-01-01T00:00:00Z', local_only: true, default_sound: true,
            default_vibrate_timings: false, default_light_settings: true, vibrate_timings: ['0.5s'], notification_count: 2,
            notification_priority: 'PRIORITY_HIGH', visibility: 'PUBLIC',
          },
        },
        apns: { headers: { 'apns-priority': '10' }, payload: { aps: { anything: 'goes' }, custom: 1 }, fcm_options: { analytics_label: 'x', image: 'https://i.example/c.png' } },
        webpush: { headers: { Urgency: 'high' }, data: { a: 'b' }, notification: { requireInteraction: true, actions: [] }, fcm_options: { link: 'https://e.example', analytics_label: 'w' } },
        fcm_options: { analytics_label: 'campaign-1_x.y~z%20' },
      },
      false,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(validateFcmOverride({ android: { ttl: 2_419_200 } }, false), []);
    assert.deepEqual(validateFcmOverride(undefined, false), []);
  });

  it('rejects unknown fields everywhere except the raw pass-through objects', () => {
    assert.deepEqual(validateFcmOverride({ priority: 'high' }, false), ['fcm.priority: is not a known field']);
    assert.deepEqual(validateFcmOverride({ android: { notification: { chanel_id: 'x' } } }, false), [
      'fcm.android.notification.chanel_id: is not a known field',
    ]);
    assert.deepEqual(validateFcmOverride({ apns: { payload: { whatever: { deep: 1 } } }, webpush: { notification: { x: 1 } } }, false), []);
    assert.deepEqual(validateFcmOverride('x', false), ['fcm: must be an object']);
  });

  it('names the rule a field breaks', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ android: { priority: 'high' } }, 'fcm.android.priority: must be one of HIGH, NORMAL'],
      [{ android: { ttl: '1h' } }, 'fcm.android.ttl: must be whole seconds (3600) or a duration string ("3600s")'],
      [{ android: { ttl: 2_419_201 } }, 'fcm.android.ttl: must be between 0 and 2419200 seconds'],
      [{ android: { ttl: '3000000s' } }, 'fcm.android.ttl: must be between 0 and 2419200 seconds'],
      [{ android: { notification: { color: 'red' } } }, 'fcm.android.notification.color: must be #rrggbb'],
      [{ android: { data: { n: 1 } } }, 'fcm.android.data.n: must be a string'],
      [{ apns: { headers: { Priority: '10' } } }, 'fcm.apns.headers.Priority: must be an apns-* header name in lower case'],
      [{ apns: { payload: [] } }, 'fcm.apns.payload: must be an object'],
      [{ webpush: { fcm_options: { link: 'http://x' } } }, 'fcm.webpush.fcm_options.link: must be an https URL'],
      [{ fcm_options: { analytics_label: 'has space' } }, "fcm.fcm_options.analytics_label: must be 1-50 characters of a-z A-Z 0-9 - _ . ~ %"],
      [{ validate_only: 'yes' }, 'fcm.validate_only: must be true or false'],
      [{ data: { x: null } }, 'fcm.data.x: must not be null (omit the key instead)'],
      [{ data: { from: 'x' } }, 'fcm.data.from: is reserved by FCM (from, message_type, notification, google*, gcm*)'],
      [{ android: { data: { 'google.x': 'y' } } }, 'fcm.android.data.google.x: is reserved by FCM (from, message_type, notification, google*, gcm*)'],
    ];
    for (const [block, expected] of cases) assert.deepEqual(validateFcmOverride(block, false), [expected], JSON.stringify(block));
  });

  it('keeps silent notifications data-only', () => {
    assert.deepEqual(validateFcmOverride({ notification: { title: 'x' }, android: { notification: { tag: 't' } } }, true), [
      'fcm.notification: not allowed on a silent (data-only) notification',
      'fcm.android.notification: not allowed on a silent (data-only) notification',
    ]);
  });

  it('checkNotification reports override problems, reserved data keys and the 4096-byte limit', () => {
    assert.deepEqual(provider.checkNotification(note()), []);
    assert.deepEqual(provider.checkNotification(note({ fcm: { bogus: 1 } })), ['fcm.bogus: is not a known field']);
    assert.deepEqual(provider.checkNotification(note({ data: { gcm_x: '1' } })), [
      'data.gcm_x: is reserved by FCM (from, message_type, notification, google*, gcm*)',
    ]);
    const [tooBig] = provider.checkNotification(note({ body: 'é'.repeat(2100) }));
    assert.match(tooBig, /^payload: the FCM message is \d+ bytes; FCM allows at most 4096$/);
    assert.deepEqual(provider.checkNotification(note({ body: 'x'.repeat(3500) })), []);
  });

  it('normalizes registration tokens and names the rule it refuses', () => {
    const t = 'dGVzdF9pbnN0YW5jZV9pZA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Q2bVj_8aPa';
    assert.deepEqual(provider.normalizeToken(`  ${t}\n`), { token: t, tokenData: null });
    assert.throws(() => provider.normalizeToken(42), (e: unknown) => e instanceof TokenRejected && /^token: must be a string/.test(e.message));
    assert.throws(() => provider.normalizeToken('short'), (e: unknown) => e instanceof TokenRejected && /^token: must be an FCM registration token/.test(e.message));
    assert.throws(() => provider.normalizeToken('has spaces in the middle of the token'), TokenRejected);
    assert.throws(() => provider.normalizeToken('a'.repeat(64)), (e: unknown) => e instanceof TokenRejected && /APNs/.test(e.message));
  });
});
