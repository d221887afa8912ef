import { CredentialRejected, type NormalizedCredential } from '../provider.interface';

/**
 * WNS credentials, one per app, in either of Microsoft's two flows:
 * - legacy: Package SID + client secret from Partner Center, token from login.live.com;
 * - entra: Microsoft Entra app (tenant, client id, secret), token from login.microsoftonline.com.
 */
export type WnsSecret =
  | { flow: 'legacy'; packageSid: string; clientSecret: string }
  | { flow: 'entra'; tenantId: string; clientId: string; clientSecret: string };

const FIELDS = {
  legacy: ['flow', 'packageSid', 'clientSecret'],
  entra: ['flow', 'tenantId', 'clientId', 'clientSecret'],
} as const;

/** Package SIDs look like "ms-app://s-1-15-2-…" (Partner Center, "App identity"). */
const PACKAGE_SID_RE = /^ms-app:\/\/s-1-15-2(-[0-9]{1,10}){1,12}$/i;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant id (GUID) or a verified domain; it is put into the token URL path, so nothing else. */
const TENANT_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/i;

function reject(field: string, rule: string): never {
  throw new CredentialRejected(`config.${field}: ${rule}`);
}

function secretString(o: Record<string, unknown>): string {
  const v = o.clientSecret;
  if (typeof v !== 'string' || v.length === 0) reject('clientSecret', 'is required (a non-empty string)');
  if (v.length > 1024) reject('clientSecret', 'must be at most 1024 characters');
  return v;
}

/**
 * Validates an uploaded credential config (throws CredentialRejected naming the field).
 * `flow` may be left out: a tenantId means entra, otherwise legacy.
 */
export function parseWnsSecret(input: unknown): WnsSecret {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) reject('', 'must be an object');
  const o = input as Record<string, unknown>;
  const flow = o.flow ?? ('tenantId' in o ? 'entra' : 'legacy');
  if (flow !== 'legacy' && flow !== 'entra') reject('flow', 'must be "legacy" or "entra"');
  const allowed: readonly string[] = FIELDS[flow];
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) reject(k, `unknown field for the ${flow} flow (allowed: ${allowed.join(', ')})`);
  }
  if (flow === 'legacy') {
    const sid = o.packageSid;
    if (typeof sid !== 'string' || !PACKAGE_SID_RE.test(sid)) reject('packageSid', 'must be a Package SID like ms-app://s-1-15-2-…');
    return { flow, packageSid: sid, clientSecret: secretString(o) };
  }
  if (typeof o.tenantId !== 'string' || !TENANT_RE.test(o.tenantId)) reject('tenantId', 'must be a tenant GUID or domain name');
  if (typeof o.clientId !== 'string' || !GUID_RE.test(o.clientId)) reject('clientId', 'must be the application (client) id GUID');
  return { flow, tenantId: o.tenantId, clientId: o.clientId, clientSecret: secretString(o) };
}

export function normalizeWnsCredential(input: unknown): NormalizedCredential {
  const secret = parseWnsSecret(input);
  const summary: Record<string, string> =
    secret.flow === 'legacy'
      ? { flow: 'legacy', packageSid: secret.packageSid }
      : { flow: 'entra', tenantId: secret.tenantId, clientId: secret.clientId };
  return { secret: { ...secret }, summary, environment: null };
}

/** The OAuth client id the token endpoint knows this credential by. */
export function wnsClientId(secret: WnsSecret): string {
  return secret.flow === 'legacy' ? secret.packageSid : secret.clientId;
}
