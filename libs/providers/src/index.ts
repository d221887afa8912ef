export * from './canonical';
export * from './provider.interface';
export * from './provider-context';
export * from './provider-registry';
export { FcmProvider } from './fcm/fcm.provider';
export { RedisRateLimiter, InProcessRateLimiter, type RateLimiter } from './fcm/fcm.rate-limiter';
export { generateVapidCredential, normalizeVapidCredential } from './webpush/webpush.credentials';
export { runWebpushCpuBench, type WebpushCpuBenchResult } from './webpush/webpush.cpu-bench';
export * from './providers.module';
