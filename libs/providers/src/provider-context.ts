import { readFileSync } from 'node:fs';
import type { LoggerService } from '@nestjs/common';
import type { AppConfig, UrlGuardOptions } from '@app/common';

/** What a provider module gets from the process: configuration, a logger, trust roots. */
export interface ProviderContext {
  config: AppConfig;
  logger: LoggerService;
  /** PEM of an extra CA trusted in addition to the system roots (the sandbox CA), or null. */
  extraCa: string | null;
  /** Allowlists for URL-shaped tokens. */
  urlGuard: { wns: UrlGuardOptions; webpush: UrlGuardOptions };
}

export function createProviderContext(config: AppConfig, logger: LoggerService): ProviderContext {
  return {
    config,
    logger,
    extraCa: config.extraCaFile ? readFileSync(config.extraCaFile, 'utf8') : null,
    urlGuard: {
      wns: { allowlist: config.urlAllowlist.wns, sandboxEnabled: config.sandboxEnabled },
      webpush: { allowlist: config.urlAllowlist.webpush, sandboxEnabled: config.sandboxEnabled },
    },
  };
}
