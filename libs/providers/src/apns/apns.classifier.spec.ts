import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyApns, isCredentialVerdict, parseRetryAfter, type ApnsAttempt } from './apns.classifier';

const a = (status: number, reason?: string, extra: Partial<NonNullable<ApnsAttempt['answer']>> = {}): ApnsAttempt => ({
  answer: { status, reason, ...extra },
});

describe('classifyApns (PROVIDERS.md APNs table)', () => {
  it('200 → delivered with apns-id', () => {
    assert.deepEqual(classifyApns(a(200, undefined, { apnsId: 'id-1' }), 'production'), { kind: 'delivered', providerMessageId: 'id-1' });
  });

  it('410 Unregistered / ExpiredToken, 400 BadDeviceToken / DeviceTokenNotForTopic → invalid_token', () => {
    assert.deepEqual(classifyApns(a(410, 'Unregistered'), 'production'), { kind: 'invalid_token', reason: '410 Unregistered' });
    assert.deepEqual(classifyApns(a(410, 'ExpiredToken'), 'production'), { kind: 'invalid_token', reason: '410 ExpiredToken' });
    assert.deepEqual(classifyApns(a(400, 'BadDeviceToken'), 'sandbox'), { kind: 'invalid_token', reason: '400 BadDeviceToken (sent to sandbox)' });
    assert.deepEqual(classifyApns(a(400, 'DeviceTokenNotForTopic'), 'production'), { kind: 'invalid_token', reason: '400 DeviceTokenNotForTopic' });
  });

  it('429, 500, 503 and transport failures → retry, honouring retry-after', () => {
    assert.deepEqual(classifyApns(a(429, 'TooManyRequests', { retryAfter: '2' }), 'production'), { kind: 'retry', reason: '429 TooManyRequests', retryAfterMs: 2000, throttled: true });
    assert.deepEqual(classifyApns(a(500, 'InternalServerError'), 'production'), { kind: 'retry', reason: '500 InternalServerError', unavailable: true });
    assert.deepEqual(classifyApns(a(503, 'ServiceUnavailable'), 'production'), { kind: 'retry', reason: '503 ServiceUnavailable', unavailable: true });
    assert.deepEqual(classifyApns(a(502), 'production'), { kind: 'retry', reason: '502', unavailable: true });
    assert.deepEqual(classifyApns({ transportError: 'apn write timeout' }, 'production'), { kind: 'retry', reason: 'transport: apn write timeout', unavailable: true });
  });

  it('request errors → permanent with the reason', () => {
    for (const [s, r] of [[413, 'PayloadTooLarge'], [400, 'BadTopic'], [400, 'MissingTopic'], [400, 'BadPriority'], [400, 'BadCollapseId'],
      [400, 'BadExpirationDate'], [403, 'Forbidden'], [404, 'BadPath'], [405, 'MethodNotAllowed']] as const) {
      assert.deepEqual(classifyApns(a(s, r), 'production'), { kind: 'failed', reason: `${s} ${r}` });
    }
  });

  it('403 ExpiredProviderToken → refresh auth; InvalidProviderToken and certificate refusals → alarm', () => {
    assert.deepEqual(classifyApns(a(403, 'ExpiredProviderToken'), 'production'), { kind: 'refresh_auth', reason: '403 ExpiredProviderToken' });
    for (const r of ['InvalidProviderToken', 'MissingProviderToken', 'BadCertificate', 'BadCertificateEnvironment']) {
      const v = classifyApns(a(403, r), 'production');
      assert.deepEqual(v, { kind: 'failed', reason: `403 ${r}`, alarm: true });
      assert.equal(isCredentialVerdict(v, a(403, r)), true);
    }
    assert.equal(isCredentialVerdict(classifyApns(a(429, 'TooManyProviderTokenUpdates'), 'production'), a(429, 'TooManyProviderTokenUpdates')), true);
    assert.equal(isCredentialVerdict(classifyApns(a(429, 'TooManyRequests'), 'production'), a(429, 'TooManyRequests')), false);
  });

  it('parseRetryAfter: seconds or HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
