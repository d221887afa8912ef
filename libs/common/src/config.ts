/**
 * Configuration is read once from the environment, validated, typed and cached.
 * A missing or malformed variable stops start-up with its name in the message.
 * Every variable is listed in `.env.example`.
 */
export type QueueBackendKind = 'redis' | 'postgres';

export interface AppConfig {
  nodeEnv: string;
  apiHost: string;
  apiPort: number;
  databaseUrl: string;
  /** PostgreSQL schema holding the gateway's tables (tests use one per suite). */
  databaseSchema: string;
  migrateOnStart: boolean;
  /** Unset means BullMQ runs on its PostgreSQL backend on DATABASE_URL. */
  redisUrl: string | null;
  queueBackend: QueueBackendKind;
  /** Prefix of every queue key (Redis) or schema suffix (PostgreSQL). */
  queuePrefix: string;
  bootstrapAdminKey: string;
  /** 32-byte AES-256-GCM key that encrypts provider credentials at rest. */
  masterKey: Buffer;
  bodyLimitBytes: number;
  /** CORS_ORIGINS: browser origins allowed to call the API cross-origin ([] = CORS off; ['*'] = any). */
  corsOrigins: string[];
  maxTargetsPerRequest: number;
  fanoutPageSize: number;
  deliveryBatchSize: number;
  deliveryConcurrency: number;
  fanoutConcurrency: number;
  /** Notifications with at most this many explicit targets (device ids + tokens) skip the fan-out queue. */
  directMaxTargets: number;
  /** Small notifications (the direct queue) one worker process resolves and sends at once. */
  directConcurrency: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** A device is retried for at most this long after its notification was due, never past the TTL. */
  retryMaxWindowSeconds: number;
  /** The durable-delivery knobs (docs/reliability.md). */
  recovery: {
    /** Unfinished work that has not moved for this long is re-driven from the ledger. */
    stallSeconds: number;
    /** How often each worker sweeps for such work. */
    sweepSeconds: number;
    /** BullMQ job lock; a killed worker's jobs are taken over after lockMs + stalledIntervalMs. */
    lockMs: number;
    stalledIntervalMs: number;
    /** Outcomes are written as answers arrive, in groups of at most this many or after this long. */
    outcomeFlushSize: number;
    outcomeFlushMs: number;
    /** How long answered outcomes are held in memory, their writes retried, while PostgreSQL is away. */
    outcomeHoldSeconds: number;
  };
  /** Circuit breaker per push-service endpoint and credential. */
  circuit: { minRequests: number; failureRatio: number; windowMs: number; probeIntervalMs: number };
  idempotencyTtlHours: number;
  sandboxEnabled: boolean;
  /** PEM file of a CA the provider clients trust in addition to the system roots (the sandbox CA). */
  extraCaFile: string | null;
  urlAllowlist: {
    wns: string[];
    webpush: string[];
    webhook: string[] | null;
  };
  apns: {
    productionHost: string;
    sandboxHost: string;
    /** APNS_PORT: the default of both ports below. */
    port: number;
    productionPort: number;
    sandboxPort: number;
    /** Time a request may take before it is a (retryable) transport failure. */
    requestTimeoutMs: number;
    /** Streams one pooled connection keeps in flight once warm (Apple allows up to 1000). */
    maxConcurrentStreams: number;
  };
  fcm: { baseUrl: string; tokenUrl: string; maxConcurrentStreams: number; ratePerMinute: number; requestTimeoutMs: number };
  wns: { legacyTokenUrl: string; entraTokenUrlTemplate: string; maxSockets: number };
  webpush: { maxSocketsPerOrigin: number; vapidTtlSeconds: number; defaultSubject: string; requestTimeoutMs: number };
  /** The events table (SSE stream, webhooks): how long events are kept and how the stream keeps alive. */
  events: { retentionHours: number; heartbeatSeconds: number; pollMs: number };
  /** Webhook delivery: retries with exponential backoff, disabled after maxFailures consecutive failed attempts. */
  webhooks: { maxFailures: number; attempts: number; backoffMs: number; timeoutMs: number; concurrency: number; maxPerApp: number };
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, def?: string): string {
  const v = env[name];
  if (v === undefined || v === '') {
    if (def === undefined) throw new ConfigError(`${name} is required`);
    return def;
  }
  return v;
}

function int(env: Env, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return n;
}

