import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadOrCreateTls } from '@app/sandbox';
import { WebhookSender } from './webhook.sender';
import { signWebhook } from './webhook.signature';

describe('WebhookSender', () => {
  const tls = loadOrCreateTls(join(tmpdir(), 'pgw-webhook-sender-spec'));
  const hits: Array<{ path: string; headers: Record<string, unknown>; body: string }> = [];
  let server: https.Server;
  let base: string;
  const sender = new WebhookSender({ sandboxEnabled: true, extraCa: tls.caPem, timeoutMs: 500 });
  const target = (path: string) => ({ id: 'w1', url: `${base}${path}`, enabled: true, secret: 'whsec_test' });
  const meta = { deliveryId: 'd1', eventType: 'notification.completed' };

  before(async () => {
    server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hits.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/redirect') { res.writeHead(302, { location: `${base}/ok` }); res.end(); return; }
        if (req.url === '/slow') return; // never answers
        res.writeHead(req.url === '/ok' ? 204 : 500);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, r));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    sender.close();
    server.closeAllConnections();
    server.close();
  });

  it('POSTs the body with the signature, event and delivery headers', async () => {
    const body = JSON.stringify({ id: '1', type: 'notification.completed' });
    const r = await sender.send(target('/ok'), body, meta, 1_700_000_000_000);
    assert.deepEqual(r, { ok: true, status: 204 });
    const hit = hits.at(-1)!;
    assert.equal(hit.body, body);
    assert.equal(hit.headers['x-gateway-signature'], `t=1700000000,v1=${signWebhook('whsec_test', 1_700_000_000, body)}`);
    assert.equal(hit.headers['x-gateway-event'], 'notification.completed');
    assert.equal(hit.headers['x-gateway-delivery'], 'd1');
    assert.equal(hit.headers['content-type'], 'application/json');
  });

  it('does not follow redirects', async () => {
    const before = hits.length;
    const r = await sender.send(target('/redirect'), '{}', meta);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /HTTP 302: redirects are not followed/);
    assert.equal(hits.length, before + 1);
  });

  it('reports non-2xx answers and bounded timeouts as failures', async () => {
    assert.deepEqual(await sender.send(target('/boom'), '{}', meta), { ok: false, status: 500, error: 'HTTP 500' });
    const started = Date.now();
    const r = await sender.send(target('/slow'), '{}', meta);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /no answer within 500 ms/);
    assert.ok(Date.now() - started < 2000);
  });

  it('refuses loopback answers without the sandbox, and IP literals always', async () => {
    const strict = new WebhookSender({ sandboxEnabled: false, extraCa: null, timeoutMs: 500 });
    try {
      const r = await strict.send(target('/ok'), '{}', meta);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, /EPRIVATEADDR/);
      const ip = await sender.send({ ...target('/ok'), url: base.replace('localhost', '127.0.0.1') + '/ok' }, '{}', meta);
      assert.equal(ip.ok, false);
      assert.match((ip as { error: string }).error, /url rejected/);
    } finally {
      strict.close();
    }
  });
});
