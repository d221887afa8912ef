import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, trustOptions } from '@app/common';
import type { WebhookTarget } from '@app/db';
import { signatureHeader, WebhookHeaders } from './webhook.signature';

export type SendResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** Bytes of a receiver's answer that are read (and discarded); the rest is cut off. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs signed webhook bodies. SSRF protection at send time, on top of checkUrl at
 * creation: https only, no userinfo, no IP literal, and the agent's `guardedLookup` refuses private,
 * loopback and link-local answers when the socket connects (DNS rebinding). Redirects
 * are never followed (a 3xx is a failed delivery). One deadline covers connect, TLS,
 * request and response.
 */
export class WebhookSender {
  private readonly agent: https.Agent;

  constructor(private readonly opts: { sandboxEnabled: boolean; extraCa: string | null; timeoutMs: number }) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 64,
      lookup: guardedLookup(opts.sandboxEnabled) as unknown as https.AgentOptions['lookup'],
      // the sandbox CA is trusted for webhooks only while the sandbox is enabled (local receivers in tests and dev)
      ...trustOptions(opts.sandboxEnabled ? opts.extraCa : null),
    });
  }

  send(target: WebhookTarget, body: string, meta: { deliveryId: string; eventType: string }, now = Date.now()): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      return Promise.resolve({ ok: false, status: null, error: 'invalid url' });
    }
    // an IP literal would skip the guarded lookup: never dialled (checkUrl refuses them at creation too)
    if (url.protocol !== 'https:' || url.username || url.password || isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) {
      return Promise.resolve({ ok: false, status: null, error: 'url rejected: https to a DNS name, without userinfo' });
    }
    const timestamp = Math.floor(now / 1000);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const done = (r: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(r);
      };
      const req = https.request(url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'push-gateway-webhooks/1',
          [WebhookHeaders.Signature]: signatureHeader(target.secret, timestamp, body),
          [WebhookHeaders.Event]: meta.eventType,
          [WebhookHeaders.Delivery]: meta.deliveryId,
        },
      });
      const deadline = setTimeout(() => {
        req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          if (status >= 200 && status < 300) done({ ok: true, status });
          else if (status >= 300 && status < 400) done({ ok: false, status, error: `HTTP ${status}: redirects are not followed` });
          else done({ ok: false, status, error: `HTTP ${status}` });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, status: null, error: err.code ? `${err.code}: ${err.message}` : err.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