function num(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function list(env: Env, name: string, def: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  return raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

function masterKey(env: Env, production: boolean): Buffer {
  const raw = str(env, 'MASTER_KEY');
  const buf = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (buf.length !== 32) {
    throw new ConfigError('MASTER_KEY must be 32 bytes, as 64 hex characters or base64 (openssl rand -hex 32)');
  }
  if (production && lowEntropyKey(buf)) {
    throw new ConfigError('MASTER_KEY is not random (a repeated or sequential pattern, like the all-zero placeholder of .env.example): generate one with openssl rand -hex 32 (NODE_ENV=production)');
  }
  return buf;
}

/** The placeholders of .env.example: fine to try things locally, refused in production. */
export const EXAMPLE_ADMIN_API_KEY = 'change-me-to-a-long-random-string-0123456789';
export const EXAMPLE_MASTER_KEY = '0'.repeat(64);

/**
 * A 32-byte key that did not come from a random generator. 32 random bytes have about 30
 * distinct values (fewer than 16 has a probability below 1e-12), and so do the
 * differences between neighbours; a repeated pattern (all zeros, "abab…", a word typed
 * twice) fails the first test, a sequence (00 01 02 … 1f) the second.
 */
export function lowEntropyKey(key: Buffer): boolean {
  const distinct = new Set(key).size;
  const steps = new Set(key.subarray(1).map((b, i) => (b - key[i] + 256) % 256)).size;
  return distinct < 16 || steps < 16;
}

/** The bootstrap key is a password: in production, not the example's and not a few characters repeated. */
function adminApiKey(env: Env, production: boolean): string {
  const key = str(env, 'ADMIN_API_KEY');
  if (key.length < 24) throw new ConfigError('ADMIN_API_KEY must be at least 24 characters');
  if (production && (key === EXAMPLE_ADMIN_API_KEY || /change-?me/i.test(key))) {
    throw new ConfigError('ADMIN_API_KEY is the placeholder of .env.example: set a secret of your own, e.g. openssl rand -base64 32 (NODE_ENV=production)');
  }
  if (production && new Set(key).size < 10) {
    throw new ConfigError('ADMIN_API_KEY is a few characters repeated: set a random secret, e.g. openssl rand -base64 32 (NODE_ENV=production)');
  }
  return key;
}

/** CORS_ORIGINS: a comma list of origins (scheme://host[:port]) or '*'; unset = none. */
function corsOrigins(env: Env): string[] {
  const origins = list(env, 'CORS_ORIGINS', []).map((o) => o.replace(/\/+$/, ''));
  for (const o of origins) {
    if (o === '*') continue;
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError(`CORS_ORIGINS must be '*' or a comma list of origins like https://app.example.com or http://localhost:8080 (got "${o}")`);
  }
  return origins;
}

export const DEFAULT_WNS_HOSTS = ['*.notify.windows.com'];
export const DEFAULT_WEBPUSH_HOSTS = [
  'fcm.googleapis.com',
  '*.push.services.mozilla.com',
  'updates.push.services.mozilla.com',
  'web.push.apple.com',
  '*.push.apple.com',
  '*.notify.windows.com',
];

export function loadConfig(env: Env = process.env): AppConfig {
  const redisUrl = env.REDIS_URL ? env.REDIS_URL : null;
  const nodeEnv = str(env, 'NODE_ENV', 'development');
  // Production refuses the example's secrets (copied .env files go live more often than
  // anyone intends); elsewhere they are fine for trying the gateway out.
  const production = nodeEnv === 'production';
  const bootstrapAdminKey = adminApiKey(env, production);
  const webhookHosts = env.WEBHOOK_URL_ALLOWLIST ? list(env, 'WEBHOOK_URL_ALLOWLIST', []) : null;
  return {
    nodeEnv,
    apiHost: str(env, 'API_HOST', '0.0.0.0'),
    apiPort: int(env, 'API_PORT', 3000, 0, 65535),
    databaseUrl: str(env, 'DATABASE_URL'),
    databaseSchema: str(env, 'DATABASE_SCHEMA', 'public'),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', false),
    redisUrl,
    queueBackend: redisUrl ? 'redis' : 'postgres',
    queuePrefix: str(env, 'QUEUE_PREFIX', 'pgw'),
    bootstrapAdminKey,
    masterKey: masterKey(env, production),
    bodyLimitBytes: int(env, 'API_BODY_LIMIT_BYTES', 1_048_576, 1024),
    corsOrigins: corsOrigins(env),
    maxTargetsPerRequest: int(env, 'MAX_TARGETS_PER_REQUEST', 1000, 1, 100_000),
    fanoutPageSize: int(env, 'FANOUT_PAGE_SIZE', 5000, 100, 100_000),
    deliveryBatchSize: int(env, 'DELIVERY_BATCH_SIZE', 500, 1, 5000),
    deliveryConcurrency: int(env, 'DELIVERY_CONCURRENCY', 8, 1, 256),
    fanoutConcurrency: int(env, 'FANOUT_CONCURRENCY', 2, 1, 64),
    directMaxTargets: int(env, 'DIRECT_MAX_TARGETS', 100, 0, 1000),
    directConcurrency: int(env, 'DIRECT_CONCURRENCY', 32, 1, 256),
    retryBaseDelayMs: int(env, 'RETRY_BASE_DELAY_MS', 1000, 1),
    retryMaxDelayMs: int(env, 'RETRY_MAX_DELAY_MS', 60_000, 1),
    retryMaxWindowSeconds: int(env, 'RETRY_MAX_WINDOW_SECONDS', 3600, 1, 30 * 24 * 3600),
    recovery: {
      stallSeconds: int(env, 'RECOVERY_STALL_SECONDS', 60, 1, 86_400),
      sweepSeconds: int(env, 'RECOVERY_SWEEP_SECONDS', 15, 1, 3600),
      lockMs: int(env, 'WORKER_LOCK_MS', 10_000, 1000, 600_000),
      stalledIntervalMs: int(env, 'WORKER_STALLED_INTERVAL_MS', 5_000, 500, 600_000),
      outcomeFlushSize: int(env, 'OUTCOME_FLUSH_SIZE', 100, 1, 5000),
      outcomeFlushMs: int(env, 'OUTCOME_FLUSH_MS', 50, 1, 10_000),
      outcomeHoldSeconds: int(env, 'OUTCOME_HOLD_SECONDS', 600, 1, 86_400),
    },
    circuit: {
      minRequests: int(env, 'CIRCUIT_MIN_REQUESTS', 20, 1, 100_000),
      failureRatio: num(env, 'CIRCUIT_FAILURE_RATIO', 0.5, 0.01, 1),
      windowMs: int(env, 'CIRCUIT_WINDOW_MS', 10_000, 100, 600_000),
      probeIntervalMs: int(env, 'CIRCUIT_PROBE_INTERVAL_MS', 1000, 50, 600_000),
    },
    idempotencyTtlHours: int(env, 'IDEMPOTENCY_TTL_HOURS', 24, 24),
    sandboxEnabled: bool(env, 'SANDBOX_ENABLED', false),
    extraCaFile: env.PROVIDER_EXTRA_CA_FILE || null,
    urlAllowlist: {
      wns: list(env, 'WNS_HOST_ALLOWLIST', DEFAULT_WNS_HOSTS),
      webpush: list(env, 'WEBPUSH_HOST_ALLOWLIST', DEFAULT_WEBPUSH_HOSTS),
      webhook: webhookHosts,
    },
    apns: {
      productionHost: str(env, 'APNS_PRODUCTION_HOST', 'api.push.apple.com'),
      sandboxHost: str(env, 'APNS_SANDBOX_HOST', 'api.sandbox.push.apple.com'),
      port: int(env, 'APNS_PORT', 443, 1, 65535),
      productionPort: int(env, 'APNS_PRODUCTION_PORT', int(env, 'APNS_PORT', 443, 1, 65535), 1, 65535),
      sandboxPort: int(env, 'APNS_SANDBOX_PORT', int(env, 'APNS_PORT', 443, 1, 65535), 1, 65535),
      requestTimeoutMs: int(env, 'APNS_REQUEST_TIMEOUT_MS', 5000, 100, 120_000),
      maxConcurrentStreams: int(env, 'APNS_MAX_CONCURRENT_STREAMS', 500, 1, 1000),
    },
    fcm: {
      baseUrl: str(env, 'FCM_BASE_URL', 'https://fcm.googleapis.com'),
      tokenUrl: str(env, 'FCM_TOKEN_URL', 'https://oauth2.googleapis.com/token'),
      maxConcurrentStreams: int(env, 'FCM_MAX_CONCURRENT_STREAMS', 100, 1, 1000),
      ratePerMinute: int(env, 'FCM_RATE_PER_MINUTE', 600_000, 1),
      requestTimeoutMs: int(env, 'FCM_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    },
    wns: {
      legacyTokenUrl: str(env, 'WNS_LEGACY_TOKEN_URL', 'https://login.live.com/accesstoken.srf'),
      entraTokenUrlTemplate: str(
        env,
        'WNS_ENTRA_TOKEN_URL',
        'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
      ),
      maxSockets: int(env, 'WNS_MAX_SOCKETS', 64, 1, 1024),
    },
    webpush: {
      maxSocketsPerOrigin: int(env, 'WEBPUSH_MAX_SOCKETS_PER_ORIGIN', 64, 1, 1024),
      vapidTtlSeconds: int(env, 'WEBPUSH_VAPID_TTL_SECONDS', 12 * 3600, 60, 24 * 3600),
      defaultSubject: str(env, 'WEBPUSH_DEFAULT_SUBJECT', 'mailto:push@example.invalid'),
      requestTimeoutMs: int(env, 'WEBPUSH_REQUEST_TIMEOUT_MS', 20_000, 100, 120_000),
    },
    events: {
      retentionHours: int(env, 'EVENT_RETENTION_HOURS', 24, 1, 24 * 90),
      heartbeatSeconds: int(env, 'EVENTS_HEARTBEAT_SECONDS', 15, 1, 300),
      pollMs: int(env, 'EVENTS_POLL_MS', 5000, 100, 60_000),
    },
    webhooks: {
      maxFailures: int(env, 'WEBHOOK_MAX_FAILURES', 10, 1, 1000),
      attempts: int(env, 'WEBHOOK_ATTEMPTS', 10, 1, 50),
      backoffMs: int(env, 'WEBHOOK_BACKOFF_MS', 3000, 10, 3_600_000),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
      concurrency: int(env, 'WEBHOOK_CONCURRENCY', 16, 1, 256),
      maxPerApp: int(env, 'WEBHOOK_MAX_PER_APP', 20, 1, 1000),
    },
  };
}

let cached: AppConfig | null = null;
/** The process-wide configuration, loaded on first use. */
export function getConfig(): AppConfig {
  if (!cached) cached = loadConfig();
  return cached;
}
