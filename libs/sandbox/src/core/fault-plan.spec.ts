import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FaultPlan, parseFault } from './fault-plan';
import { ReceiptStore } from './receipt-store';
import { TrafficMeter } from './traffic-meter';

describe('FaultPlan', () => {
  it('parses control bodies and names the first problem', () => {
    assert.deepEqual(parseFault({ kind: 'status', status: 503, retryAfter: 5, durationMs: 1000 }), {
      providers: ['apns', 'fcm', 'wns', 'webpush'], spec: { kind: 'status', status: 503, retryAfter: 5, durationMs: 1000 },
    });
    assert.deepEqual(parseFault({ provider: 'apns', kind: 'reset' }), { providers: ['apns'], spec: { kind: 'reset', reset: 'tcp' } });
    assert.deepEqual(parseFault({ provider: ['apns', 'webpush'], kind: 'hang' }), { providers: ['apns', 'webpush'], spec: { kind: 'hang' } });
    const problems: Array<[unknown, RegExp]> = [
      [{ kind: 'status' }, /^status/],
      [{ kind: 'status', status: 200 }, /^status/],
      [{ kind: 'status', status: 503, retryAfter: -1 }, /^retryAfter/],
      [{ kind: 'melt' }, /^kind/],
      [{ provider: 'sms', kind: 'hang' }, /^provider/],
      [{ kind: 'reset', reset: 'fin' }, /^reset/],
      [{ kind: 'delay' }, /^delayMs/],
      [{ kind: 'hang', durationMs: 0 }, /^durationMs/],
    ];
    for (const [body, re] of problems) {
      const r = parseFault(body);
      assert.ok('error' in r && re.test(r.error), JSON.stringify(body));
    }
  });

  it('the newest fault in force applies; when it ends, the one under it applies again', () => {
    const plan = new FaultPlan();
    plan.set(['apns'], { kind: 'delay', delayMs: 100 }, 0);
    plan.set(['apns', 'fcm'], { kind: 'status', status: 503, durationMs: 1000 }, 0);
    assert.equal(plan.active('apns', 999)?.kind, 'status');
    assert.equal(plan.active('apns', 1000)?.kind, 'delay', 'ends at its time, no timer needed');
    assert.equal(plan.active('fcm', 1000), null);
    assert.equal(plan.active('wns', 0), null);
    assert.equal(plan.clear('apns'), 1);
    assert.equal(plan.active('apns', 1000), null);
  });
});

describe('TrafficMeter', () => {
  it('counts requests per second and credential, in flight, and answers in a window', () => {
    const t = new TrafficMeter();
    const a = t.begin('apns', 'TEAM/KEY', 10_000);
    const b = t.begin('apns', 'TEAM/KEY', 10_500);
    const c = t.begin('webpush', 'vapid:abc', 11_200);
    assert.deepEqual(t.perSecond(10_000, 12_000).map((x) => [x.second, x.provider, x.credential, x.requests]), [
      [10, 'apns', 'TEAM/KEY', 2], [11, 'webpush', 'vapid:abc', 1],
    ]);
    assert.equal(t.snapshot().inFlight.apns, 2);
    a(true);
    a(true); // counted once
    b(false); // reset or abandoned: finished, not answered
    const s = t.snapshot(1000);
    assert.deepEqual([s.inFlight.apns, s.inFlight.webpush, s.answeredInWindow.apns, s.totals.answered.apns], [0, 1, 1, 1]);
    assert.equal(t.snapshot(1000, Date.now() + 5000).answeredInWindow.apns, 0, 'outside the window');
    c(true);
  });
});

describe('ReceiptStore per-device counts', () => {
  it('counts every receipt of every device, beyond the kept list; nothing with countOnly', () => {
    const store = new ReceiptStore({ countOnly: false, perDeviceLimit: 2 });
    const r = (device: string) => ({ provider: 'apns' as const, device, at: Date.now(), headers: {}, payload: {} });
    for (let i = 0; i < 3; i++) store.record(r('a'));
    store.record(r('b'));
    assert.deepEqual(store.deviceCounts(), { apns: { a: 3, b: 1 } });
    assert.equal(store.forDevice('apns', 'a').length, 2);
    store.reset();
    assert.deepEqual(store.deviceCounts(), {});
    const totals = new ReceiptStore({ countOnly: true, perDeviceLimit: 2 });
    totals.record(r('a'));
    assert.deepEqual(totals.deviceCounts(), {});
    assert.equal(totals.stats().delivered.apns, 1);
  });
});
