import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigModule, createLogger, type AppConfig } from '@app/common';
import { DatabaseModule } from '@app/db';
import { ProvidersModule } from '@app/providers';
import { QueueModule } from '@app/queue';
import { AppsController } from './apps/apps.controller';
import { ApiKeyGuard } from './auth/api-key.guard';
import { HttpErrorFilter } from './core/http-exception.filter';
import { createValidationPipe } from './core/validation';
import { DevicesController } from './devices/devices.controller';
import { EventsModule } from './events/events.module';
import { NotificationLogInterceptor } from './logging/notification-log.interceptor';
import { installRequestIds, nestLogger, REQUEST_ID_HEADER, requestIdFor, requestLogModule } from './logging/request-log';
import { NotificationsController } from './notifications/notifications.controller';
import { NotificationsService } from './notifications/notifications.service';
import { loadOpsConfig, type OpsConfig } from '@app/observability';
import { createApiMetrics, installHttpMetrics, OpsModule, type ApiMetrics } from './ops/ops.module';
import { setupOpenApi } from './ops/openapi';

/**
 * The API: every outside system comes from the modules the worker imports too
 * (configuration, PostgreSQL and the repositories, the queues, the provider registry,
 * used here for validation only: the API never does provider I/O).
 */
@Module({})
class ApiModule {
  static forRoot(config: AppConfig, ...features: DynamicModule[]): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config, createLogger('api')),
        // small: sends are written in groups (AcceptWriter, two writes in flight), the rest are single reads
        DatabaseModule.forRoot({ poolMax: () => 10 }),
        QueueModule.forRoot({ failFast: true, registerQueues: true }),
        ProvidersModule.forRoot({ sharedRateLimits: false }),
        EventsModule,
        ...features,
      ],
      controllers: [AppsController, DevicesController, NotificationsController],
      providers: [
        NotificationsService,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: NotificationLogInterceptor },
      ],
    };
  }
}

/** Builds the HTTP API (Fastify). main.ts and the end-to-end tests both start it here. */
export interface ApiOptions {
  /** Operations settings (METRICS_TOKEN); read from the environment when absent. */
  ops?: OpsConfig;
}

export async function createApi(config: AppConfig, options: ApiOptions = {}): Promise<NestFastifyApplication> {
  const ops = options.ops ?? loadOpsConfig();
  const metrics: ApiMetrics = createApiMetrics();
  // Fastify's request id is the one in the logs and in the X-Request-Id answer header
  const adapter = new FastifyAdapter({ bodyLimit: config.bodyLimitBytes, trustProxy: true, requestIdHeader: false, genReqId: requestIdFor });
  installRequestIds(adapter.getInstance());
  installHttpMetrics(adapter.getInstance(), metrics.http);
  const features = [OpsModule.forRoot({ metrics, ops }), requestLogModule()];
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config, ...features), adapter, {
    logger: createLogger('api'),
    abortOnError: false,
  });
  // from here on Nest's own logs and Logger calls carry the request id while a request is handled
  app.useLogger(nestLogger('api'));
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  if (config.corsOrigins.length > 0) {
    // CORS_ORIGINS: browsers on these origins may call the API (e.g. examples/web fetching the
    // VAPID key and registering its subscription with a register key). No cookies are used:
    // every call carries its key in the Authorization header, so credentials stay off.
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', REQUEST_ID_HEADER],
      exposedHeaders: [REQUEST_ID_HEADER],
      maxAge: 600,
    });
  }
  app.enableShutdownHooks();
  await app.init();
  return app;
}
