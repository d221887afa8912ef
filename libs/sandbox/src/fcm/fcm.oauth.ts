import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Google refuses assertions valid for longer than an hour. */
const MAX_ASSERTION_LIFETIME_S = 3600;
const CLOCK_SKEW_S = 300;

interface Account {
  projectId: string;
  clientEmail: string;
  keyId: string;
  publicKey: KeyObject;
  tokenTtlSeconds: number;
  disabled: boolean;
  mints: number;
}

interface AccessToken {
  clientEmail: string;
  projectId: string;
  expiresAt: number;
}

export interface OAuthAnswer {
  status: number;
  body: Record<string, unknown>;
}

const b64urlJson = (part: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

const invalidGrant = (description: string): OAuthAnswer => ({
  status: 400,
  body: { error: 'invalid_grant', error_description: description },
});

/**
 * Google's OAuth side as FCM senders see it: service accounts minted here (RSA keys
 * whose public half stays in memory), the JWT-bearer grant of their token_uri, and the
 * opaque access tokens it issues, with a per-account lifetime so tests can force expiry.
 */
export class FcmOAuth {
  private readonly accounts = new Map<string, Account>();
  private readonly tokens = new Map<string, AccessToken>();
  private totalMints = 0;

  /** A service-account JSON exactly as the Firebase console downloads it, with token_uri pointing here. */
  mintServiceAccount(opts: { projectId: string; tokenTtlSeconds: number; tokenUri: string }): Record<string, string> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = randomBytes(20).toString('hex');
    const name = `firebase-adminsdk-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const clientEmail = `${name}@${opts.projectId}.iam.gserviceaccount.com`;
    this.accounts.set(clientEmail, {
      projectId: opts.projectId, clientEmail, keyId, publicKey, tokenTtlSeconds: opts.tokenTtlSeconds, disabled: false, mints: 0,
    });
    return {
      type: 'service_account',
      project_id: opts.projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: opts.tokenUri,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
      universe_domain: 'googleapis.com',
    };
  }

  /** Changes an account: token lifetime, or disabled (its grants then fail with invalid_grant). */
  updateAccount(clientEmail: string, patch: { tokenTtlSeconds?: number; disabled?: boolean }): boolean {
    const a = this.accounts.get(clientEmail);
    if (!a) return false;
    if (patch.tokenTtlSeconds !== undefined) a.tokenTtlSeconds = patch.tokenTtlSeconds;
    if (patch.disabled !== undefined) a.disabled = patch.disabled;
    return true;
  }

  /** Expires every access token of an account now (FCM then answers 401 to them). */
  revokeTokens(clientEmail: string): number {
    let n = 0;
    for (const [t, v] of this.tokens) {
      if (v.clientEmail === clientEmail) {
        this.tokens.delete(t);
        n += 1;
      }
    }
    return n;
  }

  /** `POST /token`: the JWT-bearer grant (RFC 7523) as Google's token endpoint answers it. */
  grant(form: URLSearchParams, expectedAudience: string): OAuthAnswer {
    if (form.get('grant_type') !== JWT_BEARER) {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' } };
    }
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return invalidGrant('Invalid JWT: the assertion is not a signed JWT.');
    const header = b64urlJson(parts[0]);
    const claims = b64urlJson(parts[1]);
    if (!header || !claims || header.alg !== 'RS256') return invalidGrant('Invalid JWT: only RS256 is accepted.');
    const account = typeof claims.iss === 'string' ? this.accounts.get(claims.iss) : undefined;
    if (!account) return { status: 401, body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' } };
    const signed = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2], 'base64url'));
    if (!signed) return invalidGrant('Invalid JWT Signature.');
    if (account.disabled) return invalidGrant('Account has been disabled.');
    if (claims.aud !== expectedAudience) return invalidGrant('Invalid JWT: aud must be the token_uri.');
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(FCM_SCOPE)) return { status: 400, body: { error: 'invalid_scope', error_description: 'Invalid OAuth scope.' } };
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!Number.isInteger(iat) || !Number.isInteger(exp) || exp <= now - CLOCK_SKEW_S || iat > now + CLOCK_SKEW_S || exp - iat > MAX_ASSERTION_LIFETIME_S) {
      return invalidGrant('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    const token = `ya29.${randomBytes(48).toString('base64url')}`;
    this.tokens.set(token, {
      clientEmail: account.clientEmail,
      projectId: account.projectId,
      expiresAt: Date.now() + account.tokenTtlSeconds * 1000,
    });
    account.mints += 1;
    this.totalMints += 1;
    if (this.tokens.size > 100_000) for (const [t, v] of this.tokens) if (v.expiresAt < Date.now()) this.tokens.delete(t);
    return { status: 200, body: { access_token: token, expires_in: account.tokenTtlSeconds, token_type: 'Bearer' } };
  }

  /** The account behind a bearer token, or null when unknown or expired. */
  authenticate(authorization: string | undefined): AccessToken | null {
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    const t = m ? this.tokens.get(m[1]) : undefined;
    if (!t || t.expiresAt <= Date.now()) return null;
    return t;
  }

  stats(): { mints: number; accounts: Array<{ clientEmail: string; projectId: string; mints: number; disabled: boolean }> } {
    return {
      mints: this.totalMints,
      accounts: [...this.accounts.values()].map((a) => ({
        clientEmail: a.clientEmail, projectId: a.projectId, mints: a.mints, disabled: a.disabled,
      })),
    };
  }

  reset(): void {
    this.tokens.clear();
    this.totalMints = 0;
    for (const a of this.accounts.values()) a.mints = 0;
  }
}
