import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@app/common';
import type { CanonicalNotification } from '../canonical';
import { ApnsProvider } from './apns.provider';
import { quietLogger } from './apns.spec-support';
import { parseApnsOverride, type ApnsOverride } from './apns.override';
import { topicFor, translateApns, translationProblems } from './apns.translator';

const base: CanonicalNotification = { id: 'n', appId: 'a', priority: 'high', silent: false, acceptedAt: 1_700_000_000_000 };
const t = (n: Partial<CanonicalNotification>, o?: ApnsOverride) => translateApns({ ...base, ...n }, o, 'com.example.app');

describe('translateApns', () => {
  it('alert: title, subtitle, body and every localisation key', () => {
    const r = t({ title: 'T', subtitle: 'S', body: 'B' }, {
      titleLocKey: 'TK', titleLocArgs: ['a'], subtitleLocKey: 'SK', subtitleLocArgs: ['b'], locKey: 'BK', locArgs: ['c', 'd'], launchImage: 'l.png',
    });
    assert.deepEqual(r.payload.aps, {
      alert: {
        title: 'T', subtitle: 'S', body: 'B', 'title-loc-key': 'TK', 'title-loc-args': ['a'], 'subtitle-loc-key': 'SK',
        'subtitle-loc-args': ['b'], 'loc-key': 'BK', 'loc-args': ['c', 'd'], 'launch-image': 'l.png',
      },
    });
    assert.equal(r.headers['apns-push-type'], 'alert');
    assert.equal(r.headers['apns-priority'], '10');
    assert.equal(r.headers['apns-topic'], 'com.example.app');
    assert.equal(r.json, JSON.stringify(r.payload));
    assert.equal(r.bytes, Buffer.byteLength(r.json));
  });

  it('badge, sound, category, thread id', () => {
    const { aps } = t({ body: 'b', badge: 0, sound: 'ping.caf', category: 'MSG', threadId: 'chat-1' }).payload as { aps: object };
    assert.deepEqual(aps, { alert: { body: 'b' }, badge: 0, sound: 'ping.caf', category: 'MSG', 'thread-id': 'chat-1' });
  });

  it('critical sound and interruption level', () => {
    const { aps } = t({ body: 'b', sound: 'x' }, { sound: { name: 'alarm.caf', critical: true, volume: 0.8 }, interruptionLevel: 'critical' }).payload as {
      aps: Record<string, unknown>;
    };
    assert.deepEqual(aps.sound, { name: 'alarm.caf', critical: 1, volume: 0.8 });
    assert.equal(aps['interruption-level'], 'critical');
  });

  it('relevance score, target content id, filter criteria, mutable-content', () => {
    const { aps } = t({ body: 'b' }, { relevanceScore: 0.5, targetContentId: 'w1', filterCriteria: 'work', mutableContent: true }).payload as {
      aps: Record<string, unknown>;
    };
    assert.equal(aps['relevance-score'], 0.5);
    assert.equal(aps['target-content-id'], 'w1');
    assert.equal(aps['filter-criteria'], 'work');
    assert.equal(aps['mutable-content'], 1);
  });

  it('an image sets mutable-content and travels outside aps for the service extension', () => {
    const r = t({ body: 'b', image: 'https://x/i.png' });
    assert.equal((r.payload.aps as Record<string, unknown>)['mutable-content'], 1);
    assert.equal(r.payload.image, 'https://x/i.png');
    const off = t({ body: 'b', image: 'i' }, { mutableContent: false }).payload.aps as Record<string, unknown>;
    assert.equal(off['mutable-content'], undefined);
  });

  it('custom data sits outside aps; apns.payload adds raw top-level fields', () => {
    const r = t({ body: 'b', data: { orderId: '42' } }, { payload: { nested: { a: 1 } } });
    assert.equal(r.payload.orderId, '42');
    assert.deepEqual(r.payload.nested, { a: 1 });
    assert.ok('aps' in r.payload);
  });

  it('silent → background push, priority 5, content-available only', () => {
    const r = t({ silent: true, title: 'ignored', badge: 3, sound: 'x', data: { k: 'v' } });
    assert.deepEqual(r.payload, { k: 'v', aps: { 'content-available': 1 } });
    assert.equal(r.headers['apns-push-type'], 'background');
    assert.equal(r.headers['apns-priority'], '5');
  });

  it('content-available on a visible notification; normal priority → 5', () => {
    const r = t({ body: 'b', priority: 'normal' }, { contentAvailable: true });
    assert.equal((r.payload.aps as Record<string, unknown>)['content-available'], 1);
    assert.equal(r.headers['apns-priority'], '5');
  });

  it('apns.aps merges raw fields last; null removes one', () => {
    const r = t({ body: 'b', badge: 2 }, { aps: { event: 'update', 'content-state': { s: 1 }, badge: null } });
    assert.deepEqual(r.payload.aps, { alert: { body: 'b' }, event: 'update', 'content-state': { s: 1 } });
  });

  it('push types get the topic suffix Apple requires', () => {
    assert.equal(topicFor('com.a', 'voip'), 'com.a.voip');
    assert.equal(topicFor('com.a', 'complication'), 'com.a.complication');
    assert.equal(topicFor('com.a', 'liveactivity'), 'com.a.push-type.liveactivity');
    assert.equal(topicFor('com.a', 'fileprovider'), 'com.a.pushkit.fileprovider');
    assert.equal(topicFor('com.a', 'location'), 'com.a.location-query');
    assert.equal(topicFor('com.a', 'pushtotalk'), 'com.a.voip-ptt');
    assert.equal(topicFor('com.a', 'background'), 'com.a');
    assert.equal(topicFor('com.a.voip', 'voip'), 'com.a.voip');
    const r = t({ body: 'b' }, { pushType: 'voip' });
    assert.equal(r.headers['apns-topic'], 'com.example.app.voip');
    assert.equal(r.maxBytes, 5120);
  });

  it('expiration: from expiresAt, from TTL, 0 for TTL 0, absent without TTL', () => {
    assert.equal(t({ body: 'b', expiresAt: 1_700_000_100_500 }).headers['apns-expiration'], '1700000100');
    assert.equal(t({ body: 'b', ttlSeconds: 60 }).headers['apns-expiration'], '1700000060');
    assert.equal(t({ body: 'b', ttlSeconds: 0, expiresAt: 1_700_000_000_000 }).headers['apns-expiration'], '0');
    assert.equal(t({ body: 'b' }).headers['apns-expiration'], undefined);
    assert.equal(t({ body: 'b', ttlSeconds: 60 }, { expiration: 5 }).headers['apns-expiration'], '5');
  });

  it('collapse id from the canonical field or the override; apns-id from the override', () => {
    assert.equal(t({ body: 'b', collapseId: 'c1' }).headers['apns-collapse-id'], 'c1');
    assert.equal(t({ body: 'b', collapseId: 'c1' }, { collapseId: 'c2' }).headers['apns-collapse-id'], 'c2');
    const id = '123E4567-E89B-12D3-A456-426614174000';
    assert.equal(t({ body: 'b' }, { apnsId: id }).headers['apns-id'], id.toLowerCase());
  });

  it('override headers win over fields', () => {
    const r = t({ body: 'b', collapseId: 'c' }, {
      priority: 10,
      headers: { 'apns-priority': 1, 'apns-push-type': 'liveactivity', 'apns-topic': 'com.other', 'apns-expiration': '9', 'apns-collapse-id': 'h' },
    });
    assert.equal(r.headers['apns-priority'], '1');
    assert.equal(r.headers['apns-push-type'], 'liveactivity');
    assert.equal(r.headers['apns-topic'], 'com.other');
    assert.equal(r.headers['apns-expiration'], '9');
    assert.equal(r.headers['apns-collapse-id'], 'h');
  });

  it('mdm: no aps dictionary, topic from the override', () => {
    const r = t({ silent: false }, { pushType: 'mdm', topic: 'com.apple.mgmt.External.abc', payload: { mdm: 'magic' } });
    assert.deepEqual(r.payload, { mdm: 'magic' });
    assert.equal(r.headers['apns-topic'], 'com.apple.mgmt.External.abc');
  });

  it('size and priority problems', () => {
    assert.deepEqual(translationProblems(t({ body: 'x'.repeat(4000) })), []);
    assert.match(translationProblems(t({ body: 'x'.repeat(4100) }))[0], /^payload: \d+ bytes .* 4096/);
    assert.deepEqual(translationProblems(t({ body: 'x'.repeat(4100) }, { pushType: 'voip' })), []);
    assert.match(translationProblems(t({ body: 'x'.repeat(5200) }, { pushType: 'voip' }))[0], /5120/);
    assert.match(translationProblems(t({ silent: true }, { priority: 10 }))[0], /^apns.priority: background/);
  });
});

