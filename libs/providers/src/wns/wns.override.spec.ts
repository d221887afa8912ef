import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@app/common';
import { createProviderContext } from '../provider-context';
import { validateWnsOverride, xmlRoot } from './wns.override';
import { WnsProvider } from './wns.provider';
import { BASE_ENV, MemoryLogger, notification } from './wns.spec-support';

describe('WNS override block validation', () => {
  it('accepts a complete valid block', () => {
    assert.deepEqual(
      validateWnsOverride({
        type: 'toast', launch: 'a=1', tag: 'tag-1', group: 'grp', cachePolicy: 'no-cache', suppressPopup: false,
        headers: { 'X-WNS-TTL': '60', 'x-wns-priority': '1' },
        xml: '<?xml version="1.0"?><!-- c --><toast><visual><binding template="ToastGeneric"><text>x</text></binding></visual></toast>',
      }),
      [],
    );
    assert.deepEqual(validateWnsOverride(undefined), []);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', 'toast', /^wns: must be an object/],
    ['unknown field', { priority: 'high' }, /^wns\.priority: unknown field/],
    ['bad type', { type: 'popup' }, /^wns\.type: must be one of toast, tile, badge, raw/],
    ['malformed xml', { xml: '<toast><visual></toast>' }, /^wns\.xml: must be well-formed XML \(line 1, col \d+: InvalidTag\)/],
    ['unclosed xml', { xml: '<toast>' }, /^wns\.xml: must be well-formed XML/],
    ['empty xml', { xml: '  ' }, /^wns\.xml: must be a non-empty string/],
    ['doctype', { xml: '<!DOCTYPE toast [<!ENTITY x "y">]><toast/>' }, /^wns\.xml: must not contain a DOCTYPE/],
    ['wrong root', { xml: '<html/>' }, /^wns\.xml: root element must be <toast>, <tile> or <badge>/],
    ['root vs type', { type: 'tile', xml: '<toast/>' }, /^wns\.xml: root element <toast> does not match wns\.type tile/],
    ['xml with raw', { type: 'raw', xml: '<toast/>' }, /does not match wns\.type raw/],
    ['tag too long', { tag: 'x'.repeat(17) }, /^wns\.tag: must be 1-16 visible ASCII characters/],
    ['group with space', { group: 'a b' }, /^wns\.group: must be 1-16/],
    ['empty tag', { tag: '' }, /^wns\.tag:/],
    ['bad badge glyph', { badge: 'smile' }, /^wns\.badge: must be an integer 0-9999 or one of the glyphs/],
    ['negative badge', { badge: -1 }, /^wns\.badge:/],
    ['bad cache policy', { cachePolicy: 'forever' }, /^wns\.cachePolicy:/],
    ['suppressPopup not boolean', { suppressPopup: 'yes' }, /^wns\.suppressPopup: must be a boolean/],
    ['headers not object', { headers: ['X-WNS-TTL'] }, /^wns\.headers: must be an object/],
    ['forbidden header', { headers: { Authorization: 'Bearer x' } }, /^wns\.headers\.Authorization: not allowed/],
    ['type header', { headers: { 'X-WNS-Type': 'wns/raw' } }, /^wns\.headers\.X-WNS-Type: not allowed/],
    ['bad header value', { headers: { 'X-WNS-TTL': 'soon' } }, /^wns\.headers\.X-WNS-TTL: invalid value for X-WNS-TTL/],
    ['header tag too long', { headers: { 'X-WNS-Tag': 'x'.repeat(17) } }, /^wns\.headers\.X-WNS-Tag: invalid value/],
    ['launch not string', { launch: 5 }, /^wns\.launch:/],
  ];
  for (const [name, block, rule] of bad) {
    it(`rejects ${name}`, () => {
      const problems = validateWnsOverride(block);
      assert.ok(problems.some((p) => rule.test(p)), `${JSON.stringify(problems)} should match ${rule}`);
    });
  }

  it('finds the root element after a declaration and comments', () => {
    assert.equal(xmlRoot('\uFEFF<?xml version="1.0"?>\n<!-- a --><badge value="1"/>'), 'badge');
    assert.equal(xmlRoot('text'), null);
  });
});

describe('WnsProvider.checkNotification', () => {
  const p = new WnsProvider(createProviderContext(loadConfig(BASE_ENV), new MemoryLogger()));

  it('passes a plain notification', () => {
    assert.deepEqual(p.checkNotification(notification({ title: 'Hi', body: 'there', collapseId: 'short' })), []);
  });
  it('reports override problems before translating', () => {
    assert.deepEqual(p.checkNotification(notification({ title: 'x', wns: { bogus: 1 } })), ['wns.bogus: unknown field']);
  });
  it('reports an over-long collapseId and an oversized payload, with size and limit', () => {
    assert.match(p.checkNotification(notification({ title: 'x', collapseId: 'a-very-long-collapse-id' }))[0], /collapseId: .*16/);
    assert.match(p.checkNotification(notification({ body: 'x'.repeat(6000) }))[0], /^wns: payload is \d{4} bytes; the WNS limit is 5000 bytes$/);
  });
});
