import { ConfigError } from '@app/common';

/**
 * Settings of the operations surfaces (metrics, health, dashboard), read from the
 * environment once per process and validated like the rest of the configuration.
 */
export interface OpsConfig {
  /** When set, GET /metrics on the API needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** The worker's ops HTTP port (metrics and health); null when WORKER_OPS_PORT=0. */
  workerOpsPort: number | null;
  workerOpsHost: string;
}

export function loadOpsConfig(env: Record<string, string | undefined> = process.env): OpsConfig {
  const rawPort = env.WORKER_OPS_PORT;
  let port = 9464;
  if (rawPort !== undefined && rawPort !== '') {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`WORKER_OPS_PORT must be an integer between 0 and 65535 (got "${rawPort}")`);
  }
  const metricsToken = env.METRICS_TOKEN || null;
  if (metricsToken !== null && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  return { metricsToken, workerOpsPort: port === 0 ? null : port, workerOpsHost: env.WORKER_OPS_HOST || '0.0.0.0' };
}