describe('parseApnsOverride', () => {
  it('accepts a complete valid block', () => {
    const { problems, value } = parseApnsOverride({
      pushType: 'alert', priority: 5, topic: 'com.a', collapseId: 'c', expiration: 0, apnsId: '123e4567-e89b-12d3-a456-426614174000',
      titleLocKey: 'k', titleLocArgs: ['a'], subtitleLocKey: 'k', subtitleLocArgs: [], locKey: 'k', locArgs: ['x'], launchImage: 'i',
      sound: { name: 's', critical: true, volume: 1 }, interruptionLevel: 'time-sensitive', relevanceScore: 1, targetContentId: 't',
      filterCriteria: 'f', mutableContent: true, contentAvailable: false, aps: { event: 'end' }, payload: { x: 1 },
      headers: { 'apns-priority': '10', 'apns-push-type': 'voip' },
    });
    assert.deepEqual(problems, []);
    assert.ok(value);
  });

  it('absent is fine', () => {
    assert.deepEqual(parseApnsOverride(undefined), { value: undefined, problems: [] });
  });

  it('names every problem as field: rule', () => {
    const { problems, value } = parseApnsOverride({
      bogus: 1, pushType: 'fax', priority: 7, collapseId: 'x'.repeat(65), expiration: -1, apnsId: 'nope', locArgs: [1],
      sound: { name: '', loud: true, volume: 2 }, interruptionLevel: 'urgent', relevanceScore: 2, mutableContent: 'yes',
      aps: [], payload: { aps: {} }, headers: { authorization: 'x', 'apns-priority': 3, 'apns-id': 'no', 'apns-expiration': 'soon' },
    });
    assert.equal(value, undefined);
    for (const f of [
      'apns.bogus: unknown field', 'apns.pushType:', 'apns.priority:', 'apns.collapseId: must be at most 64 bytes', 'apns.expiration:',
      'apns.apnsId:', 'apns.locArgs:', 'apns.sound.loud: unknown field', 'apns.sound.name:', 'apns.sound.volume:',
      'apns.interruptionLevel:', 'apns.relevanceScore:', 'apns.mutableContent:', 'apns.aps:', 'apns.payload.aps:',
      'apns.headers.authorization: not allowed', 'apns.headers.apns-priority:', 'apns.headers.apns-id:', 'apns.headers.apns-expiration:',
    ]) {
      assert.ok(problems.some((p) => p.startsWith(f)), `missing ${f} in ${problems.join(' | ')}`);
    }
  });

  it('must be an object', () => {
    assert.deepEqual(parseApnsOverride('x').problems, ['apns: must be an object']);
  });
});

