import type { ProviderName } from '@app/providers';

export interface CredentialRoute {
  id: string;
  environment: string | null;
}

export interface RoutableDevice {
  provider: string;
  environment: string | null;
  credential_id: string | null;
}

/**
 * Picks the credential a device is sent with: the one it is pinned to, else (APNs) the
 * oldest credential of the device's environment, else the oldest credential that
 * serves every environment (environment null). A sandbox APNs device is never routed
 * to a production-only credential. Null when the app has no usable credential.
 */
export function routeDevice(device: RoutableDevice, routes: Map<ProviderName, CredentialRoute[]>): string | null {
  const list = routes.get(device.provider as ProviderName) ?? [];
  if (device.credential_id && list.some((r) => r.id === device.credential_id)) return device.credential_id;
  if (device.provider === 'apns') {
    const env = device.environment ?? 'production';
    return (list.find((r) => r.environment === env) ?? list.find((r) => r.environment === null))?.id ?? null;
  }
  return list[0]?.id ?? null;
}
