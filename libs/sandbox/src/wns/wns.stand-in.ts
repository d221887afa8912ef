import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { XMLValidator } from 'fast-xml-parser';
import { applyFault, resetSocket, sendJson, type ControlAnswer, type ControlRequest, type StandIn, type StandInContext } from '../core/stand-in';
import { FaultPlan } from '../core/fault-plan';
import type { Injection } from '../core/receipt-store';
import { TrafficMeter } from '../core/traffic-meter';
import { WnsAccounts, type WnsFlow, type WnsSandboxApp } from './wns.accounts';

const TYPES: Record<string, { contentType: string; root: string | null }> = {
  'wns/toast': { contentType: 'text/xml', root: 'toast' },
  'wns/tile': { contentType: 'text/xml', root: 'tile' },
  'wns/badge': { contentType: 'text/xml', root: 'badge' },
  'wns/raw': { contentType: 'application/octet-stream', root: null },
};
const MAX_PAYLOAD = 5000;
/** Bodies beyond this are not even read: the answer is 413 and the connection closes. */
const READ_LIMIT = 64 * 1024;
const TAG_MAX = 16;
const LEGACY_SCOPE = 'notify.windows.com';
const ENTRA_SCOPE = 'https://wns.windows.com/.default';

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > READ_LIMIT) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Stand-in for WNS on one https port: the two token endpoints (login.live.com's
 * /accesstoken.srf and Entra's /{tenant}/oauth2/v2.0/token) and the channel endpoint
 * POST /w/?token=<channelId>, checking what the real service checks (bearer token and
 * its app, X-WNS-* headers, well-formed XML, 5000-byte limit).
 */
export class WnsStandIn implements StandIn {
  readonly provider = 'wns' as const;
  readonly accounts = new WnsAccounts();
  private server: Server | null = null;
  private port = 0;
  private readonly faults: FaultPlan;
  private readonly traffic: TrafficMeter;

  constructor(private readonly ctx: StandInContext) {
    this.faults = ctx.faults ?? new FaultPlan();
    this.traffic = ctx.traffic ?? new TrafficMeter();
  }

  async listen(port: number): Promise<number> {
    const server = createServer({ key: this.ctx.tls.keyPem, cert: this.ctx.tls.certPem, keepAlive: true, keepAliveTimeout: 65_000 }, (req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: err.message });
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, this.ctx.host, resolve));
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  baseUrl(): string {
    return `https://${this.ctx.host}:${this.port}`;
  }

  /** Token URLs to configure the gateway with (WNS_LEGACY_TOKEN_URL, WNS_ENTRA_TOKEN_URL). */
  tokenUrls(): { legacy: string; entraTemplate: string } {
    return { legacy: `${this.baseUrl()}/accesstoken.srf`, entraTemplate: `${this.baseUrl()}/{tenant}/oauth2/v2.0/token` };
  }

  channelUri(channelId: string): string {
    return `${this.baseUrl()}/w/?token=${encodeURIComponent(channelId)}`;
  }

  async control(req: ControlRequest): Promise<ControlAnswer> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parts = req.path.split('/').filter(Boolean);
    if (req.method === 'POST' && req.path === 'apps') {
      const flow = (body.flow ?? 'legacy') as WnsFlow;
      if (flow !== 'legacy' && flow !== 'entra') return { status: 400, body: { error: 'flow must be "legacy" or "entra"' } };
      const ttl = body.tokenTtlSeconds;
      if (ttl !== undefined && (!Number.isInteger(ttl) || (ttl as number) < 1)) {
        return { status: 400, body: { error: 'tokenTtlSeconds must be a positive integer' } };
      }
      const app = this.accounts.mintApp(flow, ttl as number | undefined);
      const config = this.accounts.credentialConfig(app);
      return {
        status: 201,
        body: {
          clientId: app.clientId,
          flow,
          tenantId: app.tenantId,
          tokenTtlSeconds: app.tokenTtlSeconds,
          config,
          credential: { provider: 'wns', name: 'default', environment: null, config },
        },
      };
    }
    if (req.method === 'POST' && req.path === 'channels') {
      const app = typeof body.appClientId === 'string' ? this.accounts.app(body.appClientId) : null;
      if (!app) return { status: 404, body: { error: 'appClientId: no such app (POST /wns/apps first)' } };
      const channelId = this.accounts.mintChannel(app);
      return { status: 201, body: { channelId, channelUri: this.channelUri(channelId), appClientId: app.clientId } };
    }
    if (req.method === 'DELETE' && parts[0] === 'channels' && parts.length === 2) {
      this.accounts.revokeChannel(decodeURIComponent(parts[1]));
      return { status: 200, body: { ok: true } };
    }
    if (req.method === 'POST' && req.path === 'revoke-tokens') {
      const app = typeof body.appClientId === 'string' ? this.accounts.app(body.appClientId) : null;
      if (!app) return { status: 404, body: { error: 'appClientId: no such app' } };
      return { status: 200, body: { revoked: this.accounts.revokeTokens(app) } };
    }
    if (req.method === 'GET' && req.path === 'stats') {
      return { status: 200, body: { ...this.accounts.stats(), tokenUrls: this.tokenUrls(), baseUrl: this.baseUrl() } };
    }
    return null;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl());
    if (url.pathname === '/accesstoken.srf') return this.legacyToken(req, res);
    const entra = url.pathname.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/);
    if (entra) return this.entraToken(req, res, decodeURIComponent(entra[1]));
    if (url.pathname === '/w/' || url.pathname === '/w') {
      const channelId = url.searchParams.get('token') ?? '';
      const finished = this.traffic.begin('wns', `client:${this.accounts.channelApp(channelId)?.clientId ?? 'unknown'}`);
      res.once('close', () => finished(res.headersSent));
      return this.channel(req, res, channelId);
    }
    sendJson(res, 404, { error: 'not found' });
  }

  // ---- token endpoints ----------------------------------------------------------

  private async legacyToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await this.form(req, res);
    if (!form) return;
    const app = this.accounts.app(form.get('client_id') ?? '');
    if (await this.tokenInjection(res, form.get('client_id'))) return;
    if (form.get('grant_type') !== 'client_credentials') return this.refuse(res, 400, 'unsupported_grant_type');
    // login.live.com answers 400 invalid_client for an unknown SID or a wrong secret.
    if (!app || app.flow !== 'legacy' || form.get('client_secret') !== app.clientSecret) return this.refuse(res, 400, 'invalid_client');
    if (form.get('scope') !== LEGACY_SCOPE) return this.refuse(res, 400, 'invalid_scope');
    sendJson(res, 200, this.accounts.issueToken(app));
  }

  private async entraToken(req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
    const form = await this.form(req, res);
    if (!form) return;
    const app = this.accounts.app(form.get('client_id') ?? '');
    if (await this.tokenInjection(res, form.get('client_id'))) return;
    if (form.get('grant_type') !== 'client_credentials') return this.refuse(res, 400, 'unsupported_grant_type');
    if (!app || app.flow !== 'entra' || app.tenantId !== tenant) return this.refuse(res, 400, 'invalid_request', 'AADSTS90002: tenant or application not found');
    if (form.get('client_secret') !== app.clientSecret) return this.refuse(res, 401, 'invalid_client', 'AADSTS7000215: invalid client secret');
    if (form.get('scope') !== ENTRA_SCOPE) return this.refuse(res, 400, 'invalid_scope');
    sendJson(res, 200, this.accounts.issueToken(app));
  }

  private async form(req: IncomingMessage, res: ServerResponse): Promise<URLSearchParams | null> {
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'POST only' });
      return null;
    }
    if (!(header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      this.refuse(res, 400, 'invalid_request', 'form body expected');
      return null;
    }
    const body = await readBody(req);
    if (!body) {
      this.refuse(res, 413, 'invalid_request');
      return null;
    }
    return new URLSearchParams(body.toString('utf8'));
  }

  /** Injections for a token endpoint use the device name "token:<client id>". */
  private async tokenInjection(res: ServerResponse, clientId: string | null): Promise<boolean> {
    const inj = this.ctx.store.takeInjection('wns', `token:${clientId ?? ''}`);
    if (!inj) return false;
    if (inj.stallMs) await new Promise((r) => setTimeout(r, inj.stallMs));
    this.accounts.counters.tokenRequestsRefused += 1;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (inj.retryAfter !== undefined) headers['retry-after'] = String(inj.retryAfter);
    res.writeHead(inj.status, headers);
    res.end(JSON.stringify({ error: inj.reason ?? 'temporarily_unavailable' }));
    return true;
  }

  private refuse(res: ServerResponse, status: number, error: string, description?: string): void {
    this.accounts.counters.tokenRequestsRefused += 1;
    sendJson(res, status, description ? { error, error_description: description } : { error });
  }

  // ---- channel endpoint ---------------------------------------------------------

  private async channel(req: IncomingMessage, res: ServerResponse, channelId: string): Promise<void> {
    const body = await readBody(req);
    if (await this.applyFault(req, res)) return;
    const app = this.accounts.channelApp(channelId);
    if (!app) return this.reject(res, 404, 'channel not found');
    if (req.method !== 'POST') return this.reject(res, 405, 'only POST is allowed');
    const inj = this.ctx.store.takeInjection('wns', channelId);
    if (inj) return this.injected(res, inj);
    if (this.accounts.isRevoked(channelId)) return this.reject(res, 410, 'channel expired');

    const auth = header(req, 'authorization') ?? '';
    const bearer = auth.match(/^Bearer (.+)$/i);
    const check = bearer ? this.accounts.checkToken(bearer[1]) : ({ ok: false, why: 'unknown' } as const);
    if (!check.ok) {
      this.accounts.counters.unauthorized += 1;
      res.setHeader('www-authenticate', `Bearer error="invalid_token", error_description="token ${check.why}"`);
      return this.reject(res, 401, `token ${check.why}`);
    }
    if (check.app.key !== app.key) {
      this.accounts.counters.forbidden += 1;
      return this.reject(res, 403, 'token not authorized for this channel');
    }
    const problem = this.headerProblem(req);
    if (problem) return this.reject(res, 400, problem);
    if (!body || body.length > MAX_PAYLOAD) return this.reject(res, 413, `payload exceeds ${MAX_PAYLOAD} bytes`, !body);
    const type = TYPES[header(req, 'x-wns-type') ?? ''];
    const text = body.toString('utf8');
    if (type.root) {
      if (XMLValidator.validate(text) !== true) return this.reject(res, 400, 'payload is not well-formed XML');
      const root = text.match(/^\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z_][\w.-]*)/)?.[1];
      if (root !== type.root) return this.reject(res, 400, `root element must be <${type.root}>`);
    } else if (body.length === 0) {
      return this.reject(res, 400, 'raw payload is empty');
    }
    this.accept(req, res, app, channelId, text);
  }

  private headerProblem(req: IncomingMessage): string | null {
    const typeName = header(req, 'x-wns-type');
    const type = typeName ? TYPES[typeName] : undefined;
    if (!type) return 'X-WNS-Type must be wns/toast, wns/tile, wns/badge or wns/raw';
    const ct = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (ct !== type.contentType) return `Content-Type must be ${type.contentType} for ${typeName}`;
    for (const name of ['x-wns-tag', 'x-wns-group']) {
      const v = header(req, name);
      if (v !== undefined && (v.length === 0 || v.length > TAG_MAX)) return `${name} must be 1-${TAG_MAX} characters`;
    }
    const ttl = header(req, 'x-wns-ttl');
    if (ttl !== undefined && !/^[0-9]+$/.test(ttl)) return 'X-WNS-TTL must be an integer';
    const cache = header(req, 'x-wns-cache-policy');
    if (cache !== undefined && cache !== 'cache' && cache !== 'no-cache') return 'X-WNS-Cache-Policy must be cache or no-cache';
    return null;
  }

  private accept(req: IncomingMessage, res: ServerResponse, app: WnsSandboxApp, channelId: string, payload: string): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if ((k.startsWith('x-wns-') || k === 'content-type') && typeof v === 'string') headers[k] = v;
    }
    headers['x-sandbox-app'] = app.clientId;
    this.ctx.store.record({ provider: 'wns', device: channelId, at: Date.now(), headers, payload });
    res.writeHead(200, {
      'x-wns-status': 'received',
      'x-wns-msg-id': randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
      'x-wns-deviceconnectionstatus': 'connected',
      'content-length': 0,
    });
    res.end();
  }

  private reject(res: ServerResponse, status: number, description: string, closeConnection = false): void {
    this.ctx.store.countRejected('wns');
    const headers: Record<string, string | number> = { 'x-wns-error-description': description, 'content-length': 0 };
    if (closeConnection) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end();
  }

  /** A service-wide fault on the channel endpoint; true when it answered or dropped the request. HTTP/1.1: every reset is a TCP reset. */
  private applyFault(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    return applyFault(this.faults.active('wns'), () => resetSocket(req.socket), (status, f) =>
      this.injected(res, { status, reason: f.reason, retryAfter: f.retryAfter }));
  }

  /** An injected answer. For 3xx the injection's reason is the Location (never to be followed). */
  private async injected(res: ServerResponse, inj: Injection): Promise<void> {
    if (inj.stallMs) await new Promise((r) => setTimeout(r, inj.stallMs));
    this.ctx.store.countRejected('wns');
    const headers: Record<string, string | number> = { 'content-length': 0 };
    if (inj.status >= 300 && inj.status < 400) headers.location = inj.reason ?? `${this.baseUrl()}/w/?token=redirected`;
    else if (inj.reason) headers['x-wns-error-description'] = inj.reason;
    if (inj.status === 406) headers['x-wns-status'] = 'channelthrottled';
    if (inj.retryAfter !== undefined) headers['retry-after'] = String(inj.retryAfter);
    res.writeHead(inj.status, headers);
    res.end();
  }
}
