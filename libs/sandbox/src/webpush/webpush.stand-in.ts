import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { decrypt } from 'http_ece';
import { FaultPlan } from '../core/fault-plan';
import { applyFault, dropRequest, type ControlAnswer, type ControlRequest, type StandIn, type StandInContext } from '../core/stand-in';
import { TrafficMeter } from '../core/traffic-meter';
import { SubscriptionBook } from './webpush.subscriptions';
import { VapidChecker } from './webpush.vapid-check';

/** RFC 8030 §7.2 / RFC 8291 §4: push services must accept 4096 bytes of body; the stand-in accepts no more. */
const MAX_BODY = 4096;
/** Bodies are read this far before the request is cut off. */
const READ_LIMIT = 64 * 1024;
const MAX_MINT = 10_000;
/** Distinct JWTs remembered for /webpush/stats (web-push as shipped makes one per message). */
const JWT_LIMIT = 100_000;
const PUSH_PATH = /^\/push\/([A-Za-z0-9_-]+)$/;

/** The VAPID key that signed a request (RFC 8292 `k=`), shortened: the per-credential label. */
function vapidKeyOf(req: Http2ServerRequest): string {
  const k = /\bk=([A-Za-z0-9_-]+)/.exec(header(req, 'authorization') ?? '');
  return k ? `vapid:${k[1].slice(0, 16)}` : 'none';
}

/**
 * A Web Push service on its own HTTPS port (HTTP/2 with HTTP/1.1 fallback, like FCM):
 * `POST /push/<id>` checks VAPID (RFC 8292), TTL and Content-Encoding, decrypts the
 * aes128gcm body with the subscription's user-agent key (http_ece) and records the
 * plaintext. It also plays the browser: `POST /webpush/subscriptions` on the control
 * server mints subscriptions whose keys it keeps.
 */
export class WebpushStandIn implements StandIn {
  readonly provider = 'webpush' as const;
  private port = 0;
  private server: Http2SecureServer | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly book: SubscriptionBook;
  private readonly vapid: VapidChecker;
  /** Distinct JWTs seen per VAPID public key. */
  private readonly jwts = new Map<string, Set<string>>();
  private jwtCount = 0;
  /** TLS connections accepted, so tests can check that senders keep connections alive. */
  private connections = 0;
  private readonly answered: Record<string, number> = {};
  private readonly faults: FaultPlan;
  private readonly traffic: TrafficMeter;

  constructor(private readonly ctx: StandInContext) {
    this.faults = ctx.faults ?? new FaultPlan();
    this.traffic = ctx.traffic ?? new TrafficMeter();
    this.book = new SubscriptionBook(ctx.tls.keyPem);
    this.vapid = new VapidChecker(() => this.baseUrl());
  }

