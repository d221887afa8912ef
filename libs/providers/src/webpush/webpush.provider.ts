import { encrypt } from 'web-push';
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
import { classifyWebpush } from './webpush.classifier';
import { NOT_SENT_CODE, WebpushTransport } from './webpush.client';
import { normalizeVapidCredential, readVapidSecret } from './webpush.credentials';
import { parseWebpushOverride } from './webpush.override';
import { normalizeSubscription, validateKeys } from './webpush.subscription';
import { MAX_PLAINTEXT_BYTES, payloadBytes, pushHeaders, translationProblems } from './webpush.translator';
import { VapidHeaderCache } from './webpush.vapid';

interface CredentialClient {
  version: number;
  vapid: VapidHeaderCache;
}

/**
 * Web Push (RFC 8030) with aes128gcm payload encryption (RFC 8291) and VAPID
 * (RFC 8292). Per credential it keeps a parsed signing key and the VAPID header per
 * push-service origin; the HTTPS connections are pooled per origin by the transport.
 */
export class WebpushProvider implements PushProvider {
  readonly name = 'webpush' as const;
  private readonly clients = new Map<string, CredentialClient>();
  private readonly transport: WebpushTransport;
  /** Sends in flight per batch: enough to keep every pooled socket busy while the next message is encrypted. */
  private readonly inFlight: number;

  constructor(private readonly ctx: ProviderContext) {
    const cfg = ctx.config.webpush;
    this.transport = new WebpushTransport({
      maxSocketsPerOrigin: cfg.maxSocketsPerOrigin,
      sandboxEnabled: ctx.config.sandboxEnabled,
      extraCa: ctx.extraCa,
      timeoutMs: cfg.requestTimeoutMs,
    });
    this.inFlight = Math.max(16, cfg.maxSocketsPerOrigin * 2);
  }

  normalizeToken(token: unknown): NormalizedToken {
    return normalizeSubscription(token, this.ctx.urlGuard.webpush);
  }

  normalizeCredential(input: unknown): NormalizedCredential {
    return normalizeVapidCredential(input);
  }

  checkNotification(n: CanonicalNotification): string[] {
    const { value, problems } = parseWebpushOverride(n.webpush);
    return [...problems, ...translationProblems(n, value)];
  }

  async send(credential: CredentialRecord, n: CanonicalNotification, devices: DeviceRef[], report?: OutcomeReport, signal?: AbortSignal): Promise<DeliveryOutcome[]> {
    let vapid: VapidHeaderCache;
    try {
      vapid = this.clientFor(credential).vapid;
    } catch (e) {
      const reason = e instanceof CredentialRejected ? e.message : 'webpush credential unusable';
      this.ctx.logger.error(`webpush credential ${credential.id} v${credential.version}: ${reason}`);
      return devices.map(() => ({ kind: 'failed', reason, alarm: true }));
    }
    const override = parseWebpushOverride(n.webpush).value;
    const payload = payloadBytes(n, override);
    if (payload.length > MAX_PLAINTEXT_BYTES) {
      // checkNotification refuses this at the API; a notification queued before a limit change lands here.
      const reason = `payload: ${payload.length} bytes of JSON, more than the ${MAX_PLAINTEXT_BYTES} that fit in 4096 encrypted bytes`;
      return devices.map(() => ({ kind: 'failed', reason }));
    }
    const headers = pushHeaders(n, override, Date.now());
    const outcomes: DeliveryOutcome[] = new Array(devices.length);
    let next = 0;
    let alarmed = false;
    const worker = async (): Promise<void> => {
      while (next < devices.length) {
        const i = next++;
        if (signal?.aborted) {
          outcomes[i] = NOT_SENT;
          continue;
        }
        const outcome = await this.sendOne(vapid, devices[i], payload, headers, signal);
        if (outcome.kind === 'failed' && outcome.alarm && !alarmed) {
          alarmed = true;
          this.ctx.logger.warn(
            `webpush credential ${credential.id}: ${outcome.reason} (endpoint ${redactToken(devices[i].token)}); check the app's VAPID keys`,
          );
        }
        outcomes[i] = outcome;
        report?.(i, outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.inFlight, devices.length) }, worker));
    return outcomes;
  }

  private async sendOne(
    vapid: VapidHeaderCache,
    device: DeviceRef,
    payload: Buffer,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<DeliveryOutcome> {
    let url: URL;
    let body: Buffer;
    try {
      // Re-checked at send time: the allowlist or the sandbox switch may have changed since registration.
      url = checkUrl(device.token, this.ctx.urlGuard.webpush);
      const keys = validateKeys(device.tokenData?.p256dh, device.tokenData?.auth);
      body = encrypt(keys.p256dh, keys.auth, payload, 'aes128gcm').cipherText;
    } catch (e) {
      if (e instanceof UrlRejected) return { kind: 'failed', reason: `endpoint: ${e.message}` };
      if (e instanceof TokenRejected) return { kind: 'failed', reason: e.message };
      return { kind: 'failed', reason: 'encryption failed' };
    }
    const answer = await this.transport.post(url, { ...headers, Authorization: vapid.header(url.origin) }, body, signal && (() => signal.aborted));
    if (answer.kind === 'transport' && answer.code === NOT_SENT_CODE) return NOT_SENT;
    return classifyWebpush(answer, Date.now());
  }

  private clientFor(credential: CredentialRecord): CredentialClient {
    const hit = this.clients.get(credential.id);
    if (hit && hit.version === credential.version) return hit;
    const client = {
      version: credential.version,
      vapid: new VapidHeaderCache(readVapidSecret(credential.secret), this.ctx.config.webpush.vapidTtlSeconds),
    };
    this.clients.set(credential.id, client);
    return client;
  }

  async close(): Promise<void> {
    this.transport.close();
    this.clients.clear();
  }
}
