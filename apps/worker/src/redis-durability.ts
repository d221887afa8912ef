import type { LoggerService } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * The queue backend's durability requirements (docs/reliability.md): Redis must keep what
 * it was told (AOF, `appendonly yes`) and must never evict a key (`maxmemory-policy
 * noeviction`), or a restart or memory pressure silently drops jobs. The recovery sweep
 * re-drives lost work from PostgreSQL either way, but only after RECOVERY_STALL_SECONDS:
 * checked at start-up and logged loudly. Managed services that disable CONFIG are reported
 * as unchecked. Returns the problems found.
 */
export async function checkRedisDurability(url: string, logger: LoggerService): Promise<string[]> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 });
  redis.on('error', () => undefined);
  const problems: string[] = [];
  try {
    await redis.connect();
    const get = async (name: string) => ((await redis.config('GET', name)) as string[])[1];
    const aof = await get('appendonly');
    const policy = await get('maxmemory-policy');
    if (aof !== 'yes') problems.push(`appendonly is "${aof}": jobs queued in Redis are lost when it restarts (set appendonly yes)`);
    if (policy !== 'noeviction') problems.push(`maxmemory-policy is "${policy}": Redis may evict queued jobs under memory pressure (set maxmemory-policy noeviction)`);
    for (const p of problems) logger.warn({ msg: `REDIS IS NOT DURABLE: ${p}; lost work is re-driven from PostgreSQL after RECOVERY_STALL_SECONDS`, check: 'redis-durability' });
  } catch (err) {
    logger.warn({ msg: 'could not check Redis durability settings (CONFIG GET refused or Redis unreachable)', error: (err as Error).message });
  } finally {
    redis.disconnect();
  }
  return problems;
}
