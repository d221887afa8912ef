import { Agent, request } from 'node:https';
import { guardedLookup, trustOptions } from '@app/common';
import type { PushAnswer } from './webpush.classifier';

export interface WebpushTransportOptions {
  maxSocketsPerOrigin: number;
  sandboxEnabled: boolean;
  /** PEM of an extra trusted CA (the sandbox CA), added to the system roots. */
  extraCa: string | null;
  /** No answer within this time → transport error (retried by the pipeline). */
  timeoutMs?: number;
}

/** Error bodies are read only to enrich the reason; never more than this. */
const MAX_ANSWER_BODY = 4096;
const DEFAULT_TIMEOUT_MS = 20_000;
/** Idle keep-alive sockets are closed after this, so rarely used origins hold nothing. */
const IDLE_SOCKET_MS = 60_000;

/** The transport code of a request dropped before it was written (its batch was held). */
export const NOT_SENT_CODE = 'ENOTSENT';

/**
 * HTTPS POSTs to push services over keep-alive connections, one `https.Agent` per
 * origin (maxSockets bounds the concurrency each push service sees).
 *
 * The agents are shared by all credentials: a Web Push connection carries no
 * credential state (VAPID is a per-request header, TLS is anonymous), and a bound
 * per origin is only a bound if every app's sends count against it. Redirects are
 * never followed (https.request does not), and every connect goes through
 * guardedLookup so a name resolving to a private address is refused.
 */
export class WebpushTransport {
  private readonly agents = new Map<string, Agent>();
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: WebpushTransportOptions) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private agentFor(origin: string): Agent {
    let agent = this.agents.get(origin);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        maxSockets: this.opts.maxSocketsPerOrigin,
        maxFreeSockets: this.opts.maxSocketsPerOrigin,
        timeout: IDLE_SOCKET_MS,
        scheduling: 'lifo',
        lookup: guardedLookup(this.opts.sandboxEnabled),
        ...trustOptions(this.opts.extraCa),
      });
      this.agents.set(origin, agent);
    }
    return agent;
  }

  /**
   * POSTs an encrypted message. Never rejects: a missing answer is a `transport` result.
   * `skip` is asked when the request gets its socket (it may wait in the agent's queue for
   * one): true drops it unsent, answered `transport` NOT_SENT_CODE.
   */
  post(url: URL, headers: Record<string, string>, body: Buffer, skip?: () => boolean): Promise<PushAnswer> {
    if (this.closed) return Promise.resolve({ kind: 'transport', code: 'ECLOSED' });
    return new Promise<PushAnswer>((resolve) => {
      let settled = false;
      const done = (a: PushAnswer): void => {
        if (!settled) {
          settled = true;
          resolve(a);
        }
      };
      const req = request(
        {
          agent: this.agentFor(url.origin),
          protocol: 'https:',
          hostname: url.hostname,
          port: url.port || 443,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: {
            ...headers,
            'Content-Type': 'application/octet-stream',
            'Content-Encoding': 'aes128gcm',
            'Content-Length': String(body.length),
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // Keep reading (so the socket returns to the pool) but store only the start.
            if (size < MAX_ANSWER_BODY) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).subarray(0, MAX_ANSWER_BODY).toString('utf8');
            done({
              kind: 'answer',
              status,
              retryAfter: header(res.headers['retry-after']),
              location: header(res.headers.location),
              body: text || undefined,
            });
          });
          res.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'transport', code: e.code ?? 'ERESPONSE' }));
        },
      );
      if (skip) {
        req.once('socket', () => {
          if (!skip()) return;
          done({ kind: 'transport', code: NOT_SENT_CODE });
          req.destroy();
        });
      }
      req.setTimeout(this.timeoutMs, () => {
        done({ kind: 'transport', code: 'ETIMEDOUT' });
        req.destroy();
      });
      req.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'transport', code: e.code ?? 'EREQUEST' }));
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
