import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDatabaseUnavailable } from './db-errors';

describe('isDatabaseUnavailable', () => {
  it('knows socket failures, server shutdown and connection SQLSTATEs, and node-postgres connection errors', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '08006', '08001']) {
      assert.equal(isDatabaseUnavailable(Object.assign(new Error('x'), { code })), true, code);
    }
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect')), true);
    const both = Object.assign(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' }), Object.assign(new Error('b'), { code: 'ECONNREFUSED' })]), {});
    assert.equal(isDatabaseUnavailable(both), true);
  });
  it('does not take a refused query for an outage', () => {
    for (const code of ['23505', '22P02', '42P01', '23503']) assert.equal(isDatabaseUnavailable(Object.assign(new Error('x'), { code })), false, code);
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly, or so it seemed')), false);
    assert.equal(isDatabaseUnavailable(null), false);
    assert.equal(isDatabaseUnavailable('ECONNREFUSED'), false);
  });
});
