import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyWebpush, parseRetryAfter } from './webpush.classifier';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const answer = (status: number, extra: { retryAfter?: string; location?: string; body?: string } = {}) =>
  classifyWebpush({ kind: 'answer', status, ...extra }, NOW);

describe('webpush classifier', () => {
  it('201, 200 and 202 are delivered, with the Location as message id', () => {
    assert.deepEqual(answer(201, { location: 'https://push.example/m/1' }), { kind: 'delivered', providerMessageId: 'https://push.example/m/1' });
    assert.deepEqual(answer(200), { kind: 'delivered' });
    assert.deepEqual(answer(202), { kind: 'delivered' });
  });

  it('404 and 410 mark the subscription invalid', () => {
    assert.equal(answer(404).kind, 'invalid_token');
    assert.equal(answer(410).kind, 'invalid_token');
  });

  it('429, 406 and 5xx retry, honouring Retry-After in seconds or as a date', () => {
    for (const s of [429, 406, 500, 502, 503, 504]) assert.equal(answer(s).kind, 'retry', String(s));
    assert.deepEqual(answer(429, { retryAfter: '30' }), { kind: 'retry', reason: 'webpush 429', retryAfterMs: 30_000, throttled: true });
    const date = new Date(NOW + 90_000).toUTCString();
    assert.deepEqual(answer(503, { retryAfter: date }), { kind: 'retry', reason: 'webpush 503', retryAfterMs: 90_000, unavailable: true });
    assert.equal((answer(503, { retryAfter: 'soon' }) as { retryAfterMs?: number }).retryAfterMs, undefined);
  });

  it('400 and 413 are permanent without an alarm', () => {
    assert.deepEqual(answer(400), { kind: 'failed', reason: 'webpush 400' });
    assert.deepEqual(answer(413), { kind: 'failed', reason: 'webpush 413' });
  });

  it('401 and 403 are permanent with a VAPID alarm', () => {
    for (const s of [401, 403]) {
      const o = answer(s);
      assert.equal(o.kind, 'failed');
      assert.equal((o as { alarm?: boolean }).alarm, true);
    }
  });

  it('redirects and other statuses are permanent (redirects are never followed)', () => {
    for (const s of [301, 302, 307, 405, 415]) assert.deepEqual(answer(s), { kind: 'failed', reason: `webpush ${s}` });
  });

  it('transport errors retry', () => {
    assert.deepEqual(classifyWebpush({ kind: 'transport', code: 'ECONNRESET' }, NOW), { kind: 'retry', reason: 'transport: ECONNRESET', unavailable: true });
  });

  it('adds an autopush errno to the reason but decides from the status only', () => {
    assert.deepEqual(answer(410, { body: '{"code":410,"errno":106,"message":"gone"}' }), { kind: 'invalid_token', reason: 'webpush 410 errno 106' });
    assert.equal(answer(201, { body: '{"errno":1}' }).kind, 'delivered');
  });

  it('parseRetryAfter', () => {
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW), 0);
  });
});
