import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { loadConfig, type AppConfig } from '@app/common';
import { createDb, migrateToLatest, type Db } from '@app/db';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Queue backends this run covers: both when Redis answers, PostgreSQL alone otherwise. */
export const QUEUE_BACKENDS: Array<'redis' | 'postgres'> = TEST_REDIS_URL ? ['redis', 'postgres'] : ['postgres'];

export const TEST_MASTER_KEY = 'a'.repeat(64);
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/**
 * Every schema and queue prefix of this run starts with `t<TEST_RUN_ID>_` (npm test sets
 * TEST_RUN_ID), so the runner can count, and remove, whatever a suite left behind.
 */
export const TEST_RUN_ID = process.env.TEST_RUN_ID ?? '';
export const uniqueName = (prefix: string): string => `${prefix}${TEST_RUN_ID}_${randomBytes(5).toString('hex')}`;

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

/**
 * Removes what a suite's config can have created: its schema, the PostgreSQL queue
 * backend's `<prefix>_queue` schema, and its Redis keys (`<prefix>:*`: BullMQ's queues, the
 * FCM rate limiter). Through the run's own URLs, not the config's (a suite may point its
 * config at a proxy it has closed by then). Call it after everything using them stopped.
 */
export async function removeTestData(config: AppConfig): Promise<void> {
  const { db } = createDb({ url: TEST_DATABASE_URL, schema: 'public', max: 1 });
  try {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(config.databaseSchema)} CASCADE`.execute(db);
    await sql`DROP SCHEMA IF EXISTS ${sql.id(`${config.queuePrefix}_queue`.toLowerCase())} CASCADE`.execute(db);
  } finally {
    await db.destroy();
  }
  if (TEST_REDIS_URL) await removeRedisKeys(`${config.queuePrefix}:*`);
}

/** Deletes every Redis key matching `pattern` (SCAN + UNLINK, never KEYS on a shared server). */
export async function removeRedisKeys(pattern: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {
    /* surfaced by the commands below */
  });
  try {
    await redis.connect();
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}

/** A migrated schema of its own; drop() removes it, the queue schema and the suite's Redis keys. */
export async function testDatabase(config: AppConfig): Promise<{ db: Db; drop(): Promise<void> }> {
  const { db } = createDb({ url: config.databaseUrl, schema: config.databaseSchema, max: 5 });
  try {
    await migrateToLatest(db, config.databaseSchema);
  } catch (err) {
    await db.destroy().catch(() => {});
    await removeTestData(config).catch(() => {});
    throw err;
  }
  return {
    db,
    async drop() {
      await db.destroy().catch(() => {});
      await removeTestData(config);
    },
  };
}
