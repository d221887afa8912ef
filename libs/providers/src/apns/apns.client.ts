import { rootCertificates } from 'node:tls';
import type { LoggerService } from '@nestjs/common';
import { Notification } from '@parse/node-apn';
import { type AppConfig, redactToken } from '@app/common';
import type { ApnsEnvironment } from '../canonical';
import { NOT_SENT, type CredentialRecord, type DeliveryOutcome, type DeviceRef, type OutcomeReport } from '../provider.interface';
import { classifyApns, isCredentialVerdict, type ApnsVerdict } from './apns.classifier';
import { ApnsConnection } from './apns.connection';
import { parseSigningKey, readApnsSecret, type ApnsSecret } from './apns.credentials';
import type { LogFn } from './apns.node-apn';
import { ProviderTokenSigner } from './apns.signer';
import type { ApnsRequest } from './apns.translator';

interface CredentialClients {
  id: string;
  version: number;
  appId: string;
  secret: ApnsSecret;
  /** Token auth: one token for both environments. */
  signer: ProviderTokenSigner | null;
  connections: Map<ApnsEnvironment, ApnsConnection>;
}

export interface ApnsClientOptions {
  config: AppConfig['apns'];
  extraCa: string | null;
  logger: LoggerService;
  /** Clock of the provider-token signer. */
  now?: () => number;
}

/** The environment a device is sent through, or why this credential cannot reach it. */
export function routeEnvironment(
  secret: ApnsSecret,
  credential: Pick<CredentialRecord, 'environment'>,
  device: Pick<DeviceRef, 'environment'>,
): { environment: ApnsEnvironment } | { failure: DeliveryOutcome } {
  const served = secret.authType === 'certificate' ? (credential.environment ?? secret.environment) : credential.environment;
  if (secret.authType === 'certificate' && !served) {
    return { failure: { kind: 'failed', reason: 'environment: a certificate credential needs an environment (sandbox or production)', alarm: true } };
  }
  const wanted = device.environment ?? served ?? 'production';
  if (served && wanted !== served) {
    return { failure: { kind: 'failed', reason: `environment: the device is registered for ${wanted}, this credential serves ${served} only` } };
  }
  return { environment: wanted };
}

/**
 * Pooled APNs connections: per credential (id + version, never shared across apps) one
 * connection per environment it serves, each a long-lived node-apn Provider.
 */
export class ApnsClient {
  private readonly pool = new Map<string, CredentialClients>();
  private readonly ca: string[] | undefined;
  private readonly log: LogFn;

  constructor(private readonly opts: ApnsClientOptions) {
    // A `ca` list replaces the system roots in TLS: keep them so real Apple still verifies.
    this.ca = opts.extraCa ? [...rootCertificates, opts.extraCa] : undefined;
    const logger = opts.logger;
    this.log = Object.assign((msg: string) => logger.debug?.(`apns: ${msg}`), { enabled: !!logger.debug });
  }

  /** The credential's pooled clients, rebuilt when its version changes. Throws CredentialRejected. */
  clientsFor(credential: CredentialRecord): CredentialClients {
    const existing = this.pool.get(credential.id);
    if (existing && existing.version === credential.version && existing.appId === credential.appId) return existing;
    if (existing) {
      this.pool.delete(credential.id);
      void this.closeClients(existing);
    }
    const secret = readApnsSecret(credential.secret);
    const signer = secret.authType === 'token'
      ? new ProviderTokenSigner(parseSigningKey(secret.key), secret.keyId, secret.teamId, this.opts.now)
      : null;
    const entry: CredentialClients = { id: credential.id, version: credential.version, appId: credential.appId, secret, signer, connections: new Map() };
    this.pool.set(credential.id, entry);
    return entry;
  }

  private connection(entry: CredentialClients, environment: ApnsEnvironment): ApnsConnection {
    let conn = entry.connections.get(environment);
    if (conn) return conn;
    const cfg = this.opts.config;
    const s = entry.secret;
    conn = new ApnsConnection({
      environment,
      host: environment === 'production' ? cfg.productionHost : cfg.sandboxHost,
      port: environment === 'production' ? cfg.productionPort : cfg.sandboxPort,
      ca: this.ca,
      requestTimeoutMs: cfg.requestTimeoutMs,
      maxStreams: cfg.maxConcurrentStreams,
      auth: s.authType === 'token' && entry.signer
        ? { signer: entry.signer, key: s.key, keyId: s.keyId, teamId: s.teamId }
        : { cert: s.authType === 'certificate' ? s.certificate : '', key: s.authType === 'certificate' ? s.privateKey : '' },
      log: this.log,
    });
    entry.connections.set(environment, conn);
    return conn;
  }

