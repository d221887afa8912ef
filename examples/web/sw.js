/* global self, URL */
// Service worker of the Web Push example: shows what the gateway sends and tells open pages.
//
// The payload (docs/providers/webpush.md, "What the service worker receives") is JSON:
//   {id, title, body, icon, image, badge, badgeCount, data, tag, actions, requireInteraction,
//    renotify, silent, dir, lang, vibrate, timestamp, link, background}
// with absent fields omitted. `background: true` is a data-only message (canonical silent).
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/** Notification options: the payload's display fields; `data` keeps what a click needs. */
function notificationOptions(m) {
  const options = { data: { id: m.id ?? null, link: m.link ?? null, data: m.data ?? {} } };
  for (const name of ['body', 'icon', 'image', 'badge', 'tag', 'actions', 'requireInteraction', 'renotify', 'silent', 'dir', 'lang', 'vibrate', 'timestamp']) {
    if (m[name] !== undefined) options[name] = m[name];
  }
  return options;
}

function parse(data) {
  if (!data) return {};
  try {
    return data.json();
  } catch {
    return { body: data.text() };
  }
}

/** Posts to every open page of this origin (also those not yet controlled by this worker). */
async function tellPages(message) {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const page of pages) page.postMessage(message);
  return pages;
}

async function onPush(message) {
  const work = [tellPages({ type: 'push', message })];
  if (typeof message.badgeCount === 'number' && self.navigator.setAppBadge) {
    work.push(self.navigator.setAppBadge(message.badgeCount).catch(() => {}));
  }
  // A data-only message shows nothing. Note: with userVisibleOnly subscriptions Chrome shows
  // a generic "site updated in the background" notification when a push shows none.
  if (!message.background) {
    work.push(self.registration.showNotification(message.title ?? '', notificationOptions(message)));
  }
  await Promise.all(work);
}

self.addEventListener('push', (event) => {
  event.waitUntil(onPush(parse(event.data)));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const { id, link } = event.notification.data ?? {};
  event.waitUntil((async () => {
    const pages = await tellPages({ type: 'notificationclick', id, action: event.action || null });
    // `link` is an https URL or a site path (/orders/42); without one, go back to the page.
    const target = new URL(link || './', self.registration.scope).href;
    const open = pages.find((p) => p.url === target) ?? (link ? null : pages[0]);
    if (open) return open.focus();
    return self.clients.openWindow(target);
  })());
});
