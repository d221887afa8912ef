import type { ApnsEnvironment, CanonicalNotification, ProviderName } from './canonical';

/** One device as a provider sees it: never more than it needs to send. */
export interface DeviceRef {
  id: string;
  /** The provider token: APNs hex, FCM registration token, WNS channel URI, Web Push endpoint. */
  token: string;
  /** Extra token material (Web Push: `{p256dh, auth}` keys). */
  tokenData?: Record<string, string> | null;
  environment?: ApnsEnvironment | null;
}

/** A decrypted credential, handed to the provider that owns it. Never logged. */
export interface CredentialRecord {
  id: string;
  appId: string;
  provider: ProviderName;
  name: string;
  environment: ApnsEnvironment | null;
  secret: Record<string, unknown>;
  /** Changes whenever the credential is replaced, so pooled clients are rebuilt. */
  version: number;
}

/**
 * Every provider answer becomes one of these. Classifiers decide from status codes
 * and reason fields, never from message text.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; providerMessageId?: string; detail?: string }
  | { kind: 'invalid_token'; reason: string }
  /**
   * `unavailable`: the service itself failed (5xx, timeout, refused or reset connection),
   * `throttled`: the service refuses this sender for now (429): a storm of them counts
   * against the circuit too, so a throttled credential is probed instead of hammered.
   * Per-channel throttling (WNS and Web Push 406) is neither.
   * `notSent`: no request was made (the worker aborted the batch: its circuit opened).
   */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; unavailable?: boolean; throttled?: boolean; notSent?: boolean }
  | { kind: 'failed'; reason: string; alarm?: boolean };

/** The outcome of a device whose request was never started because the send was aborted. */
export const NOT_SENT: DeliveryOutcome = Object.freeze({ kind: 'retry', reason: 'not sent: the batch was held', notSent: true });

/** Called with a device's index in the batch and its outcome, once, as the answer arrives. */
export type OutcomeReport = (index: number, outcome: DeliveryOutcome) => void;

export class TokenRejected extends Error {}
export class CredentialRejected extends Error {}

export interface NormalizedToken {
  token: string;
  tokenData?: Record<string, string> | null;
}

export interface NormalizedCredential {
  secret: Record<string, unknown>;
  /** Non-secret facts safe to return from the API (key id, bundle id, project id…). */
  summary: Record<string, string>;
  environment?: ApnsEnvironment | null;
}

export interface PushProvider {
  readonly name: ProviderName;
  /** Validates and normalises a registration token; throws TokenRejected naming the rule. */
  normalizeToken(token: unknown): NormalizedToken;
  /** Validates an uploaded credential; throws CredentialRejected naming the field. */
  normalizeCredential(input: unknown): NormalizedCredential;
  /**
   * Validates the provider's override block and checks that the notification can fit
   * the service's limits. Returns problems as "field: rule" strings; empty when fine.
   */
  checkNotification(n: CanonicalNotification): string[];
  /**
   * Sends to every device; returns one outcome per device, in the same order. `report`,
   * when given, is called with each device's outcome as its answer arrives, so the worker
   * can record outcomes while the rest of the batch is still in flight (a crash then
   * resends only what was in flight). Outcomes decided without a request may be returned
   * without being reported. Once `signal` is aborted no new request is started: the
   * devices not yet sent get NOT_SENT.
   */
  send(credential: CredentialRecord, n: CanonicalNotification, devices: DeviceRef[], report?: OutcomeReport, signal?: AbortSignal): Promise<DeliveryOutcome[]>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}
