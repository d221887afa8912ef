import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { tap, type Observable } from 'rxjs';
import { NotificationsController } from '../notifications/notifications.controller';
import { annotateRequestLog } from './request-log';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Puts the notification id on the request's log line: from the path on
 * /v1/notifications/:id routes, from the answer of a send (`{id, ...}`). A batch send's
 * many ids stay in its answer.
 */
@Injectable()
export class NotificationLogInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http' || ctx.getClass() !== NotificationsController) return next.handle();
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const fromPath = (request.params as { id?: unknown } | undefined)?.id;
    // the path is caller input: only an id-shaped one goes into the line
    if (typeof fromPath === 'string' && UUID.test(fromPath)) annotateRequestLog(request, { notificationId: fromPath });
    return next.handle().pipe(
      tap((body) => {
        const id = (body as { id?: unknown } | null | undefined)?.id;
        if (typeof id === 'string') annotateRequestLog(request, { notificationId: id });
      }),
    );
  }
}
