import type { ProviderName } from './canonical';
import type { PushProvider } from './provider.interface';
import type { ProviderContext } from './provider-context';
import { ApnsProvider } from './apns/apns.provider';
import { FcmProvider, type FcmProviderOptions } from './fcm/fcm.provider';
import { WnsProvider } from './wns/wns.provider';
import { WebpushProvider } from './webpush/webpush.provider';

export type ProviderMap = Record<ProviderName, PushProvider>;

export interface ProviderOptions {
  fcm?: FcmProviderOptions;
}

/** One instance of each provider per process; each pools its clients per credential. */
export function createProviders(ctx: ProviderContext, opts: ProviderOptions = {}): ProviderMap {
  return {
    apns: new ApnsProvider(ctx),
    fcm: new FcmProvider(ctx, opts.fcm),
    wns: new WnsProvider(ctx),
    webpush: new WebpushProvider(ctx),
  };
}

export async function closeProviders(map: ProviderMap): Promise<void> {
  await Promise.all(Object.values(map).map((p) => p.close()));
}
