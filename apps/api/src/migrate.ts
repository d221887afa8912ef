import { createLogger, getConfig } from '@app/common';
import { createDb, migrateToLatest } from '@app/db';

/** `npm run migrate`: brings the schema up to date and exits. */
async function main(): Promise<void> {
  const config = getConfig();
  const { db } = createDb({ url: config.databaseUrl, schema: config.databaseSchema, max: 1 });
  const applied = await migrateToLatest(db, config.databaseSchema);
  createLogger('migrate').log({ msg: 'migrations applied', schema: config.databaseSchema, applied });
  await db.destroy();
}

main().catch((err) => {
  createLogger('migrate').error({ msg: 'migration failed', error: (err as Error).message });
  process.exit(1);
});
