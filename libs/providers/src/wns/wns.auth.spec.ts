import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { notification, startRig, type WnsRig } from './wns.spec-support';

/**
 * OAuth against the stand-in's two token endpoints: both flows, caching, single-flight
 * minting, refresh-once on 401, refusals as credential alarms, pool rebuild on a new
 * credential version.
 */
describe('WNS access tokens against the stand-in', () => {
  let rig: WnsRig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => rig.close());

  const minted = async (clientId: string) => (await rig.stats()).tokensMinted.byApp[clientId] ?? 0;

  for (const flow of ['legacy', 'entra'] as const) {
    it(`delivers with the ${flow} flow and reuses its token`, async () => {
      const app = await rig.mintApp(flow);
      const { channelId, device } = await rig.channel(app);
      const cred = rig.credential(app);
      const [o1] = await rig.provider.send(cred, notification({ title: 'a' }), [device]);
      const [o2] = await rig.provider.send(cred, notification({ title: 'b' }), [device]);
      assert.equal(o1.kind, 'delivered');
      assert.equal(o2.kind, 'delivered');
      assert.equal(rig.store.forDevice('wns', channelId).length, 2);
      assert.equal(await minted(app.clientId), 1);
    });
  }

  it('mints one token for many concurrent sends (single-flight)', async () => {
    const app = await rig.mintApp('entra');
    const chans = await Promise.all(Array.from({ length: 40 }, () => rig.channel(app)));
    const cred = rig.credential(app);
    const batches = [chans.slice(0, 20), chans.slice(20)].map((b) => b.map((c) => c.device));
    const results = await Promise.all(batches.map((b) => rig.provider.send(cred, notification({ title: 't' }), b)));
    assert.ok(results.flat().every((o) => o.kind === 'delivered'));
    assert.equal(await minted(app.clientId), 1);
  });

  it('renews a token that is about to expire before using it (no 401 needed)', async () => {
    const app = await rig.mintApp('legacy', 1);
    const { device } = await rig.channel(app);
    const cred = rig.credential(app);
    const unauthorized = (await rig.stats()).unauthorized;
    assert.equal((await rig.provider.send(cred, notification({ title: 'a' }), [device]))[0].kind, 'delivered');
    await sleep(1100);
    assert.equal((await rig.provider.send(cred, notification({ title: 'b' }), [device]))[0].kind, 'delivered');
    assert.equal(await minted(app.clientId), 2);
    assert.equal((await rig.stats()).unauthorized, unauthorized);
  });

  it('refreshes once when the service rejects a cached token (401), shared by all sends that saw it', async () => {
    const app = await rig.mintApp('legacy');
    const chans = await Promise.all(Array.from({ length: 25 }, () => rig.channel(app)));
    const cred = rig.credential(app);
    await rig.provider.send(cred, notification({ title: 'warm' }), [chans[0].device]);
    assert.equal(await minted(app.clientId), 1);
    await rig.control('POST', 'revoke-tokens', { appClientId: app.clientId });
    const unauthorized = (await rig.stats()).unauthorized;
    const out = await rig.provider.send(cred, notification({ title: 'after revoke' }), chans.map((c) => c.device));
    assert.ok(out.every((o) => o.kind === 'delivered'), JSON.stringify(out.find((o) => o.kind !== 'delivered')));
    assert.equal(await minted(app.clientId), 2);
    assert.equal((await rig.stats()).unauthorized - unauthorized, 25);
  });

  it('an injected 401 causes one refresh and one resend', async () => {
    const app = await rig.mintApp('entra');
    const { channelId, device } = await rig.channel(app);
    const cred = rig.credential(app);
    rig.store.inject('wns', channelId, { status: 401 });
    const [o] = await rig.provider.send(cred, notification({ title: 't' }), [device]);
    assert.equal(o.kind, 'delivered');
    assert.equal(await minted(app.clientId), 2);
    assert.equal(rig.store.forDevice('wns', channelId).length, 1);
  });

  it('a second 401 after the refresh is a permanent failure, with no third try', async () => {
    const app = await rig.mintApp('legacy');
    const { channelId, device } = await rig.channel(app);
    rig.store.inject('wns', channelId, { status: 401, times: 3 });
    const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
    assert.equal(o.kind, 'failed');
    assert.match(o.kind === 'failed' ? o.reason : '', /^401/);
    assert.equal(await minted(app.clientId), 2);
    // one injected 401 is left: the provider stopped after two tries
    assert.equal(rig.store.takeInjection('wns', channelId)?.status, 401);
  });

  it('answers 403 with an alarm when the credential belongs to another app than the channel', async () => {
    const mine = await rig.mintApp('legacy');
    const theirs = await rig.mintApp('legacy');
    const { channelId, device } = await rig.channel(theirs);
    const [o] = await rig.provider.send(rig.credential(mine), notification({ title: 't' }), [device]);
    assert.deepEqual({ kind: o.kind, alarm: o.kind === 'failed' && o.alarm }, { kind: 'failed', alarm: true });
    assert.equal(rig.store.forDevice('wns', channelId).length, 0);
  });

  for (const flow of ['legacy', 'entra'] as const) {
    it(`fails every device with an alarm when the ${flow} token endpoint refuses the secret`, async () => {
      const app = await rig.mintApp(flow);
      const chans = await Promise.all([rig.channel(app), rig.channel(app)]);
      const cred = rig.credential(app);
      cred.secret = { ...cred.secret, clientSecret: 'wrong-secret' };
      const out = await rig.provider.send(cred, notification({ title: 't' }), chans.map((c) => c.device));
      for (const o of out) {
        assert.equal(o.kind, 'failed');
        assert.ok(o.kind === 'failed' && o.alarm);
        assert.match(o.kind === 'failed' ? o.reason : '', /invalid_client/);
      }
      assert.ok(!rig.logger.lines.join('\n').includes('wrong-secret'));
    });
  }

  it('retries every device (honouring Retry-After) when the token endpoint is unavailable', async () => {
    const app = await rig.mintApp('legacy');
    const { device } = await rig.channel(app);
    rig.store.inject('wns', `token:${app.clientId}`, { status: 503, retryAfter: 30 });
    const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
    assert.deepEqual(o, { kind: 'retry', reason: 'token endpoint 503 temporarily_unavailable', retryAfterMs: 30_000, unavailable: true });
    const [again] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
    assert.equal(again.kind, 'delivered');
  });

  it('fails with an alarm when the stored secret is not a valid WNS credential', async () => {
    const app = await rig.mintApp('legacy');
    const { device } = await rig.channel(app);
    const cred = { ...rig.credential(app, 1, 'broken'), secret: { flow: 'legacy', packageSid: 'nope' } };
    const [o] = await rig.provider.send(cred, notification({ title: 't' }), [device]);
    assert.equal(o.kind, 'failed');
    assert.ok(o.kind === 'failed' && o.alarm);
  });

  it('rebuilds the pooled client (and its token) when the credential version changes', async () => {
    const app = await rig.mintApp('legacy');
    const { device } = await rig.channel(app);
    await rig.provider.send(rig.credential(app, 1), notification({ title: 'v1' }), [device]);
    await rig.provider.send(rig.credential(app, 1), notification({ title: 'v1 again' }), [device]);
    assert.equal(await minted(app.clientId), 1);
    const [o] = await rig.provider.send(rig.credential(app, 2), notification({ title: 'v2' }), [device]);
    assert.equal(o.kind, 'delivered');
    assert.equal(await minted(app.clientId), 2);
  });

  it('keeps credentials of different apps apart (no token shared across apps)', async () => {
    const a = await rig.mintApp('legacy');
    const b = await rig.mintApp('entra');
    const ca = await rig.channel(a);
    const cb = await rig.channel(b);
    const [oa, ob] = await Promise.all([
      rig.provider.send(rig.credential(a), notification({ title: 'a' }), [ca.device]),
      rig.provider.send(rig.credential(b), notification({ title: 'b' }), [cb.device]),
    ]);
    assert.equal(oa[0].kind, 'delivered');
    assert.equal(ob[0].kind, 'delivered');
    assert.equal(rig.store.forDevice('wns', ca.channelId)[0].headers['x-sandbox-app'], a.clientId);
    assert.equal(rig.store.forDevice('wns', cb.channelId)[0].headers['x-sandbox-app'], b.clientId);
  });
});