  /**
   * Sends one translated notification to every device: one outcome per device, same
   * order. Identical tokens are sent once. A 403 ExpiredProviderToken re-signs the token
   * (if Apple's 20-minute floor allows) and resends those devices once; nothing else is
   * resent here: retries belong to the gateway's retry policy.
   */
  async send(credential: CredentialRecord, req: ApnsRequest, devices: DeviceRef[], report?: OutcomeReport, signal?: AbortSignal): Promise<DeliveryOutcome[]> {
    const entry = this.clientsFor(credential);
    const note = new Notification();
    note.rawPayload = req.payload;
    note.topic = req.headers['apns-topic'];
    note.pushType = req.pushType;
    note.priority = Number(req.headers['apns-priority']);
    note.expiry = req.headers['apns-expiration'] !== undefined ? Number(req.headers['apns-expiration']) : -1;
    if (req.headers['apns-collapse-id'] !== undefined) note.collapseId = req.headers['apns-collapse-id'];
    if (req.headers['apns-id'] !== undefined) note.id = req.headers['apns-id'];

    const outcomes: DeliveryOutcome[] = new Array(devices.length);
    // environment → token → indexes of the devices with that token
    const groups = new Map<ApnsEnvironment, Map<string, number[]>>();
    devices.forEach((d, i) => {
      const route = routeEnvironment(entry.secret, credential, d);
      if ('failure' in route) {
        outcomes[i] = route.failure;
        return;
      }
      const byToken = groups.get(route.environment) ?? new Map<string, number[]>();
      byToken.set(d.token, [...(byToken.get(d.token) ?? []), i]);
      groups.set(route.environment, byToken);
    });

    const generation = entry.signer?.generation ?? 0;
    const expired = await this.round(entry, note, groups, outcomes, report, signal);
    if (expired.size > 0) {
      const signer = entry.signer;
      if (signer && signer.generation > generation) {
        this.opts.logger.warn(`apns credential ${credential.id}: provider token re-signed after ExpiredProviderToken; resending ${countTokens(expired)}`);
        const again = await this.round(entry, note, expired, outcomes);
        // Still expired with a brand-new token: the host clock is wrong, not the token.
        settle(again, outcomes, { kind: 'failed', reason: '403 ExpiredProviderToken after re-signing: check the server clock', alarm: true });
      } else if (signer) {
        const wait = signer.msUntilRefreshAllowed();
        settle(expired, outcomes, { kind: 'retry', reason: '403 ExpiredProviderToken (token younger than 20 min: not re-signed yet)', retryAfterMs: Math.max(wait, 1000) });
      } else {
        settle(expired, outcomes, { kind: 'failed', reason: '403 ExpiredProviderToken on certificate auth', alarm: true });
      }
    }
    return outcomes;
  }

  /** Sends every group; fills `outcomes`; returns the tokens answered 403 ExpiredProviderToken. */
  private async round(
    entry: CredentialClients,
    note: Notification,
    groups: Map<ApnsEnvironment, Map<string, number[]>>,
    outcomes: DeliveryOutcome[],
    report?: OutcomeReport,
    signal?: AbortSignal,
  ): Promise<Map<ApnsEnvironment, Map<string, number[]>>> {
    const expired = new Map<ApnsEnvironment, Map<string, number[]>>();
    let stop: DeliveryOutcome | null = null;
    const tasks: Array<Promise<void>> = [];
    for (const [environment, byToken] of groups) {
      const conn = this.connection(entry, environment);
      for (const [token, indexes] of byToken) {
        tasks.push((async () => {
          const attempt = await conn.sendOne(note, token, () => stop !== null || signal?.aborted === true);
          let verdict: ApnsVerdict;
          // not sent: the batch was stopped (a credential verdict) or held (its circuit opened)
          if (attempt === null) {
            if (!stop) {
              for (const i of indexes) outcomes[i] = NOT_SENT;
              return;
            }
            verdict = stop;
          } else {
            verdict = classifyApns(attempt, environment);
            if ((verdict.kind === 'failed' || verdict.kind === 'retry') && isCredentialVerdict(verdict, attempt)) {
              if (!stop) this.opts.logger.error(`apns credential ${entry.id} v${entry.version} (${environment}): ${verdict.reason}; not sending the rest of this batch`);
              stop ??= verdict;
            }
            if (verdict.kind === 'retry' && attempt.answer === undefined) {
              this.log(`transport failure to ${redactToken(token)} (${environment}): ${verdict.reason}`);
            }
          }
          if (verdict.kind === 'refresh_auth') {
            const m = expired.get(environment) ?? new Map<string, number[]>();
            m.set(token, indexes);
            expired.set(environment, m);
            return;
          }
          for (const i of indexes) {
            outcomes[i] = verdict;
            report?.(i, verdict);
          }
        })());
      }
    }
    await Promise.all(tasks);
    return expired;
  }

  private async closeClients(entry: CredentialClients): Promise<void> {
    await Promise.all([...entry.connections.values()].map((c) => c.close()));
  }

  async close(): Promise<void> {
    const entries = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(entries.map((e) => this.closeClients(e)));
  }
}

function countTokens(groups: Map<ApnsEnvironment, Map<string, number[]>>): number {
  let n = 0;
  for (const m of groups.values()) n += m.size;
  return n;
}

function settle(groups: Map<ApnsEnvironment, Map<string, number[]>>, outcomes: DeliveryOutcome[], outcome: DeliveryOutcome): void {
  for (const m of groups.values()) for (const indexes of m.values()) for (const i of indexes) outcomes[i] = outcome;
}
