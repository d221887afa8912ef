import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { loadConfig, type AppConfig } from '@app/common';
import { createDb, migrateToLatest, type Db } from '@app/db';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Queue backends this run covers: both when Redis answers, PostgreSQL alone otherwise. */
export const QUEUE_BACKENDS: Array<'redis' | 'postgres'> = TEST_REDIS_URL ? ['redis', 'postgres'] : ['postgres'];

export const TEST_MASTER_KEY = 'a'.repeat(64);
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A config for one test suite: its own schema and queue prefix, so suites run in parallel. */
export function testConfig(overrides: Record<string, string> = {}, backend: 'redis' | 'postgres' = QUEUE_BACKENDS[0]): AppConfig {
  const schema = uniqueName('t');
  return loadConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: backend === 'redis' ? TEST_REDIS_URL : '',
    QUEUE_PREFIX: schema,
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    MASTER_KEY: TEST_MASTER_KEY,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    ...overrides,
  });
}

/** A migrated schema of its own; drop() removes it (and the queue schema on PostgreSQL). */
export async function testDatabase(config: AppConfig): Promise<{ db: Db; drop(): Promise<void> }> {
  const { db } = createDb({ url: config.databaseUrl, schema: config.databaseSchema, max: 5 });
  await migrateToLatest(db, config.databaseSchema);
  return {
    db,
    async drop() {
      await sql`DROP SCHEMA IF EXISTS ${sql.id(config.databaseSchema)} CASCADE`.execute(db);
      await sql`DROP SCHEMA IF EXISTS ${sql.id(`${config.queuePrefix}_queue`)} CASCADE`.execute(db);
      await db.destroy();
    },
  };
}
