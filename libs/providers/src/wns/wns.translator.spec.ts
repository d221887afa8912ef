import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CanonicalNotification } from '../canonical';
import { chooseWnsType, escapeXml, translateWns, WNS_MAX_PAYLOAD_BYTES } from './wns.translator';

const base = (f: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: 'n', appId: 'a', priority: 'high', silent: false, acceptedAt: 1_000_000, ...f,
});

function ok(n: CanonicalNotification, now?: number) {
  const t = translateWns(n, now);
  assert.deepEqual(t.problems, []);
  assert.ok(t.request);
  return { ...t.request, text: t.request.body.toString('utf8') };
}

describe('WNS translator: type choice', () => {
  const cases: Array<[string, Partial<CanonicalNotification>, string]> = [
    ['title → toast', { title: 't' }, 'toast'],
    ['body only → toast', { body: 'b' }, 'toast'],
    ['image only → toast', { image: 'https://x/i.png' }, 'toast'],
    ['silent with title → raw', { silent: true, title: 't', data: { a: '1' } }, 'raw'],
    ['badge alone → badge', { badge: 3 }, 'badge'],
    ['badge with title → toast', { badge: 3, title: 't' }, 'toast'],
    ['data alone → raw', { data: { a: '1' } }, 'raw'],
    ['override type wins', { title: 't', wns: { type: 'tile' } }, 'tile'],
    ['override xml root decides', { title: 't', wns: { xml: '<badge value="1"/>' } }, 'badge'],
    ['override badge alone → badge', { wns: { badge: 'alert' } }, 'badge'],
  ];
  for (const [name, f, type] of cases) it(name, () => assert.equal(chooseWnsType(base(f)), type));
});

describe('WNS translator: payloads', () => {
  it('builds a ToastGeneric toast with title, subtitle, body, icon, image, launch and Windows audio', () => {
    const r = ok(base({
      title: 'T', subtitle: 'S', body: 'B', icon: 'https://x/logo.png', image: 'https://x/hero.png',
      data: { id: '5', q: 'a b&c' }, sound: 'ms-winsoundevent:Notification.IM',
    }));
    assert.equal(
      r.text,
      '<toast launch="id=5&amp;q=a+b%26c"><visual><binding template="ToastGeneric">' +
        '<image placement="appLogoOverride" src="https://x/logo.png"/><text>T</text><text>S</text><text>B</text>' +
        '<image src="https://x/hero.png"/></binding></visual><audio src="ms-winsoundevent:Notification.IM"/></toast>',
    );
    assert.equal(r.headers['X-WNS-Type'], 'wns/toast');
    assert.equal(r.headers['Content-Type'], 'text/xml');
    assert.equal(r.headers['X-WNS-RequestForStatus'], 'true');
  });

  it('uses the override launch and ignores non-Windows sound names', () => {
    const r = ok(base({ title: 'T', sound: 'default', data: { a: '1' }, wns: { launch: 'action=open' } }));
    assert.equal(r.text, '<toast launch="action=open"><visual><binding template="ToastGeneric"><text>T</text></binding></visual></toast>');
  });

  it('escapes & < > " \' everywhere so hostile text round-trips as text', () => {
    const hostile = `<script>&"'</script>]]><!--`;
    const r = ok(base({ title: hostile, body: hostile, image: `https://x/?a=1&b="2"`, wns: { launch: hostile } }));
    assert.equal(XMLValidator.validate(r.text), true);
    assert.ok(!r.text.includes('<script>'));
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', trimValues: false }).parse(r.text) as {
      toast: { '@launch': string; visual: { binding: { text: string[]; image: { '@src': string } } } };
    };
    assert.equal(doc.toast['@launch'], hostile);
    assert.deepEqual(doc.toast.visual.binding.text, [hostile, hostile]);
    assert.equal(doc.toast.visual.binding.image['@src'], 'https://x/?a=1&b="2"');
  });

  it('drops characters XML 1.0 forbids so the document stays well-formed', () => {
    assert.equal(escapeXml('a\u0000b\u0007c\td\uD800e'), 'abc\tde');
    const r = ok(base({ title: 'bell\u0007' }));
    assert.equal(XMLValidator.validate(r.text), true);
  });

  it('builds an adaptive tile with medium, wide and large bindings', () => {
    const r = ok(base({ title: 'T', body: 'B', wns: { type: 'tile' } }));
    const binding = '<text hint-style="base">T</text><text hint-style="captionSubtle" hint-wrap="true">B</text>';
    assert.equal(
      r.text,
      `<tile><visual><binding template="TileMedium">${binding}</binding><binding template="TileWide">${binding}</binding>` +
        `<binding template="TileLarge">${binding}</binding></visual></tile>`,
    );
    assert.equal(r.headers['X-WNS-Type'], 'wns/tile');
  });

  it('builds badges from a number or a glyph, the override winning', () => {
    assert.equal(ok(base({ badge: 12 })).text, '<badge value="12"/>');
    assert.equal(ok(base({ badge: 12, wns: { badge: 'alert' } })).text, '<badge value="alert"/>');
    assert.equal(ok(base({ badge: 0 })).text, '<badge value="0"/>');
    assert.equal(ok(base({ badge: 0 })).headers['X-WNS-Type'], 'wns/badge');
  });

  it('builds raw notifications as octet-stream JSON of the data map', () => {
    const r = ok(base({ silent: true, data: { k: 'v', n: '1' } }));
    assert.equal(r.text, '{"k":"v","n":"1"}');
    assert.equal(r.headers['Content-Type'], 'application/octet-stream');
    assert.equal(r.headers['X-WNS-Type'], 'wns/raw');
    assert.equal(ok(base({ silent: true })).text, '{}');
  });

  it('sends caller XML verbatim', () => {
    const xml = '<tile><visual><binding template="TileSmall"><text>x</text></binding></visual></tile>';
    const r = ok(base({ title: 'ignored', wns: { xml } }));
    assert.equal(r.text, xml);
    assert.equal(r.headers['X-WNS-Type'], 'wns/tile');
  });
});

