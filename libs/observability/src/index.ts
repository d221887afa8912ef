export * from './metrics';
export * from './health';
export * from './ops-config';
