import type { Notification } from '@parse/node-apn';
import type { ApnsEnvironment } from '../canonical';
import type { ApnsAttempt } from './apns.classifier';
import { AnswerSink, createApnProvider, silentLog, type ApnProvider, type ApnProviderOptions, type LogFn } from './apns.node-apn';
import type { ProviderTokenSigner } from './apns.signer';

export interface ApnsConnectionOptions {
  environment: ApnsEnvironment;
  host: string;
  port: number;
  ca?: string[];
  requestTimeoutMs: number;
  /** Streams in flight once warm; also capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxStreams: number;
  auth: { signer: ProviderTokenSigner; key: string; keyId: string; teamId: string } | { cert: string; key: string };
  log: LogFn;
}

/**
 * One long-lived node-apn Provider (one HTTP/2 session) for one credential and one
 * environment, shared by every job of that credential.
 *
 * node-apn fires every recipient at once. Apple allows one stream on a new connection
 * until a request with valid credentials has been answered, and a burst on a cold
 * session loses streams (NGHTTP2_REFUSED_STREAM) or times them out in nghttp2's queue.
 * So requests pass a window shared by all jobs on this connection: one stream while
 * the session is cold, then up to min(maxStreams, the server's advertised limit). A
 * replaced session (GOAWAY, error) is cold again.
 */
export class ApnsConnection {
  readonly environment: ApnsEnvironment;
  private readonly sink = new AnswerSink();
  private readonly provider: ApnProvider;
  private warmSession: unknown = null;
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly opts: ApnsConnectionOptions) {
    this.environment = opts.environment;
    const options: ApnProviderOptions = {
      address: opts.host,
      port: opts.port,
      ca: opts.ca,
      rejectUnauthorized: true,
      connectionRetryLimit: 0,
      requestTimeout: opts.requestTimeoutMs,
      heartBeat: 60_000,
      production: opts.environment === 'production',
      answerSink: this.sink,
    };
    if ('signer' in opts.auth) options.token = { ...opts.auth };
    else Object.assign(options, { cert: opts.auth.cert, key: opts.auth.key });
    this.provider = createApnProvider(options);
    // Only node-apn's error log (session errors, GOAWAY, stream errors); its per-request log would cost on every send.
    this.provider.client.setLogger(silentLog, opts.log);
  }

  private isWarm(): boolean {
    const s = this.provider.client.session;
    return !!s && s === this.warmSession && !s.closed && !s.destroyed;
  }

  /** Streams allowed in flight right now. */
  limit(): number {
    if (!this.isWarm()) return 1;
    const remote = this.provider.client.session?.remoteSettings.maxConcurrentStreams ?? this.opts.maxStreams;
    return Math.max(1, Math.min(this.opts.maxStreams, remote));
  }

  private async acquire(): Promise<void> {
    while (this.inFlight >= this.limit()) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight += 1;
  }

  private release(): void {
    this.inFlight -= 1;
    let free = this.limit() - this.inFlight;
    while (free-- > 0 && this.waiters.length > 0) this.waiters.shift()?.();
  }

  /**
   * Sends one notification to one device; never throws. `skip` is asked once the stream
   * slot is ours, so a batch can stop early when the credential turned out to be bad.
   */
  async sendOne(note: Notification, token: string, skip: () => boolean): Promise<ApnsAttempt | null> {
    await this.acquire();
    try {
      if (skip()) return null;
      const result = await this.provider.send(note, [token]);
      const r = result.sent[0] ?? result.failed[0];
      const answer = this.sink.take(`/3/device/${token}`, r?.['apns-id']);
      if (answer) {
        // Any answer but an authentication refusal means Apple accepted our credentials on this session.
        if (answer.status !== 403) this.warmSession = this.provider.client.session ?? null;
        return { answer };
      }
      if (result.sent.length > 0) return { answer: { status: 200, apnsId: result.sent[0]['apns-id'] } };
      const err = result.failed[0]?.error;
      return { transportError: err instanceof Error ? err.message : 'no answer' };
    } catch (e) {
      // node-apn rejects instead of resolving only for programming errors (bad path); keep the contract.
      const err = (e as { error?: unknown }).error ?? e;
      return { transportError: err instanceof Error ? err.message : 'send failed' };
    } finally {
      // the next waiter's skip() runs after this answer has been reported (a circuit it
      // opens then stops the rest of the batch), not before: release on the next turn
      setImmediate(() => this.release());
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.provider.shutdown(resolve));
  }
}
