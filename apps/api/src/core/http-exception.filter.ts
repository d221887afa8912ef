import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createLogger } from '@app/common';

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
    logger.error({ msg: 'unhandled error', requestId, error: (exception as Error)?.message, stack: (exception as Error)?.stack });
    void reply.status(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}
