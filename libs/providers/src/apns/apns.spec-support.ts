import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { ApnsStandIn, ReceiptStore, loadOrCreateTls, type SandboxTls } from '@app/sandbox';
import { loadConfig } from '@app/common';
import type { ApnsEnvironment, CanonicalNotification } from '../canonical';
import type { CredentialRecord } from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { ApnsProvider, type ApnsProviderOptions } from './apns.provider';

/** Test support (not a spec): the real provider against the real stand-in on free ports. */

export const quietLogger: LoggerService & { errors: string[] } = {
  errors: [],
  log: () => undefined,
  warn: () => undefined,
  error(message: unknown) {
    this.errors.push(String(message));
  },
  debug: () => undefined,
};

export function notification(over: Partial<CanonicalNotification> = {}): CanonicalNotification {
  return { id: 'n1', appId: 'app1', title: 'Hello', body: 'World', priority: 'high', silent: false, acceptedAt: Date.now(), ...over };
}

export interface Harness {
  store: ReceiptStore;
  tls: SandboxTls;
  standIn: ApnsStandIn;
  ctx: ProviderContext;
  provider(opts?: ApnsProviderOptions): ApnsProvider;
  /** POST /apns/keys → a token credential record. */
  tokenCredential(bundleId?: string, id?: string): Promise<CredentialRecord>;
  /** POST /apns/certificates → a certificate credential record. */
  certCredential(environment: ApnsEnvironment, format: 'pem' | 'p12', declared?: ApnsEnvironment | null): Promise<CredentialRecord>;
  device(environment: ApnsEnvironment): Promise<string>;
  close(): Promise<void>;
}

let seq = 0;

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const tls = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'apns-spec-')));
  const store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
  const standIn = new ApnsStandIn({ store, tls, host: 'localhost' });
  await standIn.listen(0);
  const config = loadConfig({
    DATABASE_URL: 'postgres://x',
    ADMIN_API_KEY: 'k'.repeat(24),
    MASTER_KEY: 'a'.repeat(64),
    SANDBOX_ENABLED: 'true',
    APNS_PRODUCTION_HOST: 'localhost',
    APNS_SANDBOX_HOST: 'localhost',
    APNS_PRODUCTION_PORT: String(standIn.productionPort()),
    APNS_SANDBOX_PORT: String(standIn.sandboxPort()),
    APNS_REQUEST_TIMEOUT_MS: '4000',
    ...env,
  });
  const ctx: ProviderContext = {
    config,
    logger: quietLogger,
    extraCa: tls.caPem,
    urlGuard: { wns: { allowlist: [], sandboxEnabled: true }, webpush: { allowlist: [], sandboxEnabled: true } },
  };
  const providers: ApnsProvider[] = [];
  const mk = (opts?: ApnsProviderOptions) => {
    const p = new ApnsProvider(ctx, opts);
    providers.push(p);
    return p;
  };
  const normalizer = new ApnsProvider(ctx);
  const record = (config: unknown, environment: ApnsEnvironment | null, id?: string): CredentialRecord => {
    const n = normalizer.normalizeCredential(config);
    seq += 1;
    return { id: id ?? `cred-${seq}`, appId: 'app1', provider: 'apns', name: 'default', environment: environment ?? n.environment ?? null, secret: n.secret, version: 1 };
  };
  const control = async (path: string, body: unknown) => {
    const a = await standIn.control({ method: 'POST', path, query: new URLSearchParams(), body, raw: undefined as never });
    if (!a || a.status >= 300) throw new Error(`control ${path}: ${JSON.stringify(a)}`);
    return a.body as { config: Record<string, unknown>; token: string; tokens: string[] };
  };
  return {
    store,
    tls,
    standIn,
    ctx,
    provider: mk,
    async tokenCredential(bundleId = 'com.example.app', id?: string) {
      return record((await control('keys', { bundleId })).config, null, id);
    },
    async certCredential(environment, format, declared) {
      const cfg = (await control('certificates', { bundleId: 'com.example.app', environment, format })).config;
      if (declared !== undefined) delete cfg.environment;
      return record(cfg, declared === undefined ? environment : declared);
    },
    async device(environment) {
      return (await control('devices', { environment })).token;
    },
    async close() {
      await Promise.all(providers.map((p) => p.close()));
      await normalizer.close();
      await standIn.close();
    },
  };
}
