import { randomBytes, randomUUID } from 'node:crypto';

export type WnsFlow = 'legacy' | 'entra';

/** An app minted in the stand-in: the OAuth client both token endpoints know. */
export interface WnsSandboxApp {
  /** Short internal key; every channel id of the app starts with it. */
  key: string;
  flow: WnsFlow;
  /** Package SID (legacy) or application (client) id GUID (entra). */
  clientId: string;
  clientSecret: string;
  tenantId: string | null;
  tokenTtlSeconds: number;
  tokensMinted: number;
}

export type TokenCheck = { ok: true; app: WnsSandboxApp } | { ok: false; why: 'unknown' | 'expired' };

/** Microsoft's tokens last a day; tests shorten it per app to force expiry. */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;
const MAX_TOKENS_BEFORE_SWEEP = 10_000;

function packageSid(): string {
  const groups = Array.from({ length: 7 }, () => randomBytes(4).readUInt32BE(0));
  return `ms-app://s-1-15-2-${groups.join('-')}`;
}

/**
 * Apps, access tokens and channels of the WNS stand-in. Channel ids carry their app's
 * key ("<appKey>.<random>"), so a million channels cost no memory: only revoked ones
 * are remembered.
 */
export class WnsAccounts {
  private readonly byClientId = new Map<string, WnsSandboxApp>();
  private readonly byKey = new Map<string, WnsSandboxApp>();
  private readonly tokens = new Map<string, { appKey: string; expiresAt: number }>();
  private readonly revokedChannels = new Set<string>();
  readonly counters = { legacyMinted: 0, entraMinted: 0, tokenRequestsRefused: 0, unauthorized: 0, forbidden: 0 };

  mintApp(flow: WnsFlow, tokenTtlSeconds = DEFAULT_TOKEN_TTL_SECONDS): WnsSandboxApp {
    const app: WnsSandboxApp = {
      key: randomBytes(4).toString('hex'),
      flow,
      clientId: flow === 'legacy' ? packageSid() : randomUUID(),
      clientSecret: randomBytes(24).toString('base64url'),
      tenantId: flow === 'entra' ? randomUUID() : null,
      tokenTtlSeconds,
      tokensMinted: 0,
    };
    this.byClientId.set(app.clientId, app);
    this.byKey.set(app.key, app);
    return app;
  }

  app(clientId: string): WnsSandboxApp | null {
    return this.byClientId.get(clientId) ?? null;
  }

  /** The credential `config` exactly as POST /v1/apps/:appId/credentials expects it. */
  credentialConfig(app: WnsSandboxApp): Record<string, string> {
    return app.flow === 'legacy'
      ? { flow: 'legacy', packageSid: app.clientId, clientSecret: app.clientSecret }
      : { flow: 'entra', tenantId: app.tenantId ?? '', clientId: app.clientId, clientSecret: app.clientSecret };
  }

  issueToken(app: WnsSandboxApp): { access_token: string; token_type: string; expires_in: number } {
    if (this.tokens.size > MAX_TOKENS_BEFORE_SWEEP) this.sweep();
    const token = `EwB${randomBytes(32).toString('base64url')}`;
    this.tokens.set(token, { appKey: app.key, expiresAt: Date.now() + app.tokenTtlSeconds * 1000 });
    app.tokensMinted += 1;
    if (app.flow === 'legacy') this.counters.legacyMinted += 1;
    else this.counters.entraMinted += 1;
    return { access_token: token, token_type: 'bearer', expires_in: app.tokenTtlSeconds };
  }

  checkToken(token: string): TokenCheck {
    const t = this.tokens.get(token);
    if (!t) return { ok: false, why: 'unknown' };
    if (Date.now() >= t.expiresAt) return { ok: false, why: 'expired' };
    const app = this.byKey.get(t.appKey);
    return app ? { ok: true, app } : { ok: false, why: 'unknown' };
  }

  /** Forgets every token of the app, so the next send with a cached token gets 401. */
  revokeTokens(app: WnsSandboxApp): number {
    let n = 0;
    for (const [token, t] of this.tokens) {
      if (t.appKey === app.key) {
        this.tokens.delete(token);
        n += 1;
      }
    }
    return n;
  }

  mintChannel(app: WnsSandboxApp): string {
    return `${app.key}.${randomBytes(18).toString('base64url')}`;
  }

  /** The app a channel belongs to, or null when the channel was never minted for a known app. */
  channelApp(channelId: string): WnsSandboxApp | null {
    const dot = channelId.indexOf('.');
    if (dot <= 0 || channelId.length - dot < 9) return null;
    return this.byKey.get(channelId.slice(0, dot)) ?? null;
  }

  revokeChannel(channelId: string): void {
    this.revokedChannels.add(channelId);
  }

  isRevoked(channelId: string): boolean {
    return this.revokedChannels.has(channelId);
  }

  stats() {
    const byApp: Record<string, number> = {};
    for (const app of this.byClientId.values()) byApp[app.clientId] = app.tokensMinted;
    return {
      tokensMinted: { total: this.counters.legacyMinted + this.counters.entraMinted, legacy: this.counters.legacyMinted, entra: this.counters.entraMinted, byApp },
      tokenRequestsRefused: this.counters.tokenRequestsRefused,
      unauthorized: this.counters.unauthorized,
      forbidden: this.counters.forbidden,
      apps: this.byClientId.size,
      revokedChannels: this.revokedChannels.size,
    };
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, t] of this.tokens) if (now >= t.expiresAt) this.tokens.delete(token);
  }
}
