import type { CanonicalNotification } from '../canonical';
import {
  CredentialRejected,
  type CredentialRecord,
  type DeliveryOutcome,
  type DeviceRef,
  type NormalizedCredential,
  type NormalizedToken,
  type PushProvider,
  type OutcomeReport,
} from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { ApnsClient } from './apns.client';
import { normalizeApnsCredential, normalizeApnsToken, readApnsSecret } from './apns.credentials';
import { collapseIdProblem, parseApnsOverride } from './apns.override';
import { translateApns, translationProblems } from './apns.translator';

/** The payload does not depend on the credential; only the topic header does. */
const SIZE_CHECK_BUNDLE_ID = 'com.example.app';

export interface ApnsProviderOptions {
  /** Clock of the provider-token signer (the 20-minute refresh floor, the 55-minute refresh). */
  now?: () => number;
}

/**
 * Apple Push Notification service over HTTP/2 through @parse/node-apn, with token
 * (.p8) or certificate auth, sandbox and production. The reliability node-apn lacks
 * (warm-up and bounded streams, `retry-after`, no hidden resends, token refresh floor)
 * lives in apns.connection.ts, apns.node-apn.ts and apns.signer.ts.
 */
export class ApnsProvider implements PushProvider {
  readonly name = 'apns' as const;
  private readonly client: ApnsClient;

  constructor(private readonly ctx: ProviderContext, opts: ApnsProviderOptions = {}) {
    this.client = new ApnsClient({ config: ctx.config.apns, extraCa: ctx.extraCa, logger: ctx.logger, now: opts.now });
  }

  normalizeToken(token: unknown): NormalizedToken {
    return normalizeApnsToken(token);
  }

  normalizeCredential(input: unknown): NormalizedCredential {
    return normalizeApnsCredential(input);
  }

  checkNotification(n: CanonicalNotification): string[] {
    const { value, problems } = parseApnsOverride(n.apns);
    if (n.collapseId !== undefined) {
      const c = collapseIdProblem('collapseId', n.collapseId);
      if (c) problems.push(c);
    }
    if (n.data && Object.hasOwn(n.data, 'aps')) problems.push('data.aps: reserved by APNs');
    if (problems.length > 0) return problems;
    return translationProblems(translateApns(n, value, SIZE_CHECK_BUNDLE_ID));
  }

  async send(credential: CredentialRecord, n: CanonicalNotification, devices: DeviceRef[], report?: OutcomeReport, signal?: AbortSignal): Promise<DeliveryOutcome[]> {
    if (devices.length === 0) return [];
    let bundleId: string;
    try {
      bundleId = readApnsSecret(credential.secret).bundleId;
      this.client.clientsFor(credential);
    } catch (e) {
      const reason = e instanceof CredentialRejected ? e.message : 'apns credential unusable';
      this.ctx.logger.error(`apns credential ${credential.id} v${credential.version}: ${reason}`);
      return devices.map(() => ({ kind: 'failed', reason, alarm: true }));
    }
    const { value, problems } = parseApnsOverride(n.apns);
    const req = translateApns(n, value, bundleId);
    // checkNotification refuses these at the API; a notification queued before a rule change lands here, never sent.
    const all = [...problems, ...translationProblems(req)];
    if (all.length > 0) return devices.map(() => ({ kind: 'failed', reason: all.join('; ') }));
    return this.client.send(credential, req, devices, report, signal);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
