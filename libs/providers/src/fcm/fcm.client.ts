import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import https from 'node:https';
import { guardedLookup, trustOptions } from '@app/common';
import { AccessTokenSource, type FormPost } from './fcm.auth';
import type { ServiceAccount } from './fcm.credentials';

export interface FcmAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

/** The request never got an HTTP answer (reset, GOAWAY, timeout, refused connection). */
export class FcmTransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** FCM answers are small JSON documents; anything larger is cut off rather than buffered. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface ClientOptions {
  /** Extra trusted CA (the sandbox CA) on top of the system roots, or null. */
  extraCa: string | null;
  maxConcurrentStreams: number;
  requestTimeoutMs: number;
}



/**
 * One long-lived HTTP/2 session to an origin, at most `maxConcurrentStreams` requests
 * in flight (the rest wait in order). A session that closes, errors or receives GOAWAY
 * is dropped and the next request opens a new one.
 */
export class Http2Origin {
  private session: ClientHttp2Session | null = null;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly origin: string,
    private readonly opts: ClientOptions,
  ) {}

  async request(path: string, headers: Record<string, string>, body: string): Promise<FcmAnswer> {
    if (this.active >= this.opts.maxConcurrentStreams) await new Promise<void>((r) => this.waiting.push(r));
    this.active += 1;
    try {
      return await this.exchange(path, headers, body);
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = null;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => s.destroy(), 2000);
      s.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    if (this.closed) throw new FcmTransportError('client closed', 'ERR_CLIENT_CLOSED');
    const s = http2.connect(this.origin, trustOptions(this.opts.extraCa));
    const drop = (): void => {
      if (this.session === s) this.session = null;
    };
    // a session-level error fails the streams on it; the next request reconnects
    s.on('error', drop);
    s.on('goaway', drop);
    s.on('close', drop);
    this.session = s;
    return s;
  }

  private exchange(path: string, headers: Record<string, string>, body: string): Promise<FcmAnswer> {
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.connect().request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/json; charset=utf-8',
          ...headers,
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        return reject(new FcmTransportError(err.message, err.code ?? 'ERR_HTTP2_REQUEST'));
      }
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.setTimeout(this.opts.requestTimeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new FcmTransportError(`no answer within ${this.opts.requestTimeoutMs} ms`, 'ETIMEDOUT'));
      });
      stream.on('response', (h) => {
        status = Number(h[':status']);
        const ra = h['retry-after'];
        retryAfter = Array.isArray(ra) ? ra[0] : ra;
      });
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(c);
      });
      let ended = false;
      stream.on('end', () => {
        ended = true;
        resolve({ status, body: Buffer.concat(chunks).toString('utf8'), retryAfter });
      });
      stream.on('error', (e: NodeJS.ErrnoException) => reject(new FcmTransportError(e.message, e.code ?? 'ERR_HTTP2_STREAM')));
      stream.on('close', () => {
        // closed without 'end' (RST_STREAM, GOAWAY): a no-op if already settled
        if (!ended) reject(new FcmTransportError('stream closed before an answer', `RST_${stream.rstCode ?? 0}`));
      });
      stream.end(body);
    });
  }
}

/** Form POST over HTTPS (HTTP/1.1, kept alive) for the OAuth token endpoint. */
export function httpsFormPost(opts: { extraCa: string | null; timeoutMs: number; guardLookup: boolean; sandboxEnabled: boolean }): {
  post: FormPost;
  close(): void;
} {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 4,
    ...trustOptions(opts.extraCa),
    // the token URL can come from an uploaded credential: never dial private addresses
    ...(opts.guardLookup ? { lookup: guardedLookup(opts.sandboxEnabled) as unknown as https.AgentOptions['lookup'] } : {}),
  });
  const post: FormPost = (url, form) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
          timeout: opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_ANSWER_BYTES) chunks.push(c);
          });
          res.on('end', () => {
            const ra = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: ra });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('token request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(form);
    });
  return { post, close: () => agent.destroy() };
}

/**
 * Everything one credential needs to send: its service account, its access tokens and
 * its own HTTP/2 session to FCM. Never shared between credentials (or apps).
 */
export class FcmCredentialClient {
  readonly tokens: AccessTokenSource;
  private readonly http: Http2Origin;
  private readonly tokenHttp: { post: FormPost; close(): void };
  private readonly sendPath: string;

  constructor(
    readonly account: ServiceAccount,
    cfg: { baseUrl: string; tokenUrl: string; sandboxEnabled: boolean } & ClientOptions,
  ) {
    const base = new URL(cfg.baseUrl);
    this.http = new Http2Origin(base.origin, cfg);
    const prefix = base.pathname.replace(/\/+$/, '');
    this.sendPath = `${prefix}/v1/projects/${encodeURIComponent(account.projectId)}/messages:send`;
    this.tokenHttp = httpsFormPost({
      extraCa: cfg.extraCa,
      timeoutMs: cfg.requestTimeoutMs,
      guardLookup: account.tokenUri !== null,
      sandboxEnabled: cfg.sandboxEnabled,
    });
    this.tokens = new AccessTokenSource(account, account.tokenUri ?? cfg.tokenUrl, this.tokenHttp.post);
  }

  /** One HTTP v1 send; the body is `{"message": …}` already serialised. */
  send(accessToken: string, body: string): Promise<FcmAnswer> {
    return this.http.request(this.sendPath, { authorization: `Bearer ${accessToken}` }, body);
  }

  async close(): Promise<void> {
    this.tokenHttp.close();
    await this.http.close();
  }
}
