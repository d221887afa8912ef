import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { runHealthChecks } from '@app/observability';

export interface OpsServerOptions {
  /** 0 picks a free port (tests); the WORKER_OPS_PORT=0 "disabled" case never gets here. */
  port: number;
  host: string;
}

export interface RunningOpsServer {
  url: string | null;
  close(): Promise<void>;
}

/**
 * The worker's small HTTP surface: GET /metrics (Prometheus text), /health/live and
 * /health/ready (PostgreSQL and the queue backend answer). Unauthenticated: bind it to a
 * private interface (WORKER_OPS_HOST) or keep the port off the public network.
 * A port already in use is logged and the worker keeps delivering without it: a worker
 * that stops sending because a metrics port is taken would turn a monitoring gap into
 * an outage (Prometheus reports the missing target as up == 0).
 */
export async function startOpsServer(
  opts: OpsServerOptions,
  deps: { registry: Registry; readiness: Record<string, () => Promise<unknown>>; logger: LoggerService },
): Promise<RunningOpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, JSON.stringify({ statusCode: 405, error: 'Method Not Allowed', message: 'GET only' }));
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => send(200, text, deps.registry.contentType),
        (err: Error) => send(500, JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: err.message })),
      );
      return;
    }
    if (path === '/health/live') return send(200, JSON.stringify({ status: 'ok', info: {}, error: {}, details: {} }));
    if (path === '/health/ready') {
      void runHealthChecks(deps.readiness).then((r) => send(r.status === 'ok' ? 200 : 503, JSON.stringify(r)));
      return;
    }
    send(404, JSON.stringify({ statusCode: 404, error: 'Not Found', message: `no route ${path}` }));
  });
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      deps.logger.error({ msg: 'ops port unavailable: this worker runs without /metrics and /health', port: opts.port, host: opts.host, error: err.message });
      resolve(false);
    });
    server.listen(opts.port, opts.host, () => resolve(true));
  });
  if (!ok) return { url: null, close: async () => undefined };
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
