import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { createRequire } from 'node:module';
import type { Notification } from '@parse/node-apn';
import type { ProviderTokenSigner } from './apns.signer';

/**
 * node-apn 8.1, composed from its own factories (exactly as its index.js does) with three
 * of the dependencies replaced. Why:
 *
 * 1. `http2`: the client reads `headers['Retry-After']` (HTTP/2 header names are lower
 *    case, so it is always undefined) and deletes `retryAfter` from every error anyway;
 *    it also moves the reason of a 403 ExpiredProviderToken / 500 into an error message.
 *    Our http2 wraps each session's request() and records every complete answer
 *    (status, `retry-after`, `apns-id`, body) in an AnswerSink, keyed by the apns-id
 *    Apple returns on every answer, which node-apn passes back for sent and failed
 *    devices alike. Classification then reads status and reason fields, never messages.
 * 2. `prepareToken`: returns our ProviderTokenSigner (Apple's 20-minute refresh floor, one
 *    token shared by the credential's sandbox and production connections).
 * 3. `prepareCertificate`: the library re-validates certificates and decides the
 *    environment from the host name (any host but api.push.apple.com counts as sandbox),
 *    so it refuses a production certificate behind a custom host. We validate at upload
 *    (apns.credentials.ts) and hand TLS the PEM we stored.
 *
 * The Provider, Client, sessions, request building and token use are node-apn's own.
 * Its Client API surface we touch (`client.session`, `client.setLogger`) is typed below.
 */

export interface ApnsAnswer {
  status: number;
  apnsId?: string;
  /** The `retry-after` header as sent (seconds or an HTTP date). */
  retryAfter?: string;
  /** Apple's `reason` from the JSON body. */
  reason?: string;
  /** Unix ms from a 410 body: when the token stopped being valid. */
  timestamp?: number;
}

/** Answers recorded by the instrumented http2, taken once by the connection that sent the request. */
export class AnswerSink {
  private readonly answers = new Map<string, ApnsAnswer>();
  /** Answers nobody takes (a request node-apn timed out itself) must not pile up. */
  private static readonly MAX = 20_000;

  put(path: string, answer: ApnsAnswer): void {
    if (this.answers.size >= AnswerSink.MAX) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
    this.answers.set(`${answer.apnsId ?? ''}|${path}`, answer);
  }

  take(path: string, apnsId: string | undefined): ApnsAnswer | undefined {
    for (const key of [`${apnsId ?? ''}|${path}`, `|${path}`]) {
      const a = this.answers.get(key);
      if (a) {
        this.answers.delete(key);
        return a;
      }
    }
    return undefined;
  }
}

function headerString(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function instrument(session: ClientHttp2Session, sink: AnswerSink): void {
  const request = session.request.bind(session);
  session.request = ((headers?: OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions) => {
    const stream = request(headers, options);
    const path = String(headers?.[':path'] ?? '');
    let head: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    // Registered before node-apn's own 'end' listener, so the answer is in the sink when its promise settles.
    stream.on('end', () => {
      if (!head) return;
      const answer: ApnsAnswer = {
        status: Number(head[':status']),
        apnsId: headerString(head, 'apns-id'),
        retryAfter: headerString(head, 'retry-after'),
      };
      const body = Buffer.concat(chunks).toString('utf8');
      if (body) {
        try {
          const parsed = JSON.parse(body) as { reason?: unknown; timestamp?: unknown };
          if (typeof parsed.reason === 'string') answer.reason = parsed.reason;
          if (typeof parsed.timestamp === 'number') answer.timestamp = parsed.timestamp;
        } catch {
          // Not JSON: only the status speaks.
        }
      }
      sink.put(path, answer);
    });
    return stream;
  }) as ClientHttp2Session['request'];
}

export interface ApnProviderOptions {
  address: string;
  port: number;
  ca?: string[];
  rejectUnauthorized: boolean;
  /** 0: node-apn never resends; the gateway's retry policy decides. */
  connectionRetryLimit: number;
  requestTimeout: number;
  heartBeat: number;
  production: boolean;
  token?: { key: string; keyId: string; teamId: string; signer: ProviderTokenSigner };
  cert?: string;
  key?: string;
  /** Not a node-apn option: travels with the config into our http2.connect. */
  answerSink: AnswerSink;
}

export interface ApnSendResult {
  sent: Array<{ device: string; 'apns-id'?: string }>;
  failed: Array<{ device: string; 'apns-id'?: string; status?: number | string; error?: Error; response?: { reason?: string } }>;
}

/** node-apn's Provider as composed here. */
export interface ApnProvider {
  client: {
    session?: ClientHttp2Session;
    setLogger(logger: LogFn, errorLogger?: LogFn): void;
  };
  send(notification: Notification, recipients: string[]): Promise<ApnSendResult>;
  shutdown(callback?: () => void): void;
}

export type LogFn = ((msg: string) => void) & { enabled: boolean };

export const silentLog: LogFn = Object.assign(() => undefined, { enabled: false });
const load = createRequire(__filename);
type Factory = (deps: Record<string, unknown>) => unknown;

const instrumentedHttp2 = {
  constants: http2.constants,
  connect(authority: string, options: ApnProviderOptions & http2.SecureClientSessionOptions): ClientHttp2Session {
    const session = http2.connect(authority, options);
    instrument(session, options.answerSink);
    return session;
  },
};

const config = (load('@parse/node-apn/lib/config') as Factory)({
  logger: silentLog,
  prepareToken: (token: { signer: ProviderTokenSigner }) => token.signer,
  prepareCertificate: (c: { cert?: string; key?: string }) => ({ cert: c.cert, key: c.key, pfx: undefined, passphrase: undefined }),
  prepareCA: (c: { ca?: string[] | null }) => ({ ca: c.ca ?? undefined }),
});
const Client = (load('@parse/node-apn/lib/client') as Factory)({ logger: silentLog, config, http2: instrumentedHttp2 });
const ProviderCtor = (load('@parse/node-apn/lib/provider') as Factory)({ logger: silentLog, Client }) as new (
  options: ApnProviderOptions,
) => ApnProvider;

export function createApnProvider(options: ApnProviderOptions): ApnProvider {
  return new ProviderCtor(options);
}
