import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routeDevice } from './credential-router';

const routes = new Map([
  ['apns', [{ id: 'prod', environment: 'production' }, { id: 'both', environment: null }]],
  ['fcm', [{ id: 'f1', environment: null }, { id: 'f2', environment: null }]],
] as const).entries();

const map = new Map(Array.from(routes, ([k, v]) => [k, [...v]]));

describe('credential router', () => {
  it('routes APNs devices by environment and never a sandbox device to a production-only credential', () => {
    assert.equal(routeDevice({ provider: 'apns', environment: 'production', credential_id: null }, map), 'prod');
    assert.equal(routeDevice({ provider: 'apns', environment: 'sandbox', credential_id: null }, map), 'both');
    const prodOnly = new Map([['apns' as const, [{ id: 'prod', environment: 'production' }]]]);
    assert.equal(routeDevice({ provider: 'apns', environment: 'sandbox', credential_id: null }, prodOnly), null);
  });
  it('honours a pinned credential of the right provider and falls back to the oldest', () => {
    assert.equal(routeDevice({ provider: 'fcm', environment: null, credential_id: 'f2' }, map), 'f2');
    assert.equal(routeDevice({ provider: 'fcm', environment: null, credential_id: 'gone' }, map), 'f1');
    assert.equal(routeDevice({ provider: 'wns', environment: null, credential_id: null }, map), null);
  });
});
