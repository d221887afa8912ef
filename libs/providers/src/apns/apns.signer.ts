import { sign, type KeyObject } from 'node:crypto';

/** Apple refuses tokens older than an hour and answers TooManyProviderTokenUpdates to refreshes under 20 minutes. */
export const TOKEN_MIN_REFRESH_MS = 20 * 60_000;

const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/**
 * The provider authentication token of one credential: an ES256 JWT `{alg, kid}.{iss, iat}`,
 * shared by the credential's connections to both environments.
 *
 * It has the shape node-apn's client expects of `config.token` (`current`, `generation`,
 * `isExpired(seconds)`, `regenerate(generation)`; see lib/credentials/token/prepare.js), so
 * the library's own calls go through it: its proactive refresh at 55 minutes, and its
 * refresh on 403 ExpiredProviderToken. Unlike the library's, regenerate() refuses to
 * re-sign a token younger than 20 minutes, which is Apple's limit.
 */
export class ProviderTokenSigner {
  generation = 0;
  current = '';
  private iatMs = 0;

  constructor(
    private readonly key: KeyObject,
    private readonly keyId: string,
    private readonly teamId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.signNow();
  }

  private signNow(): void {
    this.iatMs = this.now();
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: this.keyId }));
    const claims = b64url(JSON.stringify({ iss: this.teamId, iat: Math.floor(this.iatMs / 1000) }));
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
    this.current = `${header}.${claims}.${b64url(signature)}`;
  }

  ageMs(): number {
    return this.now() - this.iatMs;
  }

  /** Called by node-apn before each request with 3300 (55 minutes). */
  isExpired(validSeconds: number): boolean {
    return this.ageMs() >= validSeconds * 1000;
  }

  /** Re-signs if `generation` is still current and the token is old enough. */
  regenerate(generation: number): void {
    if (generation !== this.generation || this.ageMs() < TOKEN_MIN_REFRESH_MS) return;
    this.generation += 1;
    this.signNow();
  }

  /** Milliseconds until Apple allows the next refresh. */
  msUntilRefreshAllowed(): number {
    return Math.max(0, TOKEN_MIN_REFRESH_MS - this.ageMs());
  }
}
