import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFcmAnswer, classifyTransportError, parseRetryAfter } from './fcm.classifier';

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const NOW = Date.parse('2025-01-01T00:00:00Z');

function answer(status: number, error: Record<string, unknown>, retryAfter?: string) {
  return { status, body: JSON.stringify({ error: { code: status, message: 'Google says no', ...error } }), retryAfter };
}
const fcmError = (errorCode: string) => ({ '@type': FCM_ERROR, errorCode });

describe('fcm classifier', () => {
  it('delivered carries the message name', () => {
    assert.deepEqual(classifyFcmAnswer({ status: 200, body: '{"name":"projects/p/messages/0:1"}' }, NOW), {
      kind: 'delivered', providerMessageId: 'projects/p/messages/0:1',
    });
    assert.deepEqual(classifyFcmAnswer({ status: 200, body: '' }, NOW), { kind: 'delivered' });
  });

  it('UNREGISTERED and NOT_FOUND mark the token invalid', () => {
    assert.deepEqual(classifyFcmAnswer(answer(404, { status: 'NOT_FOUND', details: [fcmError('UNREGISTERED')] }), NOW), {
      kind: 'invalid_token', reason: 'UNREGISTERED',
    });
    assert.deepEqual(classifyFcmAnswer(answer(404, { status: 'NOT_FOUND' }), NOW), { kind: 'invalid_token', reason: 'NOT_FOUND' });
  });

  it('SENDER_ID_MISMATCH marks the token invalid (errorCode read before status PERMISSION_DENIED)', () => {
    const v = classifyFcmAnswer(answer(403, { status: 'PERMISSION_DENIED', details: [fcmError('SENDER_ID_MISMATCH')] }), NOW);
    assert.deepEqual(v, { kind: 'invalid_token', reason: 'SENDER_ID_MISMATCH' });
  });

  it('INVALID_ARGUMENT is about the token only when a field violation names message.token', () => {
    const tokenViolation = { '@type': BAD_REQUEST, fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] };
    assert.deepEqual(
      classifyFcmAnswer(answer(400, { status: 'INVALID_ARGUMENT', details: [fcmError('INVALID_ARGUMENT'), tokenViolation] }), NOW),
      { kind: 'invalid_token', reason: 'INVALID_ARGUMENT: message.token' },
    );
    const dataViolation = { '@type': BAD_REQUEST, fieldViolations: [{ field: 'message.data[0].value' }] };
    assert.deepEqual(
      classifyFcmAnswer(answer(400, { status: 'INVALID_ARGUMENT', details: [fcmError('INVALID_ARGUMENT'), dataViolation] }), NOW),
      { kind: 'failed', reason: 'INVALID_ARGUMENT: Google says no' },
    );
    // a violation on message.token of another @type does not count
    const wrongType = { '@type': 'type.googleapis.com/other', fieldViolations: [{ field: 'message.token' }] };
    assert.equal(classifyFcmAnswer(answer(400, { status: 'INVALID_ARGUMENT', details: [wrongType] }), NOW).kind, 'failed');
  });

  it('never classifies from message text', () => {
    const v = classifyFcmAnswer(answer(400, { status: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token' }), NOW);
    assert.equal(v.kind, 'failed');
  });

  it('QUOTA_EXCEEDED, UNAVAILABLE and INTERNAL retry and honour Retry-After', () => {
    assert.deepEqual(classifyFcmAnswer(answer(429, { status: 'RESOURCE_EXHAUSTED', details: [fcmError('QUOTA_EXCEEDED')] }, '30'), NOW), {
      kind: 'retry', reason: 'QUOTA_EXCEEDED', retryAfterMs: 30_000, throttled: true,
    });
    assert.deepEqual(classifyFcmAnswer(answer(503, { status: 'UNAVAILABLE', details: [fcmError('UNAVAILABLE')] }, 'Wed, 01 Jan 2025 00:01:00 GMT'), NOW), {
      kind: 'retry', reason: 'UNAVAILABLE', retryAfterMs: 60_000, unavailable: true,
    });
    assert.deepEqual(classifyFcmAnswer(answer(500, { status: 'INTERNAL', details: [fcmError('INTERNAL')] }), NOW), { kind: 'retry', reason: 'INTERNAL', unavailable: true });
  });

  it('UNAUTHENTICATED asks for a token refresh; THIRD_PARTY_AUTH_ERROR is a permanent credential alarm', () => {
    assert.deepEqual(classifyFcmAnswer(answer(401, { status: 'UNAUTHENTICATED' }), NOW), { kind: 'refresh_auth', reason: 'UNAUTHENTICATED' });
    assert.deepEqual(classifyFcmAnswer(answer(401, { status: 'UNAUTHENTICATED', details: [fcmError('THIRD_PARTY_AUTH_ERROR')] }), NOW), {
      kind: 'failed', reason: 'THIRD_PARTY_AUTH_ERROR: Google says no', alarm: true,
    });
  });

  it('falls back to the HTTP status when the body is not Google JSON', () => {
    assert.deepEqual(classifyFcmAnswer({ status: 502, body: '<html>bad gateway</html>', retryAfter: '5' }, NOW), {
      kind: 'retry', reason: 'INTERNAL', retryAfterMs: 5000, unavailable: true,
    });
    assert.deepEqual(classifyFcmAnswer({ status: 401, body: '' }, NOW), { kind: 'refresh_auth', reason: 'UNAUTHENTICATED' });
    assert.deepEqual(classifyFcmAnswer({ status: 404, body: 'nope' }, NOW), { kind: 'invalid_token', reason: 'NOT_FOUND' });
    assert.equal(classifyFcmAnswer({ status: 413, body: '' }, NOW).kind, 'failed');
  });

  it('transport errors retry', () => {
    assert.deepEqual(classifyTransportError({ code: 'ECONNRESET', message: 'reset' }), { kind: 'retry', reason: 'transport: ECONNRESET', unavailable: true });
  });

  it('parses Retry-After in seconds or as a date', () => {
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('12', NOW), 12_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', NOW), 0);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
  });
});
