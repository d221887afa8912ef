import { ConsoleLogger } from '@nestjs/common';

/**
 * Structured JSON logs on stdout. Product code never logs a token, key or credential
 * in full: use redactToken() for anything token-shaped.
 */
export function createLogger(context: string): ConsoleLogger {
  const json = process.env.LOG_FORMAT !== 'pretty';
  const level = (process.env.LOG_LEVEL || 'log') as 'log';
  const levels: Array<'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose'> = [
    'fatal', 'error', 'warn', 'log', 'debug', 'verbose',
  ];
  const idx = Math.max(0, levels.indexOf(level));
  return new ConsoleLogger(context, { json, logLevels: levels.slice(0, idx + 1), colors: !json });
}
