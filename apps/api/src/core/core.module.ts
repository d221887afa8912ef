import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createLogger, SecretBox, type AppConfig } from '@app/common';
import { AppRepository, CredentialRepository, DeviceRepository, IdempotencyRepository, NotificationRepository, type Db } from '@app/db';
import { closeProviders, createProviders, type ProviderMap, createProviderContext } from '@app/providers';
import { QueueFactory } from '@app/queue';
import { CONFIG, DB, PROVIDERS_MAP } from './tokens';

/**
 * Every outside system the API talks to, behind injectable classes: the database
 * (repositories), the queue backend (QueueFactory) and the provider modules (used only
 * for validation here: the API never does provider I/O).
 */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly queues: QueueFactory,
    @Inject(PROVIDERS_MAP) private readonly providers: ProviderMap,
  ) {}

  static forRoot(config: AppConfig, db: Db) {
    const repo = <T>(cls: new (db: Db) => T) => ({ provide: cls, useFactory: () => new cls(db) });
    const providers = [
      { provide: CONFIG, useValue: config },
      { provide: DB, useValue: db },
      repo(AppRepository),
      repo(DeviceRepository),
      repo(NotificationRepository),
      repo(IdempotencyRepository),
      { provide: CredentialRepository, useFactory: () => new CredentialRepository(db, new SecretBox(config.masterKey)) },
      {
        provide: QueueFactory,
        useFactory: () => new QueueFactory({ kind: config.queueBackend, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, prefix: config.queuePrefix, failFast: true }),
      },
      { provide: PROVIDERS_MAP, useFactory: () => createProviders(createProviderContext(config, createLogger('providers'))) },
    ];
    return { module: CoreModule, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queues.close();
    await closeProviders(this.providers);
    await this.db.destroy();
  }
}
