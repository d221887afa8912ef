import { Agent, request } from 'node:https';
import { guardedLookup, trustOptions } from '@app/common';
import type { WnsAnswer } from './wns.classifier';
import type { WnsSecret } from './wns.credentials';
import { tokenUrlFor, WnsTokenSource, type TokenUrls } from './wns.auth';
import type { WnsRequest } from './wns.translator';

export interface WnsClientOptions extends TokenUrls {
  maxSockets: number;
  sandboxEnabled: boolean;
  /** PEM trusted in addition to the system roots (the sandbox CA), or null. */
  extraCa: string | null;
  /** Per request; a stalled channel becomes a transport error (retried). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The long-lived client of ONE credential: a keep-alive https.Agent for the channel
 * hosts, a small one for the token endpoint, and the credential's token cache.
 * Channel connections go through guardedLookup, so a channel host whose DNS points at
 * a private address is refused at connect time. Redirects are never followed.
 */
export class WnsClient {
  readonly tokens: WnsTokenSource;
  private readonly channelAgent: Agent;
  private readonly tokenAgent: Agent;
  private readonly timeoutMs: number;
  private active = 0;
  private retired = false;
  private closed = false;

  constructor(secret: WnsSecret, opts: WnsClientOptions) {
    const trust = trustOptions(opts.extraCa);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.channelAgent = new Agent({
      keepAlive: true,
      maxSockets: opts.maxSockets,
      ...trust,
      lookup: guardedLookup(opts.sandboxEnabled),
    });
    // The token URL is operator configuration, not client input: no address guard.
    this.tokenAgent = new Agent({ keepAlive: true, maxSockets: 2, ...trust });
    this.tokens = new WnsTokenSource(secret, tokenUrlFor(secret, opts), this.tokenAgent, this.timeoutMs);
  }

  /**
   * POSTs the notification to one channel. A 401 gets exactly one more try with a
   * fresh token (shared with every other send that saw the same 401). Throws
   * WnsTokenError only when no token can be had.
   */
  async deliver(channel: URL, req: WnsRequest): Promise<WnsAnswer> {
    this.active += 1;
    try {
      const token = await this.tokens.get();
      const answer = await this.post(channel, req, token);
      if (answer.kind !== 'http' || answer.status !== 401) return answer;
      const fresh = await this.tokens.refresh(token);
      return await this.post(channel, req, fresh);
    } finally {
      this.active -= 1;
      if (this.retired && this.active === 0) this.close();
    }
  }

  private post(channel: URL, req: WnsRequest, token: string): Promise<WnsAnswer> {
    return new Promise((resolve) => {
      const r = request(channel, {
        method: 'POST',
        agent: this.channelAgent,
        timeout: this.timeoutMs,
        headers: { ...req.headers, Authorization: `Bearer ${token}`, 'Content-Length': req.body.length },
      });
      r.on('timeout', () => r.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      r.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'transport', code: err.code ?? 'EUNKNOWN' }));
      r.on('response', (res) => {
        const h = (name: string): string | undefined => {
          const v = res.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const answer: WnsAnswer = {
          kind: 'http',
          status: res.statusCode ?? 0,
          wnsStatus: h('x-wns-status'),
          msgId: h('x-wns-msg-id'),
          errorDescription: h('x-wns-error-description')?.slice(0, 300),
          deviceConnectionStatus: h('x-wns-deviceconnectionstatus'),
          retryAfter: h('retry-after'),
        };
        // Drain the body so the socket goes back to the pool.
        res.on('error', () => resolve(answer));
        res.on('end', () => resolve(answer));
        res.resume();
      });
      r.end(req.body);
    });
  }

  /** Closes once the sends in flight are done (used when the credential is replaced). */
  retire(): void {
    this.retired = true;
    if (this.active === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channelAgent.destroy();
    this.tokenAgent.destroy();
  }
}
