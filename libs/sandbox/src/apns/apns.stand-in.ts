import { randomUUID } from 'node:crypto';
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import type { ApnsEnvironment } from '@app/providers';
import { FaultPlan, type ActiveFault } from '../core/fault-plan';
import { applyFault, dropStream, type ControlAnswer, type ControlRequest, type StandIn, type StandInContext } from '../core/stand-in';
import { TrafficMeter } from '../core/traffic-meter';
import { checkHeaders, checkPayload, header, parsePath, topicBase, type ApnsRefusal } from './apns.checks';
import { ApnsRegistry } from './apns.registry';

/** Like Apple: one stream on a new connection until a request with valid credentials, then many. */
const COLD_STREAMS = 1;
const WARM_STREAMS = 1000;
/** Apple answers TooManyProviderTokenUpdates to a connection that changes token more often. */
const MIN_TOKEN_UPDATE_S = 20 * 60;
const MAX_BODY = 64 * 1024;

interface SessionState {
  warm: boolean;
  jwt?: string;
  iat?: number;
}

type Auth = { ok: true; bundleIdOf: (topic: string | undefined) => string | ApnsRefusal } | ApnsRefusal;

export interface ApnsStandInOptions {
  /** Port of the sandbox-environment server; default: production port + 10 (0 when that is 0). */
  sandboxPort?: number;
  /** Interface to bind; default all (so "localhost" works over IPv4 and IPv6). */
  bindHost?: string;
}

/** Apple's reasons for the statuses a fault answers (APNs documents a reason for each). */
const FAULT_REASONS: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' };
const PUSH_PATH = /^\/3\/device\//;

/** Who sends, for the per-credential counts: team/key id of a provider token, the certificate's UID or CN. */
function credentialOf(stream: ServerHttp2Stream, h: IncomingHttpHeaders): string {
  const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate?.();
  if (peer && peer.raw) return `cert:${(peer.subject as unknown as Record<string, string | undefined>).UID ?? peer.subject.CN}`;
  const m = /^bearer ([^.]+)\.([^.]+)\./i.exec(header(h, 'authorization') ?? '');
  if (!m) return 'none';
  try {
    const head = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as { kid?: unknown };
    const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8')) as { iss?: unknown };
    return `${String(claims.iss)}/${String(head.kid)}`;
  } catch {
    return 'malformed';
  }
}

const isEnv = (v: unknown): v is ApnsEnvironment => v === 'sandbox' || v === 'production';
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});

/**
 * APNs stand-in: HTTP/2 over TLS with the sandbox CA, one server per environment (the
 * production and sandbox hosts of Apple), sharing one registry of minted keys,
 * certificates and device tokens. Verifies what Apple verifies, answers what Apple
 * answers, and records every accepted notification per device.
 */
export class ApnsStandIn implements StandIn {
  readonly provider = 'apns' as const;
  readonly registry = new ApnsRegistry();
  private readonly servers = new Map<ApnsEnvironment, Http2SecureServer>();
  private readonly ports = new Map<ApnsEnvironment, number>();
  private readonly sessions = new Map<Http2Session, SessionState>();
  private readonly faults: FaultPlan;
  private readonly traffic: TrafficMeter;

  constructor(private readonly ctx: StandInContext, private readonly opts: ApnsStandInOptions = {}) {
    this.faults = ctx.faults ?? new FaultPlan();
    this.traffic = ctx.traffic ?? new TrafficMeter();
  }

  async listen(port: number): Promise<number> {
    const production = await this.listenOne('production', port);
    await this.listenOne('sandbox', this.opts.sandboxPort ?? (port === 0 ? 0 : port + 10));
    return production;
  }

