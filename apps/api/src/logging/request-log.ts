import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, RequestMethod, type DynamicModule, type LoggerService, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Level, Logger } from 'pino';
import { pinoHttp, type Options } from 'pino-http';
import { createLogger, rootLogger } from '@app/common';
import type { Principal } from '../auth/api-key.guard';

/**
 * One JSON line per request (pino-http, as a Nest middleware): request id, method, path,
 * route, status, response time, and the app and notification the request was about.
 * Headers and bodies are never logged, so keys and device tokens cannot leak through
 * the request line; the shared redaction paths (libs/common logger.ts) are the net
 * under that.
 */

export const REQUEST_ID_HEADER = 'x-request-id';
/** What a caller's X-Request-Id may be: enough for UUIDs and trace ids, nothing that can break a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Fastify's genReqId: the caller's X-Request-Id when it is sane (one id across services), else a UUID. */
export function requestIdFor(raw: IncomingMessage): string {
  const header = raw.headers[REQUEST_ID_HEADER];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

const FASTIFY_REQUEST = Symbol('pgw.fastifyRequest');
const LOG_FIELDS = Symbol('pgw.requestLogFields');

interface RequestLogFields {
  notificationId?: string;
}
type LinkedRaw = IncomingMessage & { [FASTIFY_REQUEST]?: FastifyRequest };
type AnnotatedRequest = FastifyRequest & { principal?: Principal; [LOG_FIELDS]?: RequestLogFields };

/**
 * pino-http runs as middleware and only sees Node's request; the principal (set by
 * ApiKeyGuard), the route and the fields below live on Fastify's. This hook links the
 * two, and answers every request with its id.
 */
export function installRequestIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    (request.raw as LinkedRaw)[FASTIFY_REQUEST] = request;
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}

/** Adds fields to the request's log line (read when the response is finished). */
export function annotateRequestLog(request: FastifyRequest, fields: RequestLogFields): void {
  const r = request as AnnotatedRequest;
  r[LOG_FIELDS] = { ...r[LOG_FIELDS], ...fields };
}

const fastifyRequest = (raw: IncomingMessage) => (raw as LinkedRaw)[FASTIFY_REQUEST] as AnnotatedRequest | undefined;
/** The path without the query string: queries are caller input and stay out of the logs. */
const pathOf = (raw: IncomingMessage) => (raw.url ?? '').split('?', 1)[0];
const isProbe = (path: string) => path === '/metrics' || path === '/health' || path.startsWith('/health/');

function contextFields(raw: IncomingMessage): Record<string, string> {
  const r = fastifyRequest(raw);
  const principal = r?.principal;
  const notificationId = r?.[LOG_FIELDS]?.notificationId;
  return {
    ...(principal?.kind === 'app' ? { appId: principal.appId } : {}),
    ...(notificationId ? { notificationId } : {}),
  };
}

function lineFields(raw: IncomingMessage, res: ServerResponse, responseTime: number) {
  const route = fastifyRequest(raw)?.routeOptions.url;
  return { method: raw.method, path: pathOf(raw), ...(route ? { route } : {}), statusCode: res.statusCode, responseTime };
}

function levelFor(raw: IncomingMessage, res: ServerResponse, err?: Error): Level {
  if (err || res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  // load balancers and Prometheus call these every few seconds: visible at LOG_LEVEL=debug
  return isProbe(pathOf(raw)) ? 'debug' : 'info';
}

export function requestLogOptions(): Options {
  return {
    logger: rootLogger(),
    genReqId: (raw) => fastifyRequest(raw)?.id ?? requestIdFor(raw),
    customAttributeKeys: { reqId: 'requestId' },
    // lines logged during a request carry its id only; the request line carries the rest
    quietReqLogger: true,
    quietResLogger: true,
    // pino-http still binds a `req` to a child logger it then leaves unused; bound that
    // to what the line has anyway, so headers are never serialized
    serializers: { req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?', 1)[0] }) },
    customProps: (raw) => contextFields(raw),
    customLogLevel: levelFor,
    customSuccessObject: (raw, res, val: { responseTime: number }) => lineFields(raw, res, val.responseTime),
    customErrorObject: (raw, res, err, val: { responseTime: number }) => ({
      ...lineFields(raw, res, val.responseTime),
      // pino-http's own "failed with status code 500" says nothing the status does not
      ...(res.statusCode >= 500 && err.message.startsWith('failed with status code') ? {} : { error: err.message }),
    }),
  };
}

/** The logger of the request being handled: pino-http's child logger, bound to the request id. */
const currentRequest = new AsyncLocalStorage<Logger>();

/**
 * Nest's own log lines (and its Logger class) through the root logger; while a request
 * is handled, through that request's child logger, so the line carries its id.
 */
export function nestLogger(context: string): LoggerService {
  return createLogger(context, () => currentRequest.getStore());
}

/**
 * pino-http as a Nest middleware on every route: it writes the request's line when the
 * response finishes, and the rest of the request runs with its child logger at hand.
 * (nestjs-pino did this before; its releases for Nest 12 require Node 22.12, while this
 * project supports Node 20.19 too, see package.json "engines".) The options hold no
 * per-application state, so every API in a process (tests start several) logs the same way.
 */
@Module({})
class RequestLogModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    const httpLogger = pinoHttp(requestLogOptions());
    consumer
      .apply((req: IncomingMessage & { allLogs?: Logger[] }, res: ServerResponse, next: () => void) => {
        httpLogger(req, res);
        // pino-http leaves req.log alone when something set one before (Fastify's raw
        // request can carry one); the logger it made for this request is its last allLogs entry
        currentRequest.run(req.allLogs?.at(-1) ?? req.log, next);
      })
      // Nest 12's route syntax (path-to-regexp 8): every path, unknown ones included
      .forRoutes({ path: '{*splat}', method: RequestMethod.ALL });
  }
}

export function requestLogModule(): DynamicModule {
  return { module: RequestLogModule };
}
