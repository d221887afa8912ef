/**
 * Whether an error means PostgreSQL could not be reached or went away (rather than a
 * query the database refused): the API answers those 503 with Retry-After, workers retry.
 *
 * Socket errors carry errno codes; the server's own refusals carry SQLSTATE class 08
 * (connection exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect
 * now) and 53300 (too many connections). node-postgres reports a connection that ends
 * mid-query, and pg-pool a connect timeout, with plain Errors and no code: those two
 * library messages are matched exactly (pg/lib/client.js, pg-pool/index.js).
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const PG_LIBRARY_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SQLSTATES.has(e.code) || e.code.startsWith('08'))) return true;
  if (typeof e.message === 'string' && PG_LIBRARY_MESSAGES.has(e.message)) return true;
  // AggregateError from a connect to several addresses (localhost: ::1 and 127.0.0.1)
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => isDatabaseUnavailable(x));
}
