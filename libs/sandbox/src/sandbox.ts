import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROVIDERS, type ProviderName } from '@app/providers';
import { ApnsStandIn } from './apns/apns.stand-in';
import { FcmStandIn } from './fcm/fcm.stand-in';
import { WnsStandIn } from './wns/wns.stand-in';
import { WebpushStandIn } from './webpush/webpush.stand-in';
import { FaultPlan, parseFault } from './core/fault-plan';
import { ReceiptStore, type Injection } from './core/receipt-store';
import { TrafficMeter } from './core/traffic-meter';
import { loadOrCreateTls } from './core/sandbox-ca';
import { sendJson, type StandIn, type StandInContext } from './core/stand-in';
import { renderReceiptsPage } from './core/receipts-page';

export interface SandboxOptions {
  dataDir: string;
  /** 0 picks a free port. */
  ports: { control: number; apns: number; fcm: number; wns: number; webpush: number; /** APNs' sandbox environment; default apns + 10 (0: any free port). */ apnsSandbox?: number };
  bindHost?: string;
  countOnly?: boolean;
}

export interface RunningSandbox {
  controlUrl: string;
  caPem: string;
  caFile: string;
  urls: Record<ProviderName, string>;
  /** APNs' sandbox environment (the development server), beside urls.apns (production). */
  apnsSandboxUrl: string;
  store: ReceiptStore;
  /** Service-wide faults (control: POST/GET/DELETE /faults). */
  faults: FaultPlan;
  /** Push requests per second and credential, in flight, answered (control: GET /traffic). */
  traffic: TrafficMeter;
  standIns: Record<ProviderName, StandIn>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts every stand-in and the control server (plain HTTP, loopback): receipts,
 * error injection, the CA certificate and each stand-in's own control routes.
 */
export async function startSandbox(opts: SandboxOptions): Promise<RunningSandbox> {
  const tls = loadOrCreateTls(opts.dataDir);
  const store = new ReceiptStore({ countOnly: opts.countOnly ?? false, perDeviceLimit: 50 });
  const faults = new FaultPlan();
  const traffic = new TrafficMeter();
  const ctx: StandInContext = { store, tls, host: 'localhost', faults, traffic };
  const standIns: Record<ProviderName, StandIn> = {
    apns: new ApnsStandIn(ctx, { sandboxPort: opts.ports.apnsSandbox }),
    fcm: new FcmStandIn(ctx),
    wns: new WnsStandIn(ctx),
    webpush: new WebpushStandIn(ctx),
  };
  for (const p of PROVIDERS) await standIns[p].listen(opts.ports[p]);

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => sendJson(res, 400, { error: err.message }));
  });
  /** POST {provider?, kind, status?, retryAfter?, reason?, reset?, delayMs?, durationMs?}; GET lists; DELETE [?provider=] clears. */
  function faultRoute(method: string, url: URL, body: unknown, res: ServerResponse): void {
    if (method === 'GET') return sendJson(res, 200, { now: Date.now(), faults: faults.list() });
    if (method === 'DELETE') {
      const provider = url.searchParams.get('provider');
      if (provider && !PROVIDERS.includes(provider as ProviderName)) return sendJson(res, 400, { error: `provider: one of ${PROVIDERS.join(', ')}` });
      return sendJson(res, 200, { cleared: faults.clear((provider as ProviderName | null) ?? undefined) });
    }
    if (method === 'POST') {
      const parsed = parseFault(body);
      if ('error' in parsed) return sendJson(res, 400, { error: parsed.error });
      return sendJson(res, 201, { faults: faults.set(parsed.providers, parsed.spec) });
    }
    sendJson(res, 405, { error: 'GET, POST or DELETE' });
  }
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const parts = url.pathname.split('/').filter(Boolean);
    const body = req.method === 'GET' ? undefined : await readBody(req);
    if (url.pathname === '/' && req.method === 'GET') {
      const html = renderReceiptsPage(store.recent(200), store.stats());
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(html);
    }
    if (url.pathname === '/ca.pem') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      return void res.end(tls.caPem);
    }
    if (url.pathname === '/stats') return sendJson(res, 200, store.stats());
    if (url.pathname === '/reset' && req.method === 'POST') {
      store.reset();
      faults.clear();
      traffic.reset();
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === '/receipts/counts' && req.method === 'GET') {
      // every device's receipt count, in one answer (a fault suite's duplicates)
      const provider = url.searchParams.get('provider') as ProviderName | null;
      return sendJson(res, 200, { counts: store.deviceCounts(provider ?? undefined) });
    }
    if (url.pathname === '/faults') return faultRoute(req.method ?? 'GET', url, body, res);
    if (url.pathname === '/traffic' && req.method === 'GET') {
      const num = (name: string, def: number) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : def);
      const now = Date.now();
      const from = num('from', NaN);
      return sendJson(res, 200, {
        ...traffic.snapshot(num('windowMs', 1000), now),
        perSecond: Number.isFinite(from) ? traffic.perSecond(from, num('to', now)) : [],
      });
    }
    if (url.pathname === '/receipts' && req.method === 'GET') {
      const provider = url.searchParams.get('provider') as ProviderName | null;
      const device = url.searchParams.get('device');
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 1000);
      const list = provider && device ? store.forDevice(provider, device) : store.recent(limit, provider ?? undefined);
      return sendJson(res, 200, { receipts: list });
    }
    if (url.pathname === '/inject' && req.method === 'POST') {
      const b = body as Injection & { provider: ProviderName; device: string };
      if (!PROVIDERS.includes(b?.provider) || typeof b.device !== 'string' || !Number.isInteger(b.status)) {
        return sendJson(res, 400, { error: 'provider, device and status are required' });
      }
      const { provider, device, ...inj } = b;
      store.inject(provider, device, inj);
      return sendJson(res, 200, { ok: true });
    }
    const provider = parts[0] as ProviderName;
    if (PROVIDERS.includes(provider)) {
      const answer = await standIns[provider].control({
        method: req.method ?? 'GET', path: parts.slice(1).join('/'), query: url.searchParams, body, raw: req,
      });
      if (answer) return sendJson(res, answer.status, answer.body);
    }
    sendJson(res, 404, { error: 'not found' });
  }
  await new Promise<void>((resolve) => server.listen(opts.ports.control, opts.bindHost ?? '127.0.0.1', resolve));
  const controlPort = (server.address() as AddressInfo).port;

  return {
    controlUrl: `http://127.0.0.1:${controlPort}`,
    caPem: tls.caPem,
    caFile: `${opts.dataDir}/ca.pem`,
    urls: Object.fromEntries(PROVIDERS.map((p) => [p, standIns[p].baseUrl()])) as Record<ProviderName, string>,
    apnsSandboxUrl: (standIns.apns as ApnsStandIn).sandboxBaseUrl(),
    store,
    faults,
    traffic,
    standIns,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(PROVIDERS.map((p) => standIns[p].close()));
    },
  };
}
