import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createLogger } from '@app/common';
import { isDatabaseUnavailable } from '@app/db';

/** Seconds a client is asked to wait while PostgreSQL is unreachable. */
const DB_RETRY_AFTER_SECONDS = 5;

const logger = createLogger('http');

/**
 * One error shape for every failure: {statusCode, error, message, details?}. Fastify's
 * own errors (invalid JSON, body too large, wrong content type) get the same shape.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const res = exception.getResponse();
      const status = exception.getStatus();
      const body = typeof res === 'string' ? { statusCode: status, error: exception.name, message: res } : { statusCode: status, ...(res as object) };
      void reply.status(status).send(body);
      return;
    }
    const e = exception as { statusCode?: number; code?: string; message?: string };
    if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      const message = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is larger than the limit' : e.message ?? 'bad request';
      void reply.status(e.statusCode).send({ statusCode: e.statusCode, error: e.code ?? 'Bad Request', message });
      return;
    }
    const requestId = host.switchToHttp().getRequest<FastifyRequest>().id;
    if (isDatabaseUnavailable(exception)) {
      // nothing was accepted: the request can be sent again as it is
      logger.warn({ msg: 'database unavailable', requestId, error: (exception as Error)?.message });
      void reply.status(503).header('retry-after', String(DB_RETRY_AFTER_SECONDS))
        .send({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; nothing was stored, retry later' });
      return;
    }
    logger.error({ msg: 'unhandled error', requestId, error: (exception as Error)?.message, stack: (exception as Error)?.stack });
    void reply.status(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}
