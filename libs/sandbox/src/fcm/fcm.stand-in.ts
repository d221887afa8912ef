import { randomBytes } from 'node:crypto';
import http2, { type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { FaultPlan } from '../core/fault-plan';
import { applyFault, dropRequest, sleep, type ControlAnswer, type ControlRequest, type StandIn, type StandInContext } from '../core/stand-in';
import { TrafficMeter } from '../core/traffic-meter';
import { FcmOAuth } from './fcm.oauth';
import { checkSendBody, googleError, type GoogleErrorAnswer } from './fcm.wire';

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const MAX_BODY = 64 * 1024;
/** What the Firebase console shows as the default token lifetime (seconds). */
const DEFAULT_TOKEN_TTL = 3599;

/** A registration token shaped like the ones FCM issues: "<instance id>:APA91b<…>". */
function mintRegistrationToken(): string {
  return `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`;
}

/**
 * Firebase Cloud Messaging HTTP v1 and Google's OAuth token endpoint, on one HTTP/2 TLS
 * port (HTTP/1.1 allowed, as Google's token endpoint speaks both):
 *   POST /token                              JWT-bearer grant → access token
 *   POST /v1/projects/{id}/messages:send     bearer-authenticated send
 * Registration tokens minted here are bound to a project (another project's token →
 * SENDER_ID_MISMATCH); deleted ones answer UNREGISTERED; well-formed tokens never minted
 * here are accepted, so benchmarks can make up their own.
 */
export class FcmStandIn implements StandIn {
  readonly provider = 'fcm' as const;
  readonly oauth = new FcmOAuth();
  private port = 0;
  private server: Http2SecureServer | null = null;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<Socket>();
  /** registration token → project it belongs to (null: any project) */
  private readonly registrations = new Map<string, string | null>();
  private readonly unregistered = new Set<string>();
  private counts = { sends: 0, unauthenticated: 0, invalid: 0, injected: 0 };
  private readonly faults: FaultPlan;
  private readonly traffic: TrafficMeter;

  constructor(private readonly ctx: StandInContext) {
    this.faults = ctx.faults ?? new FaultPlan();
    this.traffic = ctx.traffic ?? new TrafficMeter();
  }

  async listen(port: number): Promise<number> {
    const server = http2.createSecureServer({ cert: this.ctx.tls.certPem, key: this.ctx.tls.keyPem, allowHTTP1: true });
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      const send = SEND_PATH.exec(new URL(req.url, 'https://fcm.invalid').pathname);
      if (send) {
        const finished = this.traffic.begin('fcm', `project:${decodeURIComponent(send[1])}`);
        res.once('close', () => finished(res.headersSent));
      }
      this.handle(req, res).catch(() => {
        if (!res.headersSent) this.json(res, googleError('INTERNAL'));
      });
    });
    server.on('session', (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    server.on('secureConnection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    await new Promise<void>((resolve) => server.listen(port, resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  baseUrl(): string {
    return `https://${this.ctx.host}:${this.port}`;
  }

  tokenUrl(): string {
    return `${this.baseUrl()}/token`;
  }

  /** Mint counts (one mint for N concurrent sends), sends, 401s. */
  stats() {
    return { ...this.oauth.stats(), ...this.counts, registrations: this.registrations.size };
  }

  async control(req: ControlRequest): Promise<ControlAnswer> {
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    if (req.method === 'POST' && parts.length === 1 && parts[0] === 'service-accounts') {
      const projectId = body.projectId ?? `sandbox-${randomBytes(4).toString('hex')}`;
      const ttl = body.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL;
      if (typeof projectId !== 'string' || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId)) {
        return { status: 400, body: { error: 'projectId: 6-30 lowercase letters, digits or hyphens, starting with a letter' } };
      }
      if (!Number.isInteger(ttl) || (ttl as number) < 1 || (ttl as number) > 86_400) {
        return { status: 400, body: { error: 'tokenTtlSeconds: an integer between 1 and 86400' } };
      }
      return { status: 201, body: this.oauth.mintServiceAccount({ projectId, tokenTtlSeconds: ttl as number, tokenUri: this.tokenUrl() }) };
    }
    if (parts[0] === 'service-accounts' && parts.length >= 2) {
      const email = parts[1];
      if (req.method === 'PATCH' && parts.length === 2) {
        const patch: { tokenTtlSeconds?: number; disabled?: boolean } = {};
        if (body.tokenTtlSeconds !== undefined) {
          if (!Number.isInteger(body.tokenTtlSeconds) || (body.tokenTtlSeconds as number) < 1) {
            return { status: 400, body: { error: 'tokenTtlSeconds: a positive integer' } };
          }
          patch.tokenTtlSeconds = body.tokenTtlSeconds as number;
        }
        if (body.disabled !== undefined) patch.disabled = body.disabled === true;
        return this.oauth.updateAccount(email, patch) ? { status: 200, body: { ok: true } } : { status: 404, body: { error: 'no such account' } };
      }
      if (req.method === 'POST' && parts[2] === 'revoke-tokens') {
        return { status: 200, body: { revoked: this.oauth.revokeTokens(email) } };
      }
    }
    if (req.method === 'POST' && parts.length === 1 && parts[0] === 'tokens') {
      const projectId = typeof body.projectId === 'string' ? body.projectId : null;
      const token = mintRegistrationToken();
      this.registrations.set(token, projectId);
      return { status: 201, body: { token, projectId } };
    }
    if (req.method === 'DELETE' && parts.length === 2 && parts[0] === 'tokens') {
      // the app was uninstalled: FCM answers UNREGISTERED from now on
      this.unregistered.add(parts[1]);
      return { status: 200, body: { ok: true } };
    }
    if (req.method === 'GET' && parts.length === 1 && parts[0] === 'stats') return { status: 200, body: this.stats() };
    if (req.method === 'POST' && parts.length === 1 && parts[0] === 'reset') {
      this.oauth.reset();
      this.counts = { sends: 0, unauthenticated: 0, invalid: 0, injected: 0 };
      return { status: 200, body: { ok: true } };
    }
    return null;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sessions) s.destroy();
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const url = new URL(req.url, 'https://fcm.invalid');
    const raw = await this.readBody(req);
    if (raw === null) return this.json(res, googleError('INVALID_ARGUMENT:message', 413, 'Request payload too large.'));
    if (req.method === 'POST' && url.pathname === '/token') {
      const answer = this.oauth.grant(new URLSearchParams(raw), this.tokenUrl());
      return this.json(res, answer);
    }
    const send = SEND_PATH.exec(url.pathname);
    if (req.method === 'POST' && send) return this.messagesSend(req, res, decodeURIComponent(send[1]), raw);
    this.json(res, { status: 404, body: { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } } });
  }

  private async messagesSend(req: Http2ServerRequest, res: Http2ServerResponse, projectId: string, raw: string): Promise<void> {
    if (await this.applyFault(req, res)) return;
    const auth = this.oauth.authenticate(req.headers.authorization);
    if (!auth) {
      this.counts.unauthenticated += 1;
      return this.json(res, googleError('UNAUTHENTICATED'), { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
    }
    if (auth.projectId !== projectId) return this.json(res, googleError('PERMISSION_DENIED'));
    const checked = checkSendBody(raw);
    if ('status' in checked) return this.reject(res, checked);
    const token = checked.token;
    if (token !== null) {
      const inj = this.ctx.store.takeInjection('fcm', token);
      if (inj) {
        this.counts.injected += 1;
        if (inj.stallMs) await sleep(inj.stallMs);
        if (inj.goaway) return this.goaway(req, res);
        if (inj.status >= 300) {
          const headers = inj.retryAfter !== undefined ? { 'retry-after': String(inj.retryAfter) } : undefined;
          return this.reject(res, googleError(inj.reason, inj.status), headers);
        }
      }
      if (this.unregistered.has(token)) return this.reject(res, googleError('UNREGISTERED'));
      const owner = this.registrations.get(token);
      if (owner && owner !== projectId) return this.reject(res, googleError('SENDER_ID_MISMATCH'));
    }
    const messageId = `0:${Date.now()}%${randomBytes(8).toString('hex')}`;
    if (!checked.validateOnly) {
      this.counts.sends += 1;
      const { token: _t, ...payload } = checked.message;
      this.ctx.store.record({
        provider: 'fcm',
        device: token ?? String(checked.message.topic ?? checked.message.condition),
        at: Date.now(),
        headers: { project: projectId, 'content-type': String(req.headers['content-type'] ?? '') },
        payload,
      });
    }
    this.json(res, { status: 200, body: { name: `projects/${projectId}/messages/${checked.validateOnly ? 'fake_message_id' : messageId}` } });
  }

  /** A service-wide fault, as Google's front end would show it; true when it answered (or dropped) the request. */
  private applyFault(req: Http2ServerRequest, res: Http2ServerResponse): Promise<boolean> {
    return applyFault(this.faults.active('fcm'), (mode) => dropRequest(req, mode), (status, f) =>
      this.reject(res, googleError(f.reason, status), f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : undefined));
  }

  private reject(res: Http2ServerResponse, answer: GoogleErrorAnswer, headers?: Record<string, string>): void {
    this.counts.invalid += 1;
    this.ctx.store.countRejected('fcm');
    this.json(res, answer, headers);
  }

  /** Drops the connection mid-request, as a GOAWAY or a reset session does. */
  private goaway(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const session = req.stream?.session;
    if (session) {
      session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR, 0);
      setImmediate(() => session.destroy());
    } else {
      res.socket?.destroy();
    }
  }

  private async readBody(req: Http2ServerRequest): Promise<string | null> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return null;
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private json(res: Http2ServerResponse, answer: { status: number; body: unknown }, headers?: Record<string, string>): void {
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}
