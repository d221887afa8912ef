import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { notification, startRig, type MintedApp, type WnsRig } from './wns.spec-support';

/**
 * The production provider and client against the WNS stand-in over real https:
 * delivery of every type, every row of the outcome table, redirects, transport
 * errors and the send-time URL check.
 */
describe('WnsProvider against the WNS stand-in', () => {
  let rig: WnsRig;
  let app: MintedApp;

  before(async () => {
    rig = await startRig();
    app = await rig.mintApp('legacy');
  });
  after(async () => rig.close());

  it('delivers a toast and the device receives well-formed XML with the WNS headers', async () => {
    const { channelId, device } = await rig.channel(app);
    const n = notification({ title: 'Hello', body: 'World', collapseId: 'chat-42', ttlSeconds: 600, data: { room: '42' } });
    assert.deepEqual(rig.provider.checkNotification(n), []);
    const [o] = await rig.provider.send(rig.credential(app), n, [device]);
    assert.equal(o.kind, 'delivered');
    assert.ok(o.kind === 'delivered' && o.providerMessageId && o.providerMessageId.length > 0);
    assert.match(o.kind === 'delivered' ? o.detail ?? '' : '', /status=received/);
    const [r] = rig.store.forDevice('wns', channelId);
    assert.equal(r.headers['x-wns-type'], 'wns/toast');
    assert.equal(r.headers['content-type'], 'text/xml');
    assert.equal(r.headers['x-wns-requestforstatus'], 'true');
    assert.equal(r.headers['x-wns-tag'], 'chat-42');
    assert.ok(Number(r.headers['x-wns-ttl']) > 590 && Number(r.headers['x-wns-ttl']) <= 600);
    assert.equal(XMLValidator.validate(r.payload as string), true);
    assert.match(r.payload as string, /<text>Hello<\/text><text>World<\/text>/);
    assert.match(r.payload as string, /launch="room=42"/);
  });

  it('carries a hostile title through as text, not markup', async () => {
    const { channelId, device } = await rig.channel(app);
    const title = `<script>alert(1)</script>&"' </toast>`;
    const [o] = await rig.provider.send(rig.credential(app), notification({ title, body: 'b' }), [device]);
    assert.equal(o.kind, 'delivered');
    const xml = rig.store.forDevice('wns', channelId)[0].payload as string;
    assert.equal(XMLValidator.validate(xml), true);
    const parsed = new XMLParser({ processEntities: true, htmlEntities: false }).parse(xml) as {
      toast: { visual: { binding: { text: string[] } } };
    };
    assert.equal(parsed.toast.visual.binding.text[0], title);
  });

  it('sends silent notifications as raw octet-stream carrying the data map as JSON', async () => {
    const { channelId, device } = await rig.channel(app);
    const [o] = await rig.provider.send(rig.credential(app), notification({ silent: true, data: { a: '1', b: 'x&y' } }), [device]);
    assert.equal(o.kind, 'delivered');
    const [r] = rig.store.forDevice('wns', channelId);
    assert.equal(r.headers['x-wns-type'], 'wns/raw');
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(JSON.parse(r.payload as string), { a: '1', b: 'x&y' });
  });

  it('sends a badge-only notification as a badge, and a glyph from the override', async () => {
    const a = await rig.channel(app);
    const b = await rig.channel(app);
    await rig.provider.send(rig.credential(app), notification({ badge: 7 }), [a.device]);
    await rig.provider.send(rig.credential(app), notification({ wns: { type: 'badge', badge: 'newMessage' } }), [b.device]);
    assert.equal(rig.store.forDevice('wns', a.channelId)[0].payload, '<badge value="7"/>');
    assert.equal(rig.store.forDevice('wns', b.channelId)[0].payload, '<badge value="newMessage"/>');
    assert.equal(rig.store.forDevice('wns', b.channelId)[0].headers['x-wns-type'], 'wns/badge');
  });

  it('sends tiles and caller-supplied XML as they are', async () => {
    const a = await rig.channel(app);
    const b = await rig.channel(app);
    const xml = '<toast><visual><binding template="ToastGeneric"><text>From XML</text></binding></visual></toast>';
    const res = await rig.provider.send(rig.credential(app), notification({ title: 'Tile', wns: { type: 'tile', group: 'news' } }), [a.device]);
    const res2 = await rig.provider.send(rig.credential(app), notification({ title: 'ignored', wns: { xml } }), [b.device]);
    assert.equal(res[0].kind, 'delivered');
    assert.equal(res2[0].kind, 'delivered');
    const tile = rig.store.forDevice('wns', a.channelId)[0];
    assert.equal(tile.headers['x-wns-type'], 'wns/tile');
    assert.equal(tile.headers['x-wns-group'], 'news');
    assert.match(tile.payload as string, /^<tile><visual><binding template="TileMedium">/);
    assert.equal(rig.store.forDevice('wns', b.channelId)[0].payload, xml);
  });

  const rows: Array<{ status: number; kind: string; alarm?: boolean; retryAfterMs?: number }> = [
    { status: 404, kind: 'invalid_token' },
    { status: 410, kind: 'invalid_token' },
    { status: 406, kind: 'retry', retryAfterMs: 7000 },
    { status: 500, kind: 'retry' },
    { status: 503, kind: 'retry', retryAfterMs: 120_000 },
    { status: 400, kind: 'failed' },
    { status: 405, kind: 'failed' },
    { status: 413, kind: 'failed' },
    { status: 403, kind: 'failed', alarm: true },
  ];
  for (const row of rows) {
    it(`classifies an injected ${row.status} as ${row.kind}${row.alarm ? ' with an alarm' : ''}`, async () => {
      const { channelId, device } = await rig.channel(app);
      rig.store.inject('wns', channelId, {
        status: row.status,
        reason: `injected-${row.status}`,
        retryAfter: row.retryAfterMs === undefined ? undefined : row.retryAfterMs / 1000,
      });
      const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
      assert.equal(o.kind, row.kind, JSON.stringify(o));
      if (o.kind === 'failed') {
        assert.equal(o.alarm ?? false, row.alarm ?? false);
        assert.match(o.reason, new RegExp(`${row.status}.*injected-${row.status}`));
      }
      if (o.kind === 'invalid_token') assert.match(o.reason, new RegExp(`^${row.status}`));
      if (o.kind === 'retry') assert.equal(o.retryAfterMs, row.retryAfterMs);
      assert.equal(rig.store.forDevice('wns', channelId).length, 0);
    });
  }

  it('marks a channel deleted in the stand-in (410 Gone) as invalid', async () => {
    const { channelId, device } = await rig.channel(app);
    await rig.control('DELETE', `channels/${channelId}`);
    const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
    assert.equal(o.kind, 'invalid_token');
  });

  it('returns one outcome per device in order, each from its own answer', async () => {
    const chans = await Promise.all(Array.from({ length: 6 }, () => rig.channel(app)));
    rig.store.inject('wns', chans[1].channelId, { status: 410 });
    rig.store.inject('wns', chans[3].channelId, { status: 503 });
    rig.store.inject('wns', chans[4].channelId, { status: 400 });
    const out = await rig.provider.send(rig.credential(app), notification({ title: 't' }), chans.map((c) => c.device));
    assert.deepEqual(out.map((o) => o.kind), ['delivered', 'invalid_token', 'delivered', 'retry', 'failed', 'delivered']);
    assert.deepEqual(chans.map((c) => rig.store.forDevice('wns', c.channelId).length), [1, 0, 1, 0, 0, 1]);
  });

  it('never follows a redirect: 302 is permanent and the Location receives nothing', async () => {
    let hits = 0;
    const trap = createHttpsServer({ key: rig.tls.keyPem, cert: rig.tls.certPem }, (_req, res) => {
      hits += 1;
      res.end();
    });
    await new Promise<void>((r) => trap.listen(0, 'localhost', r));
    try {
      const { channelId, device } = await rig.channel(app);
      const other = await rig.channel(app);
      const trapUrl = `https://localhost:${(trap.address() as AddressInfo).port}/w/?token=x`;
      rig.store.inject('wns', channelId, { status: 302, reason: trapUrl });
      rig.store.inject('wns', channelId, { status: 307, reason: other.device.token });
      const [o1] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
      const [o2] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
      for (const o of [o1, o2]) {
        assert.equal(o.kind, 'failed');
        assert.match(o.kind === 'failed' ? o.reason : '', /redirect not followed/);
      }
      assert.equal(hits, 0);
      assert.equal(rig.store.forDevice('wns', other.channelId).length, 0);
      assert.equal(rig.store.forDevice('wns', channelId).length, 0);
    } finally {
      trap.closeAllConnections();
      await new Promise<void>((r) => trap.close(() => r()));
    }
  });

  it('retries on a transport error (nothing listening)', async () => {
    const closed = createHttpsServer();
    await new Promise<void>((r) => closed.listen(0, 'localhost', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const device = { id: 'gone', token: rig.provider.normalizeToken(`https://localhost:${port}/w/?token=abc`).token };
    const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
    assert.equal(o.kind, 'retry');
    assert.match(o.kind === 'retry' ? o.reason : '', /ECONNREFUSED/);
  });

  it('checks the channel URI again at send time and sends nothing to a host off the allowlist', async () => {
    const devices = [
      { id: 'x1', token: 'https://evil.example/w/?token=1' },
      { id: 'x2', token: 'https://169.254.169.254/latest/meta-data' },
      { id: 'x3', token: 'http://localhost/w/' },
    ];
    const out = await rig.provider.send(rig.credential(app), notification({ title: 't' }), devices);
    assert.deepEqual(out.map((o) => o.kind), ['invalid_token', 'invalid_token', 'invalid_token']);
    assert.match(out[0].kind === 'invalid_token' ? out[0].reason : '', /channel URI host evil\.example is not on the allowlist/);
    assert.match(out[1].kind === 'invalid_token' ? out[1].reason : '', /IP address/);
    assert.match(out[2].kind === 'invalid_token' ? out[2].reason : '', /https/);
  });

  it('fails (never throws) when a notification that skipped the API check reaches send', async () => {
    const { channelId, device } = await rig.channel(app);
    const out = await rig.provider.send(rig.credential(app), notification({ title: 't', wns: { xml: 5 } }), [device, device]);
    assert.deepEqual(out, [0, 1].map(() => ({ kind: 'failed', reason: 'notification not sendable on WNS: wns.xml: must be a non-empty string' })));
    assert.equal(rig.store.forDevice('wns', channelId).length, 0);
  });

  it('keeps one pooled client per credential and never logs secrets or tokens', async () => {
    const { device } = await rig.channel(app);
    const cred = rig.credential(app);
    const mintedBefore = (await rig.stats()).tokensMinted.byApp[app.clientId];
    for (let i = 0; i < 3; i++) await rig.provider.send(cred, notification({ title: `n${i}` }), [device]);
    assert.equal((await rig.stats()).tokensMinted.byApp[app.clientId], mintedBefore);
    const logs = rig.logger.lines.join('\n');
    assert.ok(!logs.includes(app.config.clientSecret));
    assert.ok(!logs.includes('EwB'), 'no access token in logs');
  });
});
