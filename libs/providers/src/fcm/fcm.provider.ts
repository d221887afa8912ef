import { checkUrl, redactToken, UrlRejected } from '@app/common';
import type { CanonicalNotification } from '../canonical';
import {
  CredentialRejected,
  TokenRejected,
  type CredentialRecord,
  type DeliveryOutcome,
  type DeviceRef,
  type NormalizedCredential,
  type NormalizedToken,
  type PushProvider,
  type OutcomeReport,
  NOT_SENT,
} from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { TokenMintFailed } from './fcm.auth';
import { classifyFcmAnswer, classifyTransportError, parseRetryAfter, type FcmVerdict } from './fcm.classifier';
import { FcmCredentialClient, FcmTransportError } from './fcm.client';
import { normalizeServiceAccount, serviceAccountFromSecret, tokenUrlGuard } from './fcm.credentials';
import { reservedDataKeyProblems, validateFcmOverride } from './fcm.override';
import { InProcessRateLimiter, type RateLimiter } from './fcm.rate-limiter';
import { FCM_MAX_PAYLOAD_BYTES, messageBytes, sendBody, translateFcm, type FcmRequest } from './fcm.translator';

// Registration tokens are opaque; in practice ~150–250 characters of [A-Za-z0-9_:-].
const FCM_TOKEN = /^[A-Za-z0-9_:.-]{20,4096}$/;

export interface FcmProviderOptions {
  /** Shared budget across worker processes (Redis, see ProvidersModule); defaults to one per process. */
  rateLimiter?: RateLimiter;
}

/**
 * Firebase Cloud Messaging over the HTTP v1 API with service-account OAuth. One client
 * per credential (its own HTTP/2 session and access tokens), kept until the credential's
 * version changes or the provider closes.
 */
export class FcmProvider implements PushProvider {
  readonly name = 'fcm' as const;
  private readonly clients = new Map<string, { version: number; client: FcmCredentialClient }>();
  private readonly limiter: RateLimiter;

  constructor(
    private readonly ctx: ProviderContext,
    opts: FcmProviderOptions = {},
  ) {
    this.limiter = opts.rateLimiter ?? new InProcessRateLimiter({ ratePerMinute: ctx.config.fcm.ratePerMinute });
  }

  normalizeToken(token: unknown): NormalizedToken {
    if (typeof token !== 'string') throw new TokenRejected('token: must be a string (the FCM registration token)');
    const t = token.trim();
    if (/^[0-9a-f]{64}$/i.test(t)) {
      throw new TokenRejected('token: looks like an APNs device token; register it with provider "apns"');
    }
    if (!FCM_TOKEN.test(t)) {
      throw new TokenRejected('token: must be an FCM registration token (20-4096 characters of A-Z a-z 0-9 _ : - .)');
    }
    return { token: t, tokenData: null };
  }

  normalizeCredential(input: unknown): NormalizedCredential {
    return normalizeServiceAccount(input, this.guard());
  }

  checkNotification(n: CanonicalNotification): string[] {
    const problems = [...reservedDataKeyProblems(n.data, 'data'), ...validateFcmOverride(n.fcm, n.silent)];
    if (problems.length > 0) return problems;
    const bytes = messageBytes(translateFcm(n, Date.now()).message);
    if (bytes > FCM_MAX_PAYLOAD_BYTES) {
      problems.push(`payload: the FCM message is ${bytes} bytes; FCM allows at most ${FCM_MAX_PAYLOAD_BYTES}`);
    }
    return problems;
  }

