import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, SecretBox, type AppConfig } from '@app/common';
import { createDb, migrateToLatest, type Db } from './database';
import { AppRepository } from './repositories/app.repository';
import { CredentialRepository } from './repositories/credential.repository';
import { DeviceRepository } from './repositories/device.repository';
import { EventRepository } from './repositories/event.repository';
import { IdempotencyRepository, NotificationRepository } from './repositories/notification.repository';
import { DeliveryBatchRepository } from './repositories/delivery-batch.repository';
import { CircuitRepository } from './repositories/circuit.repository';
import { WebhookRepository } from './repositories/webhook.repository';

/** The Kysely instance over the app's pool (a value, not a class). */
export const DB = Symbol('DB');

export interface DatabaseModuleOptions {
  /** Connections of this process's pool. */
  poolMax: (config: AppConfig) => number;
}

const REPOSITORIES = [AppRepository, DeviceRepository, NotificationRepository, IdempotencyRepository, EventRepository, DeliveryBatchRepository, CircuitRepository] as const;

/**
 * PostgreSQL for the API and the worker: one pool per app (DB), migrated at start when
 * MIGRATE_ON_START is set, and every repository over it. The pool closes last, on
 * application shutdown, after whatever still writes has stopped.
 */
@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DB) private readonly db: Db) {}

  static forRoot(opts: DatabaseModuleOptions): DynamicModule {
    const providers = [
      {
        provide: DB,
        inject: [CONFIG],
        useFactory: async (config: AppConfig): Promise<Db> => {
          const { db } = createDb({ url: config.databaseUrl, schema: config.databaseSchema, max: opts.poolMax(config) });
          if (config.migrateOnStart) await migrateToLatest(db, config.databaseSchema);
          return db;
        },
      },
      ...REPOSITORIES.map((cls) => ({ provide: cls, inject: [DB], useFactory: (db: Db) => new cls(db) })),
      // credentials and webhook secrets are sealed under MASTER_KEY
      { provide: CredentialRepository, inject: [DB, CONFIG], useFactory: (db: Db, c: AppConfig) => new CredentialRepository(db, new SecretBox(c.masterKey)) },
      { provide: WebhookRepository, inject: [DB, CONFIG], useFactory: (db: Db, c: AppConfig) => new WebhookRepository(db, new SecretBox(c.masterKey)) },
    ];
    return { module: DatabaseModule, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}
