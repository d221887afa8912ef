import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalNotification } from '../canonical';
import { effectiveTtlSeconds, encodeDataValue, messageBytes, sendBody, translateFcm } from './fcm.translator';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const NOW_S = NOW / 1000;
const base = (over: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: 'n1', appId: 'a1', priority: 'high', silent: false, acceptedAt: NOW, ...over,
});

describe('fcm translator', () => {
  it('maps every canonical field of an alert', () => {
    const { message, validateOnly } = translateFcm(
      base({
        title: 'T', subtitle: 'S', body: 'B', image: 'https://img.example/x.png', icon: 'ic_stat', sound: 'ping.caf', badge: 3,
        category: 'REPLY', threadId: 'chat-9', collapseId: 'score', ttlSeconds: 600, data: { a: '1' },
      }),
      NOW,
    );
    assert.equal(validateOnly, false);
    assert.deepEqual(message, {
      notification: { title: 'T', body: 'B', image: 'https://img.example/x.png' },
      data: { a: '1' },
      android: {
        priority: 'HIGH', ttl: '600s', collapse_key: 'score',
        notification: { sound: 'ping.caf', tag: 'score', click_action: 'REPLY', icon: 'ic_stat' },
      },
      apns: {
        headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-expiration': String(NOW_S + 600), 'apns-collapse-id': 'score' },
        payload: {
          aps: { alert: { title: 'T', subtitle: 'S', body: 'B' }, badge: 3, sound: 'ping.caf', 'thread-id': 'chat-9', category: 'REPLY', 'mutable-content': 1 },
        },
        fcm_options: { image: 'https://img.example/x.png' },
      },
      webpush: { headers: { TTL: '600', Urgency: 'high', Topic: 'score' }, notification: { icon: 'ic_stat', tag: 'score' } },
    });
  });

  it('leaves aps.alert to FCM when there is no subtitle, and omits what is absent', () => {
    const { message } = translateFcm(base({ title: 'T', body: 'B', priority: 'normal' }), NOW);
    assert.deepEqual(message, {
      notification: { title: 'T', body: 'B' },
      android: { priority: 'NORMAL' },
      apns: { headers: { 'apns-priority': '5', 'apns-push-type': 'alert' } },
      webpush: { headers: { Urgency: 'normal' } },
    });
  });

  it('silent is data-only: no notification block, content-available with priority 5', () => {
    const { message } = translateFcm(base({ silent: true, title: 'ignored', body: 'ignored', sound: 'x', icon: 'i', data: { sync: '1' } }), NOW);
    assert.equal(message.notification, undefined);
    assert.deepEqual(message.data, { sync: '1' });
    assert.deepEqual(message.android, { priority: 'HIGH' });
    assert.deepEqual(message.apns, { headers: { 'apns-priority': '5', 'apns-push-type': 'background' }, payload: { aps: { 'content-available': 1 } } });
    assert.equal((message.webpush as Record<string, unknown>).notification, undefined);
  });

  it('bounds the TTL to 0–2,419,200 s and shortens it by time already spent', () => {
    assert.equal(effectiveTtlSeconds(base({ ttlSeconds: 10_000_000 }), NOW), 2_419_200);
    assert.equal(effectiveTtlSeconds(base({ ttlSeconds: 3600, expiresAt: NOW + 1000_000 }), NOW), 1000);
    assert.equal(effectiveTtlSeconds(base({ ttlSeconds: 60, expiresAt: NOW - 5000 }), NOW), 0);
    assert.equal(effectiveTtlSeconds(base(), NOW), undefined);
    const { message } = translateFcm(base({ ttlSeconds: 0 }), NOW);
    assert.equal(message.android?.ttl, '0s');
    assert.equal(message.apns?.headers?.['apns-expiration'], '0');
  });

  it('drops collapse ids APNs or Web Push cannot carry, keeps them for Android', () => {
    const long = 'k'.repeat(65);
    const { message } = translateFcm(base({ collapseId: long }), NOW);
    assert.equal(message.android?.collapse_key, long);
    assert.equal(message.apns?.headers?.['apns-collapse-id'], undefined);
    assert.equal((message.webpush?.headers as Record<string, string>).Topic, undefined);
  });

  it('encodes override data values predictably', () => {
    assert.equal(encodeDataValue('x'), 'x');
    assert.equal(encodeDataValue(3), '3');
    assert.equal(encodeDataValue(true), 'true');
    assert.equal(encodeDataValue({ a: [1, 'b'] }), '{"a":[1,"b"]}');
    const { message } = translateFcm(base({ data: { a: '1', b: '2' }, fcm: { data: { b: 5, c: { x: 1 } } } }), NOW);
    assert.deepEqual(message.data, { a: '1', b: '5', c: '{"x":1}' });
  });

  it('merges the override block over the translation', () => {
    const { message, validateOnly } = translateFcm(
      base({
        title: 'T', sound: 'default', badge: 1,
        fcm: {
          validate_only: true,
          notification: { title: 'Override' },
          android: { ttl: 120, priority: 'NORMAL', notification: { channel_id: 'news', color: '#ff0000' } },
          apns: { headers: { 'apns-priority': '5' }, payload: { aps: { badge: 9 }, custom: { k: 1 } } },
          webpush: { fcm_options: { link: 'https://example.com/x' } },
          fcm_options: { analytics_label: 'campaign_1' },
        },
      }),
      NOW,
    );
    assert.equal(validateOnly, true);
    assert.deepEqual(message.notification, { title: 'Override' });
    assert.deepEqual(message.android, {
      priority: 'NORMAL', ttl: '120s', notification: { sound: 'default', channel_id: 'news', color: '#ff0000' },
    });
    assert.deepEqual(message.apns?.payload, { aps: { badge: 9, sound: 'default' }, custom: { k: 1 } });
    assert.equal(message.apns?.headers?.['apns-priority'], '5');
    assert.equal(message.apns?.headers?.['apns-push-type'], 'alert');
    assert.deepEqual(message.webpush?.fcm_options, { link: 'https://example.com/x' });
    assert.deepEqual(message.fcm_options, { analytics_label: 'campaign_1' });
  });

  it('builds one request body per device and measures the message without its target', () => {
    const req = translateFcm(base({ title: 'T' }), NOW);
    const body = JSON.parse(sendBody(req, 'tok-123')) as { message: { token: string }; validate_only?: boolean };
    assert.equal(body.message.token, 'tok-123');
    assert.equal(body.validate_only, undefined);
    assert.equal(messageBytes({ ...req.message, token: 'x'.repeat(500) }), messageBytes(req.message));
    assert.equal(JSON.parse(sendBody({ ...req, validateOnly: true }, 't')).validate_only, true);
  });
});
