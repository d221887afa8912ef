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
} from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { WnsTokenError } from './wns.auth';
import { classifyWnsAnswer, classifyWnsTokenFailure } from './wns.classifier';
import { WnsClient } from './wns.client';
import { normalizeWnsCredential, parseWnsSecret } from './wns.credentials';
import { validateWnsOverride } from './wns.override';
import { translateWns, type WnsRequest } from './wns.translator';

/**
 * Windows Push Notification Services: one pooled WnsClient per credential (keyed by
 * id, rebuilt when the version changes), toast/tile/badge/raw translation, and a
 * channel-URI allowlist checked at registration and again before every send.
 */
export class WnsProvider implements PushProvider {
  readonly name = 'wns' as const;
  private readonly clients = new Map<string, { version: number; client: WnsClient }>();

  constructor(private readonly ctx: ProviderContext) {}

  normalizeToken(token: unknown): NormalizedToken {
    return { token: this.checkChannel(typeof token === 'string' ? token.trim() : token).href, tokenData: null };
  }

  normalizeCredential(input: unknown): NormalizedCredential {
    return normalizeWnsCredential(input);
  }

  checkNotification(n: CanonicalNotification): string[] {
    const problems = validateWnsOverride(n.wns);
    if (problems.length > 0) return problems;
    return translateWns(n, n.acceptedAt).problems;
  }

  async send(credential: CredentialRecord, n: CanonicalNotification, devices: DeviceRef[], report?: OutcomeReport): Promise<DeliveryOutcome[]> {
    if (devices.length === 0) return [];
    let client: WnsClient;
    try {
      client = this.clientFor(credential);
    } catch (err) {
      const reason = err instanceof CredentialRejected ? `stored credential is invalid: ${err.message}` : 'stored credential is unusable';
      this.ctx.logger.warn({ msg: 'wns credential unusable', credentialId: credential.id, reason });
      return devices.map(() => ({ kind: 'failed', reason, alarm: true }));
    }
    const invalid = validateWnsOverride(n.wns);
    const { request, problems } = invalid.length > 0 ? { request: null, problems: invalid } : translateWns(n, Date.now());
    if (!request) {
      // checkNotification passed at the API; reaching this means the block changed shape since.
      const reason = `notification not sendable on WNS: ${problems.join('; ')}`;
      return devices.map(() => ({ kind: 'failed', reason }));
    }
    const outcomes = await Promise.all(devices.map((d, i) => this.sendOne(client, request, d).then((o) => (report?.(i, o), o))));
    const alarm = outcomes.find((o) => o.kind === 'failed' && o.alarm);
    if (alarm && alarm.kind === 'failed') {
      this.ctx.logger.warn({ msg: 'wns credential alarm', credentialId: credential.id, appId: credential.appId, reason: alarm.reason });
    }
    return outcomes;
  }

  async close(): Promise<void> {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async sendOne(client: WnsClient, request: WnsRequest, device: DeviceRef): Promise<DeliveryOutcome> {
    let channel: URL;
    try {
      // Defence in depth: the allowlist may have changed since the device registered.
      channel = this.checkChannel(device.token);
    } catch (err) {
      return { kind: 'invalid_token', reason: (err as Error).message };
    }
    try {
      return classifyWnsAnswer(await client.deliver(channel, request));
    } catch (err) {
      if (err instanceof WnsTokenError) return classifyWnsTokenFailure(err.failure);
      this.ctx.logger.error({ msg: 'wns send failed unexpectedly', device: redactToken(device.token), error: (err as Error).message });
      return { kind: 'retry', reason: 'unexpected error while sending' };
    }
  }

  /** The channel URI as a URL, or TokenRejected naming the rule it breaks. */
  private checkChannel(raw: unknown): URL {
    let url: URL;
    try {
      url = checkUrl(raw, this.ctx.urlGuard.wns);
    } catch (err) {
      if (err instanceof UrlRejected) throw new TokenRejected(`channel URI ${err.message}`);
      throw err;
    }
    if (url.hash) throw new TokenRejected('channel URI must not contain a fragment');
    return url;
  }

  private clientFor(credential: CredentialRecord): WnsClient {
    const pooled = this.clients.get(credential.id);
    if (pooled && pooled.version === credential.version) return pooled.client;
    const secret = parseWnsSecret(credential.secret);
    const cfg = this.ctx.config.wns;
    const client = new WnsClient(secret, {
      legacyTokenUrl: cfg.legacyTokenUrl,
      entraTokenUrlTemplate: cfg.entraTokenUrlTemplate,
      maxSockets: cfg.maxSockets,
      sandboxEnabled: this.ctx.config.sandboxEnabled,
      extraCa: this.ctx.extraCa,
    });
    // Sends still using the old version finish on the old client, then it closes.
    pooled?.client.retire();
    this.clients.set(credential.id, { version: credential.version, client });
    return client;
  }
}