  private async listenOne(environment: ApnsEnvironment, port: number): Promise<number> {
    const server = http2.createSecureServer({
      cert: this.ctx.tls.certPem,
      key: this.ctx.tls.keyPem,
      ca: [this.ctx.tls.caPem],
      // Certificate auth asks for a client certificate; token auth connects without one.
      requestCert: true,
      rejectUnauthorized: false,
      settings: { maxConcurrentStreams: COLD_STREAMS },
    });
    server.on('session', (s) => {
      this.sessions.set(s, { warm: false });
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    server.on('stream', (stream, headers) => {
      // Refused or reset streams (GOAWAY, client timeouts) are the client's business, not a crash.
      stream.on('error', () => undefined);
      if (PUSH_PATH.test(header(headers, ':path') ?? '')) {
        const finished = this.traffic.begin('apns', credentialOf(stream, headers));
        stream.once('close', () => finished(stream.headersSent));
      }
      this.handle(environment, stream, headers).catch(() => {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, this.opts.bindHost, resolve));
    this.servers.set(environment, server);
    const actual = (server.address() as AddressInfo).port;
    this.ports.set(environment, actual);
    return actual;
  }

  productionPort(): number {
    return this.ports.get('production') ?? 0;
  }

  sandboxPort(): number {
    return this.ports.get('sandbox') ?? 0;
  }

  /** The production host (api.push.apple.com's stand-in). */
  baseUrl(): string {
    return `https://${this.ctx.host}:${this.productionPort()}`;
  }

  /** The sandbox host (api.sandbox.push.apple.com's stand-in). */
  sandboxBaseUrl(): string {
    return `https://${this.ctx.host}:${this.sandboxPort()}`;
  }

  private async readBody(stream: ServerHttp2Stream): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of stream) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return null;
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private authenticate(environment: ApnsEnvironment, stream: ServerHttp2Stream, h: IncomingHttpHeaders): Auth {
    const socket = stream.session?.socket as TLSSocket | undefined;
    const peer = socket?.getPeerCertificate?.();
    if (peer && peer.raw) {
      if (!socket?.authorized) return { status: 403, reason: 'BadCertificate' };
      const minted = this.registry.certificate(peer.raw);
      const uid = (peer.subject as unknown as Record<string, string | undefined>).UID ?? minted?.bundleId;
      if (!uid) return { status: 403, reason: 'BadCertificate' };
      const certEnv = minted?.environment ?? (/Development/.test(String(peer.subject.CN)) ? 'sandbox' : 'production');
      if (certEnv !== environment) return { status: 403, reason: 'BadCertificateEnvironment' };
      return {
        ok: true,
        bundleIdOf: (topic) => {
          if (topic === undefined) return uid;
          return topicBase(topic, header(h, 'apns-push-type') ?? 'alert') === uid ? uid : { status: 400, reason: 'TopicDisallowed' };
        },
      };
    }
    const auth = header(h, 'authorization');
    if (!auth) return { status: 403, reason: 'MissingProviderToken' };
    const m = /^bearer (.+)$/i.exec(auth);
    if (!m) return { status: 403, reason: 'InvalidProviderToken' };
    const check = this.registry.verifyJwt(m[1]);
    if (!check.ok) return { status: 403, reason: check.reason };
    const state = stream.session ? this.sessions.get(stream.session) : undefined;
    if (state && state.jwt !== m[1]) {
      if (state.iat !== undefined && check.iat - state.iat < MIN_TOKEN_UPDATE_S) {
        return { status: 429, reason: 'TooManyProviderTokenUpdates' };
      }
      state.jwt = m[1];
      state.iat = check.iat;
    }
    return {
      ok: true,
      bundleIdOf: (topic) => {
        if (topic === undefined) return { status: 400, reason: 'MissingTopic' };
        const base = topicBase(topic, header(h, 'apns-push-type') ?? 'alert');
        return this.registry.teamMayPush(check.teamId, base) ? base : { status: 400, reason: 'TopicDisallowed' };
      },
    };
  }

  private refuse(environment: ApnsEnvironment, stream: ServerHttp2Stream, r: ApnsRefusal & { retryAfter?: number; timestamp?: number }, apnsId: string): void {
    this.ctx.store.countRejected('apns');
    if (stream.destroyed || stream.closed) return;
    const body: Record<string, unknown> = { reason: r.reason };
    if (r.status === 410) body.timestamp = r.timestamp ?? Date.now();
    const headers: Record<string, string | number> = { ':status': r.status, 'apns-id': apnsId, 'content-type': 'application/json' };
    if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter);
    if (environment === 'sandbox') headers['apns-unique-id'] = randomUUID();
    stream.respond(headers);
    stream.end(JSON.stringify(body));
  }

  private async handle(environment: ApnsEnvironment, stream: ServerHttp2Stream, h: IncomingHttpHeaders): Promise<void> {
    const body = await this.readBody(stream);
    const requestedId = header(h, 'apns-id');
    const apnsId = requestedId && /^[0-9a-f-]{36}$/i.test(requestedId) ? requestedId.toLowerCase() : randomUUID();
    if (body === null) return this.refuse(environment, stream, { status: 413, reason: 'PayloadTooLarge' }, apnsId);
    const path = parsePath(header(h, ':method'), header(h, ':path'));
    if ('status' in path) return this.refuse(environment, stream, path, apnsId);
    const fault = this.faults.active('apns');
    if (fault && (await this.applyFault(environment, stream, fault, apnsId))) return;
    const auth = this.authenticate(environment, stream, h);
    if ('status' in auth) return this.refuse(environment, stream, auth, apnsId);

    const session = stream.session;
    const state = session ? this.sessions.get(session) : undefined;
    if (session && state && !state.warm) {
      // Sent before this answer, so the client knows the new limit when it sees the answer.
      state.warm = true;
      session.settings({ maxConcurrentStreams: WARM_STREAMS });
    }

    const injection = this.ctx.store.takeInjection('apns', path.token);
    if (injection?.stallMs) await new Promise((r) => setTimeout(r, injection.stallMs));
    if (injection?.goaway && session && !session.destroyed) {
      // Streams above lastStreamId were never processed: the client must send them again later.
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, Math.max(0, (stream.id ?? 1) - 2));
      setTimeout(() => session.destroy(), 50).unref();
      return;
    }
    if (injection && injection.status !== 200) {
      return this.refuse(environment, stream, { status: injection.status, reason: injection.reason ?? 'InjectedError', retryAfter: injection.retryAfter }, apnsId);
    }

    const topic = header(h, 'apns-topic');
    const bundle = auth.bundleIdOf(topic);
    if (typeof bundle !== 'string') return this.refuse(environment, stream, bundle, apnsId);
    const bad = checkHeaders(h, topic ?? bundle);
    if (bad) return this.refuse(environment, stream, bad, apnsId);
    const pushType = header(h, 'apns-push-type') ?? 'alert';
    const payload = checkPayload(body, pushType);
    if ('status' in payload) return this.refuse(environment, stream, payload, apnsId);

    const device = this.registry.device(path.token);
    // A token minted by one environment is unknown to the other, as with Apple.
    if (device && device.environment !== environment) return this.refuse(environment, stream, { status: 400, reason: 'BadDeviceToken' }, apnsId);
    if (device?.unregisteredAt !== undefined) {
      return this.refuse(environment, stream, { status: 410, reason: 'Unregistered', timestamp: device.unregisteredAt }, apnsId);
    }

    const recorded: Record<string, string> = { 'x-environment': environment };
    for (const [k, v] of Object.entries(h)) if (k.startsWith('apns-') && v !== undefined) recorded[k] = String(v);
    this.ctx.store.record({ provider: 'apns', device: path.token, at: Date.now(), headers: recorded, payload: payload.payload });
    if (stream.destroyed || stream.closed) return;
    const answer: Record<string, string | number> = { ':status': 200, 'apns-id': apnsId };
    if (environment === 'sandbox') answer['apns-unique-id'] = randomUUID();
    stream.respond(answer, { endStream: true });
  }

  /** A service-wide fault, in APNs' own terms; true when it answered (or dropped) the request. */
  private applyFault(environment: ApnsEnvironment, stream: ServerHttp2Stream, fault: ActiveFault, apnsId: string): Promise<boolean> {
    return applyFault(fault, (mode) => dropStream(stream, mode), (status, f) =>
      this.refuse(environment, stream, { status, reason: f.reason ?? FAULT_REASONS[status] ?? 'InternalServerError', retryAfter: f.retryAfter }, apnsId));
  }

  async control(req: ControlRequest): Promise<ControlAnswer> {
    const body = obj(req.body);
    const [resource, id] = req.path.split('/');
    if (resource === 'keys' && req.method === 'POST') {
      const bundleId = body.bundleId;
      if (typeof bundleId !== 'string' || bundleId === '') return { status: 400, body: { error: 'bundleId is required' } };
      const teamId = typeof body.teamId === 'string' && /^[A-Z0-9]{10}$/.test(body.teamId) ? body.teamId : undefined;
      const k = this.registry.mintKey(bundleId, teamId);
      return {
        status: 201,
        body: { keyId: k.keyId, teamId: k.teamId, bundleId, config: { authType: 'token', key: k.p8, keyId: k.keyId, teamId: k.teamId, bundleId } },
      };
    }
    if (resource === 'certificates' && req.method === 'POST') {
      const { bundleId, environment, format, passphrase } = body;
      if (typeof bundleId !== 'string' || bundleId === '') return { status: 400, body: { error: 'bundleId is required' } };
      if (!isEnv(environment)) return { status: 400, body: { error: 'environment must be sandbox or production' } };
      const issued = this.registry.mintCertificate(this.ctx.tls, bundleId, environment);
      if (format === 'p12') {
        const pass = typeof passphrase === 'string' ? passphrase : '';
        const asn1 = forge.pkcs12.toPkcs12Asn1(
          forge.pki.privateKeyFromPem(issued.keyPem), [forge.pki.certificateFromPem(issued.certPem)], pass, { algorithm: '3des' },
        );
        const p12 = forge.util.encode64(forge.asn1.toDer(asn1).getBytes());
        return { status: 201, body: { bundleId, environment, config: { authType: 'certificate', p12, passphrase: pass, environment } } };
      }
      return {
        status: 201,
        body: { bundleId, environment, config: { authType: 'certificate', certificate: issued.certPem, privateKey: issued.keyPem, environment } },
      };
    }
    if (resource === 'devices' && req.method === 'POST' && !id) {
      const environment = body.environment ?? 'production';
      if (!isEnv(environment)) return { status: 400, body: { error: 'environment must be sandbox or production' } };
      const count = body.count === undefined ? 1 : Number(body.count);
      if (!Number.isInteger(count) || count < 1 || count > 100_000) return { status: 400, body: { error: 'count must be 1..100000' } };
      const tokens = Array.from({ length: count }, () => this.registry.mintDevice(environment));
      return { status: 201, body: { token: tokens[0], tokens, environment } };
    }
    if (resource === 'devices' && id) {
      const device = this.registry.device(id.toLowerCase());
      if (!device) return { status: 404, body: { error: 'device not minted here' } };
      if (req.method === 'DELETE') {
        this.registry.unregister(id.toLowerCase());
        return { status: 200, body: { token: id, ...device } };
      }
      if (req.method === 'GET') return { status: 200, body: { token: id, ...device } };
    }
    if (resource === '' || resource === undefined) {
      return { status: 200, body: { production: this.baseUrl(), sandbox: this.sandboxBaseUrl() } };
    }
    return null;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.keys()) s.destroy();
    this.sessions.clear();
    await Promise.all([...this.servers.values()].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    this.servers.clear();
  }
}
