import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@app/common';
import { TokenRejected } from '../provider.interface';
import { createProviderContext } from '../provider-context';
import { BASE_ENV, MemoryLogger, notification, startRig } from './wns.spec-support';
import { WnsProvider } from './wns.provider';

function provider(env: Record<string, string> = {}): WnsProvider {
  return new WnsProvider(createProviderContext(loadConfig({ ...BASE_ENV, ...env }), new MemoryLogger()));
}

function rejects(p: WnsProvider, token: unknown, rule: RegExp): void {
  assert.throws(
    () => p.normalizeToken(token),
    (err: unknown) => err instanceof TokenRejected && rule.test(err.message) && err.message.startsWith('channel URI'),
    `${String(token)} should be rejected with ${rule}`,
  );
}

describe('WNS channel URIs at registration (SSRF)', () => {
  const prod = provider();
  const sandbox = provider({ SANDBOX_ENABLED: 'true' });

  it('accepts https channel URIs on *.notify.windows.com as they are', () => {
    const uri = 'https://db5.notify.windows.com/?token=AwYAAAD%2bXq2zKf7Qx%2f8%3d';
    assert.deepEqual(prod.normalizeToken(uri), { token: uri, tokenData: null });
    assert.equal(prod.normalizeToken(` ${uri} `).token, uri);
    assert.equal(prod.normalizeToken('https://DB5.Notify.Windows.com/?token=x').token, 'https://db5.notify.windows.com/?token=x');
  });

  const attacks: Array<[string, unknown, RegExp]> = [
    ['loopback IP', 'https://127.0.0.1/', /IP address/],
    ['IPv6 loopback', 'https://[::1]/', /IP address/],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data/', /IP address/],
    ['localhost without the sandbox', 'https://localhost/w/?token=x', /host localhost is not on the allowlist/],
    ['localhost with a port', 'https://localhost:4003/w/?token=x', /default https port/],
    ['look-alike suffix', 'https://notify.windows.com.evil.example/', /not on the allowlist/],
    ['look-alike label', 'https://evilnotify.windows.com/', /not on the allowlist/],
    ['bare apex', 'https://notify.windows.com/', /not on the allowlist/],
    ['userinfo before the real host', 'https://db5.notify.windows.com@evil.example/', /userinfo/],
    ['userinfo with password', 'https://user:pw@db5.notify.windows.com/', /userinfo/],
    ['fragment trick', 'https://evil.example#@db5.notify.windows.com', /evil\.example is not on the allowlist/],
    ['fragment on an allowed host', 'https://db5.notify.windows.com/?token=x#frag', /fragment/],
    ['http scheme', 'http://db5.notify.windows.com/?token=x', /must use https/],
    ['non-443 port', 'https://db5.notify.windows.com:8443/?token=x', /default https port/],
    ['trailing dot', 'https://db5.notify.windows.com./?token=x', /dot/],
    ['not a URL', 'db5.notify.windows.com/?token=x', /absolute URL/],
    ['not a string', 42, /URL string/],
    ['empty', '', /URL string/],
    ['too long', `https://db5.notify.windows.com/?token=${'a'.repeat(2100)}`, /2048/],
  ];
  for (const [name, token, rule] of attacks) {
    it(`rejects ${name}`, () => rejects(prod, token, rule));
  }

  it('accepts localhost (any port) only when the sandbox is enabled, still never loopback IPs', () => {
    assert.equal(sandbox.normalizeToken('https://localhost:4003/w/?token=abc').token, 'https://localhost:4003/w/?token=abc');
    rejects(sandbox, 'https://127.0.0.1:4003/w/?token=abc', /IP address/);
    rejects(sandbox, 'https://evil.example/', /not on the allowlist/);
  });

  it('uses the configured allowlist (WNS_HOST_ALLOWLIST)', () => {
    const custom = provider({ WNS_HOST_ALLOWLIST: '*.wns.example.org' });
    assert.equal(custom.normalizeToken('https://a.wns.example.org/x').token, 'https://a.wns.example.org/x');
    rejects(custom, 'https://db5.notify.windows.com/?token=x', /not on the allowlist/);
  });

  it('refuses at connect time a channel host whose DNS answer is a private address', async () => {
    // "localhost" is allowlisted but the sandbox is off: only the guarded lookup stands between us and 127.0.0.1.
    const rig = await startRig({ SANDBOX_ENABLED: 'false', WNS_HOST_ALLOWLIST: 'localhost' });
    try {
      const app = await rig.mintApp('legacy');
      const device = { id: 'd', token: rig.provider.normalizeToken('https://localhost/w/?token=x').token };
      const [o] = await rig.provider.send(rig.credential(app), notification({ title: 't' }), [device]);
      assert.deepEqual(o, { kind: 'failed', reason: 'channel host refused: EPRIVATEADDR' });
      assert.equal((await rig.stats()).tokensMinted.byApp[app.clientId], 1, 'the token endpoint (operator config) was reached');
    } finally {
      await rig.close();
    }
  });
});
