/**
 * The environment that points the gateway's production provider clients at a running
 * sandbox instead of Apple, Google, Microsoft and the Web Push services. One copy,
 * used by the end-to-end test harness (sandbox in-process) and by `npm run quickstart`
 * (sandbox as its own process, from dist/scripts/lib/sandbox-env.js).
 */
export interface SandboxEndpoints {
  /** PEM file of the sandbox CA, which the provider clients must trust. */
  caFile: string;
  /** Base URL of each stand-in, e.g. https://localhost:4001. */
  urls: { apns: string; fcm: string; wns: string; webpush: string };
  /** The APNs stand-in's sandbox-environment server (its own port); default: `urls.apns`. */
  apnsSandboxUrl?: string;
}

export function sandboxEnv(sb: SandboxEndpoints): Record<string, string> {
  const apns = new URL(sb.urls.apns);
  const apnsSandbox = new URL(sb.apnsSandboxUrl ?? sb.urls.apns);
  return {
    SANDBOX_ENABLED: 'true',
    PROVIDER_EXTRA_CA_FILE: sb.caFile,
    APNS_PRODUCTION_HOST: apns.hostname,
    APNS_PRODUCTION_PORT: apns.port,
    APNS_SANDBOX_HOST: apnsSandbox.hostname,
    APNS_SANDBOX_PORT: apnsSandbox.port,
    FCM_BASE_URL: sb.urls.fcm,
    FCM_TOKEN_URL: `${sb.urls.fcm}/token`,
    WNS_LEGACY_TOKEN_URL: `${sb.urls.wns}/accesstoken.srf`,
    WNS_ENTRA_TOKEN_URL: `${sb.urls.wns}/{tenant}/oauth2/v2.0/token`,
  };
}

/** Base URLs of stand-ins listening on `host` at the given ports (the sandbox process's defaults). */
export function sandboxUrls(ports: { apns: number; fcm: number; wns: number; webpush: number }, host = 'localhost'): SandboxEndpoints['urls'] {
  const u = (p: number) => `https://${host}:${p}`;
  return { apns: u(ports.apns), fcm: u(ports.fcm), wns: u(ports.wns), webpush: u(ports.webpush) };
}
