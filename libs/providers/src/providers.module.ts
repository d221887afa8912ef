import { Global, Inject, Module, type DynamicModule, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { InProcessRateLimiter, RedisRateLimiter, type RateLimiter } from './fcm/fcm.rate-limiter';
import { createProviderContext } from './provider-context';
import { closeProviders, createProviders, type ProviderMap } from './provider-registry';

/** Injection tokens: the provider registry (one instance of each push service) and FCM's send budget. */
export const PROVIDERS_MAP = Symbol('PROVIDERS_MAP');
export const FCM_RATE_LIMITER = Symbol('FCM_RATE_LIMITER');
const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');

export interface ProvidersModuleOptions {
  /**
   * The worker: FCM's per-project send rate is shared by every worker process through
   * Redis when there is one (REDIS_URL); on the PostgreSQL queue backend each process
   * paces itself. The API never sends, so its budget stays in-process and unused.
   */
  sharedRateLimits: boolean;
}

/** The push services for the API (validation only) and the worker (sending), wired at construction. */
@Global()
@Module({})
export class ProvidersModule implements OnApplicationShutdown {
  constructor(
    @Inject(PROVIDERS_MAP) private readonly providers: ProviderMap,
    @Inject(RATE_LIMIT_REDIS) private readonly redis: Redis | null,
  ) {}

  static forRoot(opts: ProvidersModuleOptions): DynamicModule {
    return {
      module: ProvidersModule,
      providers: [
        {
          provide: RATE_LIMIT_REDIS,
          inject: [CONFIG],
          useFactory: (config: AppConfig): Redis | null => {
            if (!opts.sharedRateLimits || !config.redisUrl) return null;
            const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
            redis.on('error', () => undefined); // a send waits on acquire(); the error surfaces there
            return redis;
          },
        },
        {
          provide: FCM_RATE_LIMITER,
          inject: [CONFIG, RATE_LIMIT_REDIS],
          useFactory: (config: AppConfig, redis: Redis | null): RateLimiter =>
            redis
              ? new RedisRateLimiter(redis, { ratePerMinute: config.fcm.ratePerMinute, prefix: config.queuePrefix })
              : new InProcessRateLimiter({ ratePerMinute: config.fcm.ratePerMinute }),
        },
        {
          provide: PROVIDERS_MAP,
          inject: [CONFIG, LOGGER, FCM_RATE_LIMITER],
          useFactory: (config: AppConfig, logger: LoggerService, rateLimiter: RateLimiter): ProviderMap =>
            createProviders(createProviderContext(config, logger), { fcm: { rateLimiter } }),
        },
      ],
      exports: [PROVIDERS_MAP],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await closeProviders(this.providers);
    this.redis?.disconnect();
  }
}
