import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { newId } from '@app/common';
import { tokenHash } from '@app/db';
import type { ProviderName, DeviceRef, ProviderMap } from '@app/providers';
import { BENCH_ADMIN_KEY, http, type BenchStack } from './stack';
import { chunk, log } from './util';

type Json = Record<string, unknown>;

/** One provisioned app: keys, the sandbox credential it got, and its devices (as the providers see them). */
export interface BenchApp {
  name: string;
  appId: string;
  sendKey: string;
  credentials: Partial<Record<ProviderName, Json>>;
  devices: Array<DeviceRef & { provider: ProviderName }>;
}

/** Credential configs minted by the sandbox's control routes, ready for the API. */
export async function mintCredential(stack: BenchStack, p: ProviderName): Promise<{ config: Json; wnsAppKey?: string; wnsChannelUri?: string }> {
  const control = async (path: string, body: unknown) => {
    const r = await http<Json>('POST', `${stack.controlUrl}${path}`, body);
    if (r.status >= 300) throw new Error(`sandbox ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  switch (p) {
    case 'apns':
      return { config: (await control('/apns/keys', { bundleId: 'com.example.bench' })).config as Json };
    case 'fcm':
      return { config: await control('/fcm/service-accounts', { projectId: 'bench-project' }) };
    case 'wns': {
      const app = await control('/wns/apps', { flow: 'entra' });
      const ch = await control('/wns/channels', { appClientId: app.clientId });
      const channelId = String(ch.channelId);
      return { config: app.config as Json, wnsAppKey: channelId.slice(0, channelId.indexOf('.')), wnsChannelUri: String(ch.channelUri) };
    }
    case 'webpush':
      return { config: await control('/webpush/vapid-keys', { subject: 'mailto:bench@example.com' }) };
  }
}

/**
 * Raw device tokens the stand-ins accept without per-device state:
 * APNs and FCM accept well-formed tokens never minted; WNS channel ids are
 * "<appKey>.<random>"; Web Push subscriptions are minted in bulk ({count}) and stateless.
 */
async function rawTokens(stack: BenchStack, p: ProviderName, n: number, cred: Awaited<ReturnType<typeof mintCredential>>): Promise<unknown[]> {
  switch (p) {
    case 'apns':
      return Array.from({ length: n }, () => randomBytes(32).toString('hex'));
    case 'fcm':
      return Array.from({ length: n }, () => `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`);
    case 'wns': {
      const url = new URL(String(cred.wnsChannelUri));
      return Array.from({ length: n }, () => {
        url.searchParams.set('token', `${cred.wnsAppKey}.${randomBytes(12).toString('hex')}`);
        return url.toString();
      });
    }
    case 'webpush': {
      const out: unknown[] = [];
      const applicationServerKey = cred.config.publicKey;
      for (let left = n; left > 0; left -= 10_000) {
        const r = await http<{ subscriptions: unknown[] }>('POST', `${stack.controlUrl}/webpush/subscriptions`, { count: Math.min(10_000, left), applicationServerKey });
        if (r.status !== 201) throw new Error(`webpush mint: ${r.status} ${JSON.stringify(r.body)}`);
        out.push(...r.body.subscriptions);
      }
      return out;
    }
  }
}

/** Creates an app through the API (bootstrap key), a send key and one credential per provider. */
export async function provisionApp(stack: BenchStack, name: string, creds: Partial<Record<ProviderName, Json>>): Promise<Omit<BenchApp, 'devices'>> {
  const app = await http<{ id: string; keys: Array<{ key: string }> }>('POST', `${stack.apiUrl}/v1/apps`, { name }, { authorization: `Bearer ${BENCH_ADMIN_KEY}` });
  if (app.status !== 201) throw new Error(`create app: ${app.status} ${JSON.stringify(app.body)}`);
  const admin = { authorization: `Bearer ${app.body.keys[0].key}` };
  const send = await http<{ key: string }>('POST', `${stack.apiUrl}/v1/apps/${app.body.id}/keys`, { name: 'bench', scopes: ['send'] }, admin);
  if (send.status !== 201) throw new Error(`create key: ${send.status} ${JSON.stringify(send.body)}`);
  for (const [provider, config] of Object.entries(creds)) {
    const r = await http('POST', `${stack.apiUrl}/v1/apps/${app.body.id}/credentials`, { provider, name: 'bench', config }, admin);
    if (r.status >= 300) throw new Error(`credential ${provider}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { name, appId: app.body.id, sendKey: send.body.key, credentials: creds };
}

/**
 * Registers devices in bulk: tokens normalised by the provider module (as the API would),
 * then multi-row INSERTs of 5,000 (unnest) straight into the devices table.
 */
export async function insertDevices(
  stack: BenchStack, databaseUrl: string, appId: string, providers: ProviderMap,
  items: Array<{ provider: ProviderName; token: unknown; environment?: string }>,
): Promise<Array<DeviceRef & { provider: ProviderName }>> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  const out: Array<DeviceRef & { provider: ProviderName }> = [];
  try {
    for (const part of chunk(items, 5000)) {
      const rows = part.map((it) => {
        const norm = providers[it.provider].normalizeToken(it.token);
        return { id: newId(), provider: it.provider, token: norm.token, tokenData: norm.tokenData ?? null, environment: it.environment ?? null };
      });
      await pg.query(
        `INSERT INTO "${stack.schema}".devices (id, app_id, provider, token, token_hash, token_data, environment)
         SELECT id, $1::uuid, provider, token, token_hash, token_data::jsonb, environment
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(id, provider, token, token_hash, token_data, environment)`,
        [
          appId,
          rows.map((r) => r.id),
          rows.map((r) => r.provider),
          rows.map((r) => r.token),
          rows.map((r) => tokenHash(r.provider, r.token)),
          rows.map((r) => (r.tokenData ? JSON.stringify(r.tokenData) : null)),
          rows.map((r) => r.environment),
        ],
      );
      for (const r of rows) out.push({ id: r.id, provider: r.provider, token: r.token, tokenData: r.tokenData, environment: r.environment as DeviceRef['environment'] });
    }
    await pg.query(`ANALYZE "${stack.schema}".devices`);
  } finally {
    await pg.end();
  }
  return out;
}

/**
 * One app per provider with `n` devices each, and (when `mixed`) one app holding the
 * same devices of all providers, n/4 each (the same tokens: each app is its own tenant).
 */
export async function provisionAll(
  stack: BenchStack, databaseUrl: string, providers: ProviderMap, list: ProviderName[], n: number, mixed: boolean,
): Promise<{ perProvider: Partial<Record<ProviderName, BenchApp>>; mixed: BenchApp | null }> {
  const perProvider: Partial<Record<ProviderName, BenchApp>> = {};
  const creds: Partial<Record<ProviderName, Json>> = {};
  const tokensOf: Partial<Record<ProviderName, unknown[]>> = {};
  for (const p of list) {
    const t0 = Date.now();
    const cred = await mintCredential(stack, p);
    creds[p] = cred.config;
    const tokens = await rawTokens(stack, p, n, cred);
    tokensOf[p] = tokens;
    const app = await provisionApp(stack, `bench-${p}`, { [p]: cred.config });
    const devices = await insertDevices(stack, databaseUrl, app.appId, providers, tokens.map((token) => ({ provider: p, token, environment: p === 'apns' ? 'production' : undefined })));
    perProvider[p] = { ...app, devices };
    log(`${p}: ${n} devices registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  let mixedApp: BenchApp | null = null;
  if (mixed && list.length > 1) {
    const per = Math.floor(n / list.length);
    const app = await provisionApp(stack, 'bench-mixed', creds);
    const items = list.flatMap((p) => (tokensOf[p] as unknown[]).slice(0, per).map((token) => ({ provider: p, token, environment: p === 'apns' ? 'production' : undefined })));
    mixedApp = { ...app, devices: await insertDevices(stack, databaseUrl, app.appId, providers, items) };
    log(`mixed: ${items.length} devices registered`);
  }
  return { perProvider, mixed: mixedApp };
}

/** One app with `counts[p]` devices of each provider and one credential each (the fault suite's audience). */
export async function provisionSplitApp(
  stack: BenchStack, databaseUrl: string, providers: ProviderMap, counts: Partial<Record<ProviderName, number>>, name = 'split',
): Promise<BenchApp> {
  const creds: Partial<Record<ProviderName, Json>> = {};
  const items: Array<{ provider: ProviderName; token: unknown; environment?: string }> = [];
  for (const [p, n] of Object.entries(counts) as Array<[ProviderName, number]>) {
    const cred = await mintCredential(stack, p);
    creds[p] = cred.config;
    for (const token of await rawTokens(stack, p, n, cred)) items.push({ provider: p, token, environment: p === 'apns' ? 'production' : undefined });
  }
  const app = await provisionApp(stack, name, creds);
  return { ...app, devices: await insertDevices(stack, databaseUrl, app.appId, providers, items) };
}
