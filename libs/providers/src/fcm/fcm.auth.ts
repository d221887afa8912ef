import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { ServiceAccount } from './fcm.credentials';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Google accepts assertions valid for at most one hour. */
const ASSERTION_LIFETIME_S = 3600;

/** A form POST to a token endpoint; implemented by the client over HTTPS. */
export type FormPost = (url: string, form: string) => Promise<{ status: number; body: string; retryAfter?: string }>;

/** The token endpoint refused or could not be reached. */
export class TokenMintFailed extends Error {
  constructor(
    readonly reason: string,
    /** False when the credential itself is refused (invalid_grant…): a credential alarm. */
    readonly retryable: boolean,
    readonly retryAfter?: string,
  ) {
    super(reason);
  }
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

/** The RS256-signed JWT of the JWT-bearer grant (RFC 7523) Google's token endpoint expects. */
export function signAssertion(sa: ServiceAccount, key: KeyObject, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (sa.privateKeyId) header.kid = sa.privateKeyId;
  const claims = { iss: sa.clientEmail, scope: FCM_SCOPE, aud: audience, iat, exp: iat + ASSERTION_LIFETIME_S };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('RSA-SHA256', Buffer.from(input), key))}`;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which a new token is minted (shortly before Google's expiry). */
  refreshAt: number;
}

/**
 * OAuth2 access tokens for one service account: minted with the JWT-bearer grant,
 * cached until shortly before they expire, and single-flight: N concurrent sends
 * that find no valid token share one mint.
 */
export class AccessTokenSource {
  private readonly key: KeyObject;
  private current: CachedToken | null = null;
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly sa: ServiceAccount,
    private readonly tokenUrl: string,
    private readonly post: FormPost,
  ) {
    this.key = createPrivateKey(sa.privateKeyPem);
  }

  get(): Promise<string> {
    if (this.current && Date.now() < this.current.refreshAt) return Promise.resolve(this.current.token);
    this.inflight ??= this.mint().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * Drops the cached token after FCM refused it. Only the token that was refused is
   * dropped, so 100 concurrent 401s for the same stale token lead to one new mint.
   */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = null;
  }

  private async mint(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: signAssertion(this.sa, this.key, this.tokenUrl, Date.now()),
    }).toString();
    const started = Date.now();
    let answer: Awaited<ReturnType<FormPost>>;
    try {
      answer = await this.post(this.tokenUrl, form);
    } catch (e) {
      throw new TokenMintFailed(`token endpoint unreachable (${(e as NodeJS.ErrnoException).code ?? 'transport error'})`, true);
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      // not JSON: classified from the status alone
    }
    if (answer.status === 200 && typeof body.access_token === 'string') {
      const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
      // refresh a minute early (a quarter of the lifetime for short-lived tokens), so a
      // token never expires between being read here and reaching FCM
      const margin = Math.min(60_000, (expiresIn * 1000) / 4);
      this.current = { token: body.access_token, refreshAt: started + expiresIn * 1000 - margin };
      return body.access_token;
    }
    const error = typeof body.error === 'string' ? body.error : `HTTP ${answer.status}`;
    // 5xx and 429 are the endpoint's trouble; 4xx (invalid_grant, invalid_client,
    // unauthorized_client…) mean the key was revoked or the account disabled
    const retryable = answer.status >= 500 || answer.status === 429 || answer.status === 408;
    throw new TokenMintFailed(`token endpoint refused the service account: ${error}`, retryable, answer.retryAfter);
  }
}