describe('ApnsProvider.checkNotification', () => {
  const provider = new ApnsProvider({
    config: loadConfig({ DATABASE_URL: 'postgres://x', ADMIN_API_KEY: 'k'.repeat(24), MASTER_KEY: 'a'.repeat(64) }),
    logger: quietLogger,
    extraCa: null,
    urlGuard: { wns: { allowlist: [], sandboxEnabled: false }, webpush: { allowlist: [], sandboxEnabled: false } },
  });
  it('accepts a plain notification', () => {
    assert.deepEqual(provider.checkNotification({ ...base, title: 't', body: 'b' }), []);
  });
  it('refuses what APNs would refuse, before anything is queued', () => {
    assert.match(provider.checkNotification({ ...base, body: 'x'.repeat(5000) })[0], /^payload: .*4096/);
    assert.deepEqual(provider.checkNotification({ ...base, body: 'b', collapseId: 'c'.repeat(65) }), ['collapseId: must be at most 64 bytes']);
    assert.deepEqual(provider.checkNotification({ ...base, body: 'b', data: { aps: 'x' } }), ['data.aps: reserved by APNs']);
    assert.deepEqual(provider.checkNotification({ ...base, body: 'b', apns: { nope: true } }), ['apns.nope: unknown field']);
  });
});
