// What a test run left behind. Every schema and queue prefix of one `npm test` run starts
// with `t<run id>_` (test/support/test-env.ts); each suite removes its own, and the runner
// counts (and removes) what is still there at the end. Only this run's names are touched:
// other runs may share the same PostgreSQL and Redis at the same time.

/** The name prefix of one run's schemas and Redis keys. */
export const runPrefix = (runId) => `t${runId}_`;

/**
 * Counts, then removes, the PostgreSQL schemas and Redis keys whose names start with the
 * run's prefix. Loads pg and ioredis only when called (they are installed by then).
 *
 * @param {{ runId: string, databaseUrl: string, redisUrl: string }} opts redisUrl "" = no Redis this run
 * @returns {Promise<{ schemas: string[], redisKeys: number, sampleKeys: string[] }>}
 */
export async function removeLeftovers({ runId, databaseUrl, redisUrl }) {
  if (!/^[0-9a-f]+$/.test(runId)) throw new Error(`unexpected run id "${runId}"`);
  const prefix = runPrefix(runId);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  const schemas = [];
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1) ORDER BY 1`, [prefix]);
    for (const { nspname } of rows) {
      schemas.push(nspname);
      await client.query(`DROP SCHEMA IF EXISTS "${nspname.replace(/"/g, '""')}" CASCADE`);
    }
  } finally {
    await client.end().catch(() => {});
  }

  let redisKeys = 0;
  const sampleKeys = [];
  if (redisUrl) {
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    await redis.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) {
          redisKeys += keys.length;
          if (sampleKeys.length < 3) sampleKeys.push(...keys.slice(0, 3 - sampleKeys.length));
          await redis.unlink(...keys);
        }
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
  return { schemas, redisKeys, sampleKeys };
}