  async listen(port: number): Promise<number> {
    const server = createSecureServer({ allowHTTP1: true, key: this.ctx.tls.keyPem, cert: this.ctx.tls.certPem });
    server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      this.connections += 1;
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      if (req.method === 'POST' && PUSH_PATH.test(new URL(req.url ?? '/', 'https://x').pathname)) {
        const finished = this.traffic.begin('webpush', vapidKeyOf(req));
        res.once('close', () => finished(res.headersSent));
      }
      this.handle(req, res).catch(() => this.answer(res, 500, { error: 'stand-in error' }));
    });
    await new Promise<void>((resolve) => server.listen(port, resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  baseUrl(): string {
    return `https://${this.ctx.host}:${this.port}`;
  }

  private answer(res: Http2ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    this.answered[status] = (this.answered[status] ?? 0) + 1;
    if (status >= 300) this.ctx.store.countRejected('webpush');
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...headers, ...(text ? { 'content-type': 'application/json' } : {}), 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  /** Autopush-style error body: {code, errno, error, message}. */
  private refuse(res: Http2ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    this.answer(res, status, { code: status, errno: 900 + (status % 100), error: 'push refused', message }, headers);
  }

  private async handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const m = PUSH_PATH.exec(new URL(req.url ?? '/', 'https://x').pathname);
    if (!m || req.method !== 'POST') return this.refuse(res, 404, 'not a push endpoint');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > READ_LIMIT) return this.refuse(res, 413, `body over ${MAX_BODY} bytes`);
      chunks.push(c as Buffer);
    }
    const body = Buffer.concat(chunks);
    if (await this.applyFault(req, res)) return;
    const sub = this.book.find(m[1]);
    if (sub === null) return this.refuse(res, 404, 'no such subscription');
    if (sub === 'gone') return this.refuse(res, 410, 'subscription expired or unsubscribed');

    const inj = this.ctx.store.takeInjection('webpush', sub.id);
    if (inj) {
      if (inj.stallMs) await new Promise((r) => setTimeout(r, inj.stallMs));
      const headers: Record<string, string> = inj.retryAfter !== undefined ? { 'retry-after': String(inj.retryAfter) } : {};
      return this.refuse(res, inj.status, inj.reason ?? 'injected', headers);
    }

    if (body.length > MAX_BODY) return this.refuse(res, 413, `body is ${body.length} bytes; the limit is ${MAX_BODY}`);
    const verdict = this.vapid.check(header(req, 'authorization'), Date.now());
    if (!verdict.ok) return this.refuse(res, verdict.status, verdict.reason);
    this.countJwt(verdict.k, verdict.jwt);
    if (sub.serverKeyHash && !sub.serverKeyHash.equals(verdict.keyHash)) {
      return this.refuse(res, 403, 'VAPID key does not match the applicationServerKey of this subscription');
    }
    const ttl = header(req, 'ttl');
    if (ttl === undefined || !/^\d+$/.test(ttl)) return this.refuse(res, 400, 'TTL header is required');
    if (header(req, 'content-encoding')?.toLowerCase() !== 'aes128gcm') {
      return this.refuse(res, 400, 'Content-Encoding must be aes128gcm');
    }
    const urgency = header(req, 'urgency');
    if (urgency !== undefined && !['very-low', 'low', 'normal', 'high'].includes(urgency)) {
      return this.refuse(res, 400, 'Urgency must be very-low, low, normal or high');
    }
    const topic = header(req, 'topic');
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return this.refuse(res, 400, 'Topic must be ≤ 32 base64url chars');

    let plaintext: Buffer;
    try {
      plaintext = decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth });
    } catch {
      return this.refuse(res, 400, 'payload does not decrypt with the subscription keys');
    }
    const text = plaintext.toString('utf8');
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // not JSON: recorded as text
    }
    const headers: Record<string, string> = { ttl };
    if (urgency) headers.urgency = urgency;
    if (topic) headers.topic = topic;
    this.ctx.store.record({ provider: 'webpush', device: sub.id, at: Date.now(), headers, payload });
    this.answer(res, 201, undefined, { location: `${this.baseUrl()}/m/${randomUUID()}` });
  }

  /** A service-wide fault, as a push service (autopush, FCM's Web Push endpoint) shows it; true when it answered or dropped the request. */
  private applyFault(req: Http2ServerRequest, res: Http2ServerResponse): Promise<boolean> {
    return applyFault(this.faults.active('webpush'), (mode) => dropRequest(req, mode), (status, f) =>
      this.refuse(res, status, f.reason ?? 'service unavailable', f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {}));
  }

  private countJwt(k: string, jwt: string): void {
    let set = this.jwts.get(k);
    if (!set) this.jwts.set(k, (set = new Set()));
    if (set.has(jwt) || this.jwtCount >= JWT_LIMIT) return;
    set.add(jwt);
    this.jwtCount += 1;
  }

  async control(req: ControlRequest): Promise<ControlAnswer> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.path === 'subscriptions' && req.method === 'POST') {
      let serverKey: Buffer | undefined;
      if (body.applicationServerKey !== undefined) {
        serverKey = typeof body.applicationServerKey === 'string' ? Buffer.from(body.applicationServerKey, 'base64url') : undefined;
        if (!serverKey || serverKey.length !== 65 || serverKey[0] !== 4) {
          return { status: 400, body: { error: 'applicationServerKey must be a 65-byte P-256 public key, base64url' } };
        }
      }
      const mintOne = () => {
        const s = this.book.mint(serverKey);
        return { endpoint: `${this.baseUrl()}/push/${s.id}`, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } };
      };
      if (body.count === undefined) return { status: 201, body: mintOne() };
      const count = Number(body.count);
      if (!Number.isInteger(count) || count < 1 || count > MAX_MINT) {
        return { status: 400, body: { error: `count must be an integer from 1 to ${MAX_MINT}` } };
      }
      return { status: 201, body: { subscriptions: Array.from({ length: count }, mintOne) } };
    }
    const del = /^subscriptions\/([A-Za-z0-9_-]+)$/.exec(req.path);
    if (del && req.method === 'DELETE') {
      return this.book.unsubscribe(del[1]) ? { status: 200, body: { ok: true } } : { status: 404, body: { error: 'no such subscription' } };
    }
    if (req.path === 'vapid-keys' && req.method === 'POST') {
      // A credential config ready for POST /v1/apps/:appId/credentials {"provider":"webpush","config":…}.
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const priv = Buffer.alloc(32);
      const raw = ecdh.getPrivateKey();
      raw.copy(priv, 32 - raw.length);
      const subject = typeof body.subject === 'string' ? body.subject : `mailto:sandbox-${randomBytes(3).toString('hex')}@example.com`;
      return {
        status: 201,
        body: { subject, publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: priv.toString('base64url') },
      };
    }
    if (req.path === 'stats' && req.method === 'GET') {
      const k = req.query.get('k');
      const byKey = Object.fromEntries([...this.jwts].map(([key, set]) => [key, set.size]));
      return {
        status: 200,
        body: {
          vapidSignatures: k ? (this.jwts.get(k)?.size ?? 0) : this.jwtCount,
          vapidSignaturesByKey: byKey,
          connections: this.connections,
          answers: { ...this.answered },
        },
      };
    }
    return null;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }
}

function header(req: Http2ServerRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
