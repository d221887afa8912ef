/**
 * Test support for the WNS specs (not a spec itself): starts the WNS stand-in and a
 * WnsProvider wired to it exactly as the worker wires it (config from loadConfig,
 * the sandbox CA as extra trust root), plus helpers to mint apps and channels.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { loadConfig } from '@app/common';
import { ReceiptStore, loadOrCreateTls, type SandboxTls, WnsStandIn } from '@app/sandbox';
import type { CanonicalNotification } from '../canonical';
import type { CredentialRecord, DeviceRef } from '../provider.interface';
import { createProviderContext } from '../provider-context';
import { WnsProvider } from './wns.provider';

/** Collects every log line so specs can check that no secret was logged. */
export class MemoryLogger implements LoggerService {
  readonly lines: string[] = [];
  private push(level: string, args: unknown[]): void {
    this.lines.push(`${level} ${JSON.stringify(args)}`);
  }
  log(...args: unknown[]): void { this.push('log', args); }
  error(...args: unknown[]): void { this.push('error', args); }
  warn(...args: unknown[]): void { this.push('warn', args); }
  debug(...args: unknown[]): void { this.push('debug', args); }
  verbose(...args: unknown[]): void { this.push('verbose', args); }
}

export const BASE_ENV = {
  DATABASE_URL: 'postgres://x',
  ADMIN_API_KEY: 'test-admin-key-0123456789abcdef',
  MASTER_KEY: 'a'.repeat(64),
};

export interface MintedApp {
  clientId: string;
  flow: 'legacy' | 'entra';
  config: Record<string, string>;
}

export interface WnsRig {
  dir: string;
  tls: SandboxTls;
  store: ReceiptStore;
  standIn: WnsStandIn;
  provider: WnsProvider;
  logger: MemoryLogger;
  mintApp(flow: 'legacy' | 'entra', tokenTtlSeconds?: number): Promise<MintedApp>;
  credential(app: MintedApp, version?: number, id?: string): CredentialRecord;
  channel(app: MintedApp): Promise<{ channelId: string; device: DeviceRef }>;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  stats(): Promise<{ tokensMinted: { total: number; byApp: Record<string, number> }; unauthorized: number; forbidden: number }>;
  close(): Promise<void>;
}

let seq = 0;

/** `env` overrides the provider's configuration (e.g. to switch the sandbox off). */
export async function startRig(env: Record<string, string> = {}): Promise<WnsRig> {
  const dir = mkdtempSync(join(tmpdir(), 'wns-spec-'));
  const tls = loadOrCreateTls(dir);
  const store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
  const standIn = new WnsStandIn({ store, tls, host: 'localhost' });
  await standIn.listen(0);
  const urls = standIn.tokenUrls();
  const config = loadConfig({
    ...BASE_ENV,
    SANDBOX_ENABLED: 'true',
    PROVIDER_EXTRA_CA_FILE: join(dir, 'ca.pem'),
    WNS_LEGACY_TOKEN_URL: urls.legacy,
    WNS_ENTRA_TOKEN_URL: urls.entraTemplate,
    ...env,
  });
  const logger = new MemoryLogger();
  const provider = new WnsProvider(createProviderContext(config, logger));

  const control = async (method: string, path: string, body?: unknown) => {
    const answer = await standIn.control({ method, path, query: new URLSearchParams(), body, raw: {} as IncomingMessage });
    if (!answer) throw new Error(`no control route ${method} ${path}`);
    return answer;
  };
  return {
    dir, tls, store, standIn, provider, logger, control,
    async mintApp(flow, tokenTtlSeconds) {
      const a = await control('POST', 'apps', { flow, tokenTtlSeconds });
      if (a.status !== 201) throw new Error(`mint failed: ${JSON.stringify(a.body)}`);
      return a.body as MintedApp;
    },
    credential(app, version = 1, id = `cred-${app.clientId}`) {
      const { secret } = provider.normalizeCredential(app.config);
      return { id, appId: 'app-1', provider: 'wns', name: 'default', environment: null, secret, version };
    },
    async channel(app) {
      const a = await control('POST', 'channels', { appClientId: app.clientId });
      const b = a.body as { channelId: string; channelUri: string };
      seq += 1;
      return { channelId: b.channelId, device: { id: `dev-${seq}`, token: provider.normalizeToken(b.channelUri).token } };
    },
    async stats() {
      return (await control('GET', 'stats')).body as Awaited<ReturnType<WnsRig['stats']>>;
    },
    async close() {
      await provider.close();
      await standIn.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function notification(fields: Partial<CanonicalNotification> = {}): CanonicalNotification {
  return { id: 'n-1', appId: 'app-1', priority: 'high', silent: false, acceptedAt: Date.now(), ...fields };
}