describe('WNS translator: headers', () => {
  it('sets TTL, tag from collapseId, group and cache policy', () => {
    const r = ok(base({ title: 't', ttlSeconds: 3600, collapseId: 'thread-1', wns: { group: 'g', cachePolicy: 'cache' } }));
    assert.equal(r.headers['X-WNS-TTL'], '3600');
    assert.equal(r.headers['X-WNS-Tag'], 'thread-1');
    assert.equal(r.headers['X-WNS-Group'], 'g');
    assert.equal(r.headers['X-WNS-Cache-Policy'], 'cache');
  });

  it('sends the remaining TTL at send time when an expiry is known', () => {
    const n = base({ title: 't', ttlSeconds: 600, expiresAt: 1_000_000 + 600_000 });
    assert.equal(ok(n, 1_000_000).headers['X-WNS-TTL'], '600');
    assert.equal(ok(n, 1_000_000 + 450_500).headers['X-WNS-TTL'], '150');
  });

  it('TTL 0 means no caching and no TTL header', () => {
    const r = ok(base({ title: 't', ttlSeconds: 0 }));
    assert.equal(r.headers['X-WNS-TTL'], undefined);
    assert.equal(r.headers['X-WNS-Cache-Policy'], 'no-cache');
  });

  it('omits optional headers when nothing asks for them', () => {
    assert.deepEqual(Object.keys(ok(base({ title: 't' })).headers).sort(), ['Content-Type', 'X-WNS-RequestForStatus', 'X-WNS-Type']);
  });

  it('override tag beats collapseId, and override headers beat both (canonical spelling)', () => {
    assert.equal(ok(base({ title: 't', collapseId: 'c', wns: { tag: 'o' } })).headers['X-WNS-Tag'], 'o');
    const r = ok(base({ title: 't', collapseId: 'c', wns: { tag: 'o', headers: { 'x-wns-tag': 'h', 'x-wns-priority': '2' } } }));
    assert.equal(r.headers['X-WNS-Tag'], 'h');
    assert.equal(r.headers['X-WNS-PRIORITY'], '2');
  });

  it('suppressPopup becomes X-WNS-SuppressPopup on toasts', () => {
    assert.equal(ok(base({ title: 't', wns: { suppressPopup: true } })).headers['X-WNS-SuppressPopup'], 'true');
  });

  it('ignores collapseId on raw and badge (no tags there)', () => {
    assert.equal(ok(base({ silent: true, collapseId: 'x'.repeat(40) })).headers['X-WNS-Tag'], undefined);
  });
});

describe('WNS translator: problems', () => {
  it('rejects a collapseId longer than 16 characters with a clear message', () => {
    const t = translateWns(base({ title: 't', collapseId: 'conversation-12345' }));
    assert.equal(t.request, null);
    assert.match(t.problems[0], /^collapseId: .*X-WNS-Tag.*at most 16.*got 18.*wns\.tag/);
  });

  it('rejects payloads above 5000 bytes naming size and limit', () => {
    const t = translateWns(base({ title: 't', body: 'é'.repeat(2600) }));
    assert.equal(t.request, null);
    assert.match(t.problems[0], new RegExp(`payload is \\d+ bytes; the WNS limit is ${WNS_MAX_PAYLOAD_BYTES} bytes`));
    const exact = translateWns(base({ silent: true, data: { k: 'x'.repeat(WNS_MAX_PAYLOAD_BYTES - 8) } }));
    assert.equal(exact.request?.body.length, WNS_MAX_PAYLOAD_BYTES);
    assert.deepEqual(exact.problems, []);
  });

  it('rejects tag/group/suppressPopup on types that cannot use them', () => {
    const t = translateWns(base({ silent: true, wns: { tag: 'a', group: 'b', suppressPopup: true } }));
    assert.deepEqual(t.problems, [
      'wns.tag: applies to toast and tile only, not raw',
      'wns.group: applies to toast and tile only, not raw',
      'wns.suppressPopup: applies to toast only, not raw',
    ]);
  });

  it('rejects a forced toast or badge with nothing to show', () => {
    assert.match(translateWns(base({ data: { a: '1' }, wns: { type: 'toast' } })).problems[0], /toast needs a title/);
    assert.match(translateWns(base({ title: 't', wns: { type: 'badge' } })).problems[0], /badge notification needs badge/);
  });
});
