import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { ALL_QUEUES } from '@app/queue';
import { startStack, type Stack } from './support/harness';
import { QUEUE_BACKENDS, TEST_ADMIN_KEY } from './support/test-env';
import { launchChromium } from './support/web-browser';

declare const document: { body: { innerText: string } };

describe('queue dashboard in a browser (headless Chromium): renders every queue, asks no other host', { timeout: 120_000 }, () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    ({ browser } = await launchChromium());
    stack = await startStack(QUEUE_BACKENDS[0]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('loads with the bootstrap key, lists the queues, and every request it makes goes to the API itself', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: TEST_ADMIN_KEY } });
    const page = await context.newPage();
    const requested: string[] = [];
    const refused: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    await page.goto(`${stack.apiUrl}/admin/queues`, { waitUntil: 'networkidle' });
    await page.waitForFunction((names: string[]) => names.every((n) => document.body.innerText.includes(n)), [...ALL_QUEUES], { timeout: 20_000 });
    const origin = new URL(stack.apiUrl).origin;
    assert.ok(requested.length > 3, `the page, its assets and its API calls: ${requested.join(', ')}`);
    assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:')), [], 'no request to another host');
    assert.deepEqual(refused, [], 'nothing the CSP had to block');
    await context.close();
  });
});
