import type { ProviderName } from '@app/providers';
import assert from 'node:assert/strict';
import { provisionApp, sandboxControl, type client } from './harness';
import type { RunningSandbox } from '@app/sandbox';

type Json = Record<string, unknown>;

/** A simulated device: what the app registers, and the id the sandbox records it under. */
export interface SimDevice {
  token: unknown;
  environment?: 'sandbox' | 'production';
  sandboxId: string;
}

/** How the tests obtain sandbox credentials and devices for one provider. */
export interface DeviceKit {
  provider: ProviderName;
  credential(): Promise<{ config: Json; environment?: 'sandbox' | 'production' }>;
  device(): Promise<SimDevice>;
}

export function deviceKits(sb: RunningSandbox): Record<ProviderName, DeviceKit> {
  const control = sandboxControl(sb);
  return {
    fcm: {
      provider: 'fcm',
      credential: async () => ({ config: await control<Json>('POST', '/fcm/service-accounts', {}) }),
      device: async () => {
        const { token } = await control<{ token: string }>('POST', '/fcm/tokens', {});
        return { token, sandboxId: token };
      },
    },
    apns: {
      provider: 'apns',
      credential: async () => ({ config: (await control<{ config: Json }>('POST', '/apns/keys', { bundleId: 'com.example.app' })).config }),
      // alternate environments: a token-auth credential serves both, over separate connections
      device: (() => {
        let n = 0;
        return async () => {
          const environment = n++ % 2 === 0 ? 'production' : 'sandbox';
          const { token } = await control<{ token: string }>('POST', '/apns/devices', { environment });
          return { token, environment, sandboxId: token } as SimDevice;
        };
      })(),
    },
    wns: (() => {
      // channels belong to the WNS app the last credential was minted for
      let clientId: string | null = null;
      return {
        provider: 'wns' as const,
        credential: async () => {
          const app = await control<{ clientId: string; config: Json }>('POST', '/wns/apps', { flow: 'entra' });
          clientId = app.clientId;
          return { config: app.config };
        },
        device: async () => {
          if (!clientId) throw new Error('mint a WNS credential first');
          const ch = await control<{ channelId: string; channelUri: string }>('POST', '/wns/channels', { appClientId: clientId });
          return { token: ch.channelUri, sandboxId: ch.channelId };
        },
      };
    })(),
    webpush: {
      provider: 'webpush',
      credential: async () => ({ config: await control<Json>('POST', '/webpush/vapid-keys', {}) }),
      device: async () => {
        const sub = await control<{ endpoint: string; keys: Json }>('POST', '/webpush/subscriptions', {});
        return { token: { endpoint: sub.endpoint, keys: sub.keys }, sandboxId: sub.endpoint.split('/').pop() as string };
      },
    },
  };
}

/**
 * A fresh app with one credential of the kit's provider and n registered devices
 * (user ids user-0, user-1, …), each with the id the sandbox records it under.
 */
export async function appWithDevices(call: ReturnType<typeof client>, kit: DeviceKit, n: number) {
  const app = await provisionApp(call);
  const cred = await kit.credential();
  const c = await call('POST', `/v1/apps/${app.appId}/credentials`, { key: app.admin, body: { provider: kit.provider, name: 'default', config: cred.config, environment: cred.environment } });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const devices: Array<{ id: string; sandboxId: string }> = [];
  for (let i = 0; i < n; i++) {
    const d = await kit.device();
    const r = await call<Json>('POST', '/v1/devices', { key: app.register, body: { provider: kit.provider, token: d.token, environment: d.environment, userId: `user-${i}` } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    devices.push({ id: r.body.id as string, sandboxId: d.sandboxId });
  }
  return { ...app, devices };
}
