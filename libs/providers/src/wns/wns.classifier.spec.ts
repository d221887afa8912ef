import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyWnsAnswer, classifyWnsTokenFailure, parseRetryAfter } from './wns.classifier';

const http = (status: number, extra: Record<string, string> = {}) => classifyWnsAnswer({ kind: 'http', status, ...extra }, 0);

describe('WNS classifier', () => {
  it('200 is delivered with the message id and X-WNS-Status in detail', () => {
    assert.deepEqual(http(200, { msgId: 'ABC', wnsStatus: 'received', deviceConnectionStatus: 'connected' }), {
      kind: 'delivered', providerMessageId: 'ABC', detail: 'status=received device=connected',
    });
    assert.deepEqual(http(200, { wnsStatus: 'dropped' }), { kind: 'delivered', providerMessageId: undefined, detail: 'status=dropped' });
  });

  it('404 and 410 mark the channel invalid', () => {
    assert.equal(http(404).kind, 'invalid_token');
    assert.equal(http(410).kind, 'invalid_token');
  });

  it('406, 429, 500, 503 (and other 5xx) retry, honouring Retry-After', () => {
    for (const s of [406, 429, 500, 502, 503]) assert.equal(http(s).kind, 'retry', String(s));
    assert.deepEqual(http(503, { retryAfter: '120' }), { kind: 'retry', reason: '503 service unavailable', retryAfterMs: 120_000, unavailable: true });
    assert.deepEqual(http(406, { wnsStatus: 'channelthrottled' }), { kind: 'retry', reason: '406 channel throttled', retryAfterMs: undefined });
  });

  it('400, 405, 413 are permanent and carry X-WNS-Error-Description', () => {
    assert.deepEqual(http(400, { errorDescription: 'Invalid X-WNS-Type' }), { kind: 'failed', reason: '400 bad request: Invalid X-WNS-Type' });
    assert.equal(http(405).kind, 'failed');
    assert.equal(http(413).kind, 'failed');
    assert.deepEqual(http(413), { kind: 'failed', reason: '413 payload too large' });
  });

  it('403 is permanent with a credential alarm; a 401 that survived the refresh is permanent', () => {
    const f = http(403);
    assert.ok(f.kind === 'failed' && f.alarm === true);
    assert.equal(http(401).kind, 'failed');
  });

  it('3xx is never followed: permanent', () => {
    for (const s of [301, 302, 307, 308]) assert.match(http(s).kind === 'failed' ? (http(s) as { reason: string }).reason : '', /redirect not followed/);
  });

  it('transport errors retry, a refused private address does not', () => {
    assert.deepEqual(classifyWnsAnswer({ kind: 'transport', code: 'ECONNRESET' }), { kind: 'retry', reason: 'transport error: ECONNRESET', unavailable: true });
    assert.equal(classifyWnsAnswer({ kind: 'transport', code: 'EPRIVATEADDR' }).kind, 'failed');
  });

  it('decides by status, not by text: the same description under different codes differs', () => {
    assert.equal(http(404, { errorDescription: 'throttled, retry' }).kind, 'invalid_token');
    assert.equal(http(503, { errorDescription: 'channel expired' }).kind, 'retry');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('30', 0), 30_000);
    assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('token endpoint: refusals alarm, unavailability retries', () => {
    assert.deepEqual(classifyWnsTokenFailure({ kind: 'http', status: 400, error: 'invalid_client' }), {
      kind: 'failed', reason: 'token endpoint refused the credential: 400 invalid_client', alarm: true,
    });
    assert.equal(classifyWnsTokenFailure({ kind: 'http', status: 401 }).kind, 'failed');
    assert.deepEqual(classifyWnsTokenFailure({ kind: 'http', status: 503, retryAfter: '5' }, 0), {
      kind: 'retry', reason: 'token endpoint 503', retryAfterMs: 5000, unavailable: true,
    });
    assert.equal(classifyWnsTokenFailure({ kind: 'http', status: 429 }).kind, 'retry');
    assert.equal(classifyWnsTokenFailure({ kind: 'transport', code: 'ETIMEDOUT' }).kind, 'retry');
  });
});
