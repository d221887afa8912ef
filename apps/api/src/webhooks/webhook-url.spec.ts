import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UrlRejected } from '@app/common';
import { checkWebhookUrl } from './webhook-url';

const open = { allowlist: null, sandboxEnabled: false };

describe('checkWebhookUrl', () => {
  it('accepts public https names when no allowlist is set', () => {
    assert.equal(checkWebhookUrl('https://hooks.example.com/in?x=1', open).hostname, 'hooks.example.com');
    assert.equal(checkWebhookUrl('https://api.example.co.uk:443/hook', open).port, '');
  });

  it('refuses IP literals, userinfo, other ports, http, loopback and internal names', () => {
    for (const url of [
      'http://hooks.example.com/', 'https://10.0.0.1/', 'https://127.0.0.1/', 'https://[::1]/', 'https://[fd00::1]/', 'https://0x7f000001/',
      'https://2130706433/', 'https://169.254.169.254/latest', 'https://a:b@hooks.example.com/', 'https://hooks.example.com@evil.example/',
      'https://hooks.example.com:8080/', 'https://localhost/', 'https://localhost:3000/', 'https://foo.localhost/', 'https://metadata.google.internal/',
      'https://redis/', 'https://nas.local/', 'https://router.home.arpa/', 'https://hooks.example.com./', 'ftp://hooks.example.com/', '', 42, 'https://',
    ]) {
      assert.throws(() => checkWebhookUrl(url, open), UrlRejected, String(url));
    }
  });

  it('allows localhost (any port) only with the sandbox enabled', () => {
    assert.equal(checkWebhookUrl('https://localhost:8443/hook', { allowlist: null, sandboxEnabled: true }).port, '8443');
    assert.throws(() => checkWebhookUrl('https://127.0.0.1:8443/hook', { allowlist: null, sandboxEnabled: true }), UrlRejected);
  });

  it('applies WEBHOOK_URL_ALLOWLIST when set', () => {
    const opts = { allowlist: ['hooks.example.com', '*.corp.example.net'], sandboxEnabled: false };
    assert.ok(checkWebhookUrl('https://hooks.example.com/x', opts));
    assert.ok(checkWebhookUrl('https://eu.corp.example.net/x', opts));
    assert.throws(() => checkWebhookUrl('https://corp.example.net/x', opts), /allowlist/);
    assert.throws(() => checkWebhookUrl('https://other.example.com/x', opts), /allowlist/);
  });
});
