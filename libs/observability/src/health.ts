import { sql } from 'kysely';
import type { Db } from '@app/db';
import type { QueueFactory } from '@app/queue';
import { withTimeout } from './metrics';

/** Readiness checks shared by the API (through @nestjs/terminus) and the worker's ops port. */
export const HEALTH_TIMEOUT_MS = 2000;

export const checkDatabase = (db: Db) => async (): Promise<void> => {
  await sql`select 1`.execute(db);
};

export const checkQueueBackend = (queues: QueueFactory) => async (): Promise<void> => {
  await queues.ping();
};

export interface HealthReport {
  status: 'ok' | 'error';
  info: Record<string, { status: 'up'; [k: string]: unknown }>;
  error: Record<string, { status: 'down'; message: string }>;
  details: Record<string, { status: 'up' | 'down'; [k: string]: unknown }>;
}

/**
 * Runs named checks in parallel, each bounded by timeoutMs. The result has the shape
 * @nestjs/terminus answers on the API, so both processes look the same to a probe.
 */
export async function runHealthChecks(checks: Record<string, () => Promise<unknown>>, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthReport> {
  const report: HealthReport = { status: 'ok', info: {}, error: {}, details: {} };
  await Promise.all(
    Object.entries(checks).map(async ([name, fn]) => {
      try {
        await withTimeout(fn(), timeoutMs);
        report.info[name] = { status: 'up' };
        report.details[name] = { status: 'up' };
      } catch (err) {
        report.status = 'error';
        report.error[name] = { status: 'down', message: (err as Error).message };
        report.details[name] = { status: 'down', message: (err as Error).message };
      }
    }),
  );
  return report;
}
