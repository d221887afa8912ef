import { createPrivateKey } from 'node:crypto';
import { checkUrl, UrlRejected, type UrlGuardOptions } from '@app/common';
import { CredentialRejected, type NormalizedCredential } from '../provider.interface';

/** The fields of a Google service-account key the gateway uses. */
export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKeyPem: string;
  /** Sent as the JWT `kid` so Google picks the right public key; optional. */
  privateKeyId: string | null;
  /** Where access tokens are minted; null means config fcm.tokenUrl. */
  tokenUri: string | null;
}

// GCP project ids: 6–30 chars, lowercase letters, digits and hyphens, starting with a
// letter; old Google Apps projects carry a domain prefix ("example.com:my-project").
const PROJECT_ID = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/**
 * The token endpoint is contacted with a credential a tenant uploaded, so it is an
 * outbound URL chosen by a client: https only, and only Google's token host or the
 * configured one (plus localhost when the sandbox is enabled).
 */
export function tokenUrlGuard(defaultTokenUrl: string, sandboxEnabled: boolean): UrlGuardOptions {
  const hosts = new Set(['oauth2.googleapis.com', 'www.googleapis.com', 'accounts.google.com']);
  try {
    hosts.add(new URL(defaultTokenUrl).hostname.toLowerCase());
  } catch {
    // an unparsable default fails later, when it is used
  }
  return { allowlist: [...hosts], sandboxEnabled };
}

function field(obj: Record<string, unknown>, name: string, required: boolean): string | null {
  const v = obj[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw new CredentialRejected(`config.${name}: is required (the service-account JSON from the Firebase console)`);
    return null;
  }
  if (typeof v !== 'string') throw new CredentialRejected(`config.${name}: must be a string`);
  return v;
}

/**
 * Accepts the service-account JSON exactly as Google issues it (as an object, or as
 * the JSON text itself), checks every field the gateway needs and that the private key
 * parses as an RSA key. The summary holds no secret.
 */
export function normalizeServiceAccount(input: unknown, guard: UrlGuardOptions): NormalizedCredential {
  let obj: unknown = input;
  if (typeof obj === 'string') {
    try {
      obj = JSON.parse(obj);
    } catch {
      throw new CredentialRejected('config: must be the service-account JSON object (or its text)');
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new CredentialRejected('config: must be the service-account JSON object');
  }
  const o = obj as Record<string, unknown>;
  const type = field(o, 'type', false);
  if (type !== null && type !== 'service_account') {
    throw new CredentialRejected(`config.type: must be "service_account" (got "${type.slice(0, 40)}")`);
  }
  const projectId = field(o, 'project_id', true) as string;
  if (!PROJECT_ID.test(projectId)) throw new CredentialRejected('config.project_id: is not a valid Google Cloud project id');
  const clientEmail = field(o, 'client_email', true) as string;
  if (!EMAIL.test(clientEmail)) throw new CredentialRejected('config.client_email: must be an email address');
  const privateKeyPem = (field(o, 'private_key', true) as string).replace(/\\n/g, '\n');
  if (!privateKeyPem.includes('-----BEGIN')) throw new CredentialRejected('config.private_key: must be a PEM private key');
  let keyType: string | undefined;
  try {
    keyType = createPrivateKey(privateKeyPem).asymmetricKeyType;
  } catch {
    throw new CredentialRejected('config.private_key: the PEM key does not parse');
  }
  if (keyType !== 'rsa') throw new CredentialRejected('config.private_key: must be an RSA key (Google signs with RS256)');
  const privateKeyId = field(o, 'private_key_id', false);
  if (privateKeyId !== null && !/^[A-Za-z0-9_-]{1,128}$/.test(privateKeyId)) {
    throw new CredentialRejected('config.private_key_id: must be the key id Google issued (letters, digits)');
  }
  const tokenUri = field(o, 'token_uri', false);
  if (tokenUri !== null) {
    try {
      checkUrl(tokenUri, guard);
    } catch (e) {
      if (e instanceof UrlRejected) throw new CredentialRejected(`config.token_uri: ${e.message}`);
      throw e;
    }
  }
  const secret: ServiceAccount = { projectId, clientEmail, privateKeyPem, privateKeyId, tokenUri };
  const summary: Record<string, string> = { projectId, clientEmail };
  if (privateKeyId) summary.privateKeyId = privateKeyId;
  if (tokenUri) summary.tokenUri = tokenUri;
  return { secret: { ...secret }, summary, environment: null };
}

/** Reads a stored secret back (written by normalizeServiceAccount). */
export function serviceAccountFromSecret(secret: Record<string, unknown>): ServiceAccount {
  const s = secret as Partial<ServiceAccount>;
  if (typeof s.projectId !== 'string' || typeof s.clientEmail !== 'string' || typeof s.privateKeyPem !== 'string') {
    throw new CredentialRejected('stored fcm credential is incomplete: upload the service-account JSON again');
  }
  return {
    projectId: s.projectId,
    clientEmail: s.clientEmail,
    privateKeyPem: s.privateKeyPem,
    privateKeyId: typeof s.privateKeyId === 'string' ? s.privateKeyId : null,
    tokenUri: typeof s.tokenUri === 'string' ? s.tokenUri : null,
  };
}
