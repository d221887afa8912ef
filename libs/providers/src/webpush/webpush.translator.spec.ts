import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalNotification } from '../canonical';
import { parseWebpushOverride } from './webpush.override';
import {
  buildPayload,
  DEFAULT_TTL_SECONDS,
  encryptedSize,
  MAX_PLAINTEXT_BYTES,
  pushHeaders,
  translationProblems,
} from './webpush.translator';

const base = (over: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: 'n-1',
  appId: 'app-1',
  priority: 'normal',
  silent: false,
  acceptedAt: 1_700_000_000_000,
  ...over,
});

describe('webpush translator', () => {
  it('builds the service-worker payload from canonical fields and the override block', () => {
    const n = base({
      title: 'Hi',
      body: 'There',
      icon: 'https://example.com/i.png',
      image: '/big.png',
      badge: 3,
      data: { orderId: '42' },
      collapseId: 'order-42',
      subtitle: 'ignored',
      sound: 'ignored',
    });
    const o = parseWebpushOverride({
      actions: [{ action: 'open', title: 'Open' }],
      requireInteraction: true,
      renotify: true,
      silent: false,
      dir: 'ltr',
      lang: 'pt-BR',
      vibrate: [100, 50, 100],
      timestamp: 1_700_000_000_000,
      link: '/orders/42',
      badge: '/badge.png',
    });
    assert.deepEqual(o.problems, []);
    assert.deepEqual(buildPayload(n, o.value), {
      id: 'n-1',
      title: 'Hi',
      body: 'There',
      icon: 'https://example.com/i.png',
      image: '/big.png',
      badge: '/badge.png',
      badgeCount: 3,
      data: { orderId: '42' },
      tag: 'order-42',
      actions: [{ action: 'open', title: 'Open' }],
      requireInteraction: true,
      renotify: true,
      silent: false,
      dir: 'ltr',
      lang: 'pt-BR',
      vibrate: [100, 50, 100],
      timestamp: 1_700_000_000_000,
      link: '/orders/42',
    });
  });

  it('an override tag wins over the collapse id; silent sends a background message without title/body', () => {
    const p = buildPayload(base({ title: 'T', body: 'B', collapseId: 'c1', silent: true, data: { k: 'v' } }), { tag: 'mine' });
    assert.deepEqual(p, { id: 'n-1', background: true, data: { k: 'v' }, tag: 'mine' });
  });

  it('maps priority, silent and the override to Urgency', () => {
    assert.equal(pushHeaders(base({ priority: 'high' }), {}, 0).Urgency, 'high');
    assert.equal(pushHeaders(base({ priority: 'normal' }), {}, 0).Urgency, 'normal');
    assert.equal(pushHeaders(base({ priority: 'high', silent: true }), {}, 0).Urgency, 'low');
    assert.equal(pushHeaders(base({ silent: true }), { urgency: 'very-low' }, 0).Urgency, 'very-low');
    assert.equal(pushHeaders(base({ silent: true }), { urgency: 'high' }, 0).Urgency, 'high');
  });

  it('TTL defaults to 4 weeks, follows ttlSeconds and never outlives expiresAt', () => {
    assert.equal(pushHeaders(base(), {}, 0).TTL, String(DEFAULT_TTL_SECONDS));
    assert.equal(DEFAULT_TTL_SECONDS, 28 * 24 * 3600);
    assert.equal(pushHeaders(base({ ttlSeconds: 60 }), {}, 0).TTL, '60');
    assert.equal(pushHeaders(base({ ttlSeconds: 0 }), {}, 0).TTL, '0');
    assert.equal(pushHeaders(base({ ttlSeconds: 3600, expiresAt: 10_500 }), {}, 0).TTL, '10');
    assert.equal(pushHeaders(base({ expiresAt: 1000 }), {}, 5000).TTL, '0');
  });

  it('Topic comes from a valid collapse id only; an invalid one is rejected naming the rule', () => {
    assert.equal(pushHeaders(base({ collapseId: 'a'.repeat(32) }), {}, 0).Topic, 'a'.repeat(32));
    assert.equal(pushHeaders(base(), {}, 0).Topic, undefined);
    for (const bad of ['a'.repeat(33), 'has space', 'dot.ted', 'plus+', '']) {
      const problems = translationProblems(base({ collapseId: bad }), {});
      assert.equal(problems.length, 1, bad);
      assert.match(problems[0], /^collapseId: must be 1-32 URL-safe base64 characters/);
    }
  });

  it('computes the aes128gcm size exactly: 86-byte header + plaintext + 1 delimiter + 16 tag', () => {
    assert.equal(encryptedSize(0), 103);
    assert.equal(MAX_PLAINTEXT_BYTES, 3993);
    assert.equal(encryptedSize(MAX_PLAINTEXT_BYTES), 4096);
  });

  it('accepts a payload of exactly the limit and rejects one byte more with the size and the limit', () => {
    const overhead = Buffer.byteLength(JSON.stringify(buildPayload(base({ body: '' }), {})));
    const fits = base({ body: 'x'.repeat(MAX_PLAINTEXT_BYTES - overhead) });
    assert.deepEqual(translationProblems(fits, {}), []);
    const over = base({ body: 'x'.repeat(MAX_PLAINTEXT_BYTES - overhead + 1) });
    const problems = translationProblems(over, {});
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^payload: /);
    assert.match(problems[0], /4097 bytes/);
    assert.match(problems[0], /limit of 4096 bytes/);
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    const n = base({ body: '€'.repeat(1400) }); // 4200 bytes of UTF-8, 1400 characters
    assert.match(translationProblems(n, {}).join(), /over the limit of 4096 bytes/);
  });

  it('renotify needs a tag', () => {
    assert.deepEqual(translationProblems(base(), { renotify: true }), ['webpush.renotify: requires a tag (webpush.tag or collapseId)']);
    assert.deepEqual(translationProblems(base({ collapseId: 'c' }), { renotify: true }), []);
  });
});

describe('webpush override block', () => {
  it('rejects unknown fields naming them', () => {
    const { problems } = parseWebpushOverride({ title: 'x', actions: [] });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^webpush\.title: unknown field/);
  });

  it('rejects wrong types naming the field and the rule', () => {
    const { problems } = parseWebpushOverride({
      actions: [{ action: 'a' }, { action: 'b', title: 'B', extra: 1 }, 'x'],
      tag: 5,
      requireInteraction: 'yes',
      dir: 'up',
      lang: 'english language',
      vibrate: [1, -1],
      timestamp: 1.5,
      link: 'http://insecure.example/',
      badge: 'javascript:alert(1)',
      urgency: 'urgent',
    });
    const fields = problems.map((p) => p.split(':')[0]);
    assert.deepEqual(fields, [
      'webpush.actions[0].title',
      'webpush.actions[1].extra',
      'webpush.actions[2]',
      'webpush.tag',
      'webpush.requireInteraction',
      'webpush.dir',
      'webpush.lang',
      'webpush.vibrate',
      'webpush.timestamp',
      'webpush.link',
      'webpush.badge',
      'webpush.urgency',
    ]);
    assert.match(problems.at(-1) as string, /very-low, low, normal, high/);
  });

  it('limits the number of actions and accepts an absent block', () => {
    const five = Array.from({ length: 5 }, (_, i) => ({ action: `a${i}`, title: 'T' }));
    assert.match(parseWebpushOverride({ actions: five }).problems[0], /at most 4 actions/);
    assert.deepEqual(parseWebpushOverride(undefined), { value: {}, problems: [] });
    assert.deepEqual(parseWebpushOverride([]).problems, ['webpush: must be an object']);
  });
});
