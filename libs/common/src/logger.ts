import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/**
 * One pino logger per process, JSON lines on stdout, shared by the API (its request
 * lines through pino-http), the worker and the sandbox. Product code never logs a token, key or
 * credential in full: use redactToken() for anything token-shaped; the paths below are
 * the net under that rule, not a replacement for it.
 */

/** Field names whose value is replaced by '[redacted]', at the top of a line or one object down. */
const SECRET_FIELDS = ['token', 'key', 'secret', 'privateKey', 'private_key', 'password', 'credentials', 'p8', 'p12', 'endpoint'];
/** Headers that carry a key or a session. No line logs headers today; this is for the one that will. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

export const LOG_REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`, `headers["${h}"]`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  // a Web Push subscription's keys
  'keys.auth', 'keys.p256dh', '*.keys.auth', '*.keys.p256dh',
];
export const LOG_REDACT_CENSOR = '[redacted]';

/** LOG_LEVEL takes Nest's names (what .env.example documents) and pino's own. */
const LEVELS: Record<string, Level> = {
  fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', info: 'info', debug: 'debug', verbose: 'trace', trace: 'trace',
};

export function pinoLevel(name: string): Level | undefined {
  return LEVELS[name.trim().toLowerCase()];
}

let root: Logger | undefined;
let destination: DestinationStream | undefined;
let stdout: DestinationStream | undefined;

// The root logger writes through this indirection so that configureLogging() can point
// it elsewhere at any time, also for the child loggers pino-http and others derived
// from it before (a test captures the lines of a stack it has already started).
const sink: DestinationStream = {
  write(line: string) {
    (destination ?? (stdout ??= openStdout())).write(line);
  },
};

function openStdout(): DestinationStream {
  // asynchronous writes; pino flushes them when the process exits
  const fd1 = pino.destination({ dest: 1, sync: false });
  return process.env.LOG_FORMAT === 'pretty' ? pretty(fd1) : fd1;
}

/** LOG_FORMAT=pretty: `time LEVEL [context] msg {other fields}`, for a terminal. Same fields, same redaction. */
function pretty(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const { time, level, context, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const fields = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      out.write(`${String(time)} ${String(level).toUpperCase().padEnd(5)} ${context ? `[${String(context)}] ` : ''}${String(msg ?? '')}${fields}\n`);
    },
  };
}

/** The process's pino logger, created on first use from LOG_LEVEL (default `log`, i.e. info). */
export function rootLogger(): Logger {
  if (root) return root;
  const wanted = process.env.LOG_LEVEL || 'log';
  root = pino(
    {
      level: pinoLevel(wanted) ?? 'info',
      redact: { paths: [...LOG_REDACT_PATHS], censor: LOG_REDACT_CENSOR },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    sink,
  );
  if (!pinoLevel(wanted)) root.warn({ context: 'logger', msg: `LOG_LEVEL "${wanted}" is not one of ${Object.keys(LEVELS).join(', ')}; logging from info` });
  return root;
}

/**
 * Where this process's lines go (`destination`, stdout when null) and from which level.
 * Call it before the API or the worker starts: loggers derived earlier keep the level
 * they were created with (the destination applies to every line, whenever).
 */
export function configureLogging(opts: { destination?: DestinationStream | null; level?: string }): void {
  if (opts.destination !== undefined) destination = opts.destination ?? undefined;
  if (opts.level !== undefined) {
    const level = pinoLevel(opts.level);
    if (!level) throw new Error(`unknown log level "${opts.level}"`);
    rootLogger().level = level;
  }
}

/**
 * A Nest LoggerService over the root logger, tagged with `context`. Takes what the code
 * base passes: `log({msg, ...fields})`, `error(err)`, `warn('text')`, and Nest's own
 * `(message, [stack,] context)` calls while an application boots.
 */
class ContextLogger implements LoggerService {
  constructor(
    private readonly context: string,
    private readonly current: () => Logger | undefined,
  ) {}

  fatal(message: unknown, ...params: unknown[]): void { this.write('fatal', message, params); }
  error(message: unknown, ...params: unknown[]): void { this.write('error', message, params); }
  warn(message: unknown, ...params: unknown[]): void { this.write('warn', message, params); }
  log(message: unknown, ...params: unknown[]): void { this.write('info', message, params); }
  debug(message: unknown, ...params: unknown[]): void { this.write('debug', message, params); }
  verbose(message: unknown, ...params: unknown[]): void { this.write('trace', message, params); }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const logger = this.current() ?? rootLogger();
    if (!logger.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = rest.length && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : this.context;
    const stack = level === 'error' && typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    const fields: Record<string, unknown> = { context, ...(stack ? { stack } : {}), ...(rest.length ? { params: rest } : {}) };
    if (message instanceof Error) logger[level]({ ...fields, err: message }, message.message);
    else if (message !== null && typeof message === 'object') logger[level]({ ...fields, ...message });
    else logger[level](fields, String(message));
  }
}

/**
 * @param current the logger to write through when there is one (the API passes the
 *   request's pino-http child logger, so lines logged while a request is handled carry
 *   its id); the root logger otherwise.
 */
export function createLogger(context: string, current: () => Logger | undefined = () => undefined): LoggerService {
  return new ContextLogger(context, current);
}
