export * from './queue-names';
export * from './jobs';
export * from './queue-backend';
export * from './retry-policy';
export * from './queue.module';