  async send(credential: CredentialRecord, n: CanonicalNotification, devices: DeviceRef[], report?: OutcomeReport, signal?: AbortSignal): Promise<DeliveryOutcome[]> {
    if (devices.length === 0) return [];
    const all = (o: DeliveryOutcome): DeliveryOutcome[] => devices.map(() => o);
    // checked again here: a job may predate a rule, and a too-large message is never sent
    const problems = this.checkNotification(n);
    if (problems.length > 0) return all({ kind: 'failed', reason: problems.join('; ') });

    let client: FcmCredentialClient;
    try {
      client = this.clientFor(credential);
    } catch (e) {
      if (!(e instanceof CredentialRejected)) throw e;
      this.alarm(credential, e.message);
      return all({ kind: 'failed', reason: e.message, alarm: true });
    }
    const req = translateFcm(n, Date.now());
    const outcomes = new Array<DeliveryOutcome>(devices.length);
    const pending: Array<Promise<void>> = [];
    // pace in slices no larger than the stream window, so a big batch is spread over
    // the budget instead of reserving it all at once
    const slice = Math.max(1, this.ctx.config.fcm.maxConcurrentStreams);
    for (let i = 0; i < devices.length; i += slice) {
      const part = devices.slice(i, i + slice);
      if (signal?.aborted) {
        for (let j = i; j < devices.length; j++) outcomes[j] = NOT_SENT;
        break;
      }
      try {
        await this.limiter.acquire(`fcm:${client.account.projectId}`, part.length);
      } catch (e) {
        this.ctx.logger.warn(`fcm rate limiter unavailable: ${(e as Error).message}`);
        for (let j = i; j < devices.length; j++) outcomes[j] = { kind: 'retry', reason: 'rate limiter unavailable' };
        break;
      }
      part.forEach((d, k) => {
        pending.push(this.sendOne(client, req, d).then((o) => {
          outcomes[i + k] = o;
          report?.(i + k, o);
        }));
      });
    }
    await Promise.all(pending);
    const alarmed = outcomes.find((o) => o.kind === 'failed' && o.alarm);
    if (alarmed && alarmed.kind === 'failed') this.alarm(credential, alarmed.reason);
    return outcomes;
  }

  async close(): Promise<void> {
    const list = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(list.map((c) => c.client.close()));
  }

  /** One device: mint or reuse the access token, send, and refresh once on 401. */
  private async sendOne(client: FcmCredentialClient, req: FcmRequest, device: DeviceRef): Promise<DeliveryOutcome> {
    const body = sendBody(req, device.token);
    for (let attempt = 0; ; attempt++) {
      let accessToken: string;
      try {
        accessToken = await client.tokens.get();
      } catch (e) {
        if (!(e instanceof TokenMintFailed)) throw e;
        if (!e.retryable) return { kind: 'failed', reason: e.reason, alarm: true };
        const retryAfterMs = parseRetryAfter(e.retryAfter, Date.now());
        return retryAfterMs === undefined ? { kind: 'retry', reason: e.reason } : { kind: 'retry', reason: e.reason, retryAfterMs };
      }
      let verdict: FcmVerdict;
      try {
        verdict = classifyFcmAnswer(await client.send(accessToken, body), Date.now());
      } catch (e) {
        if (!(e instanceof FcmTransportError)) throw e;
        this.ctx.logger.debug?.(`fcm transport error for ${redactToken(device.token)}: ${e.code}`);
        return classifyTransportError(e);
      }
      if (verdict.kind !== 'refresh_auth') return verdict;
      if (attempt > 0) {
        return { kind: 'failed', reason: `${verdict.reason}: FCM refused a freshly minted access token`, alarm: true };
      }
      client.tokens.invalidate(accessToken);
    }
  }

  private clientFor(credential: CredentialRecord): FcmCredentialClient {
    const pooled = this.clients.get(credential.id);
    if (pooled && pooled.version === credential.version) return pooled.client;
    if (pooled) void pooled.client.close();
    const account = serviceAccountFromSecret(credential.secret);
    if (account.tokenUri !== null) {
      // re-checked at send time: the allowlist may have changed since the upload
      try {
        checkUrl(account.tokenUri, this.guard());
      } catch (e) {
        if (e instanceof UrlRejected) throw new CredentialRejected(`token_uri: ${e.message}`);
        throw e;
      }
    }
    const cfg = this.ctx.config;
    let client: FcmCredentialClient;
    try {
      client = new FcmCredentialClient(account, {
        baseUrl: cfg.fcm.baseUrl,
        tokenUrl: cfg.fcm.tokenUrl,
        sandboxEnabled: cfg.sandboxEnabled,
        extraCa: this.ctx.extraCa,
        maxConcurrentStreams: cfg.fcm.maxConcurrentStreams,
        requestTimeoutMs: cfg.fcm.requestTimeoutMs,
      });
    } catch {
      // the only thing that can fail here is parsing the stored private key
      throw new CredentialRejected('private_key: the stored key does not parse; upload the service-account JSON again');
    }
    this.clients.set(credential.id, { version: credential.version, client });
    return client;
  }

  private guard() {
    return tokenUrlGuard(this.ctx.config.fcm.tokenUrl, this.ctx.config.sandboxEnabled);
  }

  private alarm(credential: CredentialRecord, reason: string): void {
    this.ctx.logger.error(
      JSON.stringify({ msg: 'fcm credential alarm', alarm: true, credentialId: credential.id, appId: credential.appId, reason }),
    );
  }
}
