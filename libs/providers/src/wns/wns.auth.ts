import { request, type Agent } from 'node:https';
import type { WnsTokenFailure } from './wns.classifier';
import type { WnsSecret } from './wns.credentials';

/** Scopes Microsoft documents for each flow. */
export const WNS_LEGACY_SCOPE = 'notify.windows.com';
export const WNS_ENTRA_SCOPE = 'https://wns.windows.com/.default';

/** The token endpoint did not issue a token; `failure` says why, for the classifier. */
export class WnsTokenError extends Error {
  constructor(readonly failure: WnsTokenFailure) {
    super(failure.kind === 'http' ? `token endpoint answered ${failure.status}` : `token endpoint: ${failure.code}`);
  }
}

export interface TokenUrls {
  legacyTokenUrl: string;
  entraTokenUrlTemplate: string;
}

export function tokenUrlFor(secret: WnsSecret, urls: TokenUrls): URL {
  if (secret.flow === 'legacy') return new URL(urls.legacyTokenUrl);
  return new URL(urls.entraTokenUrlTemplate.replace('{tenant}', encodeURIComponent(secret.tenantId)));
}

export function tokenForm(secret: WnsSecret): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: secret.flow === 'legacy' ? secret.packageSid : secret.clientId,
    client_secret: secret.clientSecret,
    scope: secret.flow === 'legacy' ? WNS_LEGACY_SCOPE : WNS_ENTRA_SCOPE,
  });
}

/** Tokens last ~24 h; renew ahead of expiry by 10 % of the lifetime, at most five minutes. */
function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(300_000, lifetimeMs * 0.1);
}

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/**
 * The access token of one credential: cached until shortly before it expires, minted
 * once for all concurrent sends (single-flight), and replaced once after a 401.
 */
export class WnsTokenSource {
  private current: { token: string; refreshAt: number } | null = null;
  private pending: Promise<string> | null = null;
  /** Tokens minted so far (observability and tests). */
  minted = 0;

  constructor(
    private readonly secret: WnsSecret,
    private readonly url: URL,
    private readonly agent: Agent,
    private readonly timeoutMs: number,
  ) {}

  /** A token believed valid: the cached one, or a fresh one shared by every caller waiting now. */
  get(): Promise<string> {
    if (this.current && Date.now() < this.current.refreshAt) return Promise.resolve(this.current.token);
    return this.mint();
  }

  /**
   * A replacement for `rejected`, which a channel answered 401 to. If a concurrent send
   * already replaced it, that replacement is used: many 401s, one mint.
   */
  refresh(rejected: string): Promise<string> {
    if (this.current?.token === rejected) this.current = null;
    return this.get();
  }

  private mint(): Promise<string> {
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<string> {
    const startedAt = Date.now();
    const res = await postForm(this.url, tokenForm(this.secret), this.agent, this.timeoutMs);
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(res.body);
      if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
    } catch {
      // not JSON: decided by the status below
    }
    const error = typeof json.error === 'string' ? json.error.slice(0, 100) : undefined;
    if (res.status !== 200) throw new WnsTokenError({ kind: 'http', status: res.status, error, retryAfter: res.retryAfter });
    const token = json.access_token;
    const expiresIn = Number(json.expires_in);
    if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      // A 200 without a usable token is the endpoint misbehaving, not the credential.
      throw new WnsTokenError({ kind: 'http', status: 502, error: 'malformed token response' });
    }
    const lifetimeMs = expiresIn * 1000;
    this.current = { token, refreshAt: startedAt + lifetimeMs - refreshMarginMs(lifetimeMs) };
    this.minted += 1;
    return token;
  }
}

interface FormAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

function postForm(url: URL, form: URLSearchParams, agent: Agent, timeoutMs: number): Promise<FormAnswer> {
  const body = form.toString();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent,
      timeout: timeoutMs,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': Buffer.byteLength(body),
        Accept: 'application/json',
      },
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('token request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new WnsTokenError({ kind: 'transport', code: err.code ?? 'EUNKNOWN' })));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_TOKEN_RESPONSE_BYTES) chunks.push(c);
      });
      res.on('error', (err: NodeJS.ErrnoException) => reject(new WnsTokenError({ kind: 'transport', code: err.code ?? 'EUNKNOWN' })));
      res.on('end', () => {
        const ra = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: Array.isArray(ra) ? ra[0] : ra });
      });
    });
    req.end(body);
  });
}
