import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import { Pool } from 'pg';
import type { Database } from './schema';
import * as m0001 from './migrations/0001-init';
import * as m0002 from './migrations/0002-events-webhooks';
import * as m0003 from './migrations/0003-durable-delivery';

/** Migrations are code, listed here in order; never edit one that has shipped. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-events-webhooks': m0002,
  '0003-durable-delivery': m0003,
};

class StaticMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface DbOptions {
  url: string;
  schema: string;
  max?: number;
}

export type Db = Kysely<Database>;

export function createDb(opts: DbOptions): { db: Db; pool: Pool } {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    // a stopped server refuses at once; one that hangs must not hold a request forever
    connectionTimeoutMillis: 10_000,
    // every pooled connection works inside the configured schema
    options: `-c search_path=${quoteIdent(opts.schema)}`,
  });
  // Connection errors (a restarted or killed server) surface on the next query; an
  // 'error' event without a listener would crash the process, idle or checked out.
  const ignore = (): void => undefined;
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool };
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`invalid schema name: ${name}`);
  return name;
}

export async function migrateToLatest(db: Db, schema: string): Promise<string[]> {
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: new StaticMigrations(),
    migrationTableSchema: schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
