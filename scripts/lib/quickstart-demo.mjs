/* global fetch */
// The quickstart's demo app: one app whose provider credentials point at the sandbox,
// and a few simulated devices of each provider. The app and its keys are kept in
// .data/quickstart.json and reused while the API still knows them; the sandbox keeps
// its minted credentials and devices in memory only, so those are minted afresh on
// every start (credentials replaced by name, the previous start's devices deleted).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const CREDENTIAL_NAME = 'quickstart';
const DEVICES_PER_PROVIDER = 2;
const BUNDLE_ID = 'com.example.quickstart';

class HttpError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url}: ${status} ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
  }
}

async function call(base, method, path, { key, body } = {}) {
  const headers = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    /* keep the text */
  }
  if (res.status >= 400) throw new HttpError(method, base + path, res.status, parsed);
  return parsed;
}

/**
 * How to get a credential config and simulated device tokens from each stand-in
 * (the control routes under /<provider>/ on the sandbox control server).
 */
const PROVIDERS = {
  apns: {
    async credential(sb) {
      const r = await sb('POST', '/apns/keys', { bundleId: BUNDLE_ID });
      return { config: r.config };
    },
    async device(sb) {
      // Development builds get tokens from APNs' sandbox environment.
      const r = await sb('POST', '/apns/devices', { environment: 'sandbox' });
      return { token: r.token, environment: r.environment ?? 'sandbox' };
    },
  },
  fcm: {
    async credential(sb) {
      const serviceAccount = await sb('POST', '/fcm/service-accounts', {});
      return { config: serviceAccount, projectId: serviceAccount.project_id };
    },
    async device(sb, cred) {
      const r = await sb('POST', '/fcm/tokens', { projectId: cred.projectId });
      return { token: r.token };
    },
  },
  wns: {
    async credential(sb) {
      const r = await sb('POST', '/wns/apps', { flow: 'legacy' });
      return { config: r.config, appClientId: r.clientId };
    },
    async device(sb, cred) {
      const r = await sb('POST', '/wns/channels', { appClientId: cred.appClientId });
      return { token: r.channelUri };
    },
  },
  webpush: {
    async credential(sb) {
      const keys = await sb('POST', '/webpush/vapid-keys', { subject: 'mailto:quickstart@example.com' });
      return { config: keys, publicKey: keys.publicKey };
    },
    async device(sb, cred) {
      // A browser subscribes with the sender's VAPID public key (applicationServerKey).
      const sub = await sb('POST', '/webpush/subscriptions', { applicationServerKey: cred.publicKey });
      return { token: sub };
    },
  },
};

function readState(file) {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The stored demo app, when the API still knows it (a wiped database does not). */
async function reuseApp(api, state) {
  if (!state?.appId || !state.keys?.admin) return false;
  try {
    await call(api, 'GET', `/v1/apps/${state.appId}`, { key: state.keys.admin });
    return true;
  } catch (err) {
    if (err.status === 401 || err.status === 403 || err.status === 404) return false;
    throw err;
  }
}

async function createApp(api, adminKey) {
  const app = await call(api, 'POST', '/v1/apps', { key: adminKey, body: { name: 'Quickstart demo' } });
  const admin = app.keys[0].key;
  const key = async (scopes) => (await call(api, 'POST', `/v1/apps/${app.id}/keys`, { key: admin, body: { name: `quickstart ${scopes.join('+')}`, scopes } })).key;
  return { appId: app.id, keys: { admin, send: await key(['send']), register: await key(['register']) }, devices: [] };
}

/**
 * @param {{ apiUrl: string, controlUrl: string, bootstrapKey: string, stateFile: string, log: (s: string) => void }} opts
 * @returns {Promise<{ appId: string, keys: {admin: string, send: string, register: string}, devices: Array<{id: string, provider: string}>, skipped: string[], reused: boolean }>}
 */
export async function provisionDemo({ apiUrl, controlUrl, bootstrapKey, stateFile, log }) {
  const sb = (method, path, body) => call(controlUrl, method, path, { body });
  const previous = readState(stateFile);
  const reused = await reuseApp(apiUrl, previous);
  const state = reused ? previous : await createApp(apiUrl, bootstrapKey);
  log(reused ? `reusing the demo app ${state.appId} (from ${stateFile})` : `created the demo app ${state.appId}`);

  // The previous start's simulated devices are gone from the sandbox's memory.
  for (const d of reused ? previous.devices ?? [] : []) {
    await call(apiUrl, 'DELETE', `/v1/devices/${d.id}`, { key: state.keys.register }).catch(() => {});
  }
  state.devices = [];
  const skipped = [];
  for (const [provider, how] of Object.entries(PROVIDERS)) {
    let cred;
    try {
      cred = await how.credential(sb);
    } catch (err) {
      if (err.status === 404) {
        skipped.push(provider);
        log(`${provider}: skipped, the sandbox has no ${provider} control routes yet`);
        continue;
      }
      throw err;
    }
    try {
      await call(apiUrl, 'POST', `/v1/apps/${state.appId}/credentials`, {
        key: state.keys.admin, body: { provider, name: CREDENTIAL_NAME, config: cred.config },
      });
    } catch (err) {
      skipped.push(provider);
      log(`${provider}: skipped, the API refused the sandbox credential (${err.message})`);
      continue;
    }
    try {
      for (let i = 1; i <= DEVICES_PER_PROVIDER; i++) {
        const { token, environment } = await how.device(sb, cred);
        const device = await call(apiUrl, 'POST', '/v1/devices', {
          key: state.keys.register,
          body: { provider, token, userId: `demo-user-${i}`, tags: ['quickstart', provider], ...(environment ? { environment } : {}) },
        });
        state.devices.push({ id: device.id, provider, userId: `demo-user-${i}` });
      }
    } catch (err) {
      skipped.push(provider);
      log(`${provider}: no simulated devices (${err.message})`);
    }
  }
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return { ...state, skipped, reused };
}
