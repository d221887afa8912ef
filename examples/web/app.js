/* global window, document, navigator, location, localStorage, fetch, atob, console, URLSearchParams, FormData, Notification */
// Web Push example page: plain JavaScript, no build step.
//
// 1. GET  {gateway}/v1/apps/{appId}/webpush/public-key   (register key) → the applicationServerKey
// 2. registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey })
// 3. POST {gateway}/v1/devices {provider: 'webpush', token: subscription.toJSON()} (register key)
// 4. sw.js shows what arrives and posts it here; this page lists it.
//
// Everything is also reachable as window.pushExample (handy in the console, and used by the
// end-to-end test, which cannot reach a real push service offline).
'use strict';

(() => {
  const STORAGE = 'push-gateway-example';
  const $ = (id) => document.getElementById(id);

  const state = {
    config: { gateway: '', appId: '', key: '', userId: '' },
    publicKey: null,
    subject: null,
    credentialId: null,
    device: null,
    registration: null,
    /** every message the service worker posted to this page, oldest first */
    received: [],
  };

  // ---- configuration: query string, then what was saved, then defaults ---------------------

  function readConfig() {
    const query = new URLSearchParams(location.search);
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(STORAGE) || '{}');
    } catch {
      saved = {};
    }
    const pick = (name, fallback = '') => (query.get(name) ?? saved[name] ?? fallback).trim();
    return {
      gateway: pick('gateway', 'http://localhost:3000').replace(/\/+$/, ''),
      appId: pick('appId'),
      key: pick('key'),
      userId: pick('userId'),
    };
  }

  function saveConfig(config) {
    state.config = config;
    // The register key is meant to live in clients, so keeping it in localStorage is fine.
    localStorage.setItem(STORAGE, JSON.stringify({ ...config, deviceId: state.device?.id ?? null }));
  }

  function fillForm(config) {
    for (const name of ['gateway', 'appId', 'key', 'userId']) $(name).value = config[name];
  }

  // ---- UI helpers ---------------------------------------------------------------------------

  function status(text, isError = false) {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  function fail(err) {
    status(err instanceof Error ? err.message : String(err), true);
    console.error(err);
  }

  function showMessage(message) {
    const li = document.createElement('li');
    li.dataset.id = message.id ?? '';
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = `${new Date().toLocaleTimeString()} · ${message.background ? 'background message' : 'notification'}${message.id ? ` · ${message.id}` : ''}`;
    const title = document.createElement('strong');
    title.className = 'title';
    title.textContent = message.title ?? (message.background ? '(no title: data-only)' : '');
    const body = document.createElement('div');
    body.className = 'body';
    body.textContent = message.body ?? '';
    const raw = document.createElement('pre');
    raw.textContent = JSON.stringify(message, null, 2);
    li.append(meta, title, body, raw);
    $('messages').prepend(li);
  }

  // ---- the gateway ---------------------------------------------------------------------------

  async function api(method, path, body) {
    const { gateway, key } = state.config;
    if (!gateway || !key) throw new Error('set the gateway URL, the app id and the register key first');
    let res;
    try {
      res = await fetch(gateway + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      // A CORS refusal and an unreachable gateway look the same from here.
      throw new Error(`${method} ${gateway}${path} failed (${err.message}). Is the gateway running, and does its CORS_ORIGINS include ${location.origin}?`);
    }
    const text = await res.text();
    let json = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text };
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message ?? res.statusText}`);
    return json;
  }

  /** GET /v1/apps/:appId/webpush/public-key → {publicKey, subject, credentialId}; shown on the page. */
  async function fetchPublicKey() {
    if (!state.config.appId) throw new Error('set the app id first');
    const answer = await api('GET', `/v1/apps/${encodeURIComponent(state.config.appId)}/webpush/public-key`);
    state.publicKey = answer.publicKey;
    state.subject = answer.subject;
    state.credentialId = answer.credentialId;
    $('public-key').textContent = answer.publicKey;
    $('subject').textContent = answer.subject ?? '—';
    return answer;
  }

  /**
   * POST /v1/devices with the subscription (what PushSubscription.toJSON() returns).
   * Idempotent per subscription: 201 the first time, 200 after. Returns the device.
   */
  async function registerSubscription(subscription) {
    const body = { provider: 'webpush', token: subscription };
    if (state.config.userId) body.userId = state.config.userId;
    const device = await api('POST', '/v1/devices', body);
    state.device = device;
    saveConfig(state.config);
    $('device-id').textContent = device.id;
    $('endpoint').textContent = subscription.endpoint;
    return device;
  }

  // ---- the browser side ----------------------------------------------------------------------

  function base64UrlToBytes(text) {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function sameBytes(a, b) {
    if (!a || !b) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }

  function pushSupported() {
    if (!window.isSecureContext) throw new Error('push needs a secure context: open this page over https or on http://localhost');
    if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('this browser has no Push API');
  }

  async function registerServiceWorker() {
    pushSupported();
    state.registration = await navigator.serviceWorker.register('sw.js');
    await navigator.serviceWorker.ready;
    return state.registration;
  }

  /** Asks for permission, subscribes with the app's key and registers the subscription. */
  async function subscribe() {
    pushSupported();
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') throw new Error(`notification permission: ${permission}`);
    const registration = state.registration ?? (await registerServiceWorker());
    const { publicKey } = await fetchPublicKey();
    const applicationServerKey = base64UrlToBytes(publicKey);
    let subscription = await registration.pushManager.getSubscription();
    // A subscription is bound to the key it was created with: after a key change, start over.
    if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    return registerSubscription(subscription.toJSON());
  }

  /** Unsubscribes this browser and deletes the device from the gateway. */
  async function unsubscribe() {
    const registration = state.registration ?? (await navigator.serviceWorker.getRegistration());
    const subscription = await registration?.pushManager.getSubscription();
    if (subscription) await subscription.unsubscribe();
    const deviceId = state.device?.id ?? JSON.parse(localStorage.getItem(STORAGE) || '{}').deviceId;
    if (deviceId) await api('DELETE', `/v1/devices/${encodeURIComponent(deviceId)}`).catch((err) => console.warn(err));
    state.device = null;
    saveConfig(state.config);
    $('device-id').textContent = '—';
    $('endpoint').textContent = '—';
  }

  // ---- messages from the service worker ------------------------------------------------------

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (event) => {
      const msg = event.data;
      if (msg?.type === 'push') {
        state.received.push(msg.message);
        showMessage(msg.message);
        status(`received ${msg.message.background ? 'a background message' : `"${msg.message.title ?? ''}"`}`);
      } else if (msg?.type === 'notificationclick') {
        status(`notification ${msg.id ?? ''} clicked${msg.action ? ` (action "${msg.action}")` : ''}`);
      }
    });
  }

  // ---- start-up ------------------------------------------------------------------------------

  async function init() {
    const config = readConfig();
    fillForm(config);
    state.config = config;
    const savedDevice = JSON.parse(localStorage.getItem(STORAGE) || '{}').deviceId;
    if (savedDevice) $('device-id').textContent = savedDevice;
    try {
      await registerServiceWorker();
    } catch (err) {
      fail(err);
      return;
    }
    if (!config.appId || !config.key) {
      status('Enter the gateway URL, the app id and a register key.');
      return;
    }
    saveConfig(config);
    try {
      await fetchPublicKey();
      status(Notification.permission === 'granted' ? 'Ready. Press "Enable notifications" to (re)register this browser.' : 'Ready. Press "Enable notifications".');
    } catch (err) {
      fail(err);
    }
  }

  $('config').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const config = Object.fromEntries(['gateway', 'appId', 'key', 'userId'].map((k) => [k, String(form.get(k) ?? '').trim()]));
    config.gateway = config.gateway.replace(/\/+$/, '');
    saveConfig(config);
    fetchPublicKey().then(() => status('Key fetched.'), fail);
  });
  $('subscribe').addEventListener('click', () => {
    status('Subscribing…');
    subscribe().then((device) => status(`Registered as device ${device.id}. Send to it with {"targets":{"deviceIds":["${device.id}"]}}.`), fail);
  });
  $('unsubscribe').addEventListener('click', () => {
    unsubscribe().then(() => status('Unsubscribed.'), fail);
  });

  window.pushExample = {
    state,
    fetchPublicKey,
    registerSubscription,
    registerServiceWorker,
    subscribe,
    unsubscribe,
    /** settles once start-up (service worker + key fetch) is done, whatever the outcome */
    ready: init(),
  };
})();
